//! `cms media migrate`: moves a site's media between its folder and an object store, in either
//! direction, while the site keeps serving from the old place.
//!
//! Every file of the source is copied unless the destination has it already *and* it is
//! verified; every copy is verified after it is written. Verification compares an object's
//! ETag with the one computed from the file's bytes: S3 stores (Garage, AWS, MinIO) give a
//! single-part object the MD5 of its bytes and a multipart one the MD5 of its parts' MD5s with
//! `-N`, and Keepsake uploads in parts of a fixed size ([`PART_BYTES`]). A run that is stopped
//! (kill -9, the network) is started again and skips what is there and verified; nothing is
//! deleted from the source.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::s3::{PART_BYTES, S3MediaStore};
use super::{LocalMediaStore, MediaStore, TEMP_DIR, validate_key};
use crate::error::{Error, Result};

/// One end of a migration.
pub enum End<'a> {
    Folder(&'a LocalMediaStore),
    Bucket(&'a S3MediaStore),
}

impl End<'_> {
    /// Every key with its size and, for an object, its ETag.
    fn list(&self) -> Result<Vec<(String, u64, Option<String>)>> {
        match self {
            End::Folder(s) => list_folder(s.root()),
            End::Bucket(s) => s.list(),
        }
    }
}

/// What a migration did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Files in the source.
    pub files: usize,
    /// Copied (and verified) by this run.
    pub copied: usize,
    pub copied_bytes: u64,
    /// In the destination already, verified, not copied again.
    pub present: usize,
    /// Files that could not be copied or did not verify, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Copies every file of `from` that `to` does not have verified; `progress` hears of each.
/// One end is a folder and the other a bucket.
pub fn migrate(from: &End, to: &End, scratch: &Path, progress: &dyn Fn(&Report)) -> Result<Report> {
    if matches!(
        (from, to),
        (End::Folder(_), End::Folder(_)) | (End::Bucket(_), End::Bucket(_))
    ) {
        return Err(Error::invalid(
            "to",
            "moves media between the media folder and an object store: copy a folder with rsync, a bucket with your store's tools",
        ));
    }
    let sources = from.list()?;
    let present: std::collections::HashMap<String, (u64, Option<String>)> = to
        .list()?
        .into_iter()
        .map(|(k, size, tag)| (k, (size, tag)))
        .collect();
    std::fs::create_dir_all(scratch)
        .map_err(|e| Error::io(format!("cannot create {}", scratch.display()), e))?;
    let mut report = Report {
        files: sources.len(),
        ..Report::default()
    };
    for (key, size, tag) in sources {
        let there = present
            .get(&key)
            .filter(|(s, _)| *s == size)
            .is_some_and(|(_, dest_tag)| same(from, to, &key, tag.as_deref(), dest_tag.as_deref()));
        if there {
            report.present += 1;
        } else {
            match copy(from, to, &key, tag.as_deref(), scratch) {
                Ok(()) => {
                    report.copied += 1;
                    report.copied_bytes += size;
                }
                Err(Error::MediaUnavailable(why)) => return Err(Error::MediaUnavailable(why)),
                Err(e) => report.failed.push((key, e.to_string())),
            }
        }
        progress(&report);
    }
    Ok(report)
}

/// True when the destination's copy of `key` is the source's: the object's ETag is the one the
/// folder's file computes to.
fn same(from: &End, to: &End, key: &str, src_tag: Option<&str>, dest_tag: Option<&str>) -> bool {
    let (tag, folder) = match (from, to) {
        (End::Folder(f), End::Bucket(_)) => (dest_tag, f),
        (End::Bucket(_), End::Folder(f)) => (src_tag, f),
        _ => return false,
    };
    tag.is_some_and(|t| etag_matches(t, &folder.root().join(key)).unwrap_or(false))
}

/// Copies one file and checks what arrived against the object's ETag.
fn copy(from: &End, to: &End, key: &str, src_tag: Option<&str>, scratch: &Path) -> Result<()> {
    validate_key(key)?;
    match (from, to) {
        (End::Folder(f), End::Bucket(b)) => {
            let path = f.root().join(key);
            b.put_from_path(key, &path)?;
            let stored = b.etag(key)?.unwrap_or_default();
            let ok = etag_matches(&stored, &path)
                .map_err(|e| Error::io(format!("cannot read {key}"), e))?;
            if !ok {
                return Err(Error::Internal(format!(
                    "{key}: the stored object does not match the file (ETag {stored})"
                )));
            }
            Ok(())
        }
        (End::Bucket(b), End::Folder(f)) => {
            // Streamed into a scratch file (not whole in memory), checked, then moved in.
            let tmp = tempfile::NamedTempFile::new_in(scratch)
                .map_err(|e| Error::io("cannot make a scratch file", e))?;
            b.download_to(key, tmp.path())?;
            let tag = src_tag.unwrap_or_default();
            let ok = etag_matches(tag, tmp.path())
                .map_err(|e| Error::io(format!("cannot read {key}"), e))?;
            if !ok {
                return Err(Error::Internal(format!(
                    "{key}: the bytes read do not match the object (ETag {tag})"
                )));
            }
            let (_, path) = tmp
                .keep()
                .map_err(|e| Error::io("cannot keep a scratch file", e.error))?;
            f.put_file(key, &path)
        }
        _ => Err(Error::invalid("to", "a folder and a bucket")),
    }
}

