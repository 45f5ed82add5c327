//! The `cms` binary: commands, exit codes, one-line errors, and `serve` end to end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, PgDatabase};

mod backup;
mod deploy;
mod export;
mod logs;
mod pg_tls;
mod readme;
mod settings;
mod shutdown;
mod slow;

pub(crate) use settings::{cookies, form, input_value};

/// A `cms` command in `dir`, with no CMS_* settings but those given.
fn cms(dir: &std::path::Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(crate::common::cms_bin());
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("CMS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env(
        "CMS_SECRET_KEY",
        "test-secret-key-test-secret-key-test-secret",
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run cms")
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(str::to_string)
        .collect()
}

fn db_url(backend: Backend, dir: &std::path::Path) -> (String, Option<PgDatabase>) {
    match backend {
        Backend::Sqlite => (format!("sqlite://{}", dir.join("cms.db").display()), None),
        Backend::Postgres => {
            let db = PgDatabase::create();
            (db.url.clone(), Some(db))
        }
    }
}

async fn migrate_twice_is_a_no_op(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = db_url(backend, dir.path());
    let first = run(cms(dir.path(), &[("CMS_DATABASE_URL", &url)]).arg("migrate"));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        out.starts_with("applied ") && out.contains("00000000000001"),
        "{out}"
    );
    let second = run(cms(dir.path(), &[("CMS_DATABASE_URL", &url)]).arg("migrate"));
    assert!(second.status.success());
    assert_eq!(
        String::from_utf8_lossy(&second.stdout).trim(),
        "database is up to date"
    );
}

async fn a_database_from_a_newer_version_is_refused(backend: Backend) {
    use diesel::{Connection, RunQueryDsl};
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = db_url(backend, dir.path());
    assert!(
        run(cms(dir.path(), &[("CMS_DATABASE_URL", &url)]).arg("migrate"))
            .status
            .success()
    );
    // What a newer release's migration leaves behind.
    let newer = "INSERT INTO __diesel_schema_migrations (version) VALUES ('99991231000000')";
    match backend {
        Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(url.trim_start_matches("sqlite://"))
                .expect("open");
            diesel::sql_query(newer).execute(&mut c).expect("insert");
        }
        Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(&url).expect("open");
            diesel::sql_query(newer).execute(&mut c).expect("insert");
        }
    }
    for args in [&["migrate"][..], &["serve", "--bind", "127.0.0.1:0"][..]] {
        let out = run(cms(dir.path(), &[("CMS_DATABASE_URL", &url)]).args(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("upgraded by a newer version of Keepsake")
                && lines[0].contains("99991231000000"),
            "{lines:?}"
        );
    }
}

