//! The part the gallery importers (Coppermine, Piwigo) share: pictures streamed in album
//! order become photos in albums, a batch per transaction.
//!
//! A batch's files are read, hashed and run through the ingest pipeline on every core
//! (content already stored is not decoded again), then one transaction writes, per album, the
//! album itself when it is new (created and published with its first photos, marked as
//! announced), the photos with what the old site knew of them (title, caption, credit, views,
//! the date they were added), each picture's `import_items` key and its old addresses. A run
//! killed at any moment and started again skips the pictures whose key is there and finishes
//! the rest; nothing public is left hidden.
//!
//! Pictures the old site did not show (unapproved in Coppermine, private in Piwigo) go to a
//! draft album of their own beside their album, "Title (unapproved)", which an editor can
//! review, publish or empty in the admin; they get no redirects.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rayon::prelude::*;

use super::common::{is_image_name, new_album, photo_ids_by_hash, text_of};
use super::mysql::Source;
use super::report::Report;
use crate::db::{Db, DbConn};
use crate::error::Result;
use crate::ingest::{self, Progress};
use crate::media::MediaStore;
use crate::models::audit::{self, Actor};
use crate::models::photo::NewPhoto;
use crate::models::redirect::{self, Target};
use crate::models::{import_item, site};
use crate::schema::{albums, gallery_categories};

/// Photos per page of a Keepsake album (`cms_web::pages::album::PER_PAGE`; a test holds the
/// two together): an old album page is sent to the page showing the same pictures.
pub const KEEPSAKE_ALBUM_PAGE: u64 = 60;

/// Pictures written per transaction when the caller gives 0.
const DEFAULT_BATCH: usize = 500;

/// The `import_items` kind of albums.
pub const ALBUM: &str = "album";

/// How the shared part runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only read and say what would be imported.
    pub dry_run: bool,
    /// Image limits and derivative widths (the site's settings).
    pub settings: ingest::Settings,
    /// Pictures per transaction; 0 picks 500.
    pub batch: usize,
}

/// Names of things in the report and the keys.
#[derive(Debug, Clone, Copy)]
pub struct Kinds {
    /// The `import_items` kind of pictures (`picture`, `image`).
    pub item: &'static str,
    /// The report's kind for pictures (`pictures`, `images`).
    pub report: &'static str,
    /// The report's kind for pictures the old site did not show (`unapproved pictures`).
    pub hidden: &'static str,
}

/// Where an album goes and what it was on the old site.
#[derive(Debug, Clone, Default)]
pub struct AlbumSpec {
    /// The album's key in `import_items` (kind `album`).
    pub key: String,
    pub title: String,
    pub description: String,
    /// The gallery category it goes in (`None`: the top of the gallery).
    pub category: Option<i64>,
    /// Its place among the albums of its category.
    pub position: i32,
    /// Public on the old site: published with its first photos. Otherwise a draft.
    pub public: bool,
    /// The key of the picture that was its cover.
    pub cover: Option<String>,
    /// Title of the draft album for its pictures the old site did not show.
    pub hidden_title: String,
    /// Old addresses of the album.
    pub redirects: Vec<String>,
    /// Old addresses of its later pages, each with the number (from 0) of the first picture
    /// that page showed.
    pub pages: Vec<(String, u64)>,
    /// Where its old addresses lead if it gets no photo at all (its category).
    pub fallback: Option<Target>,
}

/// What an old address of a picture shows.
#[derive(Debug, Clone)]
pub enum Old {
    /// The picture's page.
    Page(String),
    /// The file itself.
    File(String),
}

/// One picture of the old site.
#[derive(Debug, Clone, Default)]
pub struct Picture {
    /// Its key in `import_items`.
    pub key: String,
    /// The key of its album ([`AlbumSpec::key`]).
    pub album: String,
    /// What it is called in the report, e.g. `picture 12 (userpics/10001/a.jpg)`.
    pub label: String,
    /// The file on disk.
    pub path: PathBuf,
    /// The file's name as uploaded.
    pub file_name: String,
    pub title: String,
    pub caption: String,
    pub credit: String,
    pub views: i64,
    pub added: Option<NaiveDateTime>,
    /// Shown on the old site (approved, not private).
    pub public: bool,
    pub old: Vec<Old>,
}

