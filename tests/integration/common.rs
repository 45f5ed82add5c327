//! The test harness: a fresh database per test on either backend, the real app over it, and
//! builders for content. Every test that touches the database runs on SQLite and PostgreSQL
//! through [`backend_tests!`].

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use cms_core::db::PooledConn;
use cms_core::models::album::{self, AlbumStatus, NewAlbum};
use cms_core::models::photo::NewPhoto;
use cms_core::{AppState, Config};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// The app under test as `actix_web::test::init_service` makes it: anything that answers a test
/// request with a service response whose body is `B`.
pub trait TestApp<B>:
    Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>
{
}

impl<S, B> TestApp<B> for S where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>
{
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on (trust auth on this machine).
pub fn pg_admin_url() -> String {
    std::env::var("KEEPSAKE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "keepsake_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let admin = pg_admin_url();
        let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
            panic!(
                "PostgreSQL must be running for the tests ({admin}): {e}; scripts/test starts it"
            )
        });
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        PgDatabase {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&pg_admin_url()) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// One test's world: a temp folder (data, media, SQLite file), a database, the app state.
pub struct TestEnv {
    pub state: AppState,
    pub backend: Backend,
    _dir: tempfile::TempDir,
    // Dropped last: the pool above must close its connections first.
    _pg: Option<PgDatabase>,
}

impl TestEnv {
    /// A migrated, empty database on `backend`.
    pub fn new(backend: Backend) -> TestEnv {
        Self::with(backend, &[])
    }

    /// Like [`TestEnv::new`], with extra settings (`cms.toml` keys).
    pub fn with(backend: Backend, settings: &[(&str, &str)]) -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("cms.db").display()),
                None,
            ),
            Backend::Postgres => {
                let db = PgDatabase::create();
                (db.url.clone(), Some(db))
            }
        };
        let mut raw = cms_core::config::RawSettings::default();
        raw.set("data_dir", dir.path().display().to_string())
            .set("database_url", &url)
            .set("bind", "127.0.0.1:0")
            .set("base_url", "http://keepsake.test")
            .set("secret_key", "test-secret-key-test-secret-key-test-secret");
        for (k, v) in settings {
            raw.set(k, *v);
        }
        let config: Config = raw.resolve().expect("test config");
        let state = AppState::open(config).expect("open state");
        state.migrate().expect("migrate");
        TestEnv {
            state,
            backend,
            _dir: dir,
            _pg: pg,
        }
    }

    /// `cms ARGS…` (the binary a user runs) on this world's database and data folder, with
    /// nothing else from the environment; `CMS_LOG=warn`.
    pub fn cms(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(cms_bin());
        for (k, _) in std::env::vars() {
            if k.starts_with("CMS_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(args)
            .env(
                "CMS_DATABASE_URL",
                self.state.config.database.url.to_string(),
            )
            .env("CMS_DATA_DIR", &self.state.config.storage.data_dir)
            .env(
                "CMS_SECRET_KEY",
                "test-secret-key-test-secret-key-test-secret",
            )
            .env("CMS_LOG", "warn");
        cmd
    }

    /// A pooled connection.
    pub fn conn(&self) -> PooledConn {
        self.state.db.conn().expect("connection")
    }

    /// Runs `f` in a write transaction, as the app does.
    pub fn write<T>(&self, f: impl FnOnce(&mut cms_core::DbConn) -> cms_core::Result<T>) -> T {
        self.state.db.write_blocking(f).expect("write")
    }

    /// The whole app as an actix test service.
    pub async fn app(
        &self,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(keepsake::app(self.state.clone())).await
    }

    /// Loads the demo archive with a few photos per album.
    pub fn demo(&self) -> cms_core::demo::DemoReport {
        cms_core::demo::load(
            &self.state.db,
            self.state.media.as_ref(),
            cms_core::demo::DemoOptions {
                photo_divisor: 400,
                ..Default::default()
            },
        )
        .expect("demo")
        .expect("an empty database")
    }

    /// Creates a published album under a gallery path with `n` photos (fake files).
    pub fn album_with_photos(&self, path: &[&str], title: &str, n: usize) -> album::Album {
        self.write(|conn| {
            let cat = cms_core::service::gallery::ensure_path(conn, &crate::common::cli(), path)?;
            let a = cms_core::service::gallery::create_album(
                conn,
                &crate::common::cli(),
                &NewAlbum {
                    category_id: cat,
                    title,
                    description: "",
                    credit: "",
                    status: AlbumStatus::Published,
                },
            )?;
            cms_core::service::gallery::add_photos(
                conn,
                &crate::common::cli(),
                a.id,
                &fake_photos(title, n),
            )?;
            Ok(album::find(conn, a.id)?.expect("album"))
        })
    }
}

/// The `cms` binary the tests run as a user would: the release build `scripts/test` makes
/// and names in `KEEPSAKE_CMS_BIN`, else (a bare `cargo test`) the one Cargo built for the
/// tests.
pub fn cms_bin() -> std::path::PathBuf {
    match std::env::var_os("KEEPSAKE_CMS_BIN") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => std::path::PathBuf::from(env!("CARGO_BIN_EXE_cms")),
    }
}

