//! `cms import coppermine`: a Coppermine 1.4–1.6 gallery from its MySQL/MariaDB database and
//! its `albums/` folder.
//!
//! Categories become gallery categories (tree, descriptions and order kept); albums become
//! albums in them, members' galleries (`category` = 10000 + user id) under "Member galleries ›
//! name"; pictures become photos through the ingest pipeline, in the album's order, with
//! title, caption and keywords, hits as views and the date they were added. Unapproved
//! pictures go to a draft album beside their album, "Title (unapproved)", never public.
//! Private or password-protected albums come in as drafts. Only the originals are read:
//! Coppermine's `thumb_` and `normal_` copies are never taken for one, and their addresses
//! redirect to the photo's stored sizes.
//!
//! Every old address redirects: `index.php?cat=N`, `thumbnails.php?album=N[&page=K]`,
//! `displayimage.php?pid=N` and `?album=N&pos=K`, and the files under `albums/`, under the
//! folder the gallery lived in (from its settings, or `--base-path`).

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use super::common::plain;
use super::mysql::{self, Source, id_list, int, text};
use super::pictures::{self, AlbumSpec, CategorySpec, Kinds, Old, Picture, Pipeline};
use super::report::{Report, count};
use crate::db::Db;
use crate::error::Result;
use crate::ingest::{self, Progress};
use crate::markdown::decode_entities;
use crate::media::MediaStore;
use crate::models::audit::Actor;
use crate::models::redirect::Target;

/// How an import runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `mysql://USER:PASS@HOST/DB` of the gallery's database.
    pub db_url: String,
    /// The tables' prefix (`cpg_`, or `cpg15x_` and the like).
    pub prefix: String,
    /// A copy of the gallery's `albums/` folder.
    pub albums: PathBuf,
    /// The folder the gallery's addresses were under (`/gallery`); `None` takes it from the
    /// gallery's settings.
    pub base_path: Option<String>,
    /// Leave members' own galleries out.
    pub skip_user_galleries: bool,
    /// Only read and say what would be imported.
    pub dry_run: bool,
    /// Image limits and derivative widths (the site's settings).
    pub settings: ingest::Settings,
    /// Pictures per transaction; 0 picks the default.
    pub batch: usize,
}

/// The category that holds members' galleries.
pub const MEMBER_GALLERIES: &str = "Member galleries";

/// Coppermine's category of members' galleries, and the first category number of a member's
/// own (10000 + user id).
const USER_GAL_CAT: i64 = 1;
const FIRST_USER_CAT: i64 = 10_000;

const KINDS: Kinds = Kinds {
    item: "picture",
    report: "pictures",
    hidden: "unapproved pictures",
};

/// Pictures fetched per query.
const CHUNK: usize = 500;

/// The folder of an address prefix: `/gallery` from `--base-path gallery/` or from
/// `https://fan.example/gallery/`; empty for the root.
pub fn base_path(given: Option<&str>, site_url: Option<&str>) -> String {
    let path = match (given, site_url) {
        (Some(g), _) => g.trim().to_string(),
        (None, Some(u)) => url::Url::parse(u.trim())
            .map(|u| u.path().to_string())
            .unwrap_or_default(),
        (None, None) => String::new(),
    };
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// `ORDER BY` of pictures in an album, from the gallery's `default_sort_order` (an allow-list:
/// nothing from the database reaches the SQL).
fn picture_order(code: &str) -> &'static str {
    match code {
        "na" => "filename ASC, pid ASC",
        "nd" => "filename DESC, pid DESC",
        "ta" => "title ASC, pid ASC",
        "td" => "title DESC, pid DESC",
        "da" => "pid ASC",
        "dd" => "pid DESC",
        "pd" => "position DESC, pid DESC",
        _ => "position ASC, pid ASC",
    }
}

/// Keywords as Coppermine separated them (its setting, else `;`, `,` or spaces).
fn keywords(raw: &str, separator: &str) -> Vec<String> {
    let raw = decode_entities(raw);
    let sep = if !separator.trim().is_empty() {
        separator.trim().to_string()
    } else if raw.contains(';') {
        ";".into()
    } else if raw.contains(',') {
        ",".into()
    } else {
        " ".into()
    };
    raw.split(sep.as_str())
        .map(|k| k.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|k| !k.is_empty())
        .collect()
}

