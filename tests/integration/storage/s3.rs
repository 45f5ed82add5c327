//! Media in a real Garage bucket: what the store does, photos imported into it and served to
//! readers (ETag, Range, HEAD, 304), a public media address, and a store that is down — at
//! start (one line, non-zero exit) and during an upload (a clear error, nothing recorded, the
//! next upload works once the store is back).

use std::path::Path;

use cms_core::ingest::Options;
use cms_core::media::MediaStore;
use cms_core::models::album;
use cms_core::models::user::Role;
use sha2::{Digest, Sha256};

use super::garage::{self, Garage};
use crate::admin::client::{Client, PASSWORD, csrf_of, make_user};
use crate::admin::gallery::upload_request;
use crate::backend_tests;
use crate::common::{Backend, TestEnv, get, get_with, send};
use crate::gallery::files;

/// A site whose media are in a new bucket of `garage`, under a prefix.
fn env_on(backend: Backend, garage: &Garage) -> (TestEnv, String) {
    let bucket = garage.bucket();
    let settings = garage.settings(&bucket, "site-one");
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (TestEnv::with(backend, &pairs), bucket)
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

#[test]
fn the_store_keeps_what_it_is_given() {
    let garage = garage::shared();
    let bucket = garage.bucket();
    let store = garage.store(&bucket, "keepsake");
    store.check().expect("the bucket answers");
    store.put("photos/ab/one.jpg", b"first").expect("put");
    assert!(store.exists("photos/ab/one.jpg"));
    assert_eq!(store.read("photos/ab/one.jpg").expect("read"), b"first");
    // A retried write of the same name replaces it whole.
    store
        .put("photos/ab/one.jpg", b"second")
        .expect("put again");
    assert_eq!(store.read("photos/ab/one.jpg").expect("read"), b"second");
    // A file larger than a part goes up in parts and comes back byte for byte.
    let big: Vec<u8> = (0..(2 * cms_core::media::s3::PART_BYTES + 12_345))
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let src = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(src.path(), &big).expect("write");
    let src_path = src.path().to_path_buf();
    store
        .put_file("videos/cd/big.mp4", &src_path)
        .expect("multipart upload");
    assert!(!src_path.exists(), "the given file is taken");
    let back = store.read("videos/cd/big.mp4").expect("read");
    assert_eq!(Sha256::digest(&back), Sha256::digest(&big));
    store
        .link("photos/ab/one.jpg", "photos/ef/two.jpg")
        .expect("copy");
    assert_eq!(store.read("photos/ef/two.jpg").expect("read"), b"second");
    let mut keys: Vec<String> = store
        .list()
        .expect("list")
        .into_iter()
        .map(|(k, _, _)| k)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "photos/ab/one.jpg",
            "photos/ef/two.jpg",
            "videos/cd/big.mp4"
        ],
        "keys are listed without the prefix, and only the prefix's"
    );
    store.delete("photos/ab/one.jpg").expect("delete");
    store.delete("photos/ab/one.jpg").expect("delete twice");
    assert!(!store.exists("photos/ab/one.jpg"));
    assert!(matches!(
        store.read("photos/ab/one.jpg"),
        Err(cms_core::Error::NotFound(_))
    ));
    assert!(store.link("photos/zz/none.jpg", "photos/zz/x.jpg").is_err());
    // Another prefix of the same bucket is another store.
    let other = garage.store(&bucket, "other-site");
    assert!(!other.exists("photos/ef/two.jpg"));
    assert!(other.list().expect("list").is_empty());
}

