//! Where an import reads from — a folder tree or a `.zip` — mapped onto the gallery: folders
//! become categories, a folder holding images becomes an album, files are sorted naturally
//! (`…-2` before `…-10`). A `keepsake.toml` in a folder may set `title`, `description` and
//! `credit`; a folder named with U+2215 (∕) shows as `/`.
//!
//! Zips are read defensively: entry names that would leave the target (`..`, absolute paths),
//! symbolic links, too many entries, too much declared or actual data, and entries that inflate
//! suspiciously are refused before anything is extracted.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The per-folder metadata file.
pub const META_FILE: &str = "keepsake.toml";
/// The most entries a zip may hold.
pub const ZIP_MAX_ENTRIES: usize = 100_000;
/// The most a zip may inflate to in all.
pub const ZIP_MAX_TOTAL: u64 = 64 << 30;
/// An entry that inflates more than this many times its stored size is refused (zip bomb).
pub const ZIP_MAX_RATIO: u64 = 200;

/// One file to import.
#[derive(Debug, Clone)]
pub enum FileRef {
    Path(PathBuf),
    Zip { index: usize, declared: u64 },
}

/// A file with the name it is reported by.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub file: FileRef,
}

/// An album to fill.
#[derive(Debug, Clone, Default)]
pub struct AlbumSource {
    /// Category names from the top, `--into` first.
    pub categories: Vec<String>,
    pub title: String,
    pub description: String,
    pub credit: String,
    pub files: Vec<SourceFile>,
}

/// Everything an import will do, worked out before it starts.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub zip: Option<PathBuf>,
    pub albums: Vec<AlbumSource>,
    /// Entries refused while planning, with the reason.
    pub refused: Vec<(String, String)>,
}

impl Plan {
    /// How many files the plan holds.
    pub fn file_count(&self) -> usize {
        self.albums.iter().map(|a| a.files.len()).sum()
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderMeta {
    title: Option<String>,
    description: Option<String>,
    credit: Option<String>,
}

fn display_name(folder: &str) -> String {
    folder.replace('\u{2215}', "/").trim().to_string()
}

fn parse_meta(text: &str, where_: &str) -> Result<FolderMeta> {
    toml::from_str(text)
        .map_err(|e| Error::invalid("metadata", format!("{where_}: {}", e.message())))
}

/// Splits `--into "A/B/C"` into names.
pub fn parse_into(into: &str) -> Vec<String> {
    into.split('/')
        .map(display_name)
        .filter(|s| !s.is_empty())
        .collect()
}

#[derive(Default)]
struct Node {
    meta: FolderMeta,
    files: Vec<SourceFile>,
    children: BTreeMap<String, Node>,
}

fn flatten(node: Node, name: Option<&str>, parents: &[String], out: &mut Vec<AlbumSource>) {
    let title = node.meta.title.clone().or_else(|| name.map(display_name));
    let mut chain = parents.to_vec();
    if !node.files.is_empty() {
        let mut files = node.files;
        files.sort_by(|a, b| natord::compare(&a.name, &b.name));
        out.push(AlbumSource {
            categories: parents.to_vec(),
            title: title.clone().unwrap_or_else(|| "Imported".into()),
            description: node.meta.description.clone().unwrap_or_default(),
            credit: node.meta.credit.clone().unwrap_or_default(),
            files,
        });
    }
    if let Some(t) = title {
        chain.push(t);
    }
    let mut children: Vec<(String, Node)> = node.children.into_iter().collect();
    children.sort_by(|a, b| natord::compare(&a.0, &b.0));
    for (child_name, child) in children {
        flatten(child, Some(&child_name), &chain, out);
    }
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name == "__MACOSX" || name == "Thumbs.db" || name == "desktop.ini"
}

/// Plans an import of a folder tree. The folder's contents map under `into`; if the folder
/// itself holds images, they become an album named after it.
pub fn plan_folder(root: &Path, into: &[String]) -> Result<Plan> {
    let meta = std::fs::metadata(root)
        .map_err(|e| Error::io(format!("cannot read {}", root.display()), e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(
            "path",
            format!("{} is neither a folder nor a .zip", root.display()),
        ));
    }
    let mut plan = Plan::default();
    fn walk(dir: &Path, rel: &str, node: &mut Node, plan: &mut Plan) -> Result<()> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_hidden(&name) {
                continue;
            }
            let path = entry.path();
            let shown = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry
                .file_type()
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            if kind.is_symlink() {
                plan.refused
                    .push((shown, "a symbolic link (not followed)".into()));
            } else if kind.is_dir() {
                let child = node.children.entry(name.clone()).or_default();
                walk(&path, &shown, child, plan)?;
            } else if name == META_FILE {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
                node.meta = parse_meta(&text, &shown)?;
            } else if kind.is_file() {
                node.files.push(SourceFile {
                    name: shown,
                    file: FileRef::Path(path),
                });
            }
        }
        Ok(())
    }
    let mut top = Node::default();
    walk(root, "", &mut top, &mut plan)?;
    if top.files.is_empty() {
        let mut children: Vec<(String, Node)> = top.children.into_iter().collect();
        children.sort_by(|a, b| natord::compare(&a.0, &b.0));
        for (name, child) in children {
            flatten(child, Some(&name), into, &mut plan.albums);
        }
    } else {
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned());
        flatten(top, name.as_deref(), into, &mut plan.albums);
    }
    Ok(plan)
}

