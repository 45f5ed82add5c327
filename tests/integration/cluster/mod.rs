//! Several nodes, deployed as docs/DEPLOY.md says: three `cms serve` processes (the release
//! binary) on one PostgreSQL database and one Garage bucket, each with a data folder of its
//! own, behind Debian's nginx whose `upstream` options and `location` block are read from
//! DEPLOY.md. Every node runs the workers (scheduler, fan-out, delivery, imports).

mod shared;
mod wake;
mod work;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{cookies, form, input_value, request, served_address};
use crate::common::{Backend, TestEnv};
use crate::mail::sink::Sink;
use crate::storage::garage;

/// The secret every node shares (sessions, CSRF and subscribers' links are signed with it).
const SECRET: &str = "cluster-secret-key-cluster-secret-key-cluster";

/// One `cms serve`.
pub struct Node {
    pub addr: String,
    pub pid: u32,
    child: Option<Child>,
}

/// The nodes, nginx in front of them, and an in-process view of the same database and bucket
/// for fixtures and checks.
pub struct Cluster {
    pub env: TestEnv,
    pub sink: Sink,
    pub nodes: Vec<Node>,
    /// nginx's address: where readers and editors go.
    pub addr: String,
    nginx: Option<Child>,
    settings: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

/// The settings (`cms.toml` keys) of the site: its media in a bucket of the shared Garage,
/// mail to `sink`, and `extra`.
fn site_settings(sink: &Sink, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let g = garage::shared();
    let bucket = g.bucket();
    let mut s: Vec<(String, String)> = g
        .settings(&bucket, "site")
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    s.push(("smtp_url".into(), sink.url()));
    s.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    s
}

impl Cluster {
    /// Three nodes and nginx, with `extra` settings on every node.
    pub fn start(extra: &[(&str, &str)]) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = Sink::start(&dir.path().join("sink"));
        let mut settings = site_settings(&sink, extra);
        let lb_port = crate::mail::sink::free_port();
        let base = format!("http://127.0.0.1:{lb_port}");
        settings.push(("base_url".into(), base));
        settings.push(("trusted_proxies".into(), "127.0.0.1".into()));
        let pairs: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let env = TestEnv::with(Backend::Postgres, &pairs);
        let mut cluster = Cluster {
            env,
            sink,
            nodes: Vec::new(),
            addr: format!("127.0.0.1:{lb_port}"),
            nginx: None,
            settings,
            dir,
        };
        for i in 0..3 {
            let node = cluster.spawn_node(i);
            cluster.nodes.push(node);
        }
        cluster.start_nginx(lb_port);
        cluster
    }

    /// The import folder every node reads (a shared file system in a real deployment).
    pub fn import_dir(&self) -> PathBuf {
        self.env.state.config.storage.import_dir.clone()
    }

    fn spawn_node(&self, i: usize) -> Node {
        let data = self.dir.path().join(format!("node{i}"));
        std::fs::create_dir_all(&data).expect("node folder");
        let mut cmd = crate::common::bare_cms();
        for (k, v) in &self.settings {
            cmd.env(format!("CMS_{}", k.to_ascii_uppercase()), v);
        }
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env(
                "CMS_DATABASE_URL",
                self.env.state.config.database.url.to_string(),
            )
            .env("CMS_DATA_DIR", &data)
            .env("CMS_IMPORT_DIR", self.import_dir())
            .env("CMS_SECRET_KEY", SECRET)
            .env("CMS_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(self.dir.path().join(format!("node{i}.log"))).expect("log"),
            );
        let mut child = cmd.spawn().expect("cms serve");
        let addr = served_address(&mut child);
        Node {
            addr,
            pid: child.id(),
            child: Some(child),
        }
    }

