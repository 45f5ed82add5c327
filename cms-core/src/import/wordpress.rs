//! `cms import wordpress FILE.xml`: a WordPress export (WXR) into Keepsake.
//!
//! Two streaming passes over the file. The first collects what later items refer to and is
//! small whatever the file's size (authors, categories, tags, attachments' metadata); the
//! second imports posts and pages in batches. In between, authors become users, the category
//! tree and tags are made, and attachments become photos in albums `WordPress uploads › YYYY ›
//! MM` through the same image pipeline as every upload.
//!
//! Every item is keyed by its WordPress id in `import_items` and written in the same
//! transaction as its redirects (its permalink, `?p=ID`, …) and that key, so a run killed at any
//! moment and started again adds exactly what is missing, and nothing it made is left hidden.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use rayon::prelude::*;

use super::common::{is_image_name, new_album, photo_ids_by_hash, plain, put_redirect, text_of};
use super::fetch::Fetcher;
use super::report::{Report, count};
use super::wp_content::{self, Hooks};
use super::wxr::{self, Item, Record, WxrReader};
use crate::db::{Db, DbConn};
use crate::embed::Embed;
use crate::error::{Error, Result};
use crate::ingest::{self, Progress, stop_if_asked};
use crate::markdown::decode_entities;
use crate::media::{MediaStore, photo_original_key, photo_variant_key};
use crate::models::album::{self, AlbumStatus};
use crate::models::audit::{self, Actor};
use crate::models::photo::{self, NewPhoto};
use crate::models::post::{self, PostInput, PostKind, PostStatus};
use crate::models::redirect::{self, Target};
use crate::models::user::{self, NewUser, Role};
use crate::models::video::{self, VideoInput};
use crate::models::{category, import_item, tag};
use crate::service::gallery;
use crate::{notify, slug};

/// How an import runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A copy of `wp-content/uploads`.
    pub media_from: Option<PathBuf>,
    /// Fetch attachments from their addresses in the export instead (`--fetch-media`).
    pub fetch_media: bool,
    /// With `fetch_media`: allow loopback and private addresses (an old site on the same
    /// network). Off by default: an export names any address it likes.
    pub allow_private_addresses: bool,
    /// Only read the file and say what would be imported.
    pub dry_run: bool,
    /// Image limits and derivative widths (the site's settings).
    pub settings: ingest::Settings,
    /// Posts written per transaction.
    pub batch: usize,
}

/// The gallery category that holds imported uploads.
pub const UPLOADS_CATEGORY: &str = "WordPress uploads";

/// An attachment's metadata from the first pass.
#[derive(Debug, Clone, Default)]
struct Attachment {
    id: i64,
    url: String,
    /// Path under `wp-content/uploads`, e.g. `2023/08/premiere.jpg`.
    rel: String,
    title: String,
    caption: String,
    alt: String,
    link: String,
    date: Option<NaiveDateTime>,
}

/// What the first pass learns.
#[derive(Debug, Default)]
struct Scan {
    channel: wxr::Channel,
    authors: Vec<wxr::Author>,
    categories: Vec<wxr::Term>,
    tags: Vec<wxr::Term>,
    attachments: BTreeMap<i64, Attachment>,
    items: u64,
}

fn open(path: &Path) -> Result<WxrReader<BufReader<File>>> {
    let f =
        File::open(path).map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    Ok(WxrReader::new(BufReader::with_capacity(256 << 10, f)))
}

/// `2023-08-03 19:00:00` as WordPress writes dates; the zero date is `None`.
fn parse_date(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000") {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok()
}

fn item_date(item: &Item) -> Option<NaiveDateTime> {
    parse_date(&item.date_gmt).or_else(|| parse_date(&item.date))
}

/// The path under `wp-content/uploads/` of an uploads URL, if it is one.
fn uploads_rel(url: &str) -> Option<String> {
    let i = url.find("/wp-content/uploads/")?;
    let rel = &url[i + "/wp-content/uploads/".len()..];
    let rel = rel.split(['?', '#']).next().unwrap_or(rel);
    let rel = redirect::percent_decode(rel);
    (!rel.is_empty() && !rel.split('/').any(|p| p == ".." || p.is_empty())).then_some(rel)
}

/// First pass: everything later items refer to.
fn scan(path: &Path) -> Result<Scan> {
    let mut r = open(path)?;
    let mut s = Scan::default();
    while let Some(rec) = r.next_record()? {
        match rec {
            Record::Channel(c) => s.channel = c,
            Record::Author(a) => s.authors.push(a),
            Record::Category(t) => s.categories.push(t),
            Record::Tag(t) => s.tags.push(t),
            Record::Term(_) => {}
            Record::Item(item) => {
                s.items += 1;
                if item.post_type == "attachment" {
                    let url = item.attachment_url.clone();
                    let rel = item
                        .meta("_wp_attached_file")
                        .map(str::to_string)
                        .filter(|f| !f.is_empty() && !f.contains(".."))
                        .or_else(|| uploads_rel(&url))
                        .unwrap_or_default();
                    s.attachments.insert(
                        item.id,
                        Attachment {
                            id: item.id,
                            rel,
                            title: decode_entities(&item.title),
                            caption: plain(&item.excerpt),
                            alt: item
                                .meta("_wp_attachment_image_alt")
                                .unwrap_or("")
                                .trim()
                                .into(),
                            link: item.link.clone(),
                            date: item_date(&item),
                            url,
                        },
                    );
                }
            }
        }
    }
    if s.channel.wxr_version.is_empty() && s.items == 0 && s.authors.is_empty() {
        return Err(Error::invalid(
            "file",
            "not a WordPress export: no wp:wxr_version, items or authors",
        ));
    }
    Ok(s)
}

