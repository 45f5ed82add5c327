//! `cms media migrate`: a site's media folder into a Garage bucket and back, run as a user runs
//! it (the release binary), killed with -9 part-way and started again, with a damaged object
//! found and copied again.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cms_core::media::MediaStore;

use super::garage::{self, Garage};

/// `cms media migrate --to TARGET` on a data folder, with the store's settings; `media_url`
/// says where the site's media are now.
fn migrate(garage: &Garage, data: &Path, media_url: Option<&str>, target: &str) -> Command {
    let mut cmd = crate::common::bare_cms();
    cmd.args(["media", "migrate", "--to", target])
        .env("CMS_DATA_DIR", data)
        .env("CMS_LOG", "warn")
        .env("CMS_S3_ENDPOINT", garage.endpoint())
        .env("CMS_S3_REGION", garage::REGION)
        .env("AWS_ACCESS_KEY_ID", &garage.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &garage.secret);
    if let Some(url) = media_url {
        cmd.env("CMS_MEDIA_URL", url);
    }
    cmd
}

fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let e = e.expect("entry");
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                todo.push(p);
            } else {
                let key = p
                    .strip_prefix(dir)
                    .expect("under")
                    .to_string_lossy()
                    .into_owned();
                out.insert(key, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

#[test]
fn media_move_to_a_bucket_and_back_resumably() {
    let garage = garage::shared();
    let bucket = garage.bucket();
    let url = format!("s3://{bucket}/fan-site");
    let data = tempfile::tempdir().expect("tempdir");
    let media = data.path().join("media");
    // An archive's media: many photos, a video larger than one upload part, a poster.
    for i in 0..600u32 {
        let key = format!("photos/{:02x}/{:064x}-320.jpg", i % 256, i);
        let p = media.join(&key);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        let bytes: Vec<u8> = (0..(20_000 + i as usize))
            .map(|j| (j as u32 * 31 + i) as u8)
            .collect();
        std::fs::write(p, bytes).expect("write");
    }
    let video: Vec<u8> = (0..(cms_core::media::s3::PART_BYTES * 2 + 777))
        .map(|j| (j % 253) as u8)
        .collect();
    std::fs::create_dir_all(media.join("videos/ab")).expect("mkdir");
    std::fs::write(media.join("videos/ab/trailer.mp4"), &video).expect("write");
    std::fs::create_dir_all(media.join("posters")).expect("mkdir");
    std::fs::write(media.join("posters/p.jpg"), b"poster").expect("write");
    // A temporary file a dead writer left is not media.
    std::fs::create_dir_all(media.join(".tmp")).expect("mkdir");
    std::fs::write(media.join(".tmp/123-x"), b"half").expect("write");
    let local = files_of(&media);
    assert_eq!(local.len(), 602);
    let store = garage.store(&bucket, "fan-site");

    // Killed part-way, three times at different points…
    for wait_for in [1usize, 150, 400] {
        let mut child = migrate(garage, data.path(), None, &url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start");
        let started = Instant::now();
        loop {
            let n = store.list().map(|l| l.len()).unwrap_or(0);
            if n >= wait_for || started.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let still_running = child.try_wait().expect("wait").is_none();
        let _ = child.kill();
        let _ = child.wait();
        if !still_running {
            break;
        }
    }
    // …then damaged: an object replaced by other bytes of the same size.
    let victim =
        "photos/05/0000000000000000000000000000000000000000000000000000000000000005-320.jpg";
    if store.exists(victim) {
        store
            .put(victim, &vec![0u8; local[victim].len()])
            .expect("damage");
    }
    let out = migrate(garage, data.path(), None, &url)
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("all 602 media files are in"), "{said}");
    assert!(said.contains("were there already"), "{said}");
    let copied: usize = said
        .split(" copied now")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(copied < 602, "the killed runs' work is kept: {said}");
    // Every object is the file, byte for byte (the damaged one copied again).
    let listed = store.list().expect("list");
    assert_eq!(listed.len(), 602);
    for (key, bytes) in &local {
        assert_eq!(&store.read(key).expect("read"), bytes, "{key}");
    }
    // A second run finds everything in place and copies nothing.
    let out = migrate(garage, data.path(), None, &url)
        .output()
        .expect("run");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("0 copied now"), "{said}");

    // And back into a folder, from the bucket the site now uses.
    let back = tempfile::tempdir().expect("tempdir");
    let out = migrate(
        garage,
        data.path(),
        Some(&url),
        &back.path().display().to_string(),
    )
    .output()
    .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = local.clone();
    expected.retain(|k, _| !k.starts_with(".tmp"));
    assert_eq!(files_of(back.path()), expected);

    // Mistakes: one line, non-zero, nothing touched.
    for (media_url, target, says) in [
        (None, "ftp://elsewhere/x", "neither s3://"),
        (None, "s3://UPPER/x", "not a bucket name"),
        (Some(url.as_str()), url.as_str(), "already"),
    ] {
        let out = migrate(garage, data.path(), media_url, target)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
    }
    let mut cmd = migrate(garage, data.path(), None, &media.display().to_string());
    let out = cmd.output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already"));
}
