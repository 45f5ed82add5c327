//! The pipeline's one way in for files in hand — the admin's upload, the API's upload and each
//! batch of an import: files are read a few at a time (bounded memory), each is hashed once
//! (or not at all when the upload already hashed it while it streamed in), content the album
//! has or an earlier file of the batch had is set aside as a duplicate before anything is
//! decoded, and the rest goes through [`super::process`] on every core. Blocking: call it from
//! a blocking thread, never on the async executor.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use rayon::prelude::*;

use super::process::{self, Settings, Skip};
use crate::media::MediaStore;
use crate::models::photo::NewPhoto;

/// Where a file's bytes are.
#[derive(Debug)]
pub enum Bytes {
    /// Read already (an entry of an archive).
    InMemory(Vec<u8>),
    /// A file to read when its turn comes (an upload's staging file, a file of a folder).
    File(PathBuf),
    /// It could not be read; why.
    Unreadable(String),
}

/// One file to add.
#[derive(Debug)]
pub struct Incoming {
    /// Its name as the user knows it (reports use it; the photo keeps its last segment).
    pub name: String,
    pub bytes: Bytes,
    /// Its SHA-256 when known already.
    pub hash: Option<String>,
}

impl Incoming {
    /// A file to read from disk.
    pub fn file(name: impl Into<String>, path: impl Into<PathBuf>, hash: Option<String>) -> Self {
        Incoming {
            name: name.into(),
            bytes: Bytes::File(path.into()),
            hash,
        }
    }
}

/// What became of the files.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Rows to insert, in the order the files came; their media files are written.
    pub photos: Vec<NewPhoto>,
    /// Files whose content was there already.
    pub duplicates: Vec<String>,
    /// Files refused, with the reason.
    pub refused: Vec<(String, String)>,
    /// Why files could not be written to the media store, when that happened: they are
    /// neither refused nor in `photos`, and the caller fails the whole request (503) or run.
    pub store_error: Option<String>,
}

/// The last segment of a path as typed on any system: what a photo keeps as its file name.
pub fn file_name(name: &str) -> &str {
    name.rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or("upload")
}

/// Runs `files` through the pipeline. `known` holds the content hashes the album has; each
/// file taken is added to it, so a later duplicate (in this batch or the next) is set aside.
pub fn prepare(
    files: Vec<Incoming>,
    known: &mut HashSet<String>,
    settings: &Settings,
    media: &dyn MediaStore,
) -> Prepared {
    let at_once = (rayon::current_num_threads() * 2).max(2);
    let mut out = Prepared::default();
    let mut files = files.into_iter().peekable();
    while files.peek().is_some() {
        let mut todo: Vec<(String, Vec<u8>, String)> = Vec::with_capacity(at_once);
        for f in files.by_ref().take(at_once) {
            let bytes = match f.bytes {
                Bytes::InMemory(b) => Ok(b),
                Bytes::File(p) => read_limited(&p, settings.max_bytes),
                Bytes::Unreadable(why) => Err(why),
            };
            let bytes = match bytes {
                Ok(b) => b,
                Err(why) => {
                    out.refused.push((f.name, why));
                    continue;
                }
            };
            let hash = f.hash.unwrap_or_else(|| process::content_hash(&bytes));
            if known.insert(hash.clone()) {
                todo.push((f.name, bytes, hash));
            } else {
                out.duplicates.push(f.name);
            }
        }
        let refused = Mutex::new(Vec::new());
        let unstored = Mutex::new(None);
        let done: Vec<NewPhoto> = todo
            .par_iter()
            .filter_map(|(name, bytes, hash)| {
                match process::process_hashed(bytes, hash, file_name(name), settings, media) {
                    Ok(p) => Some(p),
                    Err(Skip::Store(why)) => {
                        unstored
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(why);
                        None
                    }
                    Err(skip) => {
                        refused
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((name.clone(), skip.to_string()));
                        None
                    }
                }
            })
            .collect();
        out.photos.extend(done);
        out.refused
            .extend(refused.into_inner().unwrap_or_else(|e| e.into_inner()));
        if let Some(why) = unstored.into_inner().unwrap_or_else(|e| e.into_inner()) {
            // The store is failing: the rest would fail too.
            out.store_error.get_or_insert(why);
            break;
        }
    }
    out
}

/// Reads a file no larger than `limit` (a larger one is refused without being read whole).
fn read_limited(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > limit {
        return Err(Skip::TooLarge { bytes: len, limit }.to_string());
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_last_segment() {
        assert_eq!(file_name("Season 2/Episode 1/cap-001.jpg"), "cap-001.jpg");
        assert_eq!(file_name("C:\\Users\\me\\a.png"), "a.png");
        assert_eq!(file_name("plain.gif"), "plain.gif");
        assert_eq!(file_name("dir/"), "dir");
        assert_eq!(file_name(""), "upload");
    }
}