/// The key of a source site in `import_items`: `wordpress:` and its host.
fn source_key(c: &wxr::Channel) -> String {
    let base = [&c.base_site_url, &c.base_blog_url, &c.link]
        .into_iter()
        .find(|u| !u.is_empty())
        .cloned()
        .unwrap_or_default();
    let host = url::Url::parse(&base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    format!("wordpress:{host}")
}

/// What a post becomes, by WordPress status.
enum Fate {
    Import(PostStatus, Option<NaiveDateTime>),
    Skip(&'static str),
}

fn fate(item: &Item, now: NaiveDateTime) -> Fate {
    let date = item_date(item);
    match item.status.as_str() {
        "publish" if !item.password.is_empty() => Fate::Import(PostStatus::Draft, date),
        "publish" => Fate::Import(PostStatus::Published, date),
        "future" => match date {
            Some(d) if d > now => Fate::Import(PostStatus::Scheduled, Some(d)),
            // A schedule that has passed: WordPress would have published it.
            _ => Fate::Import(PostStatus::Published, date),
        },
        "draft" | "pending" | "private" => Fate::Import(PostStatus::Draft, date),
        "trash" => Fate::Skip("trash"),
        "auto-draft" => Fate::Skip("auto-draft"),
        _ => Fate::Skip("other status"),
    }
}

/// The kind of an item in the report, and whether it is imported as a post at all.
fn kind_of(item: &Item) -> std::result::Result<&'static str, &'static str> {
    match item.post_type.as_str() {
        "post" => Ok("posts"),
        "page" => Ok("pages"),
        "attachment" => Err("attachment"),
        _ => Err("other type"),
    }
}

/// Runs the import of `path`.
pub fn run(
    db: &Db,
    media: &dyn MediaStore,
    path: &Path,
    opts: &Options,
    progress: &dyn Progress,
    actor: &Actor,
) -> Result<Report> {
    let scan = scan(path)?;
    let source = source_key(&scan.channel);
    let mut report = Report {
        dry_run: opts.dry_run,
        ..Report::default()
    };
    progress.start(scan.items + scan.authors.len() as u64);
    let users = import_authors(db, &scan, &source, opts, &mut report, actor)?;
    progress.advance(scan.authors.len() as u64, "authors");
    let categories = import_categories(db, &scan, &source, opts, &mut report)?;
    let tags = import_tags(db, &scan, &source, opts, &mut report)?;
    let photos = import_media(db, media, &scan, &source, opts, &mut report, progress)?;
    import_posts(
        db,
        path,
        &scan,
        &Context {
            source: &source,
            users: &users,
            categories: &categories,
            tags: &tags,
            photos: &photos,
            media_given: opts.media_from.is_some() || opts.fetch_media,
            actor,
        },
        opts,
        &mut report,
        progress,
    )?;
    if !opts.dry_run {
        let n = relink(db, &scan.channel, &source, &actor.importing())?;
        if n > 0 {
            report.notes.push(format!(
                "links to the old site pointed at their new addresses in {}",
                count(n as u64, "post", "posts")
            ));
        }
    }
    progress.finish();
    if !opts.dry_run {
        db.write_blocking(|conn| -> Result<()> {
            audit::record(
                conn,
                actor,
                "import.wordpress",
                None,
                &format!("{} ({})", path.display(), source),
            )?;
            Ok(())
        })?;
    }
    Ok(report)
}

/// Authors → users: matched by email, or created disabled with no password.
fn import_authors(
    db: &Db,
    scan: &Scan,
    source: &str,
    opts: &Options,
    report: &mut Report,
    actor: &Actor,
) -> Result<HashMap<String, i64>> {
    let mut map = HashMap::new();
    for a in &scan.authors {
        if a.login.is_empty() {
            report.skipped("authors", "no login");
            continue;
        }
        if opts.dry_run {
            let known = {
                let mut conn = db.conn()?;
                import_item::find(&mut conn, source, "author", &a.login)?.is_some()
            };
            if known {
                report.already("authors")
            } else {
                report.imported("authors")
            }
            continue;
        }
        let (id, created) = db.write_blocking(|conn| -> Result<(i64, bool)> {
            if let Some(id) = import_item::find(conn, source, "author", &a.login)? {
                return Ok((id, false));
            }
            let email = if user::validate_email(&a.email).is_ok() {
                user::normalize_email(&a.email)
            } else {
                format!("{}@wordpress-import.invalid", slug::slugify(&a.login))
            };
            let (id, created) = match user::find_by_email(conn, &email)? {
                Some(u) => (u.id, false),
                None => {
                    let name = [&a.display_name, &a.login]
                        .into_iter()
                        .map(|n| decode_entities(n).trim().to_string())
                        .find(|n| !n.is_empty())
                        .unwrap_or_else(|| a.login.clone());
                    let u = user::create(
                        conn,
                        &NewUser {
                            email: &email,
                            name: &name,
                            role: Role::Editor,
                            // Not a hash: no password opens this account until an admin sets one.
                            password_hash: "!imported",
                            must_change_password: true,
                        },
                    )?;
                    user::set_role_and_disabled(conn, u.id, Role::Editor, true)?;
                    audit::record(conn, actor, "user.import", Some(("user", u.id)), &u.email)?;
                    (u.id, true)
                }
            };
            import_item::record(conn, source, "author", &a.login, id)?;
            put_redirect(
                conn,
                &format!("/author/{}/", a.login),
                &Target::Path("/posts".into()),
                source,
            )?;
            Ok((id, created))
        })?;
        if created {
            report.imported("authors");
        } else {
            report.counts("authors").already += 1;
        }
        map.insert(a.login.clone(), id);
    }
    if opts.dry_run {
        return Ok(map);
    }
    // Authors matched or made by an earlier run (resumed imports).
    let mut conn = db.conn()?;
    for (login, id) in import_item::all_of(&mut conn, source, "author")? {
        map.entry(login).or_insert(id);
    }
    Ok(map)
}

/// A slug from WordPress (percent-encoded when not ASCII) that our rules accept, if any.
fn keep_slug(raw: &str) -> Option<String> {
    let s = redirect::percent_decode(raw.trim());
    if slug::validate(&s).is_ok() {
        return Some(s);
    }
    let made = slug::slugify(&s);
    (!s.is_empty() && made != "untitled").then_some(made)
}

/// The category tree, parents first whatever the file's order.
fn import_categories(
    db: &Db,
    scan: &Scan,
    source: &str,
    opts: &Options,
    report: &mut Report,
) -> Result<HashMap<String, i64>> {
    let mut map: HashMap<String, i64> = HashMap::new();
    let mut done_paths: HashMap<String, String> = HashMap::new();
    let known: HashMap<&str, &wxr::Term> = scan
        .categories
        .iter()
        .map(|t| (t.slug.as_str(), t))
        .collect();
    let mut pending: Vec<&wxr::Term> = scan
        .categories
        .iter()
        .filter(|t| !t.slug.is_empty())
        .collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut next = Vec::new();
        for t in pending {
            let parent_ready = t.parent.is_empty()
                || !known.contains_key(t.parent.as_str())
                || done_paths.contains_key(&t.parent);
            if !parent_ready {
                next.push(t);
                continue;
            }
            let path = match done_paths.get(&t.parent) {
                Some(p) if !t.parent.is_empty() => format!("{p}/{}", t.slug),
                _ => t.slug.clone(),
            };
            done_paths.insert(t.slug.clone(), path.clone());
            if opts.dry_run {
                let mut conn = db.conn()?;
                let known = import_item::find(&mut conn, source, "category", &t.slug)?.is_some()
                    || match keep_slug(&t.slug) {
                        Some(s) => category::find_by_slug(&mut conn, &s)?.is_some(),
                        None => false,
                    };
                if known {
                    report.already("categories")
                } else {
                    report.imported("categories")
                }
                continue;
            }
            let parent_id = map.get(&t.parent).copied();
            let (id, created) = db.write_blocking(|conn| -> Result<(i64, bool)> {
                if let Some(id) = import_item::find(conn, source, "category", &t.slug)? {
                    return Ok((id, false));
                }
                let name = decode_entities(&t.name);
                let name = if name.trim().is_empty() {
                    t.slug.clone()
                } else {
                    name
                };
                let slug = keep_slug(&t.slug);
                let existing = match &slug {
                    Some(s) => category::find_by_slug(conn, s)?,
                    None => None,
                };
                let (id, created) = match existing {
                    // A category of the same slug is the same category (e.g. "news").
                    Some(c) => (c.id, false),
                    None => (
                        crate::service::taxonomy::create_category(
                            conn,
                            &Actor::import(source),
                            parent_id,
                            &name,
                            slug.as_deref(),
                            &plain(&t.description),
                        )?
                        .id,
                        true,
                    ),
                };
                import_item::record(conn, source, "category", &t.slug, id)?;
                let target = Target::Category(id);
                put_redirect(conn, &format!("/category/{path}/"), &target, source)?;
                if !t.id.is_empty() {
                    put_redirect(conn, &format!("/?cat={}", t.id), &target, source)?;
                }
                Ok((id, created))
            })?;
            if created {
                report.imported("categories")
            } else {
                report.already("categories")
            }
            map.insert(t.slug.clone(), id);
        }
        if next.len() == before {
            // A parent that never comes (a cycle): the rest go to the top.
            for t in &next {
                done_paths.insert(t.parent.clone(), String::new());
            }
        }
        pending = next;
    }
    Ok(map)
}

/// Tags; the map is WordPress slug → tag name (posts set tags by name).
fn import_tags(
    db: &Db,
    scan: &Scan,
    source: &str,
    opts: &Options,
    report: &mut Report,
) -> Result<HashMap<String, String>> {
    let mut map = HashMap::new();
    let mut dry_tags = std::collections::HashSet::new();
    for t in &scan.tags {
        let name = decode_entities(&t.name)
            .trim()
            .chars()
            .take(100)
            .collect::<String>();
        if name.is_empty() || t.slug.is_empty() {
            report.skipped("tags", "no name");
            continue;
        }
        map.insert(t.slug.clone(), name.clone());
        if opts.dry_run {
            let known = import_item::find(&mut *db.conn()?, source, "tag", &t.slug)?.is_some()
                || tag::find_by_slug(&mut *db.conn()?, &slug::slugify(&name))?.is_some()
                || !dry_tags.insert(slug::slugify(&name));
            if known {
                report.already("tags")
            } else {
                report.imported("tags")
            }
            continue;
        }
        let created = db.write_blocking(|conn| -> Result<bool> {
            if import_item::find(conn, source, "tag", &t.slug)?.is_some() {
                return Ok(false);
            }
            // Tags are one by slug: "Première" joins an existing "premiere".
            let existed = tag::find_by_slug(conn, &slug::slugify(&name))?.is_some();
            let tag = tag::find_or_create(conn, &name)?;
            import_item::record(conn, source, "tag", &t.slug, tag.id)?;
            put_redirect(
                conn,
                &format!("/tag/{}/", t.slug),
                &Target::Tag(tag.id),
                source,
            )?;
            put_redirect(
                conn,
                &format!("/?tag={}", t.slug),
                &Target::Tag(tag.id),
                source,
            )?;
            Ok(!existed)
        })?;
        if created {
            report.imported("tags")
        } else {
            report.already("tags")
        }
    }
    Ok(map)
}

/// A photo an attachment became.
#[derive(Debug, Clone)]
struct PhotoRef {
    id: i64,
    hash: String,
    mime: String,
    widths: Vec<u32>,
    width: i32,
    height: i32,
}

/// `2024/02/name-scaled.jpg` → `2024/02/name.jpg`.
fn unscaled(rel: &str) -> Option<String> {
    let (stem, ext) = rel.rsplit_once('.')?;
    stem.strip_suffix("-scaled").map(|s| format!("{s}.{ext}"))
}

/// Album of an upload: `WordPress uploads › YYYY › MM`, from its folder or its date.
fn album_of(a: &Attachment) -> (String, String) {
    let parts: Vec<&str> = a.rel.split('/').collect();
    if let [y, m, _] = parts.as_slice()
        && y.len() == 4
        && m.len() == 2
        && y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
    {
        return ((*y).to_string(), (*m).to_string());
    }
    match a.date {
        Some(d) => (d.format("%Y").to_string(), d.format("%m").to_string()),
        None => ("Undated".into(), "Uploads".into()),
    }
}

/// Attachments → photos, a batch decoded at a time on every core.
fn import_media(
    db: &Db,
    media: &dyn MediaStore,
    scan: &Scan,
    source: &str,
    opts: &Options,
    report: &mut Report,
    progress: &dyn Progress,
) -> Result<HashMap<i64, PhotoRef>> {
    let done: HashMap<String, i64> = {
        let mut conn = db.conn()?;
        import_item::all_of(&mut conn, source, "attachment")?
    };
    let mut todo: Vec<&Attachment> = Vec::new();
    let mut skipped_no_source = 0u64;
    for a in scan.attachments.values() {
        if done.contains_key(&a.id.to_string()) {
            report.already("attachments");
            continue;
        }
        if a.rel.is_empty() {
            report.failed(
                "attachments",
                format!("attachment {}", a.id),
                "no file named in the export",
            );
            continue;
        }
        if !is_image_name(&a.rel) {
            report.failed(
                "attachments",
                format!("attachment {} ({})", a.id, a.rel),
                "not an image (Keepsake keeps photos; links to it still point at the old site)",
            );
            continue;
        }
        match &opts.media_from {
            None if opts.fetch_media => {
                if a.url.is_empty() {
                    report.failed(
                        "attachments",
                        format!("attachment {} ({})", a.id, a.rel),
                        "no address to fetch it from in the export",
                    );
                } else if opts.dry_run {
                    report.imported("attachments");
                } else {
                    todo.push(a);
                }
            }
            None => skipped_no_source += 1,
            Some(dir) => {
                let file = dir.join(&a.rel);
                if !file.is_file() {
                    report.failed(
                        "attachments",
                        format!("attachment {} ({})", a.id, a.rel),
                        format!("missing file {}", file.display()),
                    );
                } else if opts.dry_run {
                    report.imported("attachments");
                } else {
                    todo.push(a);
                }
            }
        }
    }
    if skipped_no_source > 0 {
        report
            .counts("attachments")
            .skipped
            .insert("no uploads folder given".into(), skipped_no_source);
        report.notes.push(format!(
            "{} not imported: give a copy of wp-content/uploads (--media-from, or the uploads \
             folder in the admin) or fetch them from the old site (--fetch-media)",
            count(skipped_no_source, "attachment", "attachments")
        ));
    }
    progress.advance((scan.attachments.len() - todo.len()) as u64, "attachments");
    let batch = rayon::current_num_threads().max(1) * 4;
    let fetcher = (opts.fetch_media && opts.media_from.is_none())
        .then(|| Fetcher::new(opts.allow_private_addresses, opts.settings.max_bytes));
    for chunk in todo.chunks(batch) {
        let dir = opts.media_from.as_deref().unwrap_or(Path::new("."));
        let results: Vec<(&Attachment, std::result::Result<NewPhoto, String>)> = chunk
            .par_iter()
            .map(|a| {
                let read = match &fetcher {
                    Some(f) => f.get(&a.url).map_err(|e| format!("{}: {e}", a.url)),
                    None => std::fs::read(dir.join(&a.rel)).map_err(|e| e.to_string()),
                };
                let r = read.and_then(|bytes| {
                    let name = a.rel.rsplit('/').next().unwrap_or(&a.rel);
                    ingest::process::process(&bytes, name, &opts.settings, media)
                        .map_err(|s| s.to_string())
                });
                (*a, r)
            })
            .collect();
        let mut by_album: BTreeMap<(String, String), Vec<(&Attachment, NewPhoto)>> =
            BTreeMap::new();
        for (a, r) in results {
            match r {
                Ok(mut p) => {
                    p.caption = a.caption.chars().take(2000).collect();
                    by_album.entry(album_of(a)).or_default().push((a, p));
                }
                Err(why) => report.failed(
                    "attachments",
                    format!("attachment {} ({})", a.id, a.rel),
                    why,
                ),
            }
        }
        let n = db.write_blocking(|conn| -> Result<usize> {
            let mut n = 0;
            for ((year, month), items) in &by_album {
                let importer = Actor::import(source);
                let cat = gallery::ensure_path(conn, &importer, &[UPLOADS_CATEGORY, year])?;
                let album = match album::find_in_category_by_title(conn, cat, month)? {
                    Some(a) => a,
                    None => new_album(conn, &importer, cat, month, "Imported from WordPress.")?,
                };
                let rows: Vec<NewPhoto> = items
                    .iter()
                    .map(|(a, p)| NewPhoto {
                        title: text_of(&a.title, 300),
                        alt_text: text_of(&a.alt, 1000),
                        ..p.clone()
                    })
                    .collect();
                gallery::add_photos(conn, &importer, album.id, &rows)?;
                let hashes: Vec<&str> = rows.iter().map(|p| p.content_hash.as_str()).collect();
                let ids = photo_ids_by_hash(conn, album.id, &hashes)?;
                for (a, p) in items {
                    let Some(&id) = ids.get(&p.content_hash) else {
                        continue;
                    };
                    import_item::record(conn, source, "attachment", &a.id.to_string(), id)?;
                    put_redirect(
                        conn,
                        &format!("/wp-content/uploads/{}", a.rel),
                        &Target::PhotoFile(id),
                        source,
                    )?;
                    // WordPress keeps a large original as `name-scaled.jpg`; `name.jpg` and its
                    // sizes (`name-300x200.jpg`) are how pages link to it.
                    if let Some(unscaled) = unscaled(&a.rel) {
                        put_redirect(
                            conn,
                            &format!("/wp-content/uploads/{unscaled}"),
                            &Target::PhotoFile(id),
                            source,
                        )?;
                    }
                    if !a.url.is_empty() {
                        put_redirect(conn, &a.url, &Target::PhotoFile(id), source)?;
                    }
                    put_redirect(conn, &a.link, &Target::Photo(id), source)?;
                    put_redirect(
                        conn,
                        &format!("/?attachment_id={}", a.id),
                        &Target::Photo(id),
                        source,
                    )?;
                    n += 1;
                }
                if album.status != AlbumStatus::Published {
                    gallery::publish_albums(conn, &importer, &[album.id])?;
                }
            }
            Ok(n)
        })?;
        report.counts("attachments").imported += n as u64;
        progress.advance(chunk.len() as u64, "attachments");
        stop_if_asked(progress)?;
    }
    load_photo_refs(db, source)
}

/// Every photo this source's attachments became (this run's and earlier runs').
fn load_photo_refs(db: &Db, source: &str) -> Result<HashMap<i64, PhotoRef>> {
    use crate::schema::photos;
    use diesel::prelude::*;
    let mut conn = db.conn()?;
    let map = import_item::all_of(&mut conn, source, "attachment")?;
    let ids: Vec<i64> = map.values().copied().collect();
    let mut rows: HashMap<i64, PhotoRef> = HashMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<(i64, String, String, String, i32, i32)> = photos::table
            .filter(photos::id.eq_any(chunk))
            .select((
                photos::id,
                photos::content_hash,
                photos::mime,
                photos::variants,
                photos::width,
                photos::height,
            ))
            .load(&mut *conn)?;
        for (id, hash, mime, variants, width, height) in found {
            let mut widths: Vec<u32> = serde_json::from_str(&variants).unwrap_or_default();
            widths.sort_unstable();
            rows.insert(
                id,
                PhotoRef {
                    id,
                    hash,
                    mime,
                    widths,
                    width,
                    height,
                },
            );
        }
    }
    Ok(map
        .into_iter()
        .filter_map(|(wp, id)| Some((wp.parse::<i64>().ok()?, rows.get(&id)?.clone())))
        .collect())
}