async fn user_add_refuses_a_duplicate_email(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = db_url(backend, dir.path());
    let add = |email: &str, password: &str| {
        let mut child = cms(dir.path(), &[("CMS_DATABASE_URL", &url)])
            .args([
                "user",
                "add",
                "--email",
                email,
                "--name",
                "Editor",
                "--role",
                "editor",
                "--password-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{password}\n").as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let ok = add("editor@example.org", "a long enough password");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dup = add("EDITOR@example.org", "another long password");
    assert_eq!(dup.status.code(), Some(1));
    let lines = stderr_lines(&dup);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("already exists"), "{lines:?}");
    let short = add("new@example.org", "short");
    assert_eq!(short.status.code(), Some(1));
    assert!(stderr_lines(&short)[0].contains("at least 10 characters"));
}

crate::backend_tests!(
    migrate_twice_is_a_no_op,
    user_add_refuses_a_duplicate_email,
    a_database_from_a_newer_version_is_refused
);

#[test]
fn bad_configuration_is_one_line_per_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(cms(
        dir.path(),
        &[("CMS_DATABASE_URL", "mysql://x"), ("CMS_BIND", "nonsense")],
    )
    .arg("migrate"));
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("error: CMS_DATABASE_URL:"));
    assert!(lines[1].starts_with("error: CMS_BIND:"));
    std::fs::write(dir.path().join("cms.toml"), "bind = [1, 2]\nport = 3\n").expect("write");
    let out = run(cms(dir.path(), &[]).arg("migrate"));
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn unreachable_database_fails_fast_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let out = run(cms(
        dir.path(),
        &[(
            "CMS_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/nothing",
        )],
    )
    .arg("migrate"));
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("cannot connect to postgres://postgres@127.0.0.1:1/nothing"),
        "{lines:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn unknown_commands_and_roles_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(cms(dir.path(), &[]).args([
        "user", "add", "--email", "a@b.org", "--name", "A", "--role", "root",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(cms(dir.path(), &[]).arg("frobnicate"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn token_create_prints_the_secret_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(cms(dir.path(), &[]).args([
        "token",
        "create",
        "--name",
        "app",
        "--scope",
        "posts:write",
        "drafts:read",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("ks_") && token.len() > 60, "{token}");
    let out = run(cms(dir.path(), &[]).args([
        "token",
        "create",
        "--name",
        "app",
        "--scope",
        "everything",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_lines(&out)[0].contains("'everything' is not a scope"));
}

/// One request over a plain TCP connection (HTTP/1.0, so the server closes when done), with
/// extra headers and a urlencoded body: the status, the header block (lower-cased) and the
/// body.
pub(crate) fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        // A form unless the caller says what it sends.
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write");
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).expect("read");
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// A plain request: status, lower-cased header block, body.
fn http(addr: &str, method: &str, path: &str) -> (u16, String, String) {
    request(addr, method, path, &[], "")
}

/// The address a `cms serve` child prints ("Serving on http://…") on its stdout.
pub(crate) fn served_address(child: &mut std::process::Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("Serving on http://").map(str::to_string))
        .expect("the server printed its address")
}

/// `cms serve` on a free loopback port with `env`, its output dropped: the child and the
/// address it serves on.
pub(crate) fn serve_with(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::Child, String) {
    let mut child = cms(dir, env)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let addr = served_address(&mut child);
    (child, addr)
}

/// GETs a path: its status and body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    let (status, _, body) = http(addr, "GET", path);
    (status, body)
}

async fn serve_demo_end_to_end(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _pg) = db_url(backend, dir.path());
    let mut child = cms(
        dir.path(),
        &[("CMS_DATABASE_URL", &url), ("CMS_LOG", "info")],
    )
    .args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--demo",
        "--demo-photo-divisor",
        "500",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::from(
        std::fs::File::create(dir.path().join("serve.log")).expect("log file"),
    ))
    .spawn()
    .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut addr = None;
    let mut login = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if line.starts_with("Admin login:") {
            login = Some(line.clone());
        }
        if let Some(a) = line.strip_prefix("Serving on http://") {
            addr = Some(a.to_string());
            break;
        }
    }
    let addr = addr.expect("the server printed its address");
    let login = login.expect("the demo printed a login");
    assert!(
        login.contains("email: admin@example.com  password: "),
        "{login}"
    );
    let (status, body) = http_get(&addr, "/healthz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_get(&addr, "/");
    assert_eq!(status, 200);
    assert!(body.contains("Heartstopper Season 2 Captures"));
    assert_eq!(http_get(&addr, "/no/such/page").0, 404);
    // HEAD answers wherever GET does, with the headers and no body.
    for path in [
        "/healthz",
        "/",
        "/api/openapi.json",
        "/admin/login",
        "/feed.atom",
    ] {
        let (status, head, body) = http(&addr, "HEAD", path);
        assert_eq!(status, 200, "HEAD {path}: {head}");
        assert!(body.is_empty(), "HEAD {path} sent a body");
        assert!(head.contains("content-length: "), "HEAD {path}: {head}");
    }
    // Control characters in an address or query: a 400 from anyone, never a 500.
    for path in ["/posts/a%00b", "/api/v1/posts?tag=a%00b", "/search?q=%01"] {
        assert_eq!(http_get(&addr, path).0, 400, "{path}");
    }
    // Public answers carry the security headers.
    let (_, head, _) = http(&addr, "GET", "/");
    for h in [
        "x-content-type-options: nosniff",
        "referrer-policy: strict-origin-when-cross-origin",
        "content-security-policy: default-src 'self'",
        "x-frame-options: sameorigin",
    ] {
        assert!(head.contains(h), "{h} in {head}");
    }
    assert!(!head.contains("strict-transport-security"), "not over http");
    // Secrets in addresses stay out of the access log.
    http_get(&addr, "/unsubscribe/SECRETTOKEN123");
    http_get(&addr, "/subscribe/confirm/SECRETTOKEN456");
    http_get(&addr, "/admin/login?_csrf=SECRETCSRF789&next=/admin");
    // SIGTERM: a graceful stop with exit code 0.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(dir.path().join("serve.log")).expect("log");
    assert!(log.contains("GET /unsubscribe/[token]"), "{log}");
    assert!(log.contains("_csrf=[redacted]&next=/admin"), "{log}");
    for secret in ["SECRETTOKEN123", "SECRETTOKEN456", "SECRETCSRF789"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    // A second --demo leaves the content alone.
    let out = run(cms(dir.path(), &[("CMS_DATABASE_URL", &url)])
        .args(["serve", "--bind", "nonsense", "--demo"]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad --bind is refused before anything runs"
    );
}

crate::backend_tests!(serve_demo_end_to_end);

/// A site as its owner runs it: its folder, database and the server running on it.
pub(super) struct Site {
    pub root: std::path::PathBuf,
    pub url: String,
    pub server: Option<std::process::Child>,
    pub addr: String,
}

impl Site {
    pub fn env(&self) -> Vec<(&str, &str)> {
        vec![("CMS_DATABASE_URL", self.url.as_str()), ("CMS_LOG", "warn")]
    }

    pub fn new(root: std::path::PathBuf, url: String) -> Site {
        std::fs::create_dir_all(&root).expect("mkdir");
        Site {
            root,
            url,
            server: None,
            addr: String::new(),
        }
    }

    /// `cms ARGS` on this site, its key generated in its data folder as a user's would be
    /// (each site its own, as two machines would have).
    pub fn cmd(&self, args: &[&str]) -> std::process::Command {
        let env = self.env();
        let mut c = cms(&self.root, &env);
        c.env_remove("CMS_SECRET_KEY").args(args);
        c
    }

    pub fn cms(&self, args: &[&str]) -> std::process::Output {
        run(&mut self.cmd(args))
    }

    /// `cms ARGS` with a full disk at `at`: a 256 KiB tmpfs mounted there in a mount namespace
    /// of the command's own (`unshare`, util-linux), gone when it exits — no root needed where
    /// user namespaces are on, nothing left mounted.
    pub fn on_full_disk(&self, at: &std::path::Path, args: &[&str]) -> std::process::Output {
        std::fs::create_dir_all(at).expect("mkdir");
        let inner = self.cmd(args);
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .arg("mount -t tmpfs -o size=256k tmpfs \"$0\" && exec \"$@\"")
            .arg(at)
            .arg(inner.get_program())
            .args(inner.get_args());
        if let Some(d) = inner.get_current_dir() {
            c.current_dir(d);
        }
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        run(&mut c)
    }

    pub fn serve(&mut self, demo: bool) {
        let mut c = self.cmd(&["serve", "--bind", "127.0.0.1:0"]);
        if demo {
            c.arg("--demo");
        }
        let mut child = c
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve");
        self.addr = served_address(&mut child);
        self.server = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop();
    }
}
