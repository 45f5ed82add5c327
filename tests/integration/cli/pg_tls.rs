//! PostgreSQL over TLS, as managed PostgreSQL services require it: a private PostgreSQL server
//! that refuses every connection without TLS, a certificate from a throw-away authority, and
//! the release binary connecting with `sslmode=require` and `sslmode=verify-full` — and
//! refusing, in one line, a server whose certificate it cannot verify.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{cms, http_get, run, serve_with, stderr_lines};

/// A PostgreSQL server of its own, TLS only, run as the `postgres` user (PostgreSQL refuses
/// to run as root).
struct TlsServer {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        // `runuser` does not pass signals on: PostgreSQL's own tool stops it (fast: sessions
        // are cut, nothing is kept).
        let _ = as_postgres(&pg_bin("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pg_bin(name: &str) -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("PostgreSQL's server programs (scripts/test installs them)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    versions.sort();
    versions
        .last()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(name)
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed authority valid two days: `NAME.key` and `NAME.crt` in `dir`.
fn authority(dir: &Path, name: &str, common_name: &str) {
    let (key, crt, subject) = (
        format!("{name}.key"),
        format!("{name}.crt"),
        format!("/CN={common_name}"),
    );
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", &key, "-out",
            &crt, "-subj", &subject,
        ],
    );
}

/// As the `postgres` user.
fn as_postgres(program: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(program);
    c
}

impl TlsServer {
    fn start() -> TlsServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        // An authority, and a certificate it signs for localhost and 127.0.0.1.
        authority(d, "ca", "Keepsake test CA");
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        std::fs::write(
            d.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .expect("write");
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                "server.crt",
                "-extfile",
                "san.ext",
            ],
        );
        // A second authority that signed nothing of this server's.
        authority(d, "other", "Someone else");
        let data = d.join("data");
        let chown = |p: &Path| {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(p)
                .status()
                .expect("chown");
            assert!(ok.success());
        };
        // The server's files belong to it; the temp folder must let it in.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        chown(d);
        let init = as_postgres(&pg_bin("initdb"))
            .args(["-D"])
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .output()
            .expect("initdb");
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        // TLS or nothing, from anywhere.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n",
        )
        .expect("pg_hba");
        for f in ["server.crt", "server.key"] {
            std::fs::copy(d.join(f), data.join(f)).expect("copy");
        }
        std::fs::set_permissions(
            data.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod");
        chown(&data);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = as_postgres(&pg_bin("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(d)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
                "-c",
                "fsync=off",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("postgres.log")).expect("log"),
            ))
            .spawn()
            .expect("postgres");
        // Ready when it accepts sessions: its port opens while it is still starting up, and
        // a connection then is refused with "the database system is starting up".
        let ready = || {
            Command::new(pg_bin("pg_isready"))
                .arg("-h")
                .arg(d)
                .args(["-p", &port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success())
        };
        let mut child = child;
        let started = Instant::now();
        while !ready() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "postgres exited ({status}): {}",
                    std::fs::read_to_string(d.join("postgres.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "postgres did not start: {}",
                std::fs::read_to_string(d.join("postgres.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsServer { dir, child, port }
    }

    fn url(&self, host: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{params}", self.port)
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

#[test]
fn postgres_is_reached_over_tls() {
    let server = TlsServer::start();
    let work = tempfile::tempdir().expect("tempdir");
    let migrate = |url: &str| run(cms(work.path(), &[("CMS_DATABASE_URL", url)]).arg("migrate"));

    // Encrypted, as a managed service's sslmode=require asks.
    let out = migrate(&server.url("127.0.0.1", "sslmode=require"));
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
    // Encrypted and the server proven: its certificate, for the name connected to, signed by
    // the authority given.
    for host in ["localhost", "127.0.0.1"] {
        let url = server.url(
            host,
            &format!("sslmode=verify-full&sslrootcert={}", server.file("ca.crt")),
        );
        let out = migrate(&url);
        assert!(out.status.success(), "{host}: {:?}", stderr_lines(&out));
        // The whole site works over it: a user, then the server answering pages.
        let out = run(cms(work.path(), &[("CMS_DATABASE_URL", &url)]).args([
            "user",
            "add",
            "--email",
            &format!("admin-{host}@example.org"),
            "--name",
            "Admin",
            "--role",
            "admin",
        ]));
        assert!(out.status.success(), "{:?}", stderr_lines(&out));
    }
    // A loopback address with no sslmode: Keepsake asks for TLS only if the server requires
    // it (`sslmode=allow`), and this one does.
    let out = migrate(&format!(
        "postgres://postgres@127.0.0.1:{}/postgres",
        server.port
    ));
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
    // On the same machine, its Unix socket (docs/DEPLOY.md): the folder as the URL's host,
    // percent-encoded; no TCP, no TLS.
    let folder: String =
        url::form_urlencoded::byte_serialize(server.dir.path().display().to_string().as_bytes())
            .collect();
    let out = migrate(&format!(
        "postgres://postgres@{folder}:{}/postgres",
        server.port
    ));
    assert!(out.status.success(), "{folder}: {:?}", stderr_lines(&out));
    // Without TLS the server says no; a certificate from another authority, or an address
    // the certificate does not name, is refused by us. One line each, exit 1, no password.
    for (url, says) in [
        (server.url("127.0.0.1", "sslmode=disable"), "no encryption"),
        (
            server.url(
                "127.0.0.1",
                &format!(
                    "sslmode=verify-full&sslrootcert={}",
                    server.file("other.crt")
                ),
            ),
            "certificate verify failed",
        ),
        (
            // Connected to the right address under a name the certificate does not give.
            server.url(
                "wrong.example",
                &format!(
                    "hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
                    server.file("ca.crt")
                ),
            ),
            "does not match host name",
        ),
    ] {
        let out = migrate(&url);
        let lines = stderr_lines(&out);
        assert_eq!(out.status.code(), Some(1), "{url}: {lines:?}");
        assert_eq!(lines.len(), 1, "{url}: {lines:?}");
        assert!(lines[0].contains(says), "{url}: {lines:?}");
    }
}

impl TlsServer {
    /// `sql`'s one-line answer, asked over the server's Unix socket as `postgres`.
    fn psql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-Atc", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Accepts connections with TLS or without from now on, as Debian's server does.
    fn allow_plain(&self) {
        std::fs::write(
            self.dir.path().join("data").join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        )
        .expect("pg_hba");
        assert_eq!(self.psql("SELECT pg_reload_conf()"), "t");
    }

    /// How many of the TCP sessions open now are encrypted, and how many are not.
    fn sessions_by_tls(&self) -> (u32, u32) {
        let row = self.psql(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.backend_type = 'client backend' AND a.client_addr IS NOT NULL",
        );
        let (tls, plain) = row.split_once('|').expect("two counts");
        (tls.parse().expect("count"), plain.parse().expect("count"))
    }
}

/// On loopback, TLS protects nothing and costs every statement (docs/PERFORMANCE.md): with no
/// sslmode in the URL, a server that offers TLS without requiring it is spoken to in the
/// clear; an sslmode the user gives is kept.
#[test]
fn loopback_sessions_use_tls_only_where_asked_or_required() {
    let server = TlsServer::start();
    server.allow_plain();
    let work = tempfile::tempdir().expect("tempdir");
    let plain_url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let out = run(cms(work.path(), &[("CMS_DATABASE_URL", &plain_url)]).arg("migrate"));
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
    for (url, encrypted) in [
        (plain_url.clone(), false),
        (format!("{plain_url}?sslmode=prefer"), true),
        (format!("{plain_url}?sslmode=require"), true),
    ] {
        let (mut child, addr) = serve_with(work.path(), &[("CMS_DATABASE_URL", &url)]);
        // A page read through the pool, and the listening session open.
        let (status, _) = http_get(&addr, "/");
        assert_eq!(status, 200, "{url}");
        let started = Instant::now();
        let (tls, plain) = loop {
            let (tls, plain) = server.sessions_by_tls();
            if tls + plain >= 2 || started.elapsed() > Duration::from_secs(15) {
                break (tls, plain);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let _ = child.kill();
        let _ = child.wait();
        assert!(tls + plain >= 2, "{url}: {tls} + {plain} sessions");
        if encrypted {
            assert_eq!(plain, 0, "{url}: {plain} sessions in the clear");
        } else {
            assert_eq!(tls, 0, "{url}: {tls} sessions over TLS");
        }
        // The next server's sessions are counted alone.
        let started = Instant::now();
        while server.sessions_by_tls() != (0, 0) {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{url}: sessions left"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
