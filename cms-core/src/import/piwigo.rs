//! `cms import piwigo`: a Piwigo 2.x–16 gallery from its MySQL/MariaDB database and its folder
//! (`upload/` for photos added through the web, `galleries/` for synchronised folders).
//!
//! Piwigo has one kind of album, which may hold photos and sub-albums at once; Keepsake has
//! gallery categories (which hold categories and albums) and albums (which hold photos). So
//! an album with sub-albums becomes a gallery category; an album with photos and no sub-albums
//! becomes an album; an album with both becomes a gallery category holding, first, an album of
//! the same name with its own photos. An empty album with no sub-albums is left out and its
//! address sent to its parent.
//!
//! A photo linked to several albums (`image_category`) appears in each: one stored file, since
//! the media store is content-addressed, and one photo per album. Names, descriptions, authors
//! (as credit), hits (as views) and the date they were added come along, tags as keywords in
//! the caption; photos of a private or hidden album come in as a draft album, and photos with a
//! privacy level above "everybody" go to a draft album of their own, "Title (private)".
//!
//! Every old address redirects: `index.php?/category/N` (and its permalink, and its pages
//! `/start-N`), `picture.php?/ID/category/N` and `picture.php?/ID`, `action.php?id=ID`, the
//! files under `upload/` and `galleries/`, and their derivatives (`i.php?/…-me.jpg`,
//! `_data/i/…`) through the redirect lookup.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use super::common::plain;
use super::coppermine::{base_path, caption_with_keywords};
use super::mysql::{self, Source, id_list, int, opt_int, text};
use super::pictures::{self, AlbumSpec, CategorySpec, Kinds, Old, Picture, Pipeline};
use super::report::Report;
use crate::db::Db;
use crate::error::Result;
use crate::ingest::{self, Progress};
use crate::media::MediaStore;
use crate::models::audit::Actor;
use crate::models::redirect::{self, Target};

/// How an import runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `mysql://USER:PASS@HOST/DB` of the gallery's database.
    pub db_url: String,
    /// The tables' prefix (`piwigo_`).
    pub prefix: String,
    /// A copy of the gallery's folder, the one holding `upload/` and `galleries/`.
    pub root: PathBuf,
    /// The folder the gallery's addresses were under (`/photos`); `None` is the root.
    pub base_path: Option<String>,
    /// Only read and say what would be imported.
    pub dry_run: bool,
    /// Image limits and derivative widths (the site's settings).
    pub settings: ingest::Settings,
    /// Photos per transaction; 0 picks the default.
    pub batch: usize,
}

const KINDS: Kinds = Kinds {
    item: "image",
    report: "photos",
    hidden: "private photos",
};

/// Photos fetched per query.
const CHUNK: usize = 500;

/// Piwigo's own default order of photos in an album.
const DEFAULT_ORDER: &str = "date_available DESC, file ASC, id ASC";

/// The `ORDER BY` of an album's photos from Piwigo's setting (the album's `image_order` or
/// the gallery's `order_by`), checked against the columns Piwigo sorts by: nothing from the
/// database reaches the SQL unless it is one of them. `rank` is the album's manual order.
fn image_order(setting: &str) -> Option<String> {
    let s = setting.trim();
    let s = s
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("order by"))
        .map_or(s, |_| &s[8..]);
    let mut parts = Vec::new();
    for term in s.split(',') {
        let mut words = term.split_whitespace();
        let column = words.next()?.trim_matches('`').to_ascii_lowercase();
        let dir = match words.next().map(str::to_ascii_uppercase).as_deref() {
            None | Some("ASC") => "ASC",
            Some("DESC") => "DESC",
            Some(_) => return None,
        };
        if words.next().is_some() {
            return None;
        }
        let column = match column.as_str() {
            "rank" => "ic.`rank`".to_string(),
            "file" | "name" | "date_available" | "date_creation" | "hit" | "rating_score"
            | "id" | "filesize" | "width" | "height" => format!("i.{column}"),
            _ => return None,
        };
        parts.push(format!("{column} {dir}"));
    }
    if parts.is_empty() {
        return None;
    }
    // The same photos in the same order every time.
    parts.push("i.id ASC".into());
    Some(parts.join(", "))
}

/// `2024-01-02 10:11:12` as Piwigo writes dates; the zero date is `None`.
fn parse_date(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000") {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok()
}

/// `./upload/2024/01/02/x.jpg` → `upload/2024/01/02/x.jpg`, refused if it leaves the folder
/// (or is an address on another site).
fn relative_path(path: &str) -> Option<String> {
    let rel = path.trim().trim_start_matches("./");
    let ok = !rel.is_empty()
        && !rel.contains("://")
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    ok.then(|| rel.to_string())
}