async fn photos_live_in_the_bucket_and_are_served_from_it(backend: Backend) {
    let garage = garage::shared();
    let (env, bucket) = env_on(backend, garage);
    assert!(env.state.media.s3().is_some(), "the site uses the bucket");
    let src = tempfile::tempdir().expect("tempdir");
    let original = files::jpeg(1600, 900, 7);
    write(src.path(), "Events/Premiere/red-carpet-1.jpg", &original);
    write(
        src.path(),
        "Events/Premiere/red-carpet-2.jpg",
        &files::jpeg(1200, 800, 8),
    );
    let report = crate::gallery::import::import(&env, src.path(), &Options::default());
    assert_eq!(report.imported, 2, "{report:?}");
    assert!(
        !env.state.config.storage.media_dir.join("photos").exists(),
        "nothing is written to the local media folder"
    );
    // The original and every derivative are objects in the bucket, under the prefix.
    let hash = hex::encode(Sha256::digest(&original));
    let objects = garage.store(&bucket, "site-one").list().expect("list");
    let original_key = cms_core::media::photo_original_key(&hash, "image/jpeg");
    assert!(
        objects
            .iter()
            .any(|(k, size, _)| *k == original_key && *size == original.len() as u64),
        "{objects:?}"
    );
    let widths = &env.state.config.images.widths;
    assert_eq!(objects.len(), 2 * (1 + widths.len()), "{objects:?}");

    let a = album::find_by_slug(&mut env.conn(), "premiere")
        .expect("q")
        .expect("album");
    let app = env.app().await;
    // The album page links the derivatives, and each is served from the bucket.
    let page = get(&app, &format!("/albums/{}", a.slug)).await;
    assert_eq!(page.status, 200);
    let src_attr = page.attrs("main img", "src");
    let first = src_attr.first().expect("a thumbnail");
    assert!(first.starts_with("/media/photos/"), "{first}");
    let thumb = get(&app, first).await;
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type").as_deref(), Some("image/jpeg"));

    let url = format!("/media/{original_key}");
    let whole = get(&app, &url).await;
    assert_eq!(whole.status, 200);
    assert_eq!(Sha256::digest(whole.body.as_bytes()).len(), 32);
    assert_eq!(
        whole.header("content-length").as_deref(),
        Some(original.len().to_string().as_str())
    );
    assert_eq!(
        whole.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        whole.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(whole.header("accept-ranges").as_deref(), Some("bytes"));
    let etag = whole.header("etag").expect("an ETag");
    let bytes = read_bytes(&app, &url, &[]).await;
    assert_eq!(bytes, original, "the bytes are the original's");

    // The reader's copy is current: 304, no body, the object's own ETag — also when the
    // reader lists several, or a weak one; another ETag gets the file.
    for given in [
        etag.clone(),
        format!("\"other\", W/{etag}"),
        "*".to_string(),
    ] {
        let again = get_with(&app, &url, &[("If-None-Match", &given)]).await;
        assert_eq!(again.status, 304, "{given}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag.clone()));
    }
    assert_eq!(
        get_with(&app, &url, &[("If-None-Match", "\"other\"")])
            .await
            .status,
        200
    );
    // A byte range, as video players and resumed downloads ask.
    let part = read_bytes(&app, &url, &[("Range", "bytes=10-19")]).await;
    assert_eq!(part, original[10..20]);
    let ranged = get_with(&app, &url, &[("Range", "bytes=10-19")]).await;
    assert_eq!(ranged.status, 206);
    assert_eq!(
        ranged.header("content-range"),
        Some(format!("bytes 10-19/{}", original.len()))
    );
    let tail = read_bytes(&app, &url, &[("Range", "bytes=-5")]).await;
    assert_eq!(tail, original[original.len() - 5..]);
    let outside = get_with(
        &app,
        &url,
        &[("Range", &format!("bytes={}-", original.len() + 10))],
    )
    .await;
    assert_eq!(outside.status, 416);
    assert_eq!(
        outside.header("content-range"),
        Some(format!("bytes */{}", original.len()))
    );
    // The last zero bytes: no file has them.
    let nothing = get_with(&app, &url, &[("Range", "bytes=-0")]).await;
    assert_eq!(nothing.status, 416);
    assert_eq!(
        nothing.header("content-range"),
        Some(format!("bytes */{}", original.len()))
    );
    // Revalidating by date (a reader without the ETag): 304 when the copy is as new as the
    // object, the file when the object is newer; an ETag that does not match wins over a date.
    let stored = whole.header("last-modified").expect("a Last-Modified");
    let by_date = get_with(&app, &url, &[("If-Modified-Since", &stored)]).await;
    assert_eq!(by_date.status, 304);
    assert!(by_date.body.is_empty());
    let old = "Sat, 01 Jan 2000 00:00:00 GMT";
    let stale = get_with(&app, &url, &[("If-Modified-Since", old)]).await;
    assert_eq!(stale.status, 200);
    assert_eq!(
        stale.header("content-length"),
        Some(original.len().to_string())
    );
    let other_tag = get_with(
        &app,
        &url,
        &[
            ("If-None-Match", "\"other\""),
            ("If-Modified-Since", &stored),
        ],
    )
    .await;
    assert_eq!(other_tag.status, 200);
    assert_eq!(
        get_with(&app, &url, &[("If-Modified-Since", "yesterday")])
            .await
            .status,
        200,
        "a date that is not one is ignored"
    );
    // HEAD: the size and no bytes.
    let head = send(
        &app,
        actix_web::test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri(&url),
    )
    .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "{} bytes", head.body.len());
    assert_eq!(
        head.header("content-length"),
        Some(original.len().to_string())
    );
    assert_eq!(head.header("etag"), Some(etag.clone()));
    // Nothing there, or a name that is not a key: 404.
    assert_eq!(get(&app, "/media/photos/00/nothing.jpg").await.status, 404);
    assert_eq!(get(&app, "/media/.tmp/x").await.status, 404);
}

/// The body of a GET as bytes.
async fn read_bytes<S, B>(app: &S, path: &str, headers: &[(&str, &str)]) -> Vec<u8>
where
    S: crate::common::TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let mut req = actix_web::test::TestRequest::get().uri(path);
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let resp = actix_web::test::call_service(app, req.to_request()).await;
    actix_web::test::read_body(resp).await.to_vec()
}