/// How a gallery import ends ([`Pipeline::end`]).
#[derive(Debug, Clone, Copy)]
pub struct Ending<'s> {
    /// Pictures in no album (left out).
    pub in_no_album: u64,
    /// The note for pictures waiting in draft albums, after their number: for one, for more.
    pub waiting: [&'s str; 2],
    /// The folder the old addresses are under.
    pub base: &'s str,
    /// The audit log's action (`import.coppermine`).
    pub action: &'s str,
}

/// Which of an album's two Keepsake albums a picture goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Dest {
    album: String,
    hidden: bool,
}

impl Dest {
    fn key(&self) -> String {
        if self.hidden {
            format!("{}:hidden", self.album)
        } else {
            self.album.clone()
        }
    }
}

/// An album as the pipeline knows it.
#[derive(Debug)]
struct AlbumState {
    spec: AlbumSpec,
    id: Option<i64>,
    hidden_id: Option<i64>,
    /// Counted in the report already (as imported or already there).
    counted: bool,
}

/// What writing one album's share of a batch did (applied after the commit).
struct Written {
    dest: Dest,
    album_id: i64,
    created: bool,
    imported: u64,
    duplicates: u64,
}

/// The pictures-into-albums pipeline of one import.
pub struct Pipeline<'a> {
    db: &'a Db,
    media: &'a dyn MediaStore,
    source: &'a str,
    opts: &'a Options,
    kinds: Kinds,
    progress: &'a dyn Progress,
    pub report: Report,
    albums: HashMap<String, AlbumState>,
    pending: Vec<Picture>,
    batch: usize,
    /// Pictures written, and how many there will be when statistics are refreshed next.
    written: u64,
    next_statistics: u64,
}

impl std::fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("source", &self.source)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<'a> Pipeline<'a> {
    pub fn new(
        db: &'a Db,
        media: &'a dyn MediaStore,
        source: &'a str,
        opts: &'a Options,
        kinds: Kinds,
        progress: &'a dyn Progress,
        report: Report,
    ) -> Self {
        Pipeline {
            db,
            media,
            source,
            opts,
            kinds,
            progress,
            report,
            albums: HashMap::new(),
            pending: Vec::new(),
            written: 0,
            next_statistics: 1_000,
            batch: if opts.batch == 0 {
                DEFAULT_BATCH
            } else {
                opts.batch
            },
        }
    }

    /// Makes an album known before its pictures come.
    pub fn album(&mut self, spec: AlbumSpec) -> Result<()> {
        let (id, hidden_id) = {
            let mut conn = self.db.conn()?;
            (
                import_item::find(&mut conn, self.source, ALBUM, &spec.key)?,
                import_item::find(
                    &mut conn,
                    self.source,
                    ALBUM,
                    &format!("{}:hidden", spec.key),
                )?,
            )
        };
        let counted = id.is_some();
        if counted {
            self.report.already("albums");
        }
        self.albums.insert(
            spec.key.clone(),
            AlbumState {
                spec,
                id,
                hidden_id,
                counted,
            },
        );
        Ok(())
    }

