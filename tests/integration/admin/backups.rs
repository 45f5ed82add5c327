//! Scheduled backups (`CMS_BACKUP_DIR`, `CMS_BACKUP_EVERY`, `CMS_BACKUP_KEEP`) as the worker
//! takes them, and what the dashboard says: dated snapshots, media hard-linked from the
//! previous one, pruning beyond the kept number, one node per backup, failures shown and
//! retried.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cms_core::backup::{self, schedule};
use cms_core::models::user::Role;

use super::client::{Client, PASSWORD, make_user};
use crate::backend_tests;
use crate::common::{Backend, TestEnv};

fn put(media: &Path, rel: &str, bytes: &[u8]) {
    let p = media.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

fn inode(p: &Path) -> u64 {
    std::fs::metadata(p).expect("metadata").ino()
}

fn complete(dir: &Path) -> Vec<PathBuf> {
    schedule::snapshots(dir)
        .expect("snapshots")
        .into_iter()
        .filter(|(_, c)| *c)
        .map(|(p, _)| p)
        .collect()
}

async fn scheduled_backups_are_dated_linked_pruned_and_shown(backend: Backend) {
    let out = tempfile::tempdir().expect("tempdir");
    let dir = out.path().join("backups");
    let env = TestEnv::with(
        backend,
        &[
            ("backup_dir", &dir.display().to_string()),
            ("backup_every", "1d"),
            ("backup_keep", "2"),
        ],
    );
    let config = env.state.config.clone();
    let plan = config
        .backup
        .clone()
        .expect("CMS_BACKUP_DIR turns the schedule on");
    assert_eq!(plan.keep, 2);
    let media = config.storage.media_dir.clone();
    put(&media, "photos/aa/one.jpg", &[1u8; 5000]);
    put(&media, "photos/bb/two.jpg", &[2u8; 7000]);
    // What is not a snapshot is never touched.
    std::fs::create_dir_all(dir.join("keep-me")).expect("mkdir");
    std::fs::write(dir.join("notes.txt"), "mine").expect("write");

    make_user(&env, "admin@example.org", Role::Admin);
    let app = env.app().await;
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let page = admin.get(&app, "/admin").await;
    assert!(
        page.body.contains("No backup has been taken yet"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Scheduled every day into"),
        "{}",
        page.body
    );

    // The first run takes one at once; a second at the same time finds nothing due.
    let db = &env.state.db;
    let first = schedule::run_due(&config, db, &plan, "node-a:1:x")
        .expect("run")
        .expect("due at once");
    assert!(first.starts_with(&dir));
    assert!(
        schedule::run_due(&config, db, &plan, "node-b:1:x")
            .expect("run")
            .is_none()
    );
    backup::verify(&first).expect("the snapshot verifies");

    // A day later, two nodes look at once: one takes the backup.
    db.clock()
        .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    put(&media, "photos/cc/three.jpg", &[3u8; 9000]);
    let taken: Vec<Option<PathBuf>> = std::thread::scope(|s| {
        let handles: Vec<_> = ["node-a:1:x", "node-b:2:y"]
            .into_iter()
            .map(|who| {
                let (config, plan) = (&config, &plan);
                s.spawn(move || schedule::run_due(config, db, plan, who).expect("run"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect()
    });
    let second: Vec<PathBuf> = taken.into_iter().flatten().collect();
    assert_eq!(second.len(), 1, "one node takes each backup");
    let second = &second[0];
    // Unchanged media is hard-linked from the previous snapshot, new media copied.
    for rel in ["media/photos/aa/one.jpg", "media/photos/bb/two.jpg"] {
        assert_eq!(inode(&first.join(rel)), inode(&second.join(rel)), "{rel}");
    }
    assert_ne!(
        inode(&media.join("photos/cc/three.jpg")),
        inode(&second.join("media/photos/cc/three.jpg"))
    );
    let m = backup::verify(second).expect("verifies");
    assert_eq!((m.media.files, m.media.linked, m.media.copied), (3, 2, 1));

    // A failure (the folder cannot be made) is recorded and shown, and retried within the
    // hour rather than the next day.
    let blocked = schedule::Schedule {
        dir: out.path().join("notes-file/backups"),
        ..plan.clone()
    };
    std::fs::write(out.path().join("notes-file"), "a file, not a folder").expect("write");
    db.clock()
        .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    let err = schedule::run_due(&config, db, &blocked, "node-a:1:x").expect_err("fails");
    assert!(err.to_string().contains("notes-file"), "{err}");
    let page = admin.get(&app, "/admin").await;
    let alert = page.texts("[role=alert]").join(" ");
    assert!(
        alert.contains("The last backup failed") && alert.contains("notes-file"),
        "{alert}"
    );
    assert!(
        schedule::run_due(&config, db, &plan, "node-a:1:x")
            .expect("run")
            .is_none()
    );
    db.clock().advance(chrono::Duration::minutes(61));
    let third = schedule::run_due(&config, db, &plan, "node-a:1:x")
        .expect("run")
        .expect("retried after an hour");

    // Two kept: the first is gone, and nothing that is not a snapshot was touched.
    assert_eq!(complete(&dir), vec![second.clone(), third.clone()]);
    assert!(!first.exists());
    assert!(dir.join("keep-me").is_dir() && dir.join("notes.txt").is_file());
    // The second's media survives the first's removal (they were links, not the files).
    assert_eq!(
        std::fs::read(second.join("media/photos/aa/one.jpg")).expect("read"),
        vec![1u8; 5000]
    );
    let page = admin.get(&app, "/admin").await;
    assert!(
        page.texts("[role=alert]").is_empty(),
        "the failure is cleared"
    );
    let text = page.texts("section.backups").join(" ");
    assert!(
        text.contains("Last backup") && text.contains("scheduled"),
        "{text}"
    );
    assert!(text.contains(&third.display().to_string()), "{text}");
    assert!(text.contains("3 media files"), "{text}");
}

/// An admin downloads the site as an export from the admin; it is audit-logged, editors
/// cannot, and nothing is left behind in the data folder.
async fn an_admin_downloads_an_export(backend: Backend) {
    let env = TestEnv::new(backend);
    env.demo();
    make_user(&env, "admin@example.org", Role::Admin);
    make_user(&env, "editor@example.org", Role::Editor);
    let app = env.app().await;
    let mut editor = Client::new();
    editor.login(&app, "editor@example.org", PASSWORD).await;
    let token = super::client::csrf_of(&editor.get(&app, "/admin").await);
    let refused = editor
        .post(&app, "/admin/export", &[("_csrf", &token)])
        .await;
    assert_eq!(refused.status, 403);
    let mut admin = Client::new();
    admin.login(&app, "admin@example.org", PASSWORD).await;
    let page = admin.get(&app, "/admin/import").await;
    assert!(page.body.contains("Download export"), "{}", page.body);
    let no_token = admin.post(&app, "/admin/export", &[]).await;
    assert_eq!(no_token.status, 403, "CSRF");
    let zip = admin
        .post_form(&app, "/admin/import", "/admin/export", &[("media", "1")])
        .await;
    assert_eq!(zip.status, 200);
    let disposition = zip.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment") && disposition.contains("keepsake-export-"),
        "{disposition}"
    );
    assert!(zip.body.starts_with("PK"), "a zip");
    let data = &env.state.config.storage.data_dir;
    let left: Vec<_> = std::fs::read_dir(data)
        .expect("data")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".export-"))
        .collect();
    assert!(left.is_empty(), "no temporary export is left behind");
    let audited: Vec<String> = {
        use cms_core::schema::audit_log;
        use diesel::prelude::*;
        audit_log::table
            .filter(audit_log::action.eq("site.export"))
            .select(audit_log::detail)
            .load(&mut *env.conn())
            .expect("audit")
    };
    assert_eq!(audited, ["with media"]);
}

backend_tests!(
    scheduled_backups_are_dated_linked_pruned_and_shown,
    an_admin_downloads_an_export
);