async fn a_public_media_address_sends_readers_there(backend: Backend) {
    let env = TestEnv::with(
        backend,
        &[("media_public_url", "https://cdn.example.org/fan-media/")],
    );
    let app = env.app().await;
    let r = get(&app, "/media/photos/ab/abcdef-320.jpg").await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location").as_deref(),
        Some("https://cdn.example.org/fan-media/photos/ab/abcdef-320.jpg")
    );
    // Kept a day, not for good: a site that moves its media again is believed soon.
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("public, max-age=86400")
    );
    assert_eq!(get(&app, "/media/../secret").await.status, 404);

    // Pages, their JSON-LD and the API link the public address directly: media cost the site
    // nothing, not even a redirect.
    let album = env.album_with_photos(&["Television Productions"], "Episode 1", 3);
    let cdn = "https://cdn.example.org/fan-media/photos/";
    let page = get(&app, &format!("/albums/{}", album.slug)).await;
    assert_eq!(page.status, 200);
    let srcs = page.attrs("main img", "src");
    assert_eq!(srcs.len(), 3);
    assert!(srcs.iter().all(|s| s.starts_with(cdn)), "{srcs:?}");
    let srcsets = page.attrs("main img", "srcset");
    assert!(
        srcsets
            .iter()
            .flat_map(|s| s.split(", "))
            .all(|item| item.starts_with(cdn)),
        "{srcsets:?}"
    );
    assert!(!page.body.contains("/media/"), "no link through the site");
    let photo = cms_core::models::photo::page_in_album(&mut env.conn(), album.id, 0, 1)
        .expect("photos")
        .remove(0);
    let page = get(&app, &format!("/photos/{}", photo.id)).await;
    assert!(!page.body.contains("/media/"), "no link through the site");
    assert!(
        page.body.contains(&format!("\"contentUrl\":\"{cdn}")),
        "JSON-LD"
    );
    assert!(
        page.attrs("meta[property='og:image']", "content")[0].starts_with(cdn),
        "the share image"
    );
    let api = get(&app, &format!("/api/v1/albums/{}/photos", album.slug)).await;
    assert_eq!(api.status, 200, "{}", api.body);
    assert!(
        api.body.contains(cdn) && !api.body.contains("/media/"),
        "{}",
        api.body
    );
}