/// What posts need from the earlier phases.
struct Context<'a> {
    source: &'a str,
    users: &'a HashMap<String, i64>,
    categories: &'a HashMap<String, i64>,
    tags: &'a HashMap<String, String>,
    photos: &'a HashMap<i64, PhotoRef>,
    /// Attachments were imported (`--media-from`): an upload without a photo is missing.
    media_given: bool,
    actor: &'a Actor,
}

/// Second pass: posts and pages, a batch per transaction.
fn import_posts(
    db: &Db,
    path: &Path,
    scan: &Scan,
    cx: &Context<'_>,
    opts: &Options,
    report: &mut Report,
    progress: &dyn Progress,
) -> Result<()> {
    let done: HashMap<String, i64> = {
        let mut conn = db.conn()?;
        import_item::all_of(&mut conn, cx.source, "post")?
    };
    let mut by_uploads: HashMap<String, i64> = scan
        .attachments
        .values()
        .map(|a| (a.rel.clone(), a.id))
        .collect();
    for a in scan.attachments.values() {
        if let Some(u) = unscaled(&a.rel) {
            by_uploads.entry(u).or_insert(a.id);
        }
    }
    let now = crate::models::now();
    let batch_size = if opts.batch == 0 { 200 } else { opts.batch };
    let mut r = open(path)?;
    let mut batch: Vec<(Box<Item>, PostStatus, Option<NaiveDateTime>)> = Vec::new();
    let mut comments = 0u64;
    let mut sticky = 0u64;
    let mut protected = 0u64;
    let mut private = 0u64;
    let flush = |batch: &mut Vec<(Box<Item>, PostStatus, Option<NaiveDateTime>)>,
                 report: &mut Report|
     -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(batch);
        let n = items.len() as u64;
        let outcome = db.write_blocking(|conn| -> Result<Vec<(&'static str, Vec<String>)>> {
            let mut out = Vec::new();
            for (item, status, date) in &items {
                let notes = write_post(conn, item, *status, *date, cx, &by_uploads)?;
                out.push((kind_of(item).unwrap_or("posts"), notes));
            }
            Ok(out)
        });
        match outcome {
            Ok(out) => {
                for (kind, notes) in out {
                    report.imported(kind);
                    report.notes.extend(notes);
                }
            }
            // One bad item must not cost the batch: write them one at a time to find it.
            Err(_) if items.len() > 1 => {
                for one in items {
                    let id = one.0.id;
                    let title = one.0.title.clone();
                    let kind = kind_of(&one.0).unwrap_or("posts");
                    match db.write_blocking(|conn| {
                        write_post(conn, &one.0, one.1, one.2, cx, &by_uploads)
                    }) {
                        Ok(notes) => {
                            report.imported(kind);
                            report.notes.extend(notes);
                        }
                        Err(e) => report.failed(
                            kind,
                            format!("{} {id} ({title})", &kind[..kind.len() - 1]),
                            e.to_string(),
                        ),
                    }
                }
            }
            Err(e) => {
                if let Some((item, _, _)) = items.first() {
                    let kind = kind_of(item).unwrap_or("posts");
                    report.failed(
                        kind,
                        format!("{} {} ({})", &kind[..kind.len() - 1], item.id, item.title),
                        e.to_string(),
                    );
                }
            }
        }
        progress.advance(n, "posts");
        stop_if_asked(progress)
    };
    while let Some(rec) = r.next_record()? {
        let Record::Item(item) = rec else { continue };
        comments += item.comments;
        let kind = match kind_of(&item) {
            Ok(k) => k,
            Err("attachment") => continue,
            Err(_) => {
                let why = if item.post_type.is_empty() {
                    "no type"
                } else {
                    item.post_type.as_str()
                };
                report.skipped("other items", why);
                progress.advance(1, "posts");
                continue;
            }
        };
        match fate(&item, now) {
            Fate::Skip(why) => {
                report.skipped(kind, why);
                progress.advance(1, "posts");
            }
            Fate::Import(status, date) => {
                if done.contains_key(&item.id.to_string()) {
                    report.already(kind);
                    progress.advance(1, "posts");
                    continue;
                }
                if item.sticky {
                    sticky += 1;
                }
                if !item.password.is_empty() {
                    protected += 1;
                }
                if item.status == "private" {
                    private += 1;
                }
                if opts.dry_run {
                    report.imported(kind);
                    continue;
                }
                batch.push((item, status, date));
                if batch.len() >= batch_size {
                    flush(&mut batch, report)?;
                }
            }
        }
    }
    flush(&mut batch, report)?;
    if comments > 0 {
        report.notes.push(format!(
            "{} seen and not imported (Keepsake has no comments)",
            count(comments, "comment", "comments")
        ));
    }
    if sticky > 0 {
        report.notes.push(format!(
            "{} imported as ordinary posts (Keepsake does not pin posts)",
            count(sticky, "sticky post", "sticky posts")
        ));
    }
    if private > 0 {
        report.notes.push(format!(
            "{} imported as drafts (only editors see them)",
            count(private, "private post", "private posts")
        ));
    }
    if protected > 0 {
        report.notes.push(format!(
            "{} imported as drafts (Keepsake has no post passwords)",
            count(
                protected,
                "password-protected post",
                "password-protected posts"
            )
        ));
    }
    Ok(())
}