    /// `kill -9` node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            c.kill().expect("kill -9");
            c.wait().expect("wait");
        }
    }

    /// The node whose process id is `pid`.
    pub fn node_of(&self, pid: u32) -> Option<usize> {
        self.nodes.iter().position(|n| n.pid == pid)
    }

    fn start_nginx(&mut self, port: u16) {
        let upstream = self
            .nodes
            .iter()
            .map(|n| format!("        server {} max_fails=2 fail_timeout=5s;\n", n.addr))
            .collect::<String>();
        let (options, location) = documented_nginx();
        let d = self.dir.path().join("nginx");
        std::fs::create_dir_all(&d).expect("nginx folder");
        // As root (CI), nginx's workers would switch to nobody, who cannot use the temp folders.
        let user = if running_as_root() {
            "user root;\n"
        } else {
            ""
        };
        let conf = format!(
            "{user}daemon off;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n    access_log off;\n\
             client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
             upstream keepsake {{\n{upstream}{options}    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n        client_max_body_size 70m;\n\
             {location}\n    }}\n}}\n",
            d = d.display()
        );
        std::fs::write(d.join("nginx.conf"), conf).expect("nginx.conf");
        let bin = std::env::var("KEEPSAKE_NGINX_BIN").unwrap_or_else(|_| "/usr/sbin/nginx".into());
        let child = Command::new(&bin)
            .arg("-p")
            .arg(&d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("nginx ({bin}): {e}; scripts/test installs it (KEEPSAKE_NGINX_BIN)")
            });
        self.nginx = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(&self.addr).is_err()
            || self
                .nginx
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some())
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not start: {}",
                std::fs::read_to_string(d.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop_nginx(&mut self) {
        if let Some(mut c) = self.nginx.take() {
            // TERM: nginx's master stops its workers (a KILL would leave them behind).
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    /// Waits up to `limit` for `done`; on time out, fails with `what` and the nodes' logs.
    pub fn wait(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !done() {
            if Instant::now() > deadline {
                let logs = (0..self.nodes.len())
                    .map(|i| {
                        let log = self.dir.path().join(format!("node{i}.log"));
                        format!(
                            "node {i}: {}",
                            std::fs::read_to_string(log).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                panic!("timed out waiting for {what}\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        self.stop_nginx();
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The upstream options (everything but the `server` lines) and the `location / { … }` block
/// of the several-nodes nginx configuration in docs/DEPLOY.md, as written there.
fn documented_nginx() -> (String, String) {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/DEPLOY.md"))
        .expect("docs/DEPLOY.md");
    let section = doc
        .split("### nginx in front of them")
        .nth(1)
        .and_then(|s| s.split("```nginx").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("DEPLOY.md has the nginx configuration of several nodes");
    let upstream = section
        .split("upstream keepsake {")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .expect("an upstream block");
    let options = upstream
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("server "))
        .map(|l| format!("        {l}\n"))
        .collect::<String>();
    let start = section.find("location / {").expect("a location block");
    let rest = &section[start..];
    let end = rest.find("\n    }").expect("the location block's end");
    (options, format!("        {}\n    }}", &rest[..end]))
}

/// A browser for the admin panel over real HTTP: cookies kept between requests to any node.
#[derive(Default, Clone)]
pub struct Browser {
    jar: Vec<String>,
}

impl Browser {
    fn cookie(&self) -> String {
        self.jar.join("; ")
    }

    /// GET: status, lower-cased headers, body.
    pub fn get(&mut self, addr: &str, path: &str) -> (u16, String, String) {
        let c = self.cookie();
        let (status, head, body) = request(addr, "GET", path, &[("Cookie", &c)], "");
        cookies(&head, &mut self.jar);
        (status, head, body)
    }

    /// POSTs a form from the page at `from` (its CSRF token added).
    pub fn post(
        &mut self,
        addr: &str,
        from: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, String) {
        let (_, _, page) = self.get(addr, from);
        let csrf = input_value(&page, "_csrf");
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let c = self.cookie();
        let (status, head, body) = request(addr, "POST", path, &[("Cookie", &c)], &form(&all));
        cookies(&head, &mut self.jar);
        (status, head, body)
    }

    /// Logs in through `addr`; the status of the login form's answer.
    pub fn login(&mut self, addr: &str, email: &str, password: &str) -> u16 {
        self.post(
            addr,
            "/admin/login",
            "/admin/login",
            &[("email", email), ("password", password), ("next", "/admin")],
        )
        .0
    }
}

/// The status of a GET (no cookies).
pub fn status(addr: &str, path: &str) -> u16 {
    request(addr, "GET", path, &[], "").0
}
