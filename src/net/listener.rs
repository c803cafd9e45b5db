//! SO_REUSEPORT listeners: every event loop binds its own socket on the same port, and the
//! kernel spreads incoming connections across them, so no loop hands connections to another.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::FromRawFd;

/// Backlog of each listening socket.
const LISTEN_BACKLOG: libc::c_int = 1024;

/// Resolves InfluxDB-style bind addresses: `:8086` means every IPv4 address.
pub fn resolve_bind_address(text: &str) -> io::Result<SocketAddr> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bind address {text:?} resolves to nothing"),
        )
    })
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// A non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT set before `bind`.
pub fn bind_reuseport(address: SocketAddr) -> io::Result<TcpListener> {
    let domain = if address.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = check(unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: `fd` is a socket we own; from here the TcpListener closes it on every path.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    for option in [libc::SO_REUSEADDR, libc::SO_REUSEPORT] {
        // SAFETY: the option value points to a live c_int of the stated size.
        check(unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
    }
    match address {
        SocketAddr::V4(v4) => {
            let raw = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `raw` is a valid sockaddr_in and its size is passed.
            check(unsafe {
                libc::bind(
                    fd,
                    (&raw as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            })?;
        }
        SocketAddr::V6(v6) => {
            let raw = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: `raw` is a valid sockaddr_in6 and its size is passed.
            check(unsafe {
                libc::bind(
                    fd,
                    (&raw as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            })?;
        }
    }
    // SAFETY: plain listen(2) on our socket.
    check(unsafe { libc::listen(fd, LISTEN_BACKLOG) })?;
    Ok(listener)
}

/// One listener per loop on the same port; a port of 0 is resolved by the first bind.
pub fn bind_all(address: SocketAddr, count: usize) -> io::Result<Vec<TcpListener>> {
    let first = bind_reuseport(address)?;
    let actual = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..count {
        listeners.push(bind_reuseport(actual)?);
    }
    Ok(listeners)
}
