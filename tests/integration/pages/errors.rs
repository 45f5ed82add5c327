//! A failure on our side (here: a table gone from under the app) is a 5xx that names an error
//! id, and the log line with the cause carries the same id: public pages, the admin and the API.

use std::io::Write;
use std::sync::{Arc, Mutex};

use cms_core::models::user::Role;

use crate::admin::client::{Client, PASSWORD, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get};

/// A log writer the test can read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// The process's log, captured: answers are made on blocking threads too, so the subscriber
/// is the global one (set once; each test looks for its own ids).
fn global_log() -> Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        log
    })
    .clone()
}

/// The error id an answer names (`… error ID.` or `(Error ID)`): the first word of eight or
/// more letters and digits after "error".
fn id_in(text: &str) -> String {
    text.split("rror ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .find(|w| w.len() >= 8)
        .unwrap_or_default()
}

async fn failures_on_our_side_name_an_error_id(backend: Backend) {
    let log = global_log();
    let env = TestEnv::new(backend);
    make_user(&env, "admin@example.org", Role::Admin);
    let token = crate::api::token(&env, "reader", &["drafts:read"]);
    let app = env.app().await;
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    // Break the database under the running app.
    {
        use diesel::connection::SimpleConnection;
        let mut conn = env.conn();
        let sql = match backend {
            Backend::Sqlite => "PRAGMA foreign_keys = OFF; DROP TABLE post_tags; DROP TABLE tags;",
            Backend::Postgres => "DROP TABLE tags CASCADE;",
        };
        cms_core::per_backend!(&mut *conn, |c| c.batch_execute(sql)).expect("break it");
    }
    let api = crate::api::call(&app, "GET", "/api/v1/tags", Some(&token), None).await;
    let page = get(&app, "/tag/anything").await;
    let admin_page = admin.get(&app, "/admin/categories").await;
    let logged = log.text();
    for (what, status, body) in [
        ("api", api.status, api.body.clone()),
        ("page", page.status, page.body.clone()),
        ("admin", admin_page.status, admin_page.body.clone()),
    ] {
        assert_eq!(status, 500, "{what}: {body}");
        let id = id_in(&body);
        assert!(id.len() >= 8, "{what} names an error id: {body}");
        assert!(
            logged.contains(&format!("error_id={id}")),
            "{what}: the log has the id {id} with the cause:\n{logged}"
        );
    }
    let problem: serde_json::Value = serde_json::from_str(&api.body).expect("json");
    assert_eq!(
        problem["error_id"].as_str(),
        Some(id_in(&api.body).as_str())
    );
    assert!(
        !api.body.contains("tags"),
        "no internals in the answer: {}",
        api.body
    );
}

backend_tests!(failures_on_our_side_name_an_error_id);