/// A caption with the picture's keywords (Keepsake photos have no keywords of their own;
/// in the caption they are shown and found by search).
pub fn caption_with_keywords(caption: &str, keywords: &[String]) -> String {
    match (caption.is_empty(), keywords.is_empty()) {
        (_, true) => caption.to_string(),
        (true, false) => format!("Keywords: {}", keywords.join(", ")),
        (false, false) => format!("{caption} — Keywords: {}", keywords.join(", ")),
    }
}

/// A relative path from the database, refused if it could leave the folder.
fn safe_join(root: &Path, parts: &[&str]) -> Option<PathBuf> {
    let rel: PathBuf = parts.iter().collect();
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
}

/// Text of a title or name: entities decoded, whitespace collapsed.
fn name_text(s: &str) -> String {
    plain(&pictures::strip_bbcode(s))
}

/// The import's key in `import_items`: the gallery's address, else the database and prefix.
fn source_key(site_url: Option<&str>, src: &Source) -> String {
    let from_url = site_url.and_then(|u| {
        let u = url::Url::parse(u.trim()).ok()?;
        let host = u.host_str()?;
        Some(format!("{host}{}", u.path().trim_end_matches('/')))
    });
    match from_url {
        Some(site) => format!("coppermine:{site}"),
        None => format!("coppermine:{}/{}", src.database, src.prefix()),
    }
}

