//! `cms backup` and `cms restore` as a site owner runs them: the release binary, a site that
//! serves and takes writes while it is backed up, kill -9 in the middle of a backup, a damaged
//! backup, and a restore that gives the same site on a fresh machine.

use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Site, cms, db_url, http, request, run, served_address, stderr_lines};
use crate::common::Backend;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn a_busy_site_is_backed_up_and_restored(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url_a, _pg_a) = db_url(backend, &dir.path().join("a"));
    let (url_b, _pg_b) = db_url(backend, &dir.path().join("b"));
    let (url_c, _pg_c) = db_url(backend, &dir.path().join("c"));
    let (url_d, _pg_d) = db_url(backend, &dir.path().join("d"));
    for d in ["a", "b", "c", "d"] {
        std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
    }
    let mut a = Site {
        root: dir.path().join("a"),
        url: url_a,
        server: None,
        addr: String::new(),
    };
    a.serve(true);
    let token = stdout(&a.cms(&["token", "create", "--name", "w", "--scope", "posts:write"]))
        .trim()
        .to_string();
    assert!(token.starts_with("ks_"), "{token}");

    // Writers and readers keep the site busy for 20 s while it is backed up, again and again.
    // The writer creates "Busy 0", "Busy 1", … one after another and notes each one the API
    // acknowledged, so a backup's posts can be checked against the moment it was taken.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let trying = Arc::new(AtomicUsize::new(0));
    let load: Vec<_> = (0..3)
        .map(|i| {
            let (stop, acked, trying, addr, auth) = (
                stop.clone(),
                acked.clone(),
                trying.clone(),
                a.addr.clone(),
                format!("Bearer {token}"),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    if i == 0 {
                        trying.store(n, Ordering::SeqCst);
                        let body = format!("{{\"title\":\"Busy {n}\",\"status\":\"published\"}}");
                        let (status, _, _) = json_request(&addr, "/api/v1/posts", &auth, &body);
                        if status == 201 {
                            acked.lock().expect("acked").push(n);
                        }
                        n += 1;
                    } else {
                        let (status, _, _) =
                            http(&addr, "GET", if i == 1 { "/posts" } else { "/" });
                        assert_eq!(status, 200);
                    }
                }
            })
        })
        .collect();
    let started = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let backup = dir.path().join("backup");
    let backup_s = backup.display().to_string();
    let busy = dir.path().join("busy");
    let mut taken = 0;
    // (acknowledged before the last backup began, the one in flight when it ended)
    let window: (Vec<usize>, usize);
    // Until 18 s have passed (and two backups are done), then one last backup into a fresh
    // folder: the loop always ends with it, however slow the machine.
    loop {
        let last = taken >= 2 && started.elapsed() >= Duration::from_secs(18);
        let into = if last { &busy } else { &backup };
        let before = acked.lock().expect("acked").clone();
        let out = a.cms(&["backup", &into.display().to_string()]);
        let attempted = trying.load(Ordering::SeqCst);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = stdout(&out);
        assert!(
            said.starts_with(&format!("backed up to {}", into.display())),
            "{said}"
        );
        assert!(said.contains("the secret key included"), "{said}");
        let v = a.cms(&["backup", "--verify", &into.display().to_string()]);
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
        taken += 1;
        if last {
            window = (before, attempted);
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().expect("load thread");
    }
    assert!(taken >= 3, "{taken} backups during the load");
    assert!(
        window.0.len() > 10,
        "writes went on during the backups: {:?}",
        window.0.len()
    );
    // Consistent: the manifest's counts are the snapshot's rows (verify recounts them) and
    // the database passes its integrity check.
    let v = a.cms(&["backup", "--verify", &backup_s]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    assert!(
        stdout(&v).contains("is a complete backup"),
        "{}",
        stdout(&v)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(busy.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert!(manifest["counts"]["posts"].as_i64().expect("posts") >= 14);
    let media = &manifest["media"];
    assert_eq!(
        media["copied"].as_u64().unwrap_or(0) + media["linked"].as_u64().unwrap_or(0),
        media["files"].as_u64().expect("files"),
        "every file copied, or linked to another name of the same file"
    );

    // Quiet now: bring the backup up to date; only what changed is copied.
    let again = a.cms(&["backup", &backup_s]);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains(" 0 copied now"),
        "{}",
        stdout(&again)
    );

    // kill -9 in the middle of a backup: the folder is complete and verified, or clearly
    // incomplete; the site is untouched.
    for delay in [5u64, 40, 120] {
        let killed = dir.path().join(format!("killed-{delay}"));
        let env = a.env();
        let mut c = cms(&a.root, &env);
        let mut child = c
            .env_remove("CMS_SECRET_KEY")
            .arg("backup")
            .arg(&killed)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("backup");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
        let v = a.cms(&["backup", "--verify", &killed.display().to_string()]);
        if killed.join("manifest.json").exists() {
            assert!(v.status.success(), "a finished backup verifies");
        } else {
            assert_eq!(v.status.code(), Some(1));
            let lines = stderr_lines(&v);
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains("not a complete backup"), "{lines:?}");
        }
        assert_eq!(http(&a.addr, "GET", "/healthz").0, 200);
    }

    // A damaged copy is found out, and nothing is restored from it.
    let damaged = dir.path().join("damaged");
    copy_tree(&backup, &damaged);
    let db_file = ["database.sqlite", "database.pgdump"]
        .iter()
        .map(|f| damaged.join(f))
        .find(|p| p.exists())
        .expect("database file");
    let mut bytes = std::fs::read(&db_file).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&db_file, bytes).expect("write");
    let v = a.cms(&["backup", "--verify", &damaged.display().to_string()]);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        stderr_lines(&v)[0].contains("damaged"),
        "{:?}",
        stderr_lines(&v)
    );

    // Restore on a fresh machine: the same site, the same key, the owner's password works.
    let mut b = Site {
        root: dir.path().join("b"),
        url: url_b,
        server: None,
        addr: String::new(),
    };
    let bad = b.cms(&["restore", &damaged.display().to_string()]);
    assert_eq!(bad.status.code(), Some(1));
    let missing = b.cms(&["restore", "/nonexistent/backup"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(stderr_lines(&missing).len(), 1);
    let r = b.cms(&["restore", &backup_s]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(
        stdout(&r).starts_with("restored the backup of"),
        "{}",
        stdout(&r)
    );
    assert_eq!(
        std::fs::read(a.root.join("data/secret.key")).expect("key a"),
        std::fs::read(b.root.join("data/secret.key")).expect("key b"),
        "the site's key comes back with it"
    );
    let twice = b.cms(&["restore", &backup_s]);
    assert_eq!(
        twice.status.code(),
        Some(1),
        "a site with content is not replaced"
    );
    assert!(
        stderr_lines(&twice)[0].contains("--force"),
        "{:?}",
        stderr_lines(&twice)
    );
    assert!(b.cms(&["restore", "--force", &backup_s]).status.success());
    b.serve(false);
    for path in [
        "/",
        "/posts",
        "/videos",
        "/sitemap.xml",
        "/albums/s02e01-out",
        "/feed.atom",
    ] {
        let (sa, _, pa) = http(&a.addr, "GET", path);
        let (sb, _, pb) = http(&b.addr, "GET", path);
        assert_eq!((sa, sb), (200, 200), "{path}");
        let strip = |s: &str| {
            s.replace(&a.addr, "")
                .replace(&b.addr, "")
                .lines()
                .filter(|l| !l.contains("<updated>"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            strip(&pa),
            strip(&pb),
            "{path} is the same page after the restore"
        );
    }
    // kill -9 in the middle of a restore: the old database or the whole new one; running it
    // again finishes.
    let c = Site {
        root: dir.path().join("c"),
        url: url_c,
        server: None,
        addr: String::new(),
    };
    // Nothing of a killed restore goes on loading: on PostgreSQL its loading session (psql,
    // `application_name` keepsake-restore) ends when its input does, without a COMMIT. (Its
    // pg_restore, which only turns the archive into SQL, may outlive it briefly; it loads
    // nothing.)
    let pg_url = (backend == Backend::Postgres).then(|| c.url.clone());
    let loading = move || -> i64 {
        let Some(url) = &pg_url else { return 0 };
        let out = std::process::Command::new("psql")
            .args([
                url.as_str(),
                "-tAc",
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'keepsake-restore'",
            ])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(-1)
    };
    let settled = || {
        let waited = std::time::Instant::now();
        while loading() != 0 && waited.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(loading(), 0, "no killed restore goes on loading");
    };
    // Killed early (checking the backup), half-way and late (loading the database): a restore
    // timed once tells where those are on this machine.
    let timed = std::time::Instant::now();
    let first = c.cms(&["restore", &backup_s]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let full = timed.elapsed().as_millis() as u64;
    for delay in [full / 5, full / 2, full * 4 / 5] {
        let env = c.env();
        let mut cmd = cms(&c.root, &env);
        let mut child = cmd
            .env_remove("CMS_SECRET_KEY")
            .args(["restore", "--force", &backup_s])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("restore");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
        // The old site is there (or the whole new one): a restore without --force is refused.
        settled();
        let kept = c.cms(&["restore", &backup_s]);
        assert_eq!(
            kept.status.code(),
            Some(1),
            "killed after {delay} ms of {full}: {}",
            String::from_utf8_lossy(&kept.stderr)
        );
        assert!(
            stderr_lines(&kept)[0].contains("holds content"),
            "{:?}",
            stderr_lines(&kept)
        );
    }
    // The site restored before the kills still holds content, so the last run needs --force.
    let again = c.cms(&["restore", "--force", &backup_s]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let mut c = c;
    c.serve(false);
    for path in ["/posts", "/videos", "/sitemap.xml"] {
        let (sb, _, pb) = http(&b.addr, "GET", path);
        let (sc, _, pc) = http(&c.addr, "GET", path);
        assert_eq!((sb, sc), (200, 200), "{path}");
        assert_eq!(
            pb.replace(&b.addr, ""),
            pc.replace(&c.addr, ""),
            "{path} after a killed restore and a second run"
        );
    }
    c.stop();

    // The backup taken in the thick of it is one moment of the site: every post acknowledged
    // before it began, none begun after it ended, and no gap (the writer went one at a time).
    let mut d = Site {
        root: dir.path().join("d"),
        url: url_d,
        server: None,
        addr: String::new(),
    };
    let r = d.cms(&["restore", &busy.display().to_string()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    d.serve(false);
    let mut got = busy_posts(&d.addr);
    got.sort_unstable();
    let (before, in_flight) = window;
    for n in &before {
        assert!(
            got.contains(n),
            "Busy {n} was acknowledged before the backup began"
        );
    }
    let k = got.len();
    assert!(
        got.iter().all(|n| *n <= in_flight),
        "nothing begun after the backup ended: {:?} > {in_flight}",
        got.last()
    );
    let acked_all = acked.lock().expect("acked").clone();
    assert!(
        k <= acked_all.len() && got[..] == acked_all[..k],
        "the busy backup's {k} posts are the first {k} the API acknowledged"
    );
    d.stop();

    let (status, _, photo) = http(&b.addr, "GET", "/photos/1");
    assert_eq!(status, 200);
    let src = photo
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("an image");
    assert_eq!(http(&b.addr, "GET", src).0, 200, "{src}: media came back");
    a.stop();
    b.stop();
}

/// The numbers of the "Busy N" posts a site lists through its API.
fn busy_posts(addr: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for page in 1.. {
        let (status, _, body) = http(
            addr,
            "GET",
            &format!("/api/v1/posts?per_page=100&page={page}"),
        );
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let items = v["items"].as_array().expect("items");
        out.extend(items.iter().filter_map(|p| {
            p["title"]
                .as_str()?
                .strip_prefix("Busy ")?
                .parse::<usize>()
                .ok()
        }));
        if page >= v["pages"].as_u64().expect("pages") {
            break;
        }
    }
    out
}

/// POSTs JSON with a bearer token.
fn json_request(addr: &str, path: &str, auth: &str, body: &str) -> (u16, String, String) {
    request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )
}

pub(super) fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// `cms serve` with `CMS_BACKUP_DIR` on `root`, started; the child and its address.
fn serve_with_schedule(
    root: &std::path::Path,
    url: &str,
    backups: &std::path::Path,
) -> (Child, String) {
    let backups = backups.display().to_string();
    let env = [
        ("CMS_DATABASE_URL", url),
        ("CMS_LOG", "warn"),
        ("CMS_BACKUP_DIR", backups.as_str()),
        ("CMS_BACKUP_EVERY", "1d"),
        ("CMS_BACKUP_KEEP", "3"),
    ];
    let mut c = cms(root, &env);
    c.env_remove("CMS_SECRET_KEY")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("serve");
    let addr = served_address(&mut child);
    (child, addr)
}

/// The dated snapshot folders of a backup folder, with whether each has its manifest.
fn snapshot_folders(dir: &std::path::Path) -> Vec<(std::path::PathBuf, bool)> {
    cms_core::backup::schedule::snapshots(dir).expect("snapshots")
}

async fn a_scheduled_backup_killed_half_way_is_taken_again_at_the_next_start(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("site");
    std::fs::create_dir_all(&root).expect("mkdir");
    let (url, _pg) = db_url(backend, &root);
    let backups = dir.path().join("backups");
    // Enough media that copying it takes a while: the kill lands in the middle.
    let media = root.join("data/media/photos");
    for i in 0..400 {
        let sub = media.join(format!("{:02x}", i % 256));
        std::fs::create_dir_all(&sub).expect("mkdir");
        std::fs::write(
            sub.join(format!("{i:04}.jpg")),
            vec![(i % 251) as u8; 256 * 1024],
        )
        .expect("write");
    }
    let (mut server, addr) = serve_with_schedule(&root, &url, &backups);
    // The worker starts the first backup at once; kill -9 the server as soon as its snapshot
    // folder exists, before the manifest is written.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((_, done)) = snapshot_folders(&backups).first().cloned() {
            let _ = server.kill();
            let _ = server.wait();
            assert!(!done, "the kill came before the snapshot was complete");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled backup started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(addr);
    let left = snapshot_folders(&backups);
    assert_eq!(left.len(), 1);
    assert!(!left[0].1, "a killed snapshot never looks complete");
    let killed = left[0].0.clone();

    // The next start takes the backup at once (the dead process's claim is given up, not held
    // for hours), and removes the unfinished snapshot.
    std::thread::sleep(Duration::from_millis(1100));
    let (mut server, addr) = serve_with_schedule(&root, &url, &backups);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let done = loop {
        let now = snapshot_folders(&backups);
        if let Some((p, _)) = now.iter().find(|(_, c)| *c)
            && !killed.exists()
        {
            break p.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no complete snapshot after the restart: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let m = cms_core::backup::verify(&done).expect("the new snapshot verifies");
    assert_eq!(m.media.files, 400);
    assert_eq!(
        snapshot_folders(&backups).len(),
        1,
        "the unfinished one is gone"
    );
    // The site served throughout and still does.
    assert_eq!(http(&addr, "GET", "/").0, 200);
    let _ = server.kill();
    let _ = server.wait();
    // `cms backup --verify` agrees.
    let out = run(cms(&root, &[("CMS_DATABASE_URL", &url)])
        .env_remove("CMS_SECRET_KEY")
        .args(["backup", "--verify"])
        .arg(&done));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Out of disk space: a backup, an export and a restore stop with one line and a non-zero
/// exit, and change nothing — the site serves on, and a site being restored over keeps its
/// pages (the media, copied first, runs out before the database is touched).
async fn a_full_disk_is_one_line_and_changes_nothing(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url_a, _pg_a) = db_url(backend, &dir.path().join("a"));
    let (url_b, _pg_b) = db_url(backend, &dir.path().join("b"));
    let mut a = Site::new(dir.path().join("a"), url_a);
    a.serve(true);
    let full = dir.path().join("full");
    let no_space = |o: &std::process::Output, what: &str| {
        assert_eq!(
            o.status.code(),
            Some(1),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let lines = stderr_lines(o);
        assert_eq!(lines.len(), 1, "{what}: {lines:?}");
        assert!(
            lines[0].contains("No space left on device") || lines[0].contains("disk is full"),
            "{what}: {lines:?}"
        );
    };
    for args in [
        ["backup", "full/backup", ""],
        ["export", "full/site.zip", ""],
        ["export", "full/site", ""],
        ["export", "wordpress", "full/site.xml"],
    ] {
        let args: Vec<String> = args
            .iter()
            .filter(|a| !a.is_empty())
            .map(|a| match a.strip_prefix("full/") {
                Some(rest) => full.join(rest).display().to_string(),
                None => (*a).to_string(),
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        no_space(&a.on_full_disk(&full, &args), &args.join(" "));
    }
    // A wrong path: a file where a backup folder should be.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a backup").expect("write");
    let file_s = file.display().to_string();
    for args in [
        &["backup", file_s.as_str()][..],
        &["backup", "--verify", &file_s],
        &["restore", &file_s],
    ] {
        let o = a.cms(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let lines = stderr_lines(&o);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(lines[0].contains("is a file"), "{args:?}: {lines:?}");
    }
    assert_eq!(std::fs::read(&file).expect("read"), b"not a backup");
    assert_eq!(http(&a.addr, "GET", "/healthz").0, 200);

    // Two backups, a post apart; the first restored into b, then the second over it with b's
    // media folder full.
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    ok(&a.cms(&["backup", &first.display().to_string()]));
    let token = stdout(&a.cms(&["token", "create", "--name", "w", "--scope", "posts:write"]))
        .trim()
        .to_string();
    let (status, _, body) = json_request(
        &a.addr,
        "/api/v1/posts",
        &format!("Bearer {token}"),
        r#"{"title":"Later news","status":"published"}"#,
    );
    assert_eq!(status, 201, "{body}");
    ok(&a.cms(&["backup", &second.display().to_string()]));
    let mut b = Site::new(dir.path().join("b"), url_b);
    ok(&b.cms(&["restore", &first.display().to_string()]));
    b.serve(false);
    let (_, _, before) = http(&b.addr, "GET", "/posts");
    b.stop();
    let media = b.root.join("data/media");
    let files = |p: &std::path::Path| super::settings::walk(p).len();
    let had = files(&media);
    no_space(
        &b.on_full_disk(
            &media,
            &["restore", "--force", &second.display().to_string()],
        ),
        "restore",
    );
    assert_eq!(files(&media), had, "the media folder as it was");
    b.serve(false);
    let (status, _, after) = http(&b.addr, "GET", "/posts");
    assert_eq!(status, 200);
    assert!(!after.contains("Later news"));
    assert_eq!(before.replace(&b.addr, ""), after.replace(&b.addr, ""));
    b.stop();
    a.stop();
}

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

crate::backend_tests!(a_busy_site_is_backed_up_and_restored);
crate::backend_tests!(a_full_disk_is_one_line_and_changes_nothing);
crate::backend_tests!(a_scheduled_backup_killed_half_way_is_taken_again_at_the_next_start);
