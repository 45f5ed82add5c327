//! The media store: where originals and derivatives live, under content-addressed keys.
//! The local-folder backend writes through a temporary file and a rename, so a reader (or a
//! crash) never sees half a file. Temporary files live in one folder, `.tmp/`, named after the
//! process writing them: what a killed process left is found without walking the archive and
//! swept ([`MediaStore::sweep_temporary`]). The object-store backend is in [`s3`].

pub mod migrate;
pub mod s3;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Storage for media files addressed by relative keys like `photos/ab/abcd…-320.jpg`.
pub trait MediaStore: Send + Sync + std::fmt::Debug {
    /// Writes `bytes` under `key`, atomically replacing any file there.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()>;
    /// Moves the file at `src` (which the caller gives up) under `key`, atomically.
    fn put_file(&self, key: &str, src: &Path) -> Result<()>;
    /// Makes `key` another name for the file under `existing`: a hard link where the store can,
    /// else a copy. Generated archives use it to give many photos one set of real files.
    fn link(&self, existing: &str, key: &str) -> Result<()>;
    /// True if `key` exists.
    fn exists(&self, key: &str) -> bool;
    /// Removes `key`; a missing file is not an error.
    fn delete(&self, key: &str) -> Result<()>;
    /// The whole file under `key`.
    fn read(&self, key: &str) -> Result<Vec<u8>>;
    /// The folder behind the store when it is local, for serving files directly.
    fn local_root(&self) -> Option<&Path>;
    /// The object store behind the store when it is one, for streaming objects to readers.
    fn s3(&self) -> Option<&s3::S3MediaStore> {
        None
    }
    /// Where the media are, for messages: a folder or an `s3://` address.
    fn describe(&self) -> String;
    /// Removes temporary files left by writers that died (kill -9, power loss); returns how
    /// many. Files of a live writer are kept.
    fn sweep_temporary(&self) -> Result<usize> {
        Ok(0)
    }
}

/// The folder of temporary files under a local store's root.
const TEMP_DIR: &str = ".tmp";

/// A temporary file older than this is swept whoever wrote it (no write takes a day).
const TEMP_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// True when the process `pid` is alive on this machine (`/proc`); elsewhere, assumed alive
/// (the age limit then decides).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// The width and height of an image in a store, read from its header, when the file is an
/// image (a poster a share card should state the size of).
pub fn image_size(store: &dyn MediaStore, key: &str) -> Option<(u32, u32)> {
    validate_key(key).ok()?;
    match (store.local_root(), store.s3()) {
        (Some(root), _) => image::image_dimensions(root.join(key)).ok(),
        (None, Some(bucket)) => bucket.image_size(key),
        (None, None) => image::ImageReader::new(std::io::Cursor::new(store.read(key).ok()?))
            .with_guessed_format()
            .ok()?
            .into_dimensions()
            .ok(),
    }
}

/// Removes files nobody uses any more, after the rows that used them are gone, on the blocking
/// pool (an object store answers over the network: an async worker must not wait on it). A
/// file that cannot be removed stays as an orphan; nothing refers to it.
pub async fn forget(store: std::sync::Arc<dyn MediaStore>, keys: Vec<String>) {
    if keys.is_empty() {
        return;
    }
    let _ = tokio::task::spawn_blocking(move || {
        for key in keys {
            if let Err(e) = store.delete(&key) {
                tracing::warn!(%key, error = %e, "an unused media file could not be removed");
            }
        }
    })
    .await;
}

/// Opens the store a configuration names: the media folder, or an object store that is
/// checked at once (unreachable, no such bucket, keys refused: one line).
pub fn open(storage: &crate::config::StorageConfig) -> Result<std::sync::Arc<dyn MediaStore>> {
    Ok(match &storage.s3 {
        Some(location) => {
            let store = s3::S3MediaStore::open(location.clone())?;
            store.check()?;
            std::sync::Arc::new(store)
        }
        None => std::sync::Arc::new(LocalMediaStore::open(&storage.media_dir)?),
    })
}

/// Checks that a key is relative, has no `..` or empty segment, and uses safe characters.
pub fn validate_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && !seg.starts_with('.'))
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Internal(format!("invalid media key '{key}'")))
    }
}

