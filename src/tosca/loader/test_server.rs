//! A real HTTP/1.1 server on 127.0.0.1 for the loader's network tests, since these machines
//! reach no web server of their own.
//!
//! It serves the files of a temporary directory (`GET /a/b.yaml` → `<dir>/a/b.yaml`, 404 when
//! missing), one connection at a time, closing each after its answer, and counts the
//! requests per path so tests can check that each file is fetched once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A file server running in a background thread for the life of the test process.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// The directory served.
    pub root: tempfile::TempDir,
    requests: Arc<Mutex<HashMap<String, usize>>>,
}

impl TestServer {
    /// Starts serving a fresh, empty temporary directory.
    pub fn start() -> TestServer {
        let root = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(HashMap::new()));
        let served = root.path().to_path_buf();
        let counts = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                answer(stream, &served, &counts);
            }
        });
        TestServer {
            origin,
            root,
            requests,
        }
    }

    /// Writes a file to serve at `path` (relative to the server's root).
    pub fn put(&self, path: &str, content: impl AsRef<[u8]>) {
        let file = self.root.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// How many times `path` (with its query, as requested) was asked for.
    pub fn requests(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

fn answer(stream: TcpStream, root: &Path, counts: &Mutex<HashMap<String, usize>>) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    *counts.lock().unwrap().entry(target.clone()).or_default() += 1;
    let path = target.split('?').next().unwrap_or("/");
    let file: PathBuf = root.join(path.trim_start_matches('/'));
    let (status, body) = match std::fs::read(&file) {
        Ok(body) if file.is_file() => ("200 OK", body),
        _ => ("404 Not Found", b"not found\n".to_vec()),
    };
    let mut stream = reader.into_inner();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/yaml\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}