/// Runs the import.
pub fn run(
    db: &Db,
    media: &dyn MediaStore,
    opts: &Options,
    progress: &dyn Progress,
    actor: &Actor,
) -> Result<Report> {
    let mut src = mysql::open_gallery(
        ("--albums", &opts.albums),
        &opts.db_url,
        &opts.prefix,
        "Coppermine",
        &["pictures", "albums", "categories", "config"],
    )?;
    let config = src.settings(
        "config",
        "name",
        "value",
        &[
            "ecards_more_pic_target",
            "thumbrows",
            "thumbcols",
            "default_sort_order",
            "keyword_separator",
        ],
    )?;
    let site_url = config
        .get("ecards_more_pic_target")
        .filter(|u| u.starts_with("http"))
        .map(String::as_str);
    let base = base_path(opts.base_path.as_deref(), site_url);
    let source = source_key(site_url, &src);
    let per_page = {
        let n = |k: &str, d: u64| {
            config
                .get(k)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(d)
        };
        n("thumbrows", 3) * n("thumbcols", 4)
    };
    let order = picture_order(config.get("default_sort_order").map_or("", |s| s.trim()));
    let separator = config.get("keyword_separator").cloned().unwrap_or_default();

    let mut report = Report {
        dry_run: opts.dry_run,
        ..Report::default()
    };
    let total = src.count(
        "pictures",
        &format!("SELECT COUNT(*) FROM {}", src.table("pictures")),
    )?;
    progress.start(total);

    // Categories, parents first.
    let rows = src.rows(
        "categories",
        &format!(
            "SELECT cid, name, description, parent, pos FROM {} ORDER BY pos, cid",
            src.table("categories")
        ),
    )?;
    let cats: Vec<(i64, String, String, i64, i64)> = rows
        .iter()
        .map(|r| (int(r, 0), text(r, 1), text(r, 2), int(r, 3), int(r, 4)))
        .collect();
    let mut categories: HashMap<i64, Option<i64>> = HashMap::new();
    let mut members: Option<Option<i64>> = None;
    let mut member_category = |report: &mut Report| -> Result<Option<i64>> {
        if let Some(m) = members {
            return Ok(m);
        }
        let spec = CategorySpec {
            key: USER_GAL_CAT.to_string(),
            parent: None,
            name: MEMBER_GALLERIES.into(),
            description: String::new(),
            position: 0,
            redirects: vec![format!("{base}/index.php?cat={USER_GAL_CAT}")],
        };
        let id = pictures::category(db, &source, &spec, opts.dry_run, report)?;
        members = Some(id);
        Ok(id)
    };
    for (cid, name, description, parent, pos) in pictures::parents_first(cats, |c| c.0, |c| c.3) {
        if cid == USER_GAL_CAT {
            // Coppermine's "User galleries": our "Member galleries".
            if opts.skip_user_galleries {
                report.skipped("categories", "member galleries");
            } else {
                let id = member_category(&mut report)?;
                categories.insert(cid, id);
            }
            continue;
        }
        let parent_id = match categories.get(&parent) {
            Some(p) => *p,
            None if parent != 0 && parent != cid => {
                // Under a category left out (member galleries skipped): left out too.
                if parent == USER_GAL_CAT {
                    report.skipped("categories", "member galleries");
                    continue;
                }
                None
            }
            None => None,
        };
        let spec = CategorySpec {
            key: cid.to_string(),
            parent: parent_id,
            name: name_text(&name),
            description: name_text(&description),
            position: i32::try_from(pos).unwrap_or(0),
            redirects: vec![format!("{base}/index.php?cat={cid}")],
        };
        let id = pictures::category(db, &source, &spec, opts.dry_run, &mut report)?;
        categories.insert(cid, id);
    }

    // Albums.
    let rows = src.rows(
        "albums",
        &format!(
            "SELECT aid, title, description, visibility, pos, category, thumb, keyword, \
             alb_password FROM {} ORDER BY aid",
            src.table("albums")
        ),
    )?;
    let user_ids: HashSet<i64> = rows
        .iter()
        .map(|r| int(r, 5))
        .filter(|c| *c >= FIRST_USER_CAT)
        .map(|c| c - FIRST_USER_CAT)
        .collect();
    let mut user_names: HashMap<i64, String> = HashMap::new();
    if !user_ids.is_empty() && !opts.skip_user_galleries && src.has_table("users")? {
        let ids: Vec<i64> = user_ids.iter().copied().collect();
        for chunk in ids.chunks(CHUNK) {
            for r in src.rows(
                "users",
                &format!(
                    "SELECT user_id, user_name FROM {} WHERE user_id IN ({})",
                    src.table("users"),
                    id_list(chunk)
                ),
            )? {
                user_names.insert(int(&r, 0), name_text(&text(&r, 1)));
            }
        }
    }
    let popts = pictures::Options {
        dry_run: opts.dry_run,
        settings: opts.settings.clone(),
        batch: opts.batch,
    };
    let mut user_categories: HashMap<i64, Option<i64>> = HashMap::new();
    let mut linked_keywords = 0u64;
    let mut orphans = 0u64;
    let mut album_specs: Vec<(i64, AlbumSpec)> = Vec::new();
    let mut skipped_albums: Vec<i64> = Vec::new();
    for r in &rows {
        let aid = int(r, 0);
        let category = int(r, 5);
        let in_category: Option<i64> = if category >= FIRST_USER_CAT {
            if opts.skip_user_galleries {
                skipped_albums.push(aid);
                continue;
            }
            let uid = category - FIRST_USER_CAT;
            if let Some(c) = user_categories.get(&uid) {
                *c
            } else {
                let parent = member_category(&mut report)?;
                let name = user_names
                    .get(&uid)
                    .filter(|n| !n.is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("Member {uid}"));
                let spec = CategorySpec {
                    key: format!("user:{uid}"),
                    parent,
                    name,
                    description: String::new(),
                    position: 0,
                    redirects: vec![format!("{base}/index.php?cat={category}")],
                };
                let id = pictures::category(db, &source, &spec, opts.dry_run, &mut report)?;
                user_categories.insert(uid, id);
                id
            }
        } else if category == USER_GAL_CAT {
            if opts.skip_user_galleries {
                skipped_albums.push(aid);
                continue;
            }
            member_category(&mut report)?
        } else if category == 0 {
            None
        } else {
            match categories.get(&category) {
                Some(c) => *c,
                None => {
                    orphans += 1;
                    None
                }
            }
        };
        let title = {
            let t = name_text(&text(r, 1));
            if t.is_empty() {
                format!("Album {aid}")
            } else {
                t
            }
        };
        if !text(r, 7).trim().is_empty() {
            linked_keywords += 1;
        }
        let thumb = int(r, 6);
        let fallback = Some(match in_category {
            Some(c) => Target::GalleryCategory(c),
            None => Target::Path("/gallery".into()),
        });
        album_specs.push((
            aid,
            AlbumSpec {
                key: aid.to_string(),
                hidden_title: format!("{title} (unapproved)"),
                title,
                description: name_text(&text(r, 2)),
                category: in_category,
                position: i32::try_from(int(r, 4)).unwrap_or(0),
                public: int(r, 3) == 0 && text(r, 8).trim().is_empty(),
                cover: (thumb > 0).then(|| thumb.to_string()),
                redirects: vec![format!("{base}/thumbnails.php?album={aid}")],
                pages: Vec::new(),
                fallback,
            },
        ));
    }
    if !skipped_albums.is_empty() {
        report
            .counts("albums")
            .skipped
            .insert("member gallery".into(), skipped_albums.len() as u64);
        let n = src.count(
            "pictures",
            &format!(
                "SELECT COUNT(*) FROM {} WHERE aid IN ({})",
                src.table("pictures"),
                id_list(&skipped_albums)
            ),
        )?;
        if n > 0 {
            report
                .counts(KINDS.report)
                .skipped
                .insert("member gallery".into(), n);
            progress.advance(n, MEMBER_GALLERIES);
        }
    }
    if orphans > 0 {
        report.notes.push(format!(
            "{} whose category no longer exists {} put at the top of the gallery",
            count(orphans, "album", "albums"),
            if orphans == 1 { "was" } else { "were" }
        ));
    }
    if linked_keywords > 0 {
        report.notes.push(format!(
            "{} also showed pictures of other albums by keyword; those pictures stay in their \
             own albums",
            count(linked_keywords, "album", "albums")
        ));
    }

    // The gallery's own lists: its latest uploads, its front page under a folder.
    if !opts.dry_run {
        let mut fixed: Vec<(String, Target)> = ["lastup", "lastalb"]
            .iter()
            .map(|meta| {
                (
                    format!("{base}/thumbnails.php?album={meta}"),
                    Target::Path("/gallery/latest".into()),
                )
            })
            .collect();
        if !base.is_empty() {
            fixed.push((format!("{base}/index.php"), Target::Path("/gallery".into())));
        }
        let source = source.as_str();
        db.write_blocking(|conn| crate::models::redirect::put_many(conn, &fixed, source))?;
    }

    // Pictures, album by album in the album's order.
    let mut pipe = Pipeline::new(db, media, &source, &popts, KINDS, progress, report);
    let albums_dir = &opts.albums;
    for (aid, mut spec) in album_specs {
        let order_rows = src.rows(
            "pictures",
            &format!(
                "SELECT pid, approved FROM {} WHERE aid = {aid} ORDER BY {order}",
                src.table("pictures")
            ),
        )?;
        let ordered: Vec<(i64, bool)> = order_rows
            .iter()
            .map(|r| (int(r, 0), text(r, 1) == "YES"))
            .collect();
        drop(order_rows);
        let shown = ordered.iter().filter(|(_, a)| *a).count() as u64;
        spec.pages = (2..=shown.div_ceil(per_page))
            .map(|k| {
                (
                    format!("{base}/thumbnails.php?album={aid}&page={k}"),
                    (k - 1) * per_page,
                )
            })
            .collect();
        let album_key = spec.key.clone();
        pipe.album(spec)?;
        let mut pos = 0u64;
        for chunk in ordered.chunks(CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|c| c.0).collect();
            let details = src.rows(
                "pictures",
                &format!(
                    "SELECT pid, filepath, filename, title, caption, keywords, hits, ctime, \
                     approved FROM {} WHERE pid IN ({})",
                    src.table("pictures"),
                    id_list(&ids)
                ),
            )?;
            let mut by_id: HashMap<i64, &mysql::Row> =
                details.iter().map(|r| (int(r, 0), r)).collect();
            for (pid, _) in chunk {
                let Some(r) = by_id.remove(pid) else { continue };
                let filepath = text(r, 1);
                let filename = text(r, 2);
                let rel = format!("{}/{filename}", filepath.trim_end_matches('/'));
                let rel = rel.trim_start_matches('/').to_string();
                let label = format!("picture {pid} ({rel})");
                let Some(path) = safe_join(albums_dir, &[&filepath, &filename]) else {
                    pipe.report
                        .failed(KINDS.report, label, "its path leaves the albums folder");
                    continue;
                };
                let approved = text(r, 8) == "YES";
                let mut old = Vec::new();
                if approved {
                    old.push(Old::Page(format!("{base}/displayimage.php?pid={pid}")));
                    old.push(Old::Page(format!(
                        "{base}/displayimage.php?album={aid}&pos={pos}"
                    )));
                    old.push(Old::File(format!("{base}/albums/{rel}")));
                    pos += 1;
                }
                let caption = name_text(&text(r, 4));
                let ctime = int(r, 7);
                pipe.add(Picture {
                    key: pid.to_string(),
                    album: album_key.clone(),
                    label,
                    path,
                    file_name: filename,
                    title: name_text(&text(r, 3)),
                    caption: caption_with_keywords(&caption, &keywords(&text(r, 5), &separator)),
                    credit: String::new(),
                    views: int(r, 6),
                    added: (ctime > 0)
                        .then(|| chrono::DateTime::from_timestamp(ctime, 0))
                        .flatten()
                        .map(|d| d.naive_utc()),
                    public: approved,
                    old,
                })?;
            }
        }
    }
    let in_no_album = src.count(
        "pictures",
        &format!(
            "SELECT COUNT(*) FROM {} p LEFT JOIN {} a ON a.aid = p.aid WHERE a.aid IS NULL",
            src.table("pictures"),
            src.table("albums")
        ),
    )?;
    progress.advance(in_no_album, "");
    pipe.end(
        &mut src,
        &pictures::Ending {
            in_no_album,
            waiting: [
                "unapproved picture is in a draft album \"… (unapproved)\": review it in the admin",
                "unapproved pictures are in draft albums \"… (unapproved)\": review them in the admin",
            ],
            base: &base,
            action: "import.coppermine",
        },
        actor,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths() {
        assert_eq!(
            base_path(None, Some("https://fan.example/gallery/")),
            "/gallery"
        );
        assert_eq!(base_path(None, Some("https://fan.example/")), "");
        assert_eq!(
            base_path(Some("gallery/old/"), Some("https://x/y/")),
            "/gallery/old"
        );
        assert_eq!(base_path(Some("/"), Some("https://x/y/")), "");
        assert_eq!(base_path(None, None), "");
    }

    #[test]
    fn keywords_and_captions() {
        assert_eq!(keywords("a b  c", ""), ["a", "b", "c"]);
        assert_eq!(
            keywords("red carpet; Joe &amp; Kit", ""),
            ["red carpet", "Joe & Kit"]
        );
        assert_eq!(keywords("x,y", ","), ["x", "y"]);
        assert_eq!(
            caption_with_keywords("At the premiere", &["joe".into(), "kit".into()]),
            "At the premiere — Keywords: joe, kit"
        );
        assert_eq!(caption_with_keywords("", &["joe".into()]), "Keywords: joe");
        assert_eq!(caption_with_keywords("x", &[]), "x");
    }

    #[test]
    fn paths_stay_inside() {
        let root = Path::new("/srv/albums");
        assert_eq!(
            safe_join(root, &["userpics/10001/", "a b.jpg"]),
            Some(PathBuf::from("/srv/albums/userpics/10001/a b.jpg"))
        );
        assert_eq!(safe_join(root, &["../etc/", "passwd"]), None);
        assert_eq!(safe_join(root, &["/etc/", "passwd"]), None);
        assert_eq!(picture_order("na"), "filename ASC, pid ASC");
        assert_eq!(picture_order("x; DROP"), "position ASC, pid ASC");
    }
}