/// Media in a local folder (the default; served by the web plugin under `/media/`).
#[derive(Debug, Clone)]
pub struct LocalMediaStore {
    root: PathBuf,
}

impl LocalMediaStore {
    /// A store rooted at `root`, created if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .map_err(|e| Error::io(format!("cannot create {}", root.display()), e))?;
        Ok(LocalMediaStore { root })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    /// A new temporary file in `.tmp/` (same filesystem as every key: moved in by a rename),
    /// named `PID-…` after this process.
    fn temp(&self) -> Result<tempfile::NamedTempFile> {
        let dir = self.root.join(TEMP_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        tempfile::Builder::new()
            .prefix(&format!("{}-", std::process::id()))
            .tempfile_in(&dir)
            .map_err(|e| Error::io(format!("cannot write in {}", dir.display()), e))
    }
}

impl MediaStore for LocalMediaStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let mut tmp = self.temp()?;
        tmp.write_all(bytes)
            .and_then(|_| tmp.as_file().sync_data())
            .map_err(|e| Error::io(format!("cannot write {key}"), e))?;
        tmp.persist(&path)
            .map_err(|e| Error::io(format!("cannot move {key} into place"), e.error))?;
        Ok(())
    }

    fn put_file(&self, key: &str, src: &Path) -> Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        if std::fs::rename(src, &path).is_ok() {
            return Ok(());
        }
        // Another filesystem: copy next to the target, then rename into place.
        let tmp = self.temp()?;
        std::fs::copy(src, tmp.path())
            .map_err(|e| Error::io(format!("cannot copy into {key}"), e))?;
        tmp.persist(&path)
            .map_err(|e| Error::io(format!("cannot move {key} into place"), e.error))?;
        let _ = std::fs::remove_file(src);
        Ok(())
    }

    fn link(&self, existing: &str, key: &str) -> Result<()> {
        let from = self.path(existing)?;
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let mut linked = std::fs::hard_link(&from, &path);
        if linked
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists)
        {
            // Left by an earlier run: replace it, so the name always means `existing`.
            self.delete(key)?;
            linked = std::fs::hard_link(&from, &path);
        }
        match linked {
            Ok(()) => Ok(()),
            Err(_) => {
                let tmp = self.temp()?;
                std::fs::copy(&from, tmp.path())
                    .map_err(|e| Error::io(format!("cannot copy {existing} to {key}"), e))?;
                tmp.persist(&path)
                    .map_err(|e| Error::io(format!("cannot move {key} into place"), e.error))?;
                Ok(())
            }
        }
    }

    fn exists(&self, key: &str) -> bool {
        self.path(key).is_ok_and(|p| p.is_file())
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("cannot delete {key}"), e)),
        }
    }

    fn read(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound("media file"),
            _ => Error::io(format!("cannot read {key}"), e),
        })
    }

    fn local_root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn sweep_temporary(&self) -> Result<usize> {
        let dir = self.root.join(TEMP_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
        };
        let me = std::process::id();
        let mut swept = 0;
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let writer = name
                .split_once('-')
                .and_then(|(pid, _)| pid.parse::<u32>().ok());
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > TEMP_MAX_AGE);
            let orphan = match writer {
                Some(pid) => pid != me && !process_alive(pid),
                None => true,
            };
            if (orphan || old) && std::fs::remove_file(entry.path()).is_ok() {
                swept += 1;
            }
        }
        Ok(swept)
    }
}

/// The file extension for an image MIME type.
pub fn extension_for(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        _ => "jpg",
    }
}

/// What the first bytes of a file say it is, whatever its name claims.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    match head {
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        // ISO base media files: the major brand says what is inside.
        [_, _, _, _, b'f', b't', b'y', b'p', b0, b1, b2, b3, ..] => match &[*b0, *b1, *b2, *b3] {
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                Some("image/heic")
            }
            b"avif" | b"avis" => Some("image/avif"),
            b"qt  " => Some("video/quicktime"),
            _ => Some("video/mp4"),
        },
        [0x1A, 0x45, 0xDF, 0xA3, ..] => Some("video/webm"),
        _ => None,
    }
}

