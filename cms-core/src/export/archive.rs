//! The container of an export: a folder, or the same tree in a `.zip` file (media stored, not
//! compressed: photos do not shrink; the JSON Lines deflated).

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use crate::backup::io;
use crate::error::{Error, Result};

/// Where an export is written.
pub enum Writer {
    Dir {
        root: PathBuf,
        open: Option<BufWriter<std::fs::File>>,
        /// The folder was there (empty) before: an abandoned export leaves it empty, not gone.
        existed: bool,
    },
    Zip {
        zip: Box<zip::ZipWriter<Guarded>>,
        partial: PathBuf,
        target: PathBuf,
    },
}

/// The zip's file, which stops writing after its first error and remembers it: the zip writer
/// finishes its archive when dropped, and would otherwise try again, fail again and print to
/// stderr past our one-line error. What it wrote after the error goes nowhere; the error is
/// reported once, and the file removed.
pub struct Guarded {
    file: BufWriter<std::fs::File>,
    failed: Option<std::io::ErrorKind>,
}

impl Guarded {
    fn check<T>(&mut self, r: std::io::Result<T>, none: T) -> std::io::Result<T> {
        if self.failed.is_some() {
            return Ok(none);
        }
        r.inspect_err(|e| self.failed = Some(e.kind()))
    }
}

impl Write for Guarded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.failed.is_some() {
            return Ok(buf.len());
        }
        let r = self.file.write(buf);
        self.check(r, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.failed.is_some() {
            return Ok(());
        }
        let r = self.file.flush();
        self.check(r, ())
    }
}

impl Seek for Guarded {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        if self.failed.is_some() {
            return Ok(0);
        }
        let r = self.file.seek(pos);
        self.check(r, 0)
    }
}

/// True when `path` names a zip file (by its extension).
pub fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

impl Writer {
    /// Creates the folder or the zip (as `FILE.partial` until it is finished).
    pub fn create(path: &Path) -> Result<Writer> {
        if is_zip(path) {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(io(format!("cannot create {}", parent.display())))?;
            }
            let partial = path.with_extension("zip.partial");
            let f = std::fs::File::create(&partial)
                .map_err(io(format!("cannot write {}", partial.display())))?;
            Ok(Writer::Zip {
                zip: Box::new(zip::ZipWriter::new(Guarded {
                    file: BufWriter::new(f),
                    failed: None,
                })),
                partial,
                target: path.to_path_buf(),
            })
        } else {
            if path.is_dir()
                && std::fs::read_dir(path)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(false)
            {
                return Err(Error::invalid(
                    "export",
                    format!(
                        "{} is a folder that is not empty: export into a new one",
                        path.display()
                    ),
                ));
            }
            let existed = path.is_dir();
            std::fs::create_dir_all(path)
                .map_err(io(format!("cannot create {}", path.display())))?;
            Ok(Writer::Dir {
                root: path.to_path_buf(),
                open: None,
                existed,
            })
        }
    }

    /// Starts the file `name` (a `/`-separated path in the export).
    pub fn begin(&mut self, name: &str, compress: bool) -> Result<()> {
        match self {
            Writer::Dir { root, open, .. } => {
                let p = next_file(root, open, name)?;
                *open = Some(BufWriter::new(
                    std::fs::File::create(&p)
                        .map_err(io(format!("cannot write {}", p.display())))?,
                ));
            }
            Writer::Zip { zip, .. } => {
                let opts = zip::write::SimpleFileOptions::default()
                    .large_file(true)
                    .compression_method(if compress {
                        zip::CompressionMethod::Deflated
                    } else {
                        zip::CompressionMethod::Stored
                    });
                zip.start_file(name, opts)
                    .map_err(|e| Error::Internal(format!("cannot write the zip: {e}")))?;
            }
        }
        Ok(())
    }

    /// Appends to the file begun last.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            Writer::Dir { open, .. } => open
                .as_mut()
                .ok_or_else(|| Error::Internal("no file begun".into()))?
                .write_all(bytes)
                .map_err(io("cannot write the export")),
            Writer::Zip { zip, .. } => zip.write_all(bytes).map_err(io("cannot write the zip")),
        }
    }

    /// Adds a file from disk under `name`.
    pub fn copy_file(&mut self, name: &str, from: &Path) -> Result<()> {
        if let Writer::Dir { root, open, .. } = self {
            let p = next_file(root, open, name)?;
            // Media files never change: a hard link where the filesystem allows, else a copy.
            if std::fs::hard_link(from, &p).is_err() {
                std::fs::copy(from, &p).map_err(io(format!("cannot copy {}", from.display())))?;
            }
            return Ok(());
        }
        self.begin(name, false)?;
        let mut f =
            std::fs::File::open(from).map_err(io(format!("cannot read {}", from.display())))?;
        if let Writer::Zip { zip, .. } = self {
            std::io::copy(&mut f, zip.as_mut()).map_err(io("cannot write the zip"))?;
        }
        Ok(())
    }

    /// Finishes the export: flushed and synced; a zip renamed into place.
    pub fn finish(self) -> Result<()> {
        match self {
            Writer::Dir {
                root,
                open,
                existed,
            } => {
                let synced = open.map_or(Ok(()), |mut f| {
                    f.flush()
                        .and_then(|()| f.get_ref().sync_all())
                        .map_err(io("cannot write the export"))
                });
                if synced.is_err() {
                    Writer::Dir {
                        root,
                        open: None,
                        existed,
                    }
                    .abandon();
                }
                synced
            }
            Writer::Zip {
                zip,
                partial,
                target,
            } => {
                let written = zip
                    .finish()
                    .map_err(|e| Error::Internal(format!("cannot write the zip: {e}")));
                let mut g = match written {
                    Ok(g) => g,
                    Err(e) => {
                        let _ = std::fs::remove_file(&partial);
                        return Err(e);
                    }
                };
                let flushed = g.flush();
                if let Some(kind) = g.failed {
                    let _ = std::fs::remove_file(&partial);
                    return Err(Error::io(
                        "cannot write the zip",
                        std::io::Error::from(kind),
                    ));
                }
                flushed.map_err(io("cannot write the zip"))?;
                let f = g
                    .file
                    .into_inner()
                    .map_err(|e| Error::io("cannot write the zip", e.into_error()))?;
                f.sync_all().map_err(io("cannot write the zip"))?;
                std::fs::rename(&partial, &target)
                    .map_err(io(format!("cannot write {}", target.display())))
            }
        }
    }

    /// Gives up an export that failed: the zip's partial file removed, the folder emptied (and
    /// removed when the export made it), so a failed export leaves nothing behind.
    pub fn abandon(self) {
        match self {
            Writer::Dir {
                root,
                open,
                existed,
            } => {
                drop(open);
                let _ = std::fs::remove_dir_all(&root);
                if existed {
                    let _ = std::fs::create_dir(&root);
                }
            }
            Writer::Zip { zip, partial, .. } => {
                // Dropped, it finishes into the guard (which has failed, or fails quietly
                // now that the disk is full); then the file goes.
                drop(zip);
                let _ = std::fs::remove_file(&partial);
            }
        }
    }
}