/// The hooks of one post's conversion: galleries become albums, videos vault entries.
struct PostHooks<'a, 'c> {
    conn: &'a mut DbConn,
    cx: &'a Context<'c>,
    post_id: i64,
    title: String,
    published: bool,
    date: Option<NaiveDateTime>,
    galleries: usize,
    notes: Vec<String>,
    error: Option<Error>,
}

impl PostHooks<'_, '_> {
    fn gallery_album(&mut self, ids: &[i64]) -> Result<Option<String>> {
        use crate::schema::albums;
        use diesel::prelude::*;
        self.galleries += 1;
        let key = format!("{}:{}", self.post_id, self.galleries);
        if let Some(id) = import_item::find(self.conn, self.cx.source, "gallery", &key)? {
            return Ok(albums::table
                .find(id)
                .select(albums::slug)
                .first::<String>(self.conn)
                .optional()?
                .map(|s| format!("[[album:{s}]]")));
        }
        let photo_ids: Vec<i64> = ids
            .iter()
            .filter_map(|i| self.cx.photos.get(i))
            .map(|p| p.id)
            .collect();
        if photo_ids.is_empty() {
            if !self.cx.media_given {
                return Ok(None);
            }
            self.notes.push(format!(
                "post {} ({}): a gallery none of whose images were imported was left out",
                self.post_id, self.title
            ));
            return Ok(None);
        }
        let found: Vec<photo::Photo> = photo::by_ids(self.conn, &photo_ids)?;
        let by_id: HashMap<i64, &photo::Photo> = found.iter().map(|p| (p.id, p)).collect();
        let rows: Vec<NewPhoto> = photo_ids
            .iter()
            .filter_map(|id| by_id.get(id))
            .map(|p| NewPhoto {
                original_filename: p.original_filename.clone(),
                caption: p.caption.clone(),
                credit: p.credit.clone(),
                source: p.source.clone(),
                content_hash: p.content_hash.clone(),
                mime: p.mime.clone(),
                width: p.width,
                height: p.height,
                bytes: p.bytes,
                variants: p.variant_widths(),
                title: p.title.clone(),
                alt_text: p.alt_text.clone(),
                ..Default::default()
            })
            .collect();
        let importer = Actor::import(self.cx.source);
        let cat = gallery::ensure_path(self.conn, &importer, &[UPLOADS_CATEGORY, "Galleries"])?;
        let title = format!(
            "Gallery: {}",
            self.title.chars().take(180).collect::<String>()
        );
        let a = new_album(
            self.conn,
            &importer,
            cat,
            &title,
            "A gallery from a post of the WordPress site.",
        )?;
        gallery::add_photos(self.conn, &importer, a.id, &rows)?;
        if self.published {
            gallery::publish_albums(self.conn, &importer, &[a.id])?;
        }
        import_item::record(self.conn, self.cx.source, "gallery", &key, a.id)?;
        Ok(Some(format!("[[album:{}]]", a.slug)))
    }