    /// Adds a picture (its album made known first); writes a batch when one is full.
    pub fn add(&mut self, picture: Picture) -> Result<()> {
        self.pending.push(picture);
        if self.pending.len() >= self.batch {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what is pending, then settles albums that got no photo and the albums' dates.
    pub fn finish(mut self) -> Result<Report> {
        self.flush()?;
        let mut fallbacks: Vec<(String, Target)> = Vec::new();
        let mut empty = 0u64;
        for state in self.albums.values() {
            if state.id.is_some() || state.counted {
                continue;
            }
            empty += 1;
            if let Some(t) = &state.spec.fallback {
                fallbacks.extend(state.spec.redirects.iter().map(|r| (r.clone(), t.clone())));
            }
        }
        if empty > 0 {
            self.report
                .counts("albums")
                .skipped
                .insert("no picture to show".into(), empty);
        }
        if self.opts.dry_run {
            return Ok(self.report);
        }
        let source = self.source;
        self.db.write_blocking(|conn| -> Result<()> {
            redirect::put_many(conn, &fallbacks, source)?;
            Ok(())
        })?;
        settle_dates(self.db, self.source)?;
        Ok(self.report)
    }

    /// Ends a gallery import the same way for every source: the pending pictures written
    /// ([`Pipeline::finish`]), pictures in no album and the comments left behind counted, notes
    /// for the pictures waiting in drafts and for the folder the old addresses are under, and
    /// the audit entry.
    pub fn end(self, src: &mut Source, ending: &Ending<'_>, actor: &Actor) -> Result<Report> {
        let comments = if src.has_table("comments")? {
            src.count(
                "comments",
                &format!("SELECT COUNT(*) FROM {}", src.table("comments")),
            )?
        } else {
            0
        };
        let (db, source, kinds, progress) = (self.db, self.source, self.kinds, self.progress);
        let dry_run = self.opts.dry_run;
        let mut report = self.finish()?;
        if ending.in_no_album > 0 {
            report
                .counts(kinds.report)
                .skipped
                .insert("in no album".into(), ending.in_no_album);
        }
        let hidden = report.kinds.get(kinds.hidden).map_or(0, |c| c.imported);
        if hidden > 0 {
            let [one, many] = ending.waiting;
            report
                .notes
                .push(format!("{hidden} {}", if hidden == 1 { one } else { many }));
        }
        if comments > 0 {
            report.notes.push(format!(
                "{} seen and not imported (Keepsake has no comments)",
                super::report::count(comments, "comment", "comments")
            ));
        }
        report.notes.push(format!(
            "old addresses are redirected under {}/ (change with --base-path)",
            ending.base
        ));
        progress.finish();
        if !dry_run {
            db.write_blocking(|conn| -> Result<()> {
                audit::record(
                    conn,
                    actor,
                    ending.action,
                    None,
                    &format!("{} ({source})", src.label),
                )?;
                Ok(())
            })?;
        }
        Ok(report)
    }

    /// Writes the pending pictures: a batch.
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let n = batch.len() as u64;
        let label = batch
            .last()
            .and_then(|p| self.albums.get(&p.album))
            .map(|a| a.spec.title.clone())
            .unwrap_or_default();
        let keys: Vec<String> = batch.iter().map(|p| p.key.clone()).collect();
        let (source, item) = (self.source, self.kinds.item);
        let done = {
            let mut conn = self.db.conn()?;
            import_item::find_many(&mut conn, source, item, &keys)?
        };
        let todo: Vec<Picture> = batch
            .into_iter()
            .filter(|p| {
                let there = done.contains_key(&p.key);
                if there {
                    self.report.already(self.kinds.report);
                }
                !there
            })
            .collect();
        if self.opts.dry_run {
            self.dry(todo);
        } else {
            self.written += todo.len() as u64;
            self.write(todo)?;
            if self.written >= self.next_statistics {
                refresh_statistics(self.db)?;
                self.next_statistics = self.written * 2;
            }
        }
        self.progress.advance(n, &label);
        crate::ingest::stop_if_asked(self.progress)
    }

    /// A dry run's batch: files checked, nothing read or written.
    fn dry(&mut self, todo: Vec<Picture>) {
        for p in todo {
            if let Some(why) = unusable(&p) {
                self.report.failed(self.kinds.report, p.label, why);
                continue;
            }
            let kind = if p.public {
                self.kinds.report
            } else {
                self.kinds.hidden
            };
            self.report.imported(kind);
            if let Some(a) = self.albums.get_mut(&p.album)
                && !a.counted
                && p.public
            {
                a.counted = true;
                self.report.imported("albums");
            }
        }
    }

    /// A real batch: files through the pipeline on every core, then one transaction.
    fn write(&mut self, todo: Vec<Picture>) -> Result<()> {
        let settings = &self.opts.settings;
        let media = self.media;
        let results: Vec<(Picture, std::result::Result<NewPhoto, String>)> = todo
            .into_par_iter()
            .map(|p| {
                let r = match unusable(&p) {
                    Some(why) => Err(why),
                    None => std::fs::read(&p.path)
                        .map_err(|e| format!("cannot read {}: {e}", p.path.display()))
                        .and_then(|bytes| {
                            ingest::process::process(&bytes, &p.file_name, settings, media)
                                .map_err(|s| s.to_string())
                        }),
                };
                (p, r)
            })
            .collect();
        let mut groups: Vec<(Dest, Vec<(Picture, NewPhoto)>)> = Vec::new();
        for (p, r) in results {
            match r {
                Ok(mut row) => {
                    row.caption = p.caption.chars().take(2000).collect();
                    row.credit = p.credit.chars().take(300).collect();
                    row.title = text_of(&p.title, 300);
                    row.views = p.views.max(0);
                    row.added_at = p.added;
                    let dest = Dest {
                        album: p.album.clone(),
                        hidden: !p.public,
                    };
                    match groups.iter_mut().find(|(d, _)| *d == dest) {
                        Some((_, items)) => items.push((p, row)),
                        None => groups.push((dest, vec![(p, row)])),
                    }
                }
                Err(why) => self.report.failed(self.kinds.report, p.label, why),
            }
        }
        if groups.is_empty() {
            return Ok(());
        }
        let outcome = {
            let albums = &self.albums;
            let (source, kinds) = (self.source, self.kinds);
            self.db.write_blocking(|conn| -> Result<Vec<Written>> {
                groups
                    .iter()
                    .map(|(dest, items)| write_group(conn, source, kinds, albums, dest, items))
                    .collect()
            })
        };
        match outcome {
            Ok(written) => {
                for w in written {
                    self.apply(w);
                }
            }
            // One bad picture must not cost the batch: write them one at a time to find it.
            Err(_) => {
                for (dest, items) in groups {
                    for item in items {
                        let one = std::slice::from_ref(&item);
                        let r = {
                            let albums = &self.albums;
                            let (source, kinds) = (self.source, self.kinds);
                            self.db.write_blocking(|conn| {
                                write_group(conn, source, kinds, albums, &dest, one)
                            })
                        };
                        match r {
                            Ok(w) => self.apply(w),
                            Err(e) => self.report.failed(
                                self.kinds.report,
                                item.0.label.clone(),
                                e.to_string(),
                            ),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Notes what a committed write did.
    fn apply(&mut self, w: Written) {
        let kind = if w.dest.hidden {
            self.kinds.hidden
        } else {
            self.kinds.report
        };
        self.report.counts(kind).imported += w.imported;
        if w.duplicates > 0 {
            *self
                .report
                .counts(kind)
                .skipped
                .entry("the same image twice in one album".into())
                .or_default() += w.duplicates;
        }
        if let Some(state) = self.albums.get_mut(&w.dest.album) {
            if w.dest.hidden {
                state.hidden_id = Some(w.album_id);
            } else {
                state.id = Some(w.album_id);
                if w.created && !state.counted {
                    state.counted = true;
                    self.report.imported("albums");
                }
            }
        }
    }
}

/// Why a picture cannot be imported before its file is read, if it cannot.
fn unusable(p: &Picture) -> Option<String> {
    if !is_image_name(&p.file_name) {
        return Some(
            "not an image (Keepsake keeps photos; the file stays on the old site)".to_string(),
        );
    }
    if !p.path.is_file() {
        return Some(format!("missing file {}", p.path.display()));
    }
    None
}

/// One album's share of a batch: the album (made when new), its photos, their details, keys
/// and old addresses, then the album published if it is new and public.
fn write_group(
    conn: &mut DbConn,
    source: &str,
    kinds: Kinds,
    albums: &HashMap<String, AlbumState>,
    dest: &Dest,
    items: &[(Picture, NewPhoto)],
) -> Result<Written> {
    let Some(state) = albums.get(&dest.album) else {
        return Err(crate::Error::Internal(format!(
            "album {} of a picture was not made known",
            dest.album
        )));
    };
    let spec = &state.spec;
    let known = if dest.hidden {
        state.hidden_id
    } else {
        state.id
    };
    let known = match known {
        Some(id) => Some(id),
        // Written by a run that stopped after its commit and before we heard of it.
        None => import_item::find(conn, source, ALBUM, &dest.key())?,
    };
    let (album_id, created) = match known {
        Some(id) => (id, false),
        None => {
            let title = if dest.hidden {
                &spec.hidden_title
            } else {
                &spec.title
            };
            let title: String = title.chars().take(200).collect();
            let a = new_album(
                conn,
                &Actor::import(source),
                spec.category,
                &title,
                &spec.description,
            )?;
            if !dest.hidden {
                diesel::update(albums::table.find(a.id))
                    .set(albums::position.eq(spec.position))
                    .execute(conn)?;
                let mut old: Vec<(String, Target)> = spec
                    .redirects
                    .iter()
                    .map(|r| (r.clone(), Target::Album(a.id)))
                    .collect();
                for (address, first) in &spec.pages {
                    let page = first / KEEPSAKE_ALBUM_PAGE + 1;
                    let target = if page > 1 {
                        Target::Path(format!("/albums/{}?page={page}", a.slug))
                    } else {
                        Target::Album(a.id)
                    };
                    old.push((address.clone(), target));
                }
                redirect::put_many(conn, &old, source)?;
            }
            import_item::record(conn, source, ALBUM, &dest.key(), a.id)?;
            (a.id, true)
        }
    };
    let rows: Vec<NewPhoto> = items.iter().map(|(_, r)| r.clone()).collect();
    let actor = Actor::import(source);
    let added = crate::service::gallery::add_photos(conn, &actor, album_id, &rows)?;
    let hashes: Vec<&str> = rows.iter().map(|r| r.content_hash.as_str()).collect();
    let ids = photo_ids_by_hash(conn, album_id, &hashes)?;
    let mut fresh: std::collections::HashSet<i64> = added.inserted.iter().copied().collect();
    let mut keys: Vec<(String, i64)> = Vec::with_capacity(items.len());
    let mut old: Vec<(String, Target)> = Vec::new();
    let mut duplicates = 0;
    for (p, row) in items {
        let Some(&id) = ids.get(&row.content_hash) else {
            continue;
        };
        // The first picture of a content is the photo; a later one is the same photo again.
        if !fresh.remove(&id) {
            duplicates += 1;
        }
        keys.push((p.key.clone(), id));
        if !dest.hidden {
            for o in &p.old {
                match o {
                    Old::Page(a) => old.push((a.clone(), Target::Photo(id))),
                    Old::File(a) => old.push((a.clone(), Target::PhotoFile(id))),
                }
            }
            if spec.cover.as_deref() == Some(p.key.as_str()) {
                let edit = crate::service::gallery::AlbumEdit {
                    cover_photo_id: Some(Some(id)),
                    ..Default::default()
                };
                crate::service::gallery::edit_album(conn, &actor, album_id, &edit)?;
            }
        }
    }
    import_item::record_many(conn, source, kinds.item, &keys)?;
    redirect::put_many(conn, &old, source)?;
    if created && !dest.hidden && spec.public {
        crate::service::gallery::publish_albums(conn, &actor, &[album_id])?;
    }
    Ok(Written {
        dest: dest.clone(),
        album_id,
        created,
        imported: keys.len() as u64 - duplicates,
        duplicates,
    })
}

/// Albums of this source dated as on the old site: last added to when their newest photo
/// was, published when their first one was. Run at the end of every import (idempotent).
fn settle_dates(db: &Db, source: &str) -> Result<()> {
    let ids: Vec<i64> = {
        let mut conn = db.conn()?;
        import_item::all_of(&mut conn, source, ALBUM)?
            .into_values()
            .collect()
    };
    refresh_statistics(db)?;
    for chunk in ids.chunks(500) {
        // Our own integer ids: safe to inline; one statement a chunk on either backend.
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        db.write_blocking(|conn| -> Result<()> {
            crate::per_backend!(conn, |c| diesel::sql_query(format!(
                "UPDATE albums SET last_added_at = d.newest, published_at = CASE \
                 WHEN albums.status = 'published' THEN d.oldest ELSE albums.published_at END \
                 FROM (SELECT album_id, max(created_at) AS newest, min(created_at) AS oldest \
                 FROM photos WHERE album_id IN ({list}) GROUP BY album_id) AS d \
                 WHERE albums.id = d.album_id"
            ))
            .execute(c))?;
            Ok(())
        })?;
    }
    if !ids.is_empty() {
        db.write_blocking(|conn| -> Result<()> {
            site::bump_content_version(conn)?;
            Ok(())
        })?;
    }
    Ok(())
}

/// PostgreSQL's statistics of the tables an import fills, brought up to date: planned from
/// the figures of a nearly empty table, lookups among the rows it has written become scans of
/// all of them. Called as the rows written double, so a few times an import.
fn refresh_statistics(db: &Db) -> Result<()> {
    let mut conn = db.conn()?;
    if let DbConn::Pg(c) = &mut *conn {
        diesel::sql_query("ANALYZE photos, albums, import_items, redirects").execute(c)?;
    }
    Ok(())
}

/// A category of the old site, to become a gallery category.
#[derive(Debug, Clone, Default)]
pub struct CategorySpec {
    /// Its key in `import_items` (kind `category`).
    pub key: String,
    /// The gallery category it goes under (`None`: the top).
    pub parent: Option<i64>,
    pub name: String,
    pub description: String,
    /// Its place among its siblings.
    pub position: i32,
    /// Old addresses of the category.
    pub redirects: Vec<String>,
}

/// The `import_items` kind of categories.
pub const CATEGORY: &str = "category";

/// Makes (or finds, on a second run) the gallery category of an old category, in one
/// transaction with its key and redirects. A category of the same name already under the same
/// parent that no other old category became is taken as this one (an "Events" the site had
/// gathers the old "Events"). Returns our id; `None` on a dry run for a category not there yet.
pub fn category(
    db: &Db,
    source: &str,
    spec: &CategorySpec,
    dry_run: bool,
    report: &mut Report,
) -> Result<Option<i64>> {
    let known = {
        let mut conn = db.conn()?;
        import_item::find(&mut conn, source, CATEGORY, &spec.key)?
    };
    if let Some(id) = known {
        report.already("categories");
        return Ok(Some(id));
    }
    report.imported("categories");
    if dry_run {
        return Ok(None);
    }
    let name: String = spec.name.trim().chars().take(200).collect();
    let name = if name.is_empty() {
        format!("Category {}", spec.key)
    } else {
        name
    };
    db.write_blocking(|conn| -> Result<Option<i64>> {
        let claimed: std::collections::HashSet<i64> = import_item::all_of(conn, source, CATEGORY)?
            .into_values()
            .collect();
        let id =
            match crate::models::gallery_category::find_child_by_name(conn, spec.parent, &name)? {
                Some(c) if !claimed.contains(&c.id) => c.id,
                _ => {
                    let c = crate::service::gallery::create_category(
                        conn,
                        &Actor::import(source),
                        spec.parent,
                        &name,
                        &spec.description,
                    )?;
                    diesel::update(gallery_categories::table.find(c.id))
                        .set(gallery_categories::position.eq(spec.position))
                        .execute(conn)?;
                    c.id
                }
            };
        import_item::record(conn, source, CATEGORY, &spec.key, id)?;
        let old: Vec<(String, Target)> = spec
            .redirects
            .iter()
            .map(|r| (r.clone(), Target::GalleryCategory(id)))
            .collect();
        redirect::put_many(conn, &old, source)?;
        Ok(Some(id))
    })
}

/// Items of a tree, parents before their children (siblings in the order given); an item
/// whose parent is not among them, or that is part of a cycle, comes as a root.
pub fn parents_first<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> i64,
    parent: impl Fn(&T) -> i64,
) -> Vec<T> {
    let ids: std::collections::HashSet<i64> = items.iter().map(&id).collect();
    let mut children: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = parent(item);
        if p != id(item) && ids.contains(&p) {
            children.entry(p).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    let mut order = Vec::with_capacity(items.len());
    let mut seen = vec![false; items.len()];
    let mut queue: std::collections::VecDeque<usize> = roots.into_iter().collect();
    loop {
        while let Some(i) = queue.pop_front() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push(i);
            if let Some(c) = children.get(&id(&items[i])) {
                queue.extend(c.iter().copied());
            }
        }
        // What is left hangs in a cycle: its first member becomes a root.
        match seen.iter().position(|s| !s) {
            Some(i) => queue.push_back(i),
            None => break,
        }
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Strips BBCode (`[b]`, `[url=…]…[/url]`, …) that Coppermine and Piwigo descriptions carry,
/// keeping the text; images and their addresses go.
pub fn strip_bbcode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(end) = after.find(']') else {
            out.push_str(after);
            return out;
        };
        let tag = &after[1..end];
        let name = tag
            .trim_start_matches('/')
            .split(['=', ' '])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let known = [
            "b", "i", "u", "s", "url", "email", "color", "size", "quote", "code", "center", "left",
            "right", "font", "list", "*", "img",
        ];
        if !known.contains(&name.as_str()) {
            out.push('[');
            rest = &after[1..];
            continue;
        }
        rest = &after[end + 1..];
        if name == "img" && !tag.starts_with('/') {
            // [img]address[/img]: the address is not text.
            match rest.to_ascii_lowercase().find("[/img]") {
                Some(close) => rest = &rest[close + "[/img]".len()..],
                None => rest = "",
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbcode_is_text() {
        assert_eq!(
            strip_bbcode(
                "[b]Bold[/b] and [url=http://x.example]a link[/url] [img]http://x/y.jpg[/img]end [not a tag]"
            ),
            "Bold and a link end [not a tag]"
        );
        assert_eq!(strip_bbcode("a [b"), "a [b");
    }

    #[test]
    fn trees_come_parents_first() {
        // (id, parent): 3 under 2 under 1, 5 whose parent is missing, 6 and 7 in a cycle.
        let items = vec![(3, 2), (2, 1), (1, 0), (5, 99), (6, 7), (7, 6), (4, 1)];
        let order: Vec<i64> = parents_first(items, |x| x.0, |x| x.1)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(order, [1, 5, 2, 4, 3, 6, 7]);
    }
}
