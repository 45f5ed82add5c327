//! Slow clients, as an attacker would be one, against the release binary: a body that never
//! comes, a body at a byte a second, and a flood of such requests from one address. The
//! server cuts each off and keeps answering others.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use super::{http_get, serve_with};

/// `cms serve` on a fresh SQLite database; its address.
fn serve(dir: &std::path::Path) -> (Child, String) {
    let url = format!("sqlite://{}", dir.join("cms.db").display());
    serve_with(dir, &[("CMS_DATABASE_URL", &url), ("CMS_LOG", "warn")])
}

/// Opens a POST that declares a body of `len` bytes, with its head sent and no body yet.
fn declare(addr: &str, len: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "POST /subscribe HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len}\r\n\r\n"
    )
    .expect("head");
    s
}

/// Waits for the server to answer or hang up; how long it took (a bound, not a benchmark).
fn cut_off_within(mut s: TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut buf = Vec::new();
    match s.read_to_end(&mut buf) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server held the connection past {limit:?}: {e}"),
    }
    started.elapsed()
}

#[test]
fn slow_request_bodies_are_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, addr) = serve(dir.path());
    let limit = Duration::from_secs(60);
    // A body declared and never sent.
    let silent = declare(&addr, 1000);
    // A body at a byte a second.
    let trickle = declare(&addr, 1000);
    let writer = trickle.try_clone().expect("clone");
    let dripping = std::thread::spawn(move || {
        let mut w = writer;
        for _ in 0..120 {
            if w.write_all(b"e").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    trickle.set_read_timeout(Some(limit)).expect("read timeout");
    // A flood from one address: past the cap, refused at once, while /healthz still answers.
    let flood: Vec<TcpStream> = (0..64).map(|_| declare(&addr, 1000)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut over = declare(&addr, 1000);
    over.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = over.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert_eq!(
        http_get(&addr, "/healthz").0,
        200,
        "the server still answers"
    );
    cut_off_within(silent, limit);
    cut_off_within(trickle, limit);
    for s in flood {
        cut_off_within(s, limit);
    }
    let _ = dripping.join();
    // All cut off: the address may open requests again.
    assert_eq!(http_get(&addr, "/subscribe").0, 200);
    let _ = child.kill();
    let _ = child.wait();
}
