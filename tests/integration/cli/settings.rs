//! Every setting the README documents, as a user sets it: the binary lists the same ones, reads
//! each one (a bad value, in the environment or in `cms.toml`, stops it with a line naming the
//! setting) and each takes effect where a user would see it — the release binary, real files,
//! a real SMTP server.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{cms, db_url, request, run, served_address, stderr_lines};
use crate::common::Backend;
use crate::mail::sink::Sink;

/// The `CMS_*` names of the README's settings table.
fn documented() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `CMS_"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| format!("CMS_{name}"))
        .collect()
}

/// A value of each setting that must be refused, with the setting it names.
const BAD: &[(&str, &str)] = &[
    ("CMS_DATABASE_URL", "mysql://somewhere/db"),
    ("CMS_DATABASE_POOL_SIZE", "0"),
    ("CMS_BIND", "nonsense"),
    ("CMS_BASE_URL", "ftp://fans.example"),
    ("CMS_SMTP_URL", "http://mail.example"),
    ("CMS_SMTP_CONNECTIONS", "0"),
    ("CMS_MAIL_RATE", "fast"),
    ("CMS_MAIL_RETRY_SECONDS", "soon"),
    ("CMS_MAIL_FROM", "not an address"),
    ("CMS_SECRET_KEY", "too short"),
    ("CMS_IMAGE_WIDTHS", "10,99999"),
    ("CMS_MAX_UPLOAD_MB", "0"),
    ("CMS_TIMEZONE", "Mars/Olympus_Mons"),
    ("CMS_PAGE_CACHE_MB", "lots"),
    ("CMS_TRUSTED_PROXIES", "10.0.0.0/33"),
    ("CMS_API_RATE", "-5"),
    ("CMS_REQUIRE_2FA", "maybe"),
    ("CMS_WEBHOOK_ALLOW_PRIVATE", "perhaps"),
    ("CMS_DIGEST_HOUR", "25"),
    ("CMS_DIGEST_DAY", "someday"),
    // Inside the media folder (the default, data/media, under the working directory).
    ("CMS_BACKUP_DIR", "data/media/backups"),
    ("CMS_BACKUP_EVERY", "1s"),
    ("CMS_BACKUP_KEEP", "0"),
    // The object store: checked before anything connects (tests/integration/storage/ starts
    // the release binary on a real Garage bucket with them).
    ("CMS_MEDIA_URL", "ftp://media"),
    ("CMS_S3_ENDPOINT", "garage.local"),
    ("CMS_S3_REGION", "eu west"),
    // One key without the other.
    ("CMS_S3_ACCESS_KEY_ID", "GK31c2f218a2e44f485b94239e"),
    (
        "CMS_S3_SECRET_ACCESS_KEY",
        "b892c0665f0ada8a4755dae98baa3b133590e11dae3bcc1f",
    ),
    // A session token without the keys it belongs to.
    ("CMS_S3_SESSION_TOKEN", "FwoGZXIvYXdzEBYaDH"),
    ("CMS_MEDIA_PUBLIC_URL", "cdn.example.org/media"),
    ("CMS_LOG_FORMAT", "yaml"),
    // A token too short to be one.
    ("CMS_METRICS", "letmein"),
];

#[test]
fn every_documented_setting_is_listed_and_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = run(cms(dir.path(), &[]).arg("--help"));
    assert!(help.status.success());
    let listed: BTreeSet<String> = String::from_utf8_lossy(&help.stdout)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("CMS_"))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|name| format!("CMS_{name}"))
        .collect();
    assert_eq!(
        listed,
        documented(),
        "cms --help and the README list the same settings"
    );
    // Every setting with a form is read: a bad value stops the binary naming it, from the
    // environment and from cms.toml alike. (CMS_DATA_DIR, CMS_MEDIA_DIR, CMS_IMPORT_DIR and
    // CMS_LOG take any value; their effects are checked below.)
    let with_form: BTreeSet<String> = BAD.iter().map(|(k, _)| k.to_string()).collect();
    let free: BTreeSet<String> = ["CMS_DATA_DIR", "CMS_MEDIA_DIR", "CMS_IMPORT_DIR", "CMS_LOG"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        with_form.union(&free).cloned().collect::<BTreeSet<_>>(),
        documented(),
        "each documented setting is covered here"
    );
    for (key, bad) in BAD {
        let out = run(cms(dir.path(), &[(key, bad)]).arg("migrate"));
        assert_eq!(out.status.code(), Some(1), "{key}={bad}");
        let lines = stderr_lines(&out);
        assert!(
            lines.iter().any(|l| l.contains(key)),
            "{key}={bad}: {lines:?}"
        );
        let toml_dir = tempfile::tempdir().expect("tempdir");
        let toml_key = key.trim_start_matches("CMS_").to_ascii_lowercase();
        std::fs::write(
            toml_dir.path().join("cms.toml"),
            // None of the bad values holds a quote or a backslash.
            format!("{toml_key} = \"{bad}\"\n"),
        )
        .expect("cms.toml");
        // Nothing from the environment (the helper's own key would win over the file).
        let out = run(cms(toml_dir.path(), &[])
            .env_remove("CMS_SECRET_KEY")
            .arg("migrate"));
        assert_eq!(out.status.code(), Some(1), "cms.toml {toml_key}");
        let lines = stderr_lines(&out);
        assert!(
            lines.iter().any(|l| l.contains(key)),
            "cms.toml {toml_key}: {lines:?}"
        );
    }
}

/// The `name=value` of every `Set-Cookie` in a header block, as one `Cookie` header.
pub(crate) fn cookies(head: &str, jar: &mut Vec<String>) -> String {
    for line in head.lines() {
        if let Some(v) = line.strip_prefix("set-cookie: ") {
            let pair = v.split(';').next().unwrap_or_default().to_string();
            let name = pair.split('=').next().unwrap_or_default().to_string();
            jar.retain(|c| !c.starts_with(&format!("{name}=")));
            jar.push(pair);
        }
    }
    jar.join("; ")
}

pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

async fn every_documented_setting_takes_effect(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let (url, _pg) = match backend {
        // Not the default path: the database goes where the setting says.
        Backend::Sqlite => {
            std::fs::create_dir_all(root.join("db")).expect("mkdir");
            (
                format!("sqlite://{}", root.join("db/site.db").display()),
                None,
            )
        }
        Backend::Postgres => db_url(backend, root),
    };
    let mut sink = Sink::start(&root.join("sink"));
    let smtp = sink.url();
    let state = root.join("state");
    let pictures = root.join("pictures");
    let dropbox = root.join("dropbox");
    let env: Vec<(&str, String)> = vec![
        ("CMS_DATABASE_URL", url.clone()),
        ("CMS_DATABASE_POOL_SIZE", "3".into()),
        ("CMS_DATA_DIR", state.display().to_string()),
        ("CMS_MEDIA_DIR", pictures.display().to_string()),
        ("CMS_IMPORT_DIR", dropbox.display().to_string()),
        ("CMS_BIND", "127.0.0.1:0".into()),
        ("CMS_BASE_URL", "https://fans.example".into()),
        ("CMS_SMTP_URL", smtp),
        ("CMS_MAIL_FROM", "Fan Archive <news@fans.example>".into()),
        ("CMS_SMTP_CONNECTIONS", "2".into()),
        ("CMS_MAIL_RATE", "50".into()),
        ("CMS_MAIL_RETRY_SECONDS", "7".into()),
        ("CMS_IMAGE_WIDTHS", "200,500".into()),
        ("CMS_MAX_UPLOAD_MB", "1".into()),
        ("CMS_TIMEZONE", "Europe/London".into()),
        ("CMS_PAGE_CACHE_MB", "0".into()),
        ("CMS_API_RATE", "20".into()),
        ("CMS_TRUSTED_PROXIES", "127.0.0.1".into()),
        ("CMS_REQUIRE_2FA", "true".into()),
        ("CMS_BACKUP_DIR", root.join("safe").display().to_string()),
        ("CMS_BACKUP_EVERY", "12h".into()),
        ("CMS_BACKUP_KEEP", "1".into()),
        ("CMS_LOG", "warn".into()),
    ];
    let cmd = || {
        let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut c = cms(root, &refs);
        // CMS_SECRET_KEY unset: one is generated into CMS_DATA_DIR.
        c.env_remove("CMS_SECRET_KEY");
        c
    };
    // The gallery import: widths and the upload limit from the settings, files in the media
    // folder, the database where the URL says.
    let src = root.join("src/Shoot");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(
        src.join("small.jpg"),
        crate::gallery::files::jpeg(1000, 600, 3),
    )
    .expect("w");
    std::fs::write(
        src.join("big.png"),
        crate::gallery::files::noise_png(900, 900),
    )
    .expect("w");
    let out = cmd()
        .args(["import", "gallery"])
        .arg(root.join("src"))
        .output()
        .expect("import");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("big.png") && err.contains("1 MB"), "{err}");
    assert!(
        state.join("secret.key").is_file(),
        "CMS_DATA_DIR holds the generated key"
    );
    if backend == Backend::Sqlite {
        assert!(root.join("db/site.db").is_file());
        assert!(!state.join("cms.db").exists());
    }
    let mut widths: Vec<String> = Vec::new();
    for entry in walk(&pictures.join("photos")) {
        let name = entry
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if let Some(w) = name
            .rsplit_once('-')
            .and_then(|(_, w)| w.strip_suffix(".jpg"))
        {
            widths.push(w.to_string());
        }
    }
    widths.sort();
    assert_eq!(
        widths,
        ["200", "500"],
        "derivatives at CMS_IMAGE_WIDTHS in CMS_MEDIA_DIR"
    );
    // An admin and a token for the server.
    let mut add = cmd()
        .args([
            "user",
            "add",
            "--email",
            "admin@fans.example",
            "--name",
            "Admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(b"a long enough password\n")
        .expect("write");
    assert!(add.wait().expect("wait").success());
    let token = cmd()
        .args([
            "token",
            "create",
            "--name",
            "reader",
            "--scope",
            "drafts:read",
        ])
        .output()
        .expect("token");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    assert!(token.starts_with("ks_"), "{token}");
    // The server: where CMS_BIND says, logging at CMS_LOG's level.
    let mut child = cmd()
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let addr = served_address(&mut child);
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    // CMS_BASE_URL: absolute links and HSTS.
    let (status, head, body) = request(&addr, "GET", "/sitemaps/albums.xml", &[], "");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<loc>https://fans.example/albums/shoot</loc>"),
        "{body}"
    );
    let (_, head_home, _) = request(&addr, "GET", "/", &[], "");
    assert!(
        head_home.contains("strict-transport-security"),
        "{head_home}"
    );
    drop(head);
    // CMS_API_RATE: 20 a minute is a burst of 2 (a tenth), so the third request at once is
    // refused (the default, 600, would allow 60).
    let auth = format!("Bearer {token}");
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            request(
                &addr,
                "GET",
                "/api/v1/posts",
                &[("Authorization", &auth)],
                "",
            )
            .0
        })
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    // CMS_TIMEZONE and CMS_IMPORT_DIR, as the admin sees them.
    let mut jar = Vec::new();
    let (_, head, body) = request(&addr, "GET", "/admin/login", &[], "");
    let cookie = cookies(&head, &mut jar);
    let csrf = input_value(&body, "_csrf");
    let (status, head, _) = request(
        &addr,
        "POST",
        "/admin/login",
        // CMS_TRUSTED_PROXIES: from 127.0.0.1, the forwarded address is the client's.
        &[("Cookie", &cookie), ("X-Forwarded-For", "203.0.113.9")],
        &form(&[
            ("_csrf", &csrf),
            ("email", "admin@fans.example"),
            ("password", "a long enough password"),
            ("next", "/admin"),
        ]),
    );
    assert_eq!(status, 303, "{head}");
    let cookie = cookies(&head, &mut jar);
    // CMS_REQUIRE_2FA: nothing but the account page until two-step verification is set up.
    assert!(head.contains("location: /admin/account"), "{head}");
    let (status, head, _) = request(&addr, "GET", "/admin/posts/new", &[("Cookie", &cookie)], "");
    assert_eq!(status, 303);
    assert!(head.contains("location: /admin/account"), "{head}");
    let (_, _, account) = request(&addr, "GET", "/admin/account", &[("Cookie", &cookie)], "");
    let csrf = input_value(&account, "_csrf");
    let (status, _, setup) = request(
        &addr,
        "POST",
        "/admin/account/2fa/setup",
        &[("Cookie", &cookie)],
        &form(&[("_csrf", &csrf), ("password", "a long enough password")]),
    );
    assert_eq!(status, 200, "{setup}");
    let key = {
        let doc = scraper::Html::parse_document(&setup);
        let sel = scraper::Selector::parse("figure.qr code.secret").expect("selector");
        doc.select(&sel)
            .next()
            .map(|e| e.text().collect::<String>().replace(' ', ""))
            .expect("the key")
    };
    let app = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(key).to_bytes().expect("base32"),
        None,
        String::new(),
    )
    .expect("totp");
    let (status, _, done) = request(
        &addr,
        "POST",
        "/admin/account/2fa/enable",
        &[("Cookie", &cookie)],
        &form(&[
            ("_csrf", &csrf),
            ("code", &app.generate_current().expect("code")),
        ]),
    );
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("recovery-codes"), "{done}");
    let (status, _, editor) = request(&addr, "GET", "/admin/posts/new", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200);
    assert!(
        editor.contains("Europe/London"),
        "the editor schedules in CMS_TIMEZONE"
    );
    let (_, _, import) = request(&addr, "GET", "/admin/import", &[("Cookie", &cookie)], "");
    assert!(
        import.contains(&dropbox.display().to_string()),
        "CMS_IMPORT_DIR"
    );
    // CMS_SMTP_URL and CMS_MAIL_FROM: a sign-up's confirmation reaches the server, from them.
    let (status, _, body) = request(
        &addr,
        "POST",
        "/subscribe",
        &[],
        &form(&[("email", "fan@example.org"), ("topics", "news")]),
    );
    assert!(status < 400, "{body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mail = loop {
        if let Some(m) = sink.messages().into_iter().next() {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no confirmation email reached the SMTP server"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let from = mail.header("from").unwrap_or_default().to_string();
    assert!(from.contains("news@fans.example"), "{from}");
    // CMS_BACKUP_DIR, CMS_BACKUP_EVERY, CMS_BACKUP_KEEP: the server took a snapshot at start
    // into the folder, and the dashboard says so and when the next is due.
    let deadline = Instant::now() + Duration::from_secs(60);
    let snapshot = loop {
        let complete: Vec<_> = cms_core::backup::schedule::snapshots(&root.join("safe"))
            .expect("snapshots")
            .into_iter()
            .filter(|(_, done)| *done)
            .collect();
        if let Some((p, _)) = complete.into_iter().next() {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled backup in CMS_BACKUP_DIR"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let m = cms_core::backup::verify(&snapshot).expect("verifies");
    assert!(m.media.files > 0, "CMS_MEDIA_DIR's files are in it");
    let (_, _, dash) = request(&addr, "GET", "/admin", &[("Cookie", &cookie)], "");
    let text = scraper::Html::parse_document(&dash)
        .select(&scraper::Selector::parse("section.backups").expect("selector"))
        .map(|e| e.text().collect::<String>())
        .collect::<String>();
    assert!(
        text.contains(&snapshot.display().to_string())
            && text.contains("every 12 hours")
            && text.contains("keeping the last 1"),
        "{text}"
    );
    // CMS_LOG=warn: none of the access log's info lines.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("log");
    assert!(child.wait().expect("wait").success());
    assert!(!log.contains("INFO"), "{log}");
    let config = cms_core::Config::for_tests(&state, &url).expect("config");
    let app_state = cms_core::AppState::open(config).expect("state");
    let ips: Vec<Option<String>> = {
        use diesel::prelude::*;
        cms_core::schema::audit_log::table
            .filter(cms_core::schema::audit_log::action.eq("login"))
            .select(cms_core::schema::audit_log::ip)
            .load(&mut *app_state.db.conn().expect("conn"))
            .expect("audit")
    };
    assert_eq!(
        ips,
        [Some("203.0.113.9".to_string())],
        "CMS_TRUSTED_PROXIES"
    );
    assert!(!log.contains("GET /"), "{log}");
    sink.stop();
}

/// Every file under a folder.
pub(super) fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The value of the first `<input name=NAME value=…>` of a page.
pub(crate) fn input_value(html: &str, name: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("input[name={name}]")).expect("selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap_or_default()
        .to_string()
}

crate::backend_tests!(every_documented_setting_takes_effect);