/// `cms` ([`cms_bin`]) with none of this environment's `CMS_*` and `AWS_*` settings: what a
/// test gives it is all it knows.
pub fn bare_cms() -> std::process::Command {
    let mut cmd = std::process::Command::new(cms_bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("CMS_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A post that is published as soon as it is created (fixtures; set other fields on it).
pub fn published_post(title: &str, body: &str) -> cms_core::models::post::PostInput {
    let mut p = cms_core::models::post::PostInput::new(title, body);
    p.status = cms_core::models::post::PostStatus::Published;
    p
}

/// The actor tests write as (the command line's).
pub fn cli() -> cms_core::models::audit::Actor {
    cms_core::models::audit::Actor::cli()
}

/// `n` photo rows with distinct fake content hashes (no files; enough for model tests).
pub fn fake_photos(prefix: &str, n: usize) -> Vec<NewPhoto> {
    (0..n)
        .map(|i| NewPhoto {
            original_filename: format!("{prefix}-{i}.jpg"),
            caption: String::new(),
            credit: String::new(),
            source: String::new(),
            content_hash: format!("{:064x}", fxhash(&format!("{prefix}/{i}"))),
            mime: "image/jpeg".into(),
            width: 1920,
            height: 1080,
            bytes: 1000,
            variants: vec![320, 1280],
            ..Default::default()
        })
        .collect()
}

fn fxhash(s: &str) -> u128 {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in s.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    h
}

/// A response read whole.
pub struct Page {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The parsed HTML.
    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }

    /// Texts of the elements matching a CSS selector, whitespace collapsed.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let sel = scraper::Selector::parse(selector).expect("valid selector");
        self.html()
            .select(&sel)
            .map(|e| {
                e.text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Values of an attribute on the elements matching a selector.
    pub fn attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let sel = scraper::Selector::parse(selector).expect("valid selector");
        self.html()
            .select(&sel)
            .filter_map(|e| e.value().attr(attr).map(str::to_string))
            .collect()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// GETs `path` from the app.
pub async fn get<S, B>(app: &S, path: &str) -> Page
where
    S: TestApp<B>,
    B: MessageBody,
{
    get_with(app, path, &[]).await
}

/// GETs `path` with extra request headers.
pub async fn get_with<S, B>(app: &S, path: &str, headers: &[(&str, &str)]) -> Page
where
    S: TestApp<B>,
    B: MessageBody,
{
    let mut req = test::TestRequest::get().uri(path);
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    send(app, req).await
}

/// Sends any request to the app: its status, headers and body.
pub async fn send<S, B>(app: &S, req: test::TestRequest) -> Page
where
    S: TestApp<B>,
    B: MessageBody,
{
    let req = req.to_request();
    let resp = test::call_service(app, req).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = test::read_body(resp).await;
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Declares a test that runs once per backend: `backend_tests!(name, ...)` over
/// `async fn name(backend: Backend)` gives `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[actix_web::test]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

/// A multipart/form-data body with text fields and files `(field, filename, bytes)`.
pub fn multipart(
    boundary: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, filename, bytes) in files {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}
