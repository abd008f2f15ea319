//! A `defer serve` started by a benchmark, and one keep-alive HTTP/1.1 connection to it: shared
//! by `benches/serve.rs` and the harness's `million` section.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One keep-alive connection.
pub struct Client {
    stream: BufReader<TcpStream>,
    addr: String,
    token: String,
}

impl Client {
    pub fn request(&mut self, method: &str, path: &str, body: &str) -> u16 {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Cookie: defer_session={}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            self.token,
            self.token,
            body.len()
        );
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .expect("write");
        let mut line = String::new();
        self.stream.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().expect("length");
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).expect("body");
        status
    }
}

/// A `defer serve` this bench started, and one keep-alive connection to it.
pub struct Server {
    child: Child,
    pub client: Client,
}

impl Server {
    pub fn start(defer: &Path, dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut child: Child = Command::new(defer)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("DEFER_RUNTIME_DIR", dir)
            .env("DEFER_TIMEZONE", "UTC")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start defer serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first line");
        let addr = first
            .trim()
            .strip_prefix("defer serve: listening on http://")
            .expect("address line")
            .to_string();
        let token = fs::read_to_string(dir.join("serve.token"))
            .expect("token")
            .trim()
            .to_string();
        let stream = TcpStream::connect(&addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let client = Client {
            stream: BufReader::new(stream),
            addr,
            token,
        };
        Server { child, client }
    }

    /// The server's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    pub fn stop(mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        assert!(pid > 1, "refusing to signal pid {pid}");
        // SAFETY: kill(2) takes plain integers; pid > 1 is the server this bench started.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}