/// Finishes the folder's open file and makes the folder of the next one; its path.
fn next_file(
    root: &Path,
    open: &mut Option<BufWriter<std::fs::File>>,
    name: &str,
) -> Result<PathBuf> {
    if let Some(mut f) = open.take() {
        f.flush().map_err(io("cannot write the export"))?;
    }
    let p = root.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)
            .map_err(io(format!("cannot create {}", parent.display())))?;
    }
    Ok(p)
}

/// An export being read.
pub enum Reader {
    Dir(PathBuf),
    Zip(Box<zip::ZipArchive<std::fs::File>>),
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader> {
        if path.is_dir() {
            return Ok(Reader::Dir(path.to_path_buf()));
        }
        let f = std::fs::File::open(path).map_err(|e| {
            Error::invalid(
                "import",
                format!("cannot open {}: {}", path.display(), e.kind()),
            )
        })?;
        let zip = zip::ZipArchive::new(f).map_err(|e| {
            Error::invalid(
                "import",
                format!(
                    "{} is neither an export folder nor a zip: {e}",
                    path.display()
                ),
            )
        })?;
        Ok(Reader::Zip(Box::new(zip)))
    }

    /// Reads the file `name` through `f`; `None` when the export has no such file.
    pub fn with<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut dyn Read) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Reader::Dir(root) => match std::fs::File::open(root.join(name)) {
                Ok(file) => f(&mut std::io::BufReader::new(file)).map(Some),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(format!("cannot read {name}"), e)),
            },
            Reader::Zip(zip) => match zip.by_name(name) {
                Ok(mut entry) => f(&mut entry).map(Some),
                Err(zip::result::ZipError::FileNotFound) => Ok(None),
                Err(e) => Err(Error::invalid("import", format!("cannot read {name}: {e}"))),
            },
        }
    }

    /// Copies the export's media files (under `media/`) that `to` lacks. Returns how many.
    pub fn copy_media(&mut self, to: &Path) -> Result<u64> {
        match self {
            Reader::Dir(root) => {
                Ok(crate::backup::copy_missing(&root.join("media"), to, None)?.copied)
            }
            Reader::Zip(zip) => {
                let mut copied = 0;
                for i in 0..zip.len() {
                    let mut entry = zip
                        .by_index(i)
                        .map_err(|e| Error::invalid("import", format!("damaged zip: {e}")))?;
                    if entry.is_dir() {
                        continue;
                    }
                    let Some(rel) = entry.name().ok().and_then(|n| media_path(&n)) else {
                        continue;
                    };
                    let dest = to.join(&rel);
                    if std::fs::metadata(&dest).is_ok_and(|m| m.len() == entry.size()) {
                        continue;
                    }
                    if let Some(parent) = dest.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(io(format!("cannot create {}", parent.display())))?;
                    }
                    let tmp = dest.with_extension("partial");
                    let mut out = std::fs::File::create(&tmp)
                        .map_err(io(format!("cannot write {}", tmp.display())))?;
                    std::io::copy(&mut entry, &mut out)
                        .map_err(io(format!("cannot write {}", tmp.display())))?;
                    std::fs::rename(&tmp, &dest)
                        .map_err(io(format!("cannot write {}", dest.display())))?;
                    copied += 1;
                }
                Ok(copied)
            }
        }
    }
}

/// The path under the media folder of an entry named `media/…`, when it is a plain relative
/// path (no `..`, no root, no hidden first part): anything else in a zip is ignored.
fn media_path(name: &str) -> Option<PathBuf> {
    let rest = name.strip_prefix("media/")?;
    let p = Path::new(rest);
    let plain = p.components().all(|c| matches!(c, Component::Normal(_)))
        && !rest.starts_with('.')
        && !rest.is_empty();
    plain.then(|| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_media_paths() {
        assert!(super::media_path("media/photos/ab/x.jpg").is_some());
        for bad in [
            "media/../etc/passwd",
            "media//etc/passwd",
            "media/.tmp/x",
            "tables/x.jsonl",
            "media/",
            "/media/x",
        ] {
            assert!(super::media_path(bad).is_none(), "{bad}");
        }
    }
}