/// True when an S3 ETag is the one the file's bytes give: the MD5 of a single-part object, or
/// for one uploaded in `N` parts, the MD5 of the parts' MD5s — of Keepsake's part size, or,
/// for an object another tool uploaded, of the size its parts must have had.
pub fn etag_matches(tag: &str, path: &Path) -> std::io::Result<bool> {
    let tag = bare(tag);
    let size = std::fs::metadata(path)?.len();
    match tag.split_once('-') {
        None => Ok(file_md5_parts(path, None)? == tag),
        Some((_, n)) => {
            let Ok(n) = n.parse::<u64>() else {
                return Ok(false);
            };
            if n == 0 {
                return Ok(false);
            }
            let mut part_sizes = vec![PART_BYTES as u64];
            // Others pick a whole number of MiB per part.
            let mib = 1 << 20;
            part_sizes.push(size.div_ceil(n).div_ceil(mib) * mib);
            part_sizes.push(size.div_ceil(n));
            for part in part_sizes {
                if part > 0 && size.div_ceil(part) == n && file_md5_parts(path, Some(part))? == tag
                {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

/// The MD5 of a file (`part: None`), or the multipart ETag of it cut in parts of `part`.
fn file_md5_parts(path: &Path, part: Option<u64>) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut buf = vec![0u8; 1 << 20];
    let Some(part) = part else {
        let mut all = Md5::new();
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            all.update(&buf[..n]);
        }
        return Ok(hex::encode(all.finalize()));
    };
    let mut outer = Md5::new();
    let mut parts = 0u64;
    loop {
        let mut inner = Md5::new();
        let mut left = part;
        let mut read_any = false;
        while left > 0 {
            let want = (left as usize).min(buf.len());
            let n = file.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            read_any = true;
            inner.update(&buf[..n]);
            left -= n as u64;
        }
        if !read_any {
            break;
        }
        outer.update(inner.finalize());
        parts += 1;
        if left > 0 {
            break;
        }
    }
    Ok(format!("{}-{parts}", hex::encode(outer.finalize())))
}

/// An ETag without its quotes.
fn bare(tag: &str) -> &str {
    tag.trim_matches('"')
}

/// Every media file under a folder (not the temporary files), with its size.
fn list_folder(root: &Path) -> Result<Vec<(String, u64, Option<String>)>> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
        };
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || (dir == root && name == TEMP_DIR) {
                continue;
            }
            let meta = entry
                .metadata()
                .map_err(|e| Error::io(format!("cannot read {name}"), e))?;
            let path = entry.path();
            if meta.is_dir() {
                todo.push(path);
            } else if meta.is_file()
                && let Ok(rel) = path.strip_prefix(root)
                && let Some(key) = rel.to_str()
                && validate_key(key).is_ok()
            {
                out.push((key.to_string(), meta.len(), None));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_checked_like_s3_computes_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello").expect("write");
        assert!(etag_matches("\"5d41402abc4b2a76b9719d911017c592\"", &p).expect("etag"));
        assert!(!etag_matches("5d41402abc4b2a76b9719d911017c593", &p).expect("etag"));
        // In Keepsake's parts, and in another tool's 5 MiB parts.
        let big: Vec<u8> = (0..(PART_BYTES + 5)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &big).expect("write");
        let multipart = |part: usize| {
            let mut outer = Md5::new();
            let chunks: Vec<&[u8]> = big.chunks(part).collect();
            for c in &chunks {
                outer.update(Md5::digest(c));
            }
            format!("{}-{}", hex::encode(outer.finalize()), chunks.len())
        };
        assert!(etag_matches(&multipart(PART_BYTES), &p).expect("etag"));
        assert!(etag_matches(&multipart(5 << 20), &p).expect("etag"));
        assert!(!etag_matches(&multipart(PART_BYTES).replace("-2", "-3"), &p).expect("etag"));
        // A big file sent in one request has the plain MD5.
        assert!(etag_matches(&hex::encode(Md5::digest(&big)), &p).expect("etag"));
        assert!(!etag_matches("abc-x", &p).expect("etag"));
    }

    #[test]
    fn folders_are_listed_without_temporary_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalMediaStore::open(dir.path()).expect("open");
        store.put("photos/ab/x.jpg", b"x").expect("put");
        std::fs::create_dir_all(dir.path().join(".tmp")).expect("mkdir");
        std::fs::write(dir.path().join(".tmp/1-y"), b"y").expect("write");
        let keys: Vec<String> = list_folder(dir.path())
            .expect("list")
            .into_iter()
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(keys, ["photos/ab/x.jpg"]);
    }
}