/// Plans an import of a zip, refusing unsafe entries.
pub fn plan_zip(path: &Path, into: &[String], max_file: u64) -> Result<Plan> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        Error::invalid(
            "path",
            format!("{} is not a readable zip ({e})", path.display()),
        )
    })?;
    if zip.len() > ZIP_MAX_ENTRIES {
        return Err(Error::invalid(
            "path",
            format!(
                "the zip has {} entries; the limit is {ZIP_MAX_ENTRIES}",
                zip.len()
            ),
        ));
    }
    let mut plan = Plan {
        zip: Some(path.to_path_buf()),
        ..Plan::default()
    };
    let mut top = Node::default();
    let mut total: u64 = 0;
    for index in 0..zip.len() {
        let entry = zip
            .by_index_raw(index)
            .map_err(|e| Error::invalid("path", format!("damaged zip ({e})")))?;
        let raw_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_dir() {
            continue;
        }
        let absolute = raw_name.starts_with('/')
            || raw_name.starts_with('\\')
            || raw_name.as_bytes().get(1) == Some(&b':');
        let Some(safe) = entry.enclosed_name().filter(|_| !absolute) else {
            plan.refused.push((
                raw_name,
                "its path leaves the archive (.. or absolute)".into(),
            ));
            continue;
        };
        if entry.is_symlink() {
            plan.refused.push((raw_name, "a symbolic link".into()));
            continue;
        }
        let parts: Vec<String> = safe
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.iter().any(|p| is_hidden(p)) {
            continue;
        }
        let declared = entry.size();
        let stored = entry.compressed_size().max(1);
        if declared > max_file {
            plan.refused
                .push((raw_name, format!("too large ({} MB)", declared >> 20)));
            continue;
        }
        if declared / stored > ZIP_MAX_RATIO {
            plan.refused.push((
                raw_name,
                "compressed suspiciously well (a zip bomb?)".into(),
            ));
            continue;
        }
        total = total.saturating_add(declared);
        if total > ZIP_MAX_TOTAL {
            return Err(Error::invalid(
                "path",
                format!("the zip inflates to more than {} GB", ZIP_MAX_TOTAL >> 30),
            ));
        }
        let (file_name, dirs) = parts
            .split_last()
            .map(|(f, d)| (f.clone(), d.to_vec()))
            .unwrap_or_default();
        let mut node = &mut top;
        for d in &dirs {
            node = node.children.entry(d.clone()).or_default();
        }
        let shown = parts.join("/");
        if file_name == META_FILE {
            drop(entry);
            let bytes = read_zip_entry(&mut zip, index, 64 * 1024)?;
            node.meta = parse_meta(&String::from_utf8_lossy(&bytes), &shown)?;
            continue;
        }
        node.files.push(SourceFile {
            name: shown,
            file: FileRef::Zip { index, declared },
        });
    }
    if top.files.is_empty() {
        let mut children: Vec<(String, Node)> = top.children.into_iter().collect();
        children.sort_by(|a, b| natord::compare(&a.0, &b.0));
        for (name, child) in children {
            flatten(child, Some(&name), into, &mut plan.albums);
        }
    } else {
        let stem = path.file_stem().map(|n| n.to_string_lossy().into_owned());
        flatten(top, stem.as_deref(), into, &mut plan.albums);
    }
    Ok(plan)
}

/// Reads one zip entry, never more than `limit` bytes, whatever its header claims.
pub fn read_zip_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    index: usize,
    limit: u64,
) -> Result<Vec<u8>> {
    let entry = zip
        .by_index(index)
        .map_err(|e| Error::invalid("file", format!("damaged zip entry ({e})")))?;
    let mut buf = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::invalid("file", format!("damaged zip entry ({e})")))?;
    if buf.len() as u64 > limit {
        return Err(Error::invalid("file", "inflates beyond its size limit"));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_map_to_categories_and_albums() {
        let dir = tempfile::tempdir().expect("tempdir");
        let season = dir
            .path()
            .join("Television Productions/Heartstopper/Season 2/Episode Captures");
        for (album, files) in [
            ("S02E01 – Out", vec!["cap-10.jpg", "cap-2.jpg", "cap-1.jpg"]),
            ("S02E06 – Truth \u{2215} Dare", vec!["a.jpg"]),
        ] {
            std::fs::create_dir_all(season.join(album)).expect("mkdir");
            for f in files {
                std::fs::write(season.join(album).join(f), b"x").expect("write");
            }
        }
        std::fs::write(
            season.join("S02E01 – Out").join(META_FILE),
            "credit = \"Netflix\"\n",
        )
        .expect("meta");
        std::fs::write(season.join(".DS_Store"), b"x").expect("hidden");
        let plan = plan_folder(dir.path(), &parse_into("Archive")).expect("plan");
        assert_eq!(plan.albums.len(), 2);
        let a = &plan.albums[0];
        assert_eq!(
            a.categories,
            [
                "Archive",
                "Television Productions",
                "Heartstopper",
                "Season 2",
                "Episode Captures"
            ]
        );
        assert_eq!(a.title, "S02E01 – Out");
        assert_eq!(a.credit, "Netflix");
        let names: Vec<&str> = a
            .files
            .iter()
            .map(|f| f.name.rsplit('/').next().unwrap_or(""))
            .collect();
        assert_eq!(
            names,
            ["cap-1.jpg", "cap-2.jpg", "cap-10.jpg"],
            "natural order"
        );
        assert_eq!(plan.albums[1].title, "S02E06 – Truth / Dare");
    }
}
