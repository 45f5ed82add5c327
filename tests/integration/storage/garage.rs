//! A real Garage server (S3-compatible object store) for the tests: one node in a temp folder,
//! started from the binary `scripts/test` builds (`KEEPSAKE_GARAGE_BIN`), with a key that may
//! read and write the buckets the tests make. Most tests share one server (a bucket each);
//! a test that stops the store starts its own.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The region the test servers call themselves.
pub const REGION: &str = "garage";

/// One Garage node and an access key.
pub struct Garage {
    dir: tempfile::TempDir,
    child: Option<Child>,
    pub s3_port: u16,
    pub key_id: String,
    pub secret: String,
}

/// The Garage binary: `scripts/test` builds it once and names it.
pub fn garage_bin() -> PathBuf {
    match std::env::var_os("KEEPSAKE_GARAGE_BIN") {
        Some(p) if !p.is_empty() && Path::new(&p).is_file() => PathBuf::from(p),
        _ => panic!(
            "the object-store tests need Garage: run them with ./scripts/test, which builds it \
             once and sets KEEPSAKE_GARAGE_BIN"
        ),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The server every test shares (started on first use, stopped when the test process ends).
pub fn shared() -> &'static Garage {
    static SHARED: OnceLock<Garage> = OnceLock::new();
    SHARED.get_or_init(Garage::start)
}

impl Garage {
    /// A new node with its layout applied and a key, ready for buckets.
    pub fn start() -> Garage {
        let dir = tempfile::tempdir().expect("tempdir");
        let (rpc, s3, admin) = (free_port(), free_port(), free_port());
        let secret: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let config = format!(
            r#"metadata_dir = "{d}/meta"
data_dir = "{d}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
            d = dir.path().display()
        );
        std::fs::write(dir.path().join("garage.toml"), config).expect("write config");
        let mut garage = Garage {
            dir,
            child: None,
            s3_port: s3,
            key_id: String::new(),
            secret: String::new(),
        };
        garage.run_server();
        let id = garage.cli(&["node", "id", "-q"]);
        let id = id.split('@').next().unwrap_or_default().trim().to_string();
        garage.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &id]);
        garage.cli(&["layout", "apply", "--version", "1"]);
        let key = garage.cli(&["key", "create", "keepsake-tests"]);
        let field = |name: &str| {
            key.lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                .unwrap_or_else(|| panic!("no '{name}' in garage's answer: {key}"))
        };
        garage.key_id = field("Key ID:");
        garage.secret = field("Secret key:");
        garage
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("garage.toml")
    }

    /// Starts the server process (again, after [`Garage::stop`]: the data is kept) and waits
    /// until it answers. A watcher ends it when the test process ends, however that happens.
    pub fn run_server(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("garage.log")).expect("log");
        let script = format!(
            "{bin} -c {cfg} server & g=$!; trap 'kill $g' TERM; \
             while kill -0 {me} 2>/dev/null && kill -0 $g 2>/dev/null; do sleep 0.5; done; kill $g 2>/dev/null",
            bin = garage_bin().display(),
            cfg = self.config().display(),
            me = std::process::id()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .env("RUST_LOG", "garage=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start garage");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.s3_port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "garage did not start: {}",
                std::fs::read_to_string(self.dir.path().join("garage.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The RPC side answers a moment after the S3 port opens.
        while Command::new(garage_bin())
            .args(["-c", &self.config().display().to_string(), "status"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            assert!(started.elapsed() < Duration::from_secs(30), "garage status");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (the store is down until [`Garage::run_server`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.s3_port)).is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "garage did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `garage ARGS…` against this node; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(garage_bin())
            .arg("-c")
            .arg(self.config())
            .args(args)
            .output()
            .expect("run garage");
        assert!(
            out.status.success(),
            "garage {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new, empty bucket the key may read and write.
    pub fn bucket(&self) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "media-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u16>()
        );
        self.cli(&["bucket", "create", &name]);
        self.cli(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            &name,
            "--key",
            "keepsake-tests",
        ]);
        name
    }

    /// A store on `bucket` under `prefix`, as a site configured for it would open.
    pub fn store(&self, bucket: &str, prefix: &str) -> cms_core::media::s3::S3MediaStore {
        let mut location =
            cms_core::media::s3::S3Location::parse(&format!("s3://{bucket}/{prefix}"))
                .expect("url");
        location.endpoint = Some(self.endpoint());
        location.region = REGION.into();
        location.access_key_id = Some(self.key_id.clone());
        location.secret_access_key = Some(self.secret.clone());
        cms_core::media::s3::S3MediaStore::open(location).expect("open")
    }

    /// The S3 address of this node.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The settings (`cms.toml` keys) that keep a site's media in `bucket` under `prefix`.
    pub fn settings(&self, bucket: &str, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("media_url", format!("s3://{bucket}/{prefix}")),
            ("s3_endpoint", self.endpoint()),
            ("s3_region", REGION.to_string()),
            ("s3_access_key_id", self.key_id.clone()),
            ("s3_secret_access_key", self.secret.clone()),
        ]
    }

    /// The same settings as environment variables of the `cms` binary, with the credentials
    /// under their standard AWS names.
    pub fn env(&self, bucket: &str, prefix: &str) -> Vec<(String, String)> {
        vec![
            ("CMS_MEDIA_URL".into(), format!("s3://{bucket}/{prefix}")),
            ("CMS_S3_ENDPOINT".into(), self.endpoint()),
            ("CMS_S3_REGION".into(), REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret.clone()),
        ]
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}