async fn an_upload_while_the_store_is_down_fails_cleanly(backend: Backend) {
    // A server of its own: this test stops it.
    let mut garage = Garage::start();
    let (env, _bucket) = env_on(backend, &garage);
    make_user(&env, "editor@example.org", Role::Editor);
    let a = env.album_with_photos(&["Events"], "Premiere", 0);
    let app = env.app().await;
    let mut ed = Client::new();
    ed.login(&app, "editor@example.org", PASSWORD).await;
    let token = csrf_of(&ed.get(&app, &format!("/admin/albums/{}", a.id)).await);

    garage.stop();
    let r = ed
        .send(
            &app,
            upload_request(a.id, &token, "premiere-1.jpg", &files::jpeg(800, 600, 1)),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.header("x-request-id").is_some_and(|id| id.len() == 16),
        "a 5xx answer names its request, to find its log lines"
    );
    assert!(
        r.body.contains("media store cannot be reached"),
        "the editor is told why: {}",
        r.body
    );
    let after = album::find(&mut env.conn(), a.id)
        .expect("q")
        .expect("album");
    assert_eq!(after.photo_count, 0, "nothing is recorded");
    assert!(
        cms_core::models::photo::hashes_in_album(&mut env.conn(), a.id)
            .expect("q")
            .is_empty()
    );

    garage.run_server();
    let r = ed
        .send(
            &app,
            upload_request(a.id, &token, "premiere-1.jpg", &files::jpeg(800, 600, 1)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = album::find(&mut env.conn(), a.id)
        .expect("q")
        .expect("album");
    assert_eq!(after.photo_count, 1);
}

#[test]
fn serve_refuses_to_start_without_its_store() {
    let garage = garage::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |env: &[(String, String)]| {
        let mut cmd = crate::common::bare_cms();
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("CMS_DATA_DIR", dir.path())
            .env("CMS_LOG", "warn")
            .envs(env.iter().cloned());
        let out = cmd.output().expect("run cms");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let bucket = garage.bucket();
    // With its bucket there: `cms serve --demo` puts the demo's photos in it and serves them
    // from it.
    let mut child = crate::common::bare_cms();
    let mut child = child
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .env("CMS_DATA_DIR", dir.path())
        .env("CMS_LOG", "warn")
        .envs(garage.env(&bucket, "site"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let addr = crate::cli::served_address(&mut child);
    let (status, _, home) = crate::cli::request(&addr, "GET", "/", &[], "");
    assert_eq!(status, 200);
    let media = home
        .split("\"/media/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|k| format!("/media/{}", k.split(' ').next().unwrap_or(k)))
        .expect("the home page links a photo");
    let (status, head, _) = crate::cli::request(&addr, "GET", &media, &[], "");
    assert_eq!(status, 200, "{media}");
    assert!(
        head.to_ascii_lowercase()
            .contains("cache-control: public, max-age=31536000, immutable")
    );
    let _ = child.kill();
    let _ = child.wait();
    let in_bucket = garage.store(&bucket, "site").list().expect("list");
    assert!(in_bucket.len() > 10, "{}", in_bucket.len());
    assert!(
        !dir.path().join("media/photos").exists(),
        "nothing in the media folder"
    );

    // Nothing listening where the store should be.
    let mut env = garage.env(&bucket, "site");
    env[1].1 = "http://127.0.0.1:9".into();
    let (code, err) = run(&env);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("cannot reach s3://"), "{err}");
    // A bucket that does not exist.
    let env = garage.env("no-such-bucket", "site");
    let (code, err) = run(&env);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("s3://no-such-bucket/site"), "{err}");
    assert!(
        err.contains("no such bucket"),
        "what the store said, not 'cannot reach': {err}"
    );
    // Keys the store does not know.
    let mut env = garage.env(&bucket, "site");
    env[3].1 = "GK0000000000000000000000".into();
    let (code, err) = run(&env);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    // A setting that is not an address: refused before anything starts.
    let (code, err) = run(&[("CMS_MEDIA_URL".into(), "ftp://media".into())]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("CMS_MEDIA_URL"), "{err}");
}

backend_tests!(
    photos_live_in_the_bucket_and_are_served_from_it,
    a_public_media_address_sends_readers_there,
    an_upload_while_the_store_is_down_fails_cleanly,
);

#[test]
fn a_site_on_a_bucket_is_backed_up_and_restored() {
    let garage = garage::shared();
    let (bucket, fresh) = (garage.bucket(), garage.bucket());
    let site = tempfile::tempdir().expect("tempdir");
    let backups = tempfile::tempdir().expect("tempdir");
    let cms = |data: &Path, bucket: &str, args: &[&str]| {
        let mut cmd = crate::common::bare_cms();
        let out = cmd
            .args(args)
            .env("CMS_DATA_DIR", data)
            .env("CMS_LOG", "warn")
            .envs(garage.env(bucket, "site"))
            .output()
            .expect("run cms");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A site with photos in the bucket.
    let src = site.path().join("incoming/Events/Premiere");
    std::fs::create_dir_all(&src).expect("mkdir");
    for i in 0..3u8 {
        std::fs::write(src.join(format!("p-{i}.jpg")), files::jpeg(640, 480, i)).expect("w");
    }
    let incoming = site.path().join("incoming").display().to_string();
    let (code, _, err) = cms(site.path(), &bucket, &["import", "gallery", &incoming]);
    assert_eq!(code, Some(0), "{err}");
    let objects = garage.store(&bucket, "site").list().expect("list");
    // Each: the original, 320 and 640 wide (no 1280: the photos are 640 wide).
    assert_eq!(objects.len(), 3 * 3, "{objects:?}");
    // And a video larger than one upload part (so stored in parts, its ETag of the form
    // MD5-N, which the backup checks what it downloads against).
    let video: Vec<u8> = (0..(cms_core::media::s3::PART_BYTES + 4321))
        .map(|i| (i * 13 % 256) as u8)
        .collect();
    garage
        .store(&bucket, "site")
        .put("videos/ab/trailer.mp4", &video)
        .expect("put in parts");
    let objects = garage.store(&bucket, "site").list().expect("list");
    let tag = objects
        .iter()
        .find(|(k, _, _)| k == "videos/ab/trailer.mp4")
        .and_then(|(_, _, t)| t.clone())
        .expect("an ETag");
    assert!(tag.trim_matches('"').ends_with("-2"), "{tag}");

    // The backup holds every object, byte for byte; a second one copies nothing new.
    let dir = backups.path().join("b");
    let dir_s = dir.display().to_string();
    let (code, said, err) = cms(site.path(), &bucket, &["backup", &dir_s]);
    assert_eq!(code, Some(0), "{err}");
    assert!(said.contains("10 media files, 10 copied now"), "{said}");
    for (key, _, _) in &objects {
        assert_eq!(
            std::fs::read(dir.join("media").join(key)).expect("in the backup"),
            garage.store(&bucket, "site").read(key).expect("read"),
            "{key}"
        );
    }
    let (code, said, _) = cms(site.path(), &bucket, &["backup", &dir_s]);
    assert_eq!(code, Some(0));
    assert!(said.contains("10 media files, 0 copied now"), "{said}");
    let (code, _, err) = cms(site.path(), &bucket, &["backup", "--verify", &dir_s]);
    assert_eq!(code, Some(0), "{err}");

    // Restored on a new machine with an empty bucket: the objects come back.
    let other = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = cms(other.path(), &fresh, &["restore", &dir_s]);
    assert_eq!(code, Some(0), "{err}");
    let mut restored: Vec<(String, u64)> = garage
        .store(&fresh, "site")
        .list()
        .expect("list")
        .into_iter()
        .map(|(k, n, _)| (k, n))
        .collect();
    let mut original: Vec<(String, u64)> = objects.into_iter().map(|(k, n, _)| (k, n)).collect();
    restored.sort();
    original.sort();
    assert_eq!(restored, original);

    // An export would have to copy every object: it says how to do it instead.
    let out_dir = backups.path().join("export").display().to_string();
    let (code, _, err) = cms(site.path(), &bucket, &["export", &out_dir]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--no-media"), "{err}");
    let (code, _, err) = cms(site.path(), &bucket, &["export", "--no-media", &out_dir]);
    assert_eq!(code, Some(0), "{err}");
}