    fn video_entry(&mut self, url: &str) -> Result<Option<String>> {
        let Ok(embed) = Embed::parse(url) else {
            return Ok(None);
        };
        let key = embed.watch_url();
        if let Some(id) = import_item::find(self.conn, self.cx.source, "video", &key)? {
            let v = video::find(self.conn, id)?;
            if let Some(v) = v {
                if self.published && v.status != video::VideoStatus::Published {
                    publish_video_quietly(self.conn, self.cx.source, &v)?;
                }
                return Ok(Some(format!("[[video:{}]]", v.slug)));
            }
        }
        let input = VideoInput {
            title: self.title.chars().take(200).collect(),
            description: format!("From the post “{}” on the WordPress site.", self.title),
            embed_url: Some(key.clone()),
            release_date: self.date.map(|d| d.date()),
            published: false,
            ..VideoInput::default()
        };
        let v = crate::service::videos::create(self.conn, &Actor::import(self.cx.source), &input)?;
        if self.published {
            publish_video_quietly(self.conn, self.cx.source, &v)?;
        }
        import_item::record(self.conn, self.cx.source, "video", &key, v.id)?;
        Ok(Some(format!("[[video:{}]]", v.slug)))
    }
}

fn publish_video_quietly(conn: &mut DbConn, source: &str, v: &video::Video) -> Result<()> {
    let input = VideoInput {
        published: true,
        ..video::input_of(v)
    };
    crate::service::videos::update(conn, &Actor::import(source), v.id, &input)?;
    notify::mark_announced(conn, &notify::Item::Video(v.id))?;
    Ok(())
}