/// The file extension for a media MIME type.
pub fn media_extension(mime: &str) -> &'static str {
    match mime {
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        other => extension_for(other),
    }
}

/// The key of a photo's original: `photos/{first two hex}/{hash}.{ext}`.
pub fn photo_original_key(content_hash: &str, mime: &str) -> String {
    let shard = content_hash.get(..2).unwrap_or("00");
    format!("photos/{shard}/{content_hash}.{}", extension_for(mime))
}

/// The key of a photo's JPEG derivative `width` pixels wide.
pub fn photo_variant_key(content_hash: &str, width: u32) -> String {
    let shard = content_hash.get(..2).unwrap_or("00");
    format!("photos/{shard}/{content_hash}-{width}.jpg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "a/./b", "a b", "a\\b"] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
        assert!(validate_key("photos/ab/abcd-320.jpg").is_ok());
    }

    #[test]
    fn put_is_atomic_and_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalMediaStore::open(dir.path()).expect("open");
        store.put("photos/ab/x.jpg", b"hello").expect("put");
        assert!(store.exists("photos/ab/x.jpg"));
        assert_eq!(
            std::fs::read(dir.path().join("photos/ab/x.jpg")).expect("read"),
            b"hello"
        );
        store.delete("photos/ab/x.jpg").expect("delete");
        store.delete("photos/ab/x.jpg").expect("delete twice");
        assert!(!store.exists("photos/ab/x.jpg"));
    }

    #[test]
    fn iso_media_files_are_told_apart() {
        let ftyp = |brand: &[u8; 4]| {
            let mut h = vec![0, 0, 0, 0x18];
            h.extend_from_slice(b"ftyp");
            h.extend_from_slice(brand);
            h.extend_from_slice(&[0; 8]);
            h
        };
        assert_eq!(sniff(&ftyp(b"isom")), Some("video/mp4"));
        assert_eq!(sniff(&ftyp(b"mp42")), Some("video/mp4"));
        assert_eq!(sniff(&ftyp(b"heic")), Some("image/heic"));
        assert_eq!(sniff(&ftyp(b"mif1")), Some("image/heic"));
        assert_eq!(sniff(&ftyp(b"avif")), Some("image/avif"));
        assert_eq!(sniff(&ftyp(b"qt  ")), Some("video/quicktime"));
    }

    #[test]
    fn temporary_files_of_dead_writers_are_swept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalMediaStore::open(dir.path()).expect("open");
        store.put("photos/ab/x.jpg", b"hello").expect("put");
        let tmp = dir.path().join(TEMP_DIR);
        assert_eq!(
            std::fs::read_dir(&tmp).expect("tmp dir").count(),
            0,
            "a finished write leaves nothing behind"
        );
        let mine = tmp.join(format!("{}-live", std::process::id()));
        std::fs::write(&mine, b"being written").expect("write");
        std::fs::write(tmp.join("999999999-dead"), b"half").expect("write");
        std::fs::write(tmp.join(".tmpAbC123"), b"old style").expect("write");
        assert_eq!(store.sweep_temporary().expect("sweep"), 2);
        assert!(mine.is_file(), "a live writer's file stays");
        assert!(
            validate_key(".tmp/1-x").is_err(),
            "temporary files are not media"
        );
        assert!(!store.exists(".tmp/1-x"));
    }

    #[test]
    fn link_gives_a_file_a_second_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalMediaStore::open(dir.path()).expect("open");
        store.put("photos/ab/a.jpg", b"one").expect("put");
        store.put("photos/cd/b.jpg", b"old").expect("put");
        store
            .link("photos/ab/a.jpg", "photos/ef/c.jpg")
            .expect("link");
        store
            .link("photos/ab/a.jpg", "photos/cd/b.jpg")
            .expect("link over a file");
        for key in ["photos/ef/c.jpg", "photos/cd/b.jpg"] {
            assert_eq!(std::fs::read(dir.path().join(key)).expect("read"), b"one");
        }
        store.delete("photos/ab/a.jpg").expect("delete");
        assert!(
            store.exists("photos/ef/c.jpg"),
            "other names outlive the first"
        );
        assert!(
            store
                .link("photos/zz/missing.jpg", "photos/zz/x.jpg")
                .is_err()
        );
    }
}
