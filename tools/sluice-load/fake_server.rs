//! Test-only HTTP server on an ephemeral loopback port: answers every request with what a
//! callback returns, keeping connections alive, and records what it received.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// One received request.
#[derive(Clone, Debug)]
pub struct Received {
    /// `METHOD /path?query`.
    pub request_line: String,
    /// Header lines as sent.
    pub headers: Vec<String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Makes the raw response (status line, headers, body) for a request.
pub type Responder = dyn Fn(&Received) -> Vec<u8> + Send + Sync;

/// Starts the server; returns its base URL and the log of requests.
pub fn start(responder: Arc<Responder>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let accept_log = log.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (responder, log) = (responder.clone(), accept_log.clone());
            thread::spawn(move || serve(stream, &*responder, &log));
        }
    });
    (url, log)
}

fn serve(stream: TcpStream, responder: &Responder, log: &Mutex<Vec<Received>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap();
                }
            }
            headers.push(line);
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let received = Received {
            request_line: request_line.trim_end().to_string(),
            headers,
            body,
        };
        let response = responder(&received);
        log.lock().unwrap().push(received);
        if writer.write_all(&response).is_err() {
            return;
        }
    }
}