/// One Piwigo album.
#[derive(Debug, Clone)]
struct Category {
    id: i64,
    name: String,
    comment: String,
    parent: i64,
    uppercats: Vec<i64>,
    rank: i64,
    global_rank: String,
    public: bool,
    cover: Option<i64>,
    image_order: String,
    permalink: String,
}

/// The import's key: the gallery's secret key, hashed (it stays the same when the database
/// moves), else the database and prefix.
fn source_key(secret: Option<&String>, src: &Source) -> String {
    match secret.filter(|s| !s.is_empty()) {
        Some(s) => format!(
            "piwigo:{}",
            &hex::encode(Sha256::digest(s.as_bytes()))[..16]
        ),
        None => format!("piwigo:{}/{}", src.database, src.prefix()),
    }
}

/// `1.10.2` as numbers, for sorting albums the way Piwigo shows them.
fn rank_key(global_rank: &str) -> Vec<i64> {
    global_rank
        .split('.')
        .map(|p| p.trim().parse().unwrap_or(0))
        .collect()
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
        ("--root", &opts.root),
        &opts.db_url,
        &opts.prefix,
        "Piwigo",
        &["images", "categories", "image_category", "config"],
    )?;
    let config = src.settings("config", "param", "value", &["secret_key", "order_by"])?;
    let base = base_path(opts.base_path.as_deref(), None);
    let source = source_key(config.get("secret_key"), &src);
    let default_order = config
        .get("order_by")
        .and_then(|o| image_order(o))
        .or_else(|| image_order(DEFAULT_ORDER))
        .unwrap_or_else(|| "i.id ASC".into());
    let per_page = if src.has_table("user_infos")? {
        src.count(
            "settings",
            &format!(
                "SELECT nb_image_page FROM {} WHERE status = 'guest' LIMIT 1",
                src.table("user_infos")
            ),
        )?
    } else {
        0
    };
    let per_page = if per_page == 0 { 15 } else { per_page };

    let mut report = Report {
        dry_run: opts.dry_run,
        ..Report::default()
    };
    let total = src.count(
        "photos",
        &format!("SELECT COUNT(*) FROM {}", src.table("image_category")),
    )?;
    progress.start(total);

    let rows = src.rows(
        "albums",
        &format!(
            "SELECT id, name, comment, id_uppercat, uppercats, `rank`, global_rank, status, \
             visible, representative_picture_id, image_order, permalink FROM {}",
            src.table("categories")
        ),
    )?;
    let mut cats: Vec<Category> = rows
        .iter()
        .map(|r| Category {
            id: int(r, 0),
            name: plain(&text(r, 1)),
            comment: plain(&pictures::strip_bbcode(&text(r, 2))),
            parent: opt_int(r, 3).unwrap_or(0),
            uppercats: text(r, 4)
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect(),
            rank: int(r, 5),
            global_rank: text(r, 6),
            public: text(r, 7) != "private" && text(r, 8) != "false",
            cover: opt_int(r, 9),
            image_order: text(r, 10),
            permalink: text(r, 11),
        })
        .collect();
    drop(rows);
    cats.sort_by(|a, b| {
        rank_key(&a.global_rank)
            .cmp(&rank_key(&b.global_rank))
            .then(a.id.cmp(&b.id))
    });
    let public_ids: HashSet<i64> = cats.iter().filter(|c| c.public).map(|c| c.id).collect();
    let with_children: HashSet<i64> = cats.iter().map(|c| c.parent).collect();
    let counts: HashMap<i64, i64> = src
        .rows(
            "albums",
            &format!(
                "SELECT category_id, COUNT(*) FROM {} GROUP BY category_id",
                src.table("image_category")
            ),
        )?
        .iter()
        .map(|r| (int(r, 0), int(r, 1)))
        .collect();
    let category_urls = |c: &Category| -> Vec<String> {
        let mut v = vec![format!("{base}/index.php?/category/{}", c.id)];
        if !c.permalink.trim().is_empty() {
            v.push(format!("{base}/index.php?/category/{}", c.permalink.trim()));
        }
        v
    };

    // The tree: albums with sub-albums become gallery categories, parents first.
    let mut containers: HashMap<i64, Option<i64>> = HashMap::new();
    let mut album_specs: Vec<(Category, AlbumSpec)> = Vec::new();
    let mut empty: Vec<(Category, Option<i64>)> = Vec::new();
    for c in pictures::parents_first(cats, |c| c.id, |c| c.parent) {
        let parent = containers.get(&c.parent).copied().flatten();
        let has_images = counts.get(&c.id).copied().unwrap_or(0) > 0;
        // Private or hidden anywhere up the tree is private.
        let public = c
            .uppercats
            .iter()
            .chain(std::iter::once(&c.id))
            .all(|id| public_ids.contains(id));
        let title = if c.name.is_empty() {
            format!("Album {}", c.id)
        } else {
            c.name.clone()
        };
        let mut in_category = parent;
        let mut redirects = category_urls(&c);
        if with_children.contains(&c.id) {
            let spec = CategorySpec {
                key: c.id.to_string(),
                parent,
                name: title.clone(),
                description: c.comment.clone(),
                position: i32::try_from(c.rank).unwrap_or(0),
                redirects: redirects.clone(),
            };
            let id = pictures::category(db, &source, &spec, opts.dry_run, &mut report)?;
            containers.insert(c.id, id);
            // Its own photos: an album inside it, under the same name.
            in_category = id;
            redirects.clear();
        }
        if !has_images {
            if !with_children.contains(&c.id) {
                empty.push((c, parent));
            }
            continue;
        }
        let fallback = Some(match in_category {
            Some(p) => Target::GalleryCategory(p),
            None => Target::Path("/gallery".into()),
        });
        let spec = AlbumSpec {
            key: c.id.to_string(),
            hidden_title: format!("{title} (private)"),
            title,
            description: c.comment.clone(),
            category: in_category,
            position: if with_children.contains(&c.id) {
                -1
            } else {
                i32::try_from(c.rank).unwrap_or(0)
            },
            public,
            cover: None,
            redirects,
            pages: Vec::new(),
            fallback,
        };
        album_specs.push((c, spec));
    }
    if !empty.is_empty() {
        report
            .counts("categories")
            .skipped
            .insert("empty".into(), empty.len() as u64);
    }
    if !opts.dry_run {
        let mut fixed: Vec<(String, Target)> = vec![
            (
                format!("{base}/index.php?/categories"),
                Target::Path("/gallery".into()),
            ),
            (
                format!("{base}/index.php?/recent_pics"),
                Target::Path("/gallery/latest".into()),
            ),
        ];
        for (c, parent) in &empty {
            let to = match parent {
                Some(p) => Target::GalleryCategory(*p),
                None => Target::Path("/gallery".into()),
            };
            fixed.extend(category_urls(c).into_iter().map(|u| (u, to.clone())));
        }
        let source = source.as_str();
        db.write_blocking(|conn| redirect::put_many(conn, &fixed, source))?;
    }

    // Photos, album by album in the album's order.
    let has_tags = src.has_table("image_tag")? && src.has_table("tags")?;
    let popts = pictures::Options {
        dry_run: opts.dry_run,
        settings: opts.settings.clone(),
        batch: opts.batch,
    };
    let mut pipe = Pipeline::new(db, media, &source, &popts, KINDS, progress, report);
    for (c, mut spec) in album_specs {
        let order = image_order(&c.image_order).unwrap_or_else(|| default_order.clone());
        let ids = src.ids(
            "photos",
            &format!(
                "SELECT i.id FROM {} i JOIN {} ic ON ic.image_id = i.id \
                 WHERE ic.category_id = {} ORDER BY {order}",
                src.table("images"),
                src.table("image_category"),
                c.id
            ),
        )?;
        spec.pages = (1..ids.len() as u64)
            .map(|i| i * per_page)
            .take_while(|first| *first < ids.len() as u64)
            .map(|first| {
                (
                    format!("{base}/index.php?/category/{}/start-{first}", c.id),
                    first,
                )
            })
            .collect();
        spec.cover = c.cover.map(|id| format!("{id}/{}", c.id));
        let album_key = spec.key.clone();
        pipe.album(spec)?;
        for chunk in ids.chunks(CHUNK) {
            let details = src.rows(
                "photos",
                &format!(
                    "SELECT id, file, name, comment, author, hit, date_available, path, \
                     storage_category_id, level FROM {} WHERE id IN ({})",
                    src.table("images"),
                    id_list(chunk)
                ),
            )?;
            // Each photo's albums: the one that answers its album-less addresses is where it
            // is stored, else the first.
            let mut linked: HashMap<i64, Vec<i64>> = HashMap::new();
            for r in src.rows(
                "photos",
                &format!(
                    "SELECT image_id, category_id FROM {} WHERE image_id IN ({}) \
                     ORDER BY category_id",
                    src.table("image_category"),
                    id_list(chunk)
                ),
            )? {
                linked.entry(int(&r, 0)).or_default().push(int(&r, 1));
            }
            let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
            if has_tags {
                for r in src.rows(
                    "tags",
                    &format!(
                        "SELECT it.image_id, t.name FROM {} it JOIN {} t ON t.id = it.tag_id \
                         WHERE it.image_id IN ({}) ORDER BY t.name",
                        src.table("image_tag"),
                        src.table("tags"),
                        id_list(chunk)
                    ),
                )? {
                    tags.entry(int(&r, 0))
                        .or_default()
                        .push(plain(&text(&r, 1)));
                }
            }
            let mut by_id: HashMap<i64, &mysql::Row> =
                details.iter().map(|r| (int(r, 0), r)).collect();
            for id in chunk {
                let Some(r) = by_id.remove(id) else { continue };
                let file = text(r, 1);
                let path = text(r, 7);
                let label = format!("photo {id} ({})", path.trim_start_matches("./"));
                let Some(rel) = relative_path(&path) else {
                    pipe.report.failed(
                        KINDS.report,
                        label,
                        "its path is not a file under the gallery folder",
                    );
                    continue;
                };
                let cats_of = linked.get(id).map(Vec::as_slice).unwrap_or(&[]);
                let primary = opt_int(r, 8)
                    .filter(|s| cats_of.contains(s))
                    .or_else(|| cats_of.first().copied())
                    == Some(c.id);
                // A privacy level above 0: only some members saw it.
                let public = int(r, 9) == 0;
                let mut old = Vec::new();
                if public {
                    old.push(Old::Page(format!(
                        "{base}/picture.php?/{id}/category/{}",
                        c.id
                    )));
                    if !c.permalink.trim().is_empty() {
                        old.push(Old::Page(format!(
                            "{base}/picture.php?/{id}/category/{}",
                            c.permalink.trim()
                        )));
                    }
                    if primary {
                        old.push(Old::Page(format!("{base}/picture.php?/{id}")));
                        old.push(Old::File(format!("{base}/{rel}")));
                        old.push(Old::File(format!("{base}/action.php?id={id}")));
                    }
                }
                let caption = plain(&pictures::strip_bbcode(&text(r, 3)));
                pipe.add(Picture {
                    key: format!("{id}/{}", c.id),
                    album: album_key.clone(),
                    label,
                    path: opts.root.join(&rel),
                    file_name: file,
                    title: plain(&text(r, 2)),
                    caption: caption_with_keywords(
                        &caption,
                        tags.get(id).map(Vec::as_slice).unwrap_or(&[]),
                    ),
                    credit: plain(&text(r, 4)),
                    views: int(r, 5),
                    added: parse_date(&text(r, 6)),
                    public,
                    old,
                })?;
            }
        }
    }
    let in_no_album = src.count(
        "photos",
        &format!(
            "SELECT COUNT(*) FROM {} i LEFT JOIN {} ic ON ic.image_id = i.id \
             WHERE ic.image_id IS NULL",
            src.table("images"),
            src.table("image_category")
        ),
    )?;
    pipe.end(
        &mut src,
        &pictures::Ending {
            in_no_album,
            waiting: [
                "photo only some members could see is in a draft album \"… (private)\": review it in the admin",
                "photos only some members could see are in draft albums \"… (private)\": review them in the admin",
            ],
            base: &base,
            action: "import.piwigo",
        },
        actor,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_checked() {
        assert_eq!(
            image_order(" ORDER BY date_available DESC, file ASC, id ASC").as_deref(),
            Some("i.date_available DESC, i.file ASC, i.id ASC, i.id ASC")
        );
        assert_eq!(
            image_order("rank ASC").as_deref(),
            Some("ic.`rank` ASC, i.id ASC")
        );
        assert_eq!(image_order("name"), Some("i.name ASC, i.id ASC".into()));
        assert_eq!(image_order("id; DROP TABLE x"), None);
        assert_eq!(image_order("file DESC, (SELECT 1)"), None);
        assert_eq!(image_order(""), None);
    }

    #[test]
    fn paths_and_dates() {
        assert_eq!(
            relative_path("./upload/2024/01/02/x.jpg").as_deref(),
            Some("upload/2024/01/02/x.jpg")
        );
        assert_eq!(relative_path("./galleries/../../etc/passwd"), None);
        assert_eq!(relative_path("http://other.example/x.jpg"), None);
        assert_eq!(relative_path("/etc/passwd"), None);
        assert_eq!(
            parse_date("2024-01-02 10:11:12").map(|d| d.to_string()),
            Some("2024-01-02 10:11:12".into())
        );
        assert_eq!(parse_date("0000-00-00 00:00:00"), None);
        assert_eq!(rank_key("1.10.2"), [1, 10, 2]);
    }
}
