//! A real SMTP server on loopback (Python's aiosmtpd, `tests/smtp/sink.py`), started per test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running sink and where it stores what it receives.
pub struct Sink {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Sink {
    /// Starts a sink on `port` storing messages in `dir`.
    pub fn start_on(port: u16, dir: &Path) -> Sink {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start (pip install aiosmtpd)"
        );
        Sink {
            port,
            dir: dir.to_path_buf(),
            child: Some(child),
        }
    }

    /// Starts a sink on a free port with a fresh folder.
    pub fn start(dir: &Path) -> Sink {
        Self::start_on(free_port(), dir)
    }

    /// The `CMS_SMTP_URL` for it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Stops the server (it is down until started again on the same port).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }

    /// Every message received so far, raw, in the order received.
    pub fn raw_messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read(p).expect("read message"))
            .collect()
    }

    /// Parsed messages: (To, Subject, whole parsed mail).
    pub fn messages(&self) -> Vec<Received> {
        self.raw_messages()
            .into_iter()
            .map(|raw| Received::parse(&raw))
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A received message, parsed.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub subject: String,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub html: String,
}

impl Received {
    pub fn parse(raw: &[u8]) -> Received {
        let m = mailparse::parse_mail(raw).expect("a parseable message");
        let headers: Vec<(String, String)> = m
            .headers
            .iter()
            .map(|h| (h.get_key(), h.get_value()))
            .collect();
        let get = |k: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut text = String::new();
        let mut html = String::new();
        for part in std::iter::once(&m).chain(m.subparts.iter()) {
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = part.get_body().expect("body"),
                "text/html" => html = part.get_body().expect("body"),
                _ => {}
            }
        }
        Received {
            to: get("To"),
            subject: get("Subject"),
            text,
            html,
            headers,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