impl Hooks for PostHooks<'_, '_> {
    fn gallery(&mut self, attachment_ids: &[i64]) -> Option<String> {
        if self.error.is_some() {
            return None;
        }
        match self.gallery_album(attachment_ids) {
            Ok(r) => r,
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }

    fn video(&mut self, url: &str) -> Option<String> {
        if self.error.is_some() {
            return None;
        }
        match self.video_entry(url) {
            Ok(r) => r,
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

/// One post or page with its redirects and key. Returns notes for the report.
fn write_post(
    conn: &mut DbConn,
    item: &Item,
    status: PostStatus,
    date: Option<NaiveDateTime>,
    cx: &Context<'_>,
    by_uploads: &HashMap<String, i64>,
) -> Result<Vec<String>> {
    let title = {
        let t = decode_entities(&item.title).trim().to_string();
        if t.is_empty() {
            "Untitled".to_string()
        } else {
            t.chars().take(300).collect()
        }
    };
    // A post id is needed for keys before the post exists: use the WordPress id.
    let mut hooks = PostHooks {
        conn,
        cx,
        post_id: item.id,
        title: title.clone(),
        published: status == PostStatus::Published,
        date,
        galleries: 0,
        notes: Vec::new(),
        error: None,
    };
    let converted = wp_content::convert(&item.content, &mut hooks);
    if let Some(e) = hooks.error.take() {
        return Err(e);
    }
    let mut notes = std::mem::take(&mut hooks.notes);
    let conn = hooks.conn;
    for name in &converted.unknown_shortcodes {
        notes.push(format!(
            "post {} ({title}): unknown shortcode [{name}] kept as text",
            item.id
        ));
    }
    let (body, dropped) = rewrite_uploads(&converted.html, |rel| match by_uploads.get(rel) {
        Some(id) => match cx.photos.get(id) {
            Some(p) => Upload::Photo(p),
            None if cx.media_given => Upload::Missing,
            None => Upload::Unknown,
        },
        None => Upload::Unknown,
    });
    for url in dropped {
        notes.push(format!(
            "post {} ({title}): image {url} left out (its file was not imported)",
            item.id
        ));
    }
    let excerpt: String = plain(&item.excerpt).chars().take(1000).collect();
    let featured = item
        .meta("_thumbnail_id")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|wp| {
            let p = cx.photos.get(&wp).map(|p| p.id);
            // Without media nothing was imported: one note says so, not one per post.
            if p.is_none() && cx.media_given {
                notes.push(format!(
                    "post {} ({title}): featured image {wp} was not imported",
                    item.id
                ));
            }
            p
        });
    let mut category_ids = Vec::new();
    let mut tags = Vec::new();
    for t in &item.terms {
        match t.domain.as_str() {
            "category" => {
                if let Some(id) = cx.categories.get(&t.nicename) {
                    category_ids.push(*id);
                }
            }
            "post_tag" => match cx.tags.get(&t.nicename) {
                Some(name) => tags.push(name.clone()),
                None if !t.name.trim().is_empty() => tags.push(decode_entities(&t.name)),
                None => {}
            },
            _ => {}
        }
    }
    category_ids.sort_unstable();
    category_ids.dedup();
    let slug = keep_slug(&item.slug)
        .map(|s| slug::unique(&s, |c| post::slug_in_use(conn, c)))
        .transpose()?;
    let kind = if item.post_type == "page" {
        PostKind::Page
    } else {
        PostKind::News
    };
    let input = PostInput {
        title,
        slug,
        kind,
        status,
        body_markdown: body,
        excerpt,
        featured_photo_id: featured,
        author_id: cx.users.get(&item.creator).copied(),
        publish_at: date,
        source_publication: None,
        source_author: None,
        source_url: None,
        source_date: None,
        notify_subscribers: false,
        category_ids: if kind == PostKind::Page {
            Vec::new()
        } else {
            category_ids
        },
        tags: if kind == PostKind::Page {
            Vec::new()
        } else {
            tags
        },
    };
    let p = crate::service::posts::create(conn, &cx.actor.importing(), &input)?;
    if let Some(d) = date.filter(|d| *d <= crate::models::now()) {
        // Written then, not today: pages show no "updated" date for an imported post.
        use crate::schema::posts;
        use diesel::prelude::*;
        diesel::update(posts::table.find(p.id))
            .set((posts::created_at.eq(d), posts::updated_at.eq(d)))
            .execute(conn)?;
    }
    import_item::record(conn, cx.source, "post", &item.id.to_string(), p.id)?;
    let target = Target::Post(p.id);
    put_redirect(conn, &item.link, &target, cx.source)?;
    put_redirect(conn, &format!("/?p={}", item.id), &target, cx.source)?;
    if kind == PostKind::Page {
        put_redirect(conn, &format!("/?page_id={}", item.id), &target, cx.source)?;
    }
    if item.guid.contains("?p=") || item.guid.contains("?page_id=") {
        put_redirect(conn, &item.guid, &target, cx.source)?;
    }
    // Earlier slugs WordPress kept redirecting: the permalink with the old slug.
    for (k, old) in &item.meta {
        if k == "_wp_old_slug"
            && !old.trim().is_empty()
            && let Some(link) = old_permalink(&item.link, &item.slug, old.trim())
        {
            put_redirect(conn, &link, &target, cx.source)?;
        }
    }
    audit::record(
        conn,
        cx.actor,
        "post.import",
        Some(("post", p.id)),
        &p.title,
    )?;
    Ok(notes)
}

/// The hosts the old site answered on (its links in content name any of them).
fn old_hosts(c: &wxr::Channel) -> Vec<String> {
    let mut hosts: Vec<String> = [&c.base_site_url, &c.base_blog_url, &c.link]
        .into_iter()
        .filter_map(|u| url::Url::parse(u).ok()?.host_str().map(str::to_string))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Links between posts of the old site, pointed at the new addresses: every `href` on the
/// old site's host that the redirect table knows. Runs after all posts are in (a post may
/// link to one later in the file), over every post of this source, and is idempotent.
fn relink(db: &Db, channel: &wxr::Channel, source: &str, actor: &Actor) -> Result<usize> {
    use crate::schema::posts;
    use diesel::prelude::*;
    let hosts = old_hosts(channel);
    if hosts.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = {
        let mut conn = db.conn()?;
        let mut v: Vec<i64> = import_item::all_of(&mut conn, source, "post")?
            .into_values()
            .collect();
        v.sort_unstable();
        v
    };
    let mut changed = 0;
    for chunk in ids.chunks(200) {
        changed += db.write_blocking(|conn| -> Result<usize> {
            let mut rows: BTreeMap<i64, String> = BTreeMap::new();
            for h in &hosts {
                let found: Vec<(i64, String)> = posts::table
                    .filter(posts::id.eq_any(chunk))
                    .filter(posts::body_markdown.like(format!("%//{h}%")))
                    .select((posts::id, posts::body_markdown))
                    .load(conn)?;
                rows.extend(found);
            }
            let mut n = 0;
            for (id, body) in rows {
                let new = relink_body(&body, &hosts, |path, query| {
                    redirect::lookup(conn, path, query).ok().flatten()
                });
                if new != body {
                    crate::service::posts::relink(conn, actor, id, &new)?;
                    n += 1;
                }
            }
            Ok(n)
        })?;
    }
    Ok(changed)
}

/// `href`s of `<a>` tags on one of `hosts` replaced by what `find(path, query)` answers.
fn relink_body(
    body: &str,
    hosts: &[String],
    mut find: impl FnMut(&str, &str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find("<a ") {
        out.push_str(&rest[..i]);
        let tag_src = &rest[i..];
        let Some(end) = tag_src.find('>') else {
            out.push_str(tag_src);
            return out;
        };
        let tag = &tag_src[..=end];
        rest = &tag_src[end + 1..];
        out.push_str(&rewrite_attr(tag, "href", |href| {
            let u = url::Url::parse(&decode_entities(href)).ok()?;
            if !matches!(u.scheme(), "http" | "https")
                || !hosts.iter().any(|h| Some(h.as_str()) == u.host_str())
            {
                return None;
            }
            let to = find(u.path(), u.query().unwrap_or(""))?;
            Some(match u.fragment() {
                Some(f) => format!("{to}#{f}"),
                None => to,
            })
        }));
    }
    out.push_str(rest);
    out
}

/// The permalink a post had under an earlier slug: its link with the slug replaced.
fn old_permalink(link: &str, slug: &str, old: &str) -> Option<String> {
    let trimmed = link.trim_end_matches('/');
    let (head, last) = trimmed.rsplit_once('/')?;
    (!slug.is_empty() && last.eq_ignore_ascii_case(slug)).then(|| format!("{head}/{old}/"))
}

/// What an uploads address became.
#[derive(Debug, Clone, Copy)]
enum Upload<'p> {
    Photo(&'p PhotoRef),
    /// An attachment of the export whose file could not be imported.
    Missing,
    /// Not an attachment of the export (or media were not imported at all).
    Unknown,
}

/// Points `<img src>` and links to `wp-content/uploads/…` at the photos they became: images
/// get a derivative and a `srcset` of every width; links open the photo's page. An image of a
/// missing file is dropped (it would break when the old site goes) and listed; other
/// addresses are left as they were.
fn rewrite_uploads<'p>(html: &str, find: impl Fn(&str) -> Upload<'p>) -> (String, Vec<String>) {
    let mut dropped = Vec::new();
    if !html.contains("/wp-content/uploads/") {
        return (html.to_string(), dropped);
    }
    let lookup = |url: &str| -> Option<(Upload<'p>, Option<u32>)> {
        let rel = uploads_rel(url)?;
        let exact = find(&rel);
        if !matches!(exact, Upload::Unknown) {
            return Some((exact, None));
        }
        // A resized copy: `name-300x200.jpg` → `name.jpg`, at about that width.
        let (stem, ext) = rel.rsplit_once('.')?;
        let (base, size) = stem.rsplit_once('-')?;
        let (w, _) = size.split_once('x')?;
        let w: u32 = w.parse().ok()?;
        Some((find(&format!("{base}.{ext}")), Some(w)))
    };
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tag_src = &rest[i..];
        let Some(end) = tag_src.find('>') else {
            out.push_str(tag_src);
            return (out, dropped);
        };
        let tag = &tag_src[..=end];
        rest = &tag_src[end + 1..];
        let lower = tag.get(..4).unwrap_or("").to_ascii_lowercase();
        if !tag.contains("/wp-content/uploads/") {
            out.push_str(tag);
        } else if lower.starts_with("<img") {
            let (_, attrs) = attributes(tag);
            let src = attrs
                .iter()
                .find(|(k, _)| k == "src")
                .map(|(_, v)| v.clone());
            match src.as_deref().and_then(&lookup) {
                Some((Upload::Photo(p), want)) => out.push_str(&rewrite_img(tag, p, want)),
                Some((Upload::Missing, _)) => dropped.push(src.unwrap_or_default()),
                _ => out.push_str(tag),
            }
        } else if lower.starts_with("<a ") {
            out.push_str(&rewrite_attr(tag, "href", |v| match lookup(v) {
                Some((Upload::Photo(p), _)) => Some(format!("/photos/{}", p.id)),
                _ => None,
            }));
        } else {
            out.push_str(tag);
        }
    }
    out.push_str(rest);
    (out, dropped)
}

/// Attributes of a tag as (name, value) in order; the tag name first.
fn attributes(tag: &str) -> (String, Vec<(String, String)>) {
    let inner = tag
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_end_matches('/');
    let mut chars = inner.char_indices().peekable();
    let mut name_end = inner.len();
    while let Some((i, c)) = chars.peek().copied() {
        if c.is_whitespace() {
            name_end = i;
            break;
        }
        chars.next();
    }
    let name = inner[..name_end].to_string();
    let mut attrs = Vec::new();
    let s = &inner[name_end..];
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] as char).is_whitespace() {
            i += 1;
        }
        let start = i;
        while i < b.len() && !(b[i] as char).is_whitespace() && b[i] != b'=' {
            i += 1;
        }
        if start == i {
            i += 1;
            continue;
        }
        let key = s[start..i].to_ascii_lowercase();
        while i < b.len() && (b[i] as char).is_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && (b[i] as char).is_whitespace() {
                i += 1;
            }
            let (v, next) = if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                let ve = s[vs..]
                    .bytes()
                    .position(|c| c == q)
                    .map_or(s.len(), |p| vs + p);
                (&s[vs..ve], (ve + 1).min(s.len()))
            } else {
                let vs = i;
                let ve = s[vs..]
                    .find(char::is_whitespace)
                    .map_or(s.len(), |p| vs + p);
                (&s[vs..ve], ve)
            };
            attrs.push((key, v.to_string()));
            i = next;
        } else {
            attrs.push((key, String::new()));
        }
    }
    (name, attrs)
}

