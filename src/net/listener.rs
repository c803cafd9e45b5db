//! SO_REUSEPORT sockets: every event loop binds its own socket on the same port (HTTP
//! listener, input listeners, input UDP sockets), and the kernel spreads connections and
//! datagrams across them, so no loop hands work to another.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};
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

/// A non-blocking listening TCP socket with SO_REUSEADDR and SO_REUSEPORT set before `bind`.
pub fn bind_reuseport(address: SocketAddr) -> io::Result<TcpListener> {
    let fd = reuseport_socket(address, libc::SOCK_STREAM, 0)?;
    // SAFETY: `fd` is a socket we own; from here the TcpListener closes it on every path.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    // SAFETY: plain listen(2) on our socket.
    check(unsafe { libc::listen(fd, LISTEN_BACKLOG) })?;
    Ok(listener)
}

/// A non-blocking UDP socket with SO_REUSEPORT (and SO_RCVBUF when `receive_buffer_bytes`
/// is not 0), bound to `address`.
pub fn bind_udp_reuseport(
    address: SocketAddr,
    receive_buffer_bytes: usize,
) -> io::Result<UdpSocket> {
    let fd = reuseport_socket(address, libc::SOCK_DGRAM, receive_buffer_bytes)?;
    // SAFETY: `fd` is a socket we own; from here the UdpSocket closes it on every path.
    Ok(unsafe { UdpSocket::from_raw_fd(fd) })
}

/// A bound, non-blocking socket of `kind`; the caller owns the returned descriptor.
fn reuseport_socket(
    address: SocketAddr,
    kind: libc::c_int,
    receive_buffer_bytes: usize,
) -> io::Result<libc::c_int> {
    let domain = if address.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd =
        check(unsafe { libc::socket(domain, kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    match configure_and_bind(fd, address, receive_buffer_bytes) {
        Ok(()) => Ok(fd),
        Err(error) => {
            // SAFETY: closing the descriptor we created and nobody else holds.
            unsafe { libc::close(fd) };
            Err(error)
        }
    }
}

fn set_int_option(fd: libc::c_int, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the option value points to a live c_int of the stated size.
    check(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

fn configure_and_bind(
    fd: libc::c_int,
    address: SocketAddr,
    receive_buffer_bytes: usize,
) -> io::Result<()> {
    set_int_option(fd, libc::SO_REUSEADDR, 1)?;
    set_int_option(fd, libc::SO_REUSEPORT, 1)?;
    if receive_buffer_bytes > 0 {
        let size = libc::c_int::try_from(receive_buffer_bytes).unwrap_or(libc::c_int::MAX);
        set_int_option(fd, libc::SO_RCVBUF, size)?;
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
    Ok(())
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

/// One UDP socket per loop on the same port; a port of 0 is resolved by the first bind.
pub fn bind_all_udp(
    address: SocketAddr,
    count: usize,
    receive_buffer_bytes: usize,
) -> io::Result<Vec<UdpSocket>> {
    let first = bind_udp_reuseport(address, receive_buffer_bytes)?;
    let actual = first.local_addr()?;
    let mut sockets = vec![first];
    for _ in 1..count {
        sockets.push(bind_udp_reuseport(actual, receive_buffer_bytes)?);
    }
    Ok(sockets)
}
