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
    fn store(&self) -> &dyn MediaStore {
        match self {
            End::Folder(s) => *s,
            End::Bucket(s) => *s,
        }
    }

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
pub fn migrate(from: &End, to: &End, scratch: &Path, progress: &dyn Fn(&Report)) -> Result<Report> {
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
    match (from, to) {
        (End::Folder(f), End::Bucket(_)) => dest_tag
            .is_some_and(|t| file_etag(&f.root().join(key)).is_ok_and(|mine| mine == bare(t))),
        (End::Bucket(_), End::Folder(f)) => src_tag
            .is_some_and(|t| file_etag(&f.root().join(key)).is_ok_and(|mine| mine == bare(t))),
        // Same kind at both ends: the ETags of two buckets, or two folders' bytes.
        (End::Bucket(_), End::Bucket(_)) => src_tag.is_some() && src_tag == dest_tag,
        (End::Folder(a), End::Folder(b)) => {
            file_etag(&a.root().join(key)).ok() == file_etag(&b.root().join(key)).ok()
        }
    }
}

/// Copies one file and checks what arrived.
fn copy(from: &End, to: &End, key: &str, src_tag: Option<&str>, scratch: &Path) -> Result<()> {
    validate_key(key)?;
    match (from, to) {
        (End::Folder(f), End::Bucket(b)) => {
            let path = f.root().join(key);
            let expected =
                file_etag(&path).map_err(|e| Error::io(format!("cannot read {key}"), e))?;
            // put_file takes the file it is given: give it a copy.
            let tmp = tempfile::NamedTempFile::new_in(scratch)
                .map_err(|e| Error::io("cannot make a scratch file", e))?;
            std::fs::copy(&path, tmp.path())
                .map_err(|e| Error::io(format!("cannot read {key}"), e))?;
            let (_, tmp_path) = tmp
                .keep()
                .map_err(|e| Error::io("cannot keep a scratch file", e.error))?;
            let put = b.put_file(key, &tmp_path);
            let _ = std::fs::remove_file(&tmp_path);
            put?;
            let stored = b.etag(key)?;
            if stored.as_deref().map(bare) != Some(expected.as_str()) {
                return Err(Error::Internal(format!(
                    "{key}: the stored object does not match the file (ETag {} instead of {expected})",
                    stored.unwrap_or_default()
                )));
            }
            Ok(())
        }
        (End::Bucket(b), End::Folder(f)) => {
            let bytes = b.read(key)?;
            let expected = src_tag.map(bare).unwrap_or_default().to_string();
            let got = bytes_etag(&bytes);
            if !expected.is_empty() && got != expected {
                return Err(Error::Internal(format!(
                    "{key}: the bytes read do not match the object (ETag {got} instead of {expected})"
                )));
            }
            f.put(key, &bytes)
        }
        _ => {
            let bytes = from.store().read(key)?;
            to.store().put(key, &bytes)
        }
    }
}

/// An ETag without its quotes.
fn bare(tag: &str) -> &str {
    tag.trim_matches('"')
}

/// The ETag an S3 store gives these bytes when Keepsake uploads them: the MD5, or for a file
/// sent in parts, the MD5 of the parts' MD5s and the number of parts.
pub fn bytes_etag(bytes: &[u8]) -> String {
    if bytes.len() <= PART_BYTES {
        return hex::encode(Md5::digest(bytes));
    }
    let mut all = Md5::new();
    let mut parts = 0;
    for part in bytes.chunks(PART_BYTES) {
        all.update(Md5::digest(part));
        parts += 1;
    }
    format!("{}-{parts}", hex::encode(all.finalize()))
}

/// [`bytes_etag`] of a file, read a part at a time.
pub fn file_etag(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut buf = vec![0u8; PART_BYTES.min(size as usize).max(1)];
    if size as usize <= PART_BYTES {
        file.read_exact(&mut buf[..size as usize])?;
        return Ok(hex::encode(Md5::digest(&buf[..size as usize])));
    }
    let mut all = Md5::new();
    let mut parts = 0;
    let mut left = size;
    while left > 0 {
        let n = (left as usize).min(PART_BYTES);
        file.read_exact(&mut buf[..n])?;
        all.update(Md5::digest(&buf[..n]));
        parts += 1;
        left -= n as u64;
    }
    Ok(format!("{}-{parts}", hex::encode(all.finalize())))
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
    fn etags_are_computed_like_s3s() {
        assert_eq!(bytes_etag(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(bytes_etag(b"hello"), "5d41402abc4b2a76b9719d911017c592");
        let big = vec![7u8; PART_BYTES + 1];
        let tag = bytes_etag(&big);
        assert!(tag.ends_with("-2"), "{tag}");
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        for bytes in [b"".to_vec(), b"hello".to_vec(), big] {
            std::fs::write(&p, &bytes).expect("write");
            assert_eq!(file_etag(&p).expect("etag"), bytes_etag(&bytes));
        }
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