fn render_tag(name: &str, attrs: &[(String, String)]) -> String {
    let mut out = format!("<{name}");
    for (k, v) in attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&v.replace('"', "&quot;"));
        out.push('"');
    }
    out.push('>');
    out
}

fn rewrite_attr(tag: &str, attr: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let (name, mut attrs) = attributes(tag);
    let mut changed = false;
    for (k, v) in attrs.iter_mut() {
        if k == attr
            && let Some(new) = f(v)
        {
            *v = new;
            changed = true;
        }
    }
    if changed {
        render_tag(&name, &attrs)
    } else {
        tag.to_string()
    }
}

fn rewrite_img(tag: &str, p: &PhotoRef, want: Option<u32>) -> String {
    let (name, attrs) = attributes(tag);
    let shown = match want {
        Some(w) => p
            .widths
            .iter()
            .copied()
            .find(|x| *x >= w)
            .or(p.widths.last().copied()),
        None => p
            .widths
            .iter()
            .copied()
            .rev()
            .find(|x| *x <= 1280)
            .or(p.widths.last().copied()),
    };
    let src = match shown {
        Some(w) => format!("/media/{}", photo_variant_key(&p.hash, w)),
        None => format!("/media/{}", photo_original_key(&p.hash, &p.mime)),
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in attrs {
        match k.as_str() {
            "src" => out.push((k, src.clone())),
            "srcset" | "sizes" => {}
            _ => out.push((k, v)),
        }
    }
    if !p.widths.is_empty() {
        let set: Vec<String> = p
            .widths
            .iter()
            .map(|w| format!("/media/{} {w}w", photo_variant_key(&p.hash, *w)))
            .collect();
        out.push(("srcset".into(), set.join(", ")));
        out.push(("sizes".into(), "(max-width: 50rem) 100vw, 50rem".into()));
    }
    if !out.iter().any(|(k, _)| k == "width") && p.width > 0 {
        out.push(("width".into(), p.width.to_string()));
        out.push(("height".into(), p.height.to_string()));
    }
    render_tag(&name, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_plain_text() {
        assert_eq!(
            decode_entities("Tom &amp; Jerry &#8211; &#x2019;s &nbsp;x &bogus; &"),
            "Tom & Jerry – ’s \u{a0}x &bogus; &"
        );
        assert_eq!(
            plain("<p>One <b>two</b></p>\n<p>three &amp; four</p>"),
            "One two three & four"
        );
    }

    #[test]
    fn uploads_paths() {
        assert_eq!(
            uploads_rel("https://x.example/wp-content/uploads/2023/08/a%20b.jpg?x=1").as_deref(),
            Some("2023/08/a b.jpg")
        );
        assert_eq!(
            uploads_rel("https://x.example/wp-content/uploads/../etc/passwd"),
            None
        );
        assert_eq!(uploads_rel("https://x.example/other.jpg"), None);
    }

    #[test]
    fn images_point_at_photos() {
        let p = PhotoRef {
            id: 7,
            hash: "abcdef".into(),
            mime: "image/jpeg".into(),
            widths: vec![320, 640, 1200],
            width: 1200,
            height: 800,
        };
        let html = r#"<p><a href="https://s.example/wp-content/uploads/2023/08/a.jpg"><img class="wp-image-5" src="https://s.example/wp-content/uploads/2023/08/a-300x200.jpg" srcset="x 300w" alt="Joe &amp; Kit" width="300" height="200" /></a> <img src="https://s.example/wp-content/uploads/2023/08/missing.jpg"></p>"#;
        let (out, dropped) = rewrite_uploads(html, |rel| match rel {
            "2023/08/a.jpg" => Upload::Photo(&p),
            "2023/08/missing.jpg" => Upload::Missing,
            _ => Upload::Unknown,
        });
        assert_eq!(
            dropped,
            vec!["https://s.example/wp-content/uploads/2023/08/missing.jpg".to_string()]
        );
        assert!(out.contains(r#"<a href="/photos/7">"#), "{out}");
        assert!(
            out.contains(r#"src="/media/photos/ab/abcdef-320.jpg""#),
            "{out}"
        );
        assert!(out.contains("640w"), "{out}");
        assert!(!out.contains("x 300w"), "{out}");
        assert!(out.contains(r#"alt="Joe &amp; Kit""#), "{out}");
        assert!(!out.contains("missing.jpg"), "{out}");
    }

    #[test]
    fn statuses() {
        let now = parse_date("2026-01-01 00:00:00").unwrap_or_default();
        let item = |status: &str, date: &str| Item {
            status: status.into(),
            date_gmt: date.into(),
            ..Item::default()
        };
        assert!(matches!(
            fate(&item("publish", "2020-01-01 10:00:00"), now),
            Fate::Import(PostStatus::Published, Some(_))
        ));
        assert!(matches!(
            fate(&item("future", "2031-01-01 10:00:00"), now),
            Fate::Import(PostStatus::Scheduled, Some(_))
        ));
        assert!(matches!(
            fate(&item("future", "2021-01-01 10:00:00"), now),
            Fate::Import(PostStatus::Published, _)
        ));
        assert!(matches!(
            fate(&item("private", "0000-00-00 00:00:00"), now),
            Fate::Import(PostStatus::Draft, None)
        ));
        assert!(matches!(fate(&item("trash", ""), now), Fate::Skip("trash")));
    }
}
