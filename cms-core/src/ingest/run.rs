//! Running a planned import: album by album, files read in small batches, decoded and resized
//! on every core, rows inserted a batch per transaction (counts updated in the same one).
//!
//! Resumable by construction: every file is identified by its content hash, which is checked
//! against the album before any decoding, so running an import again (after a crash, a kill, or
//! just twice) adds exactly what is missing. Files land under content-addressed names through a
//! temporary file and a rename before their rows commit, so no row ever points at a missing or
//! half-written file.
//!
//! An album (and its categories) is created in the transaction that adds its first photos, so
//! a folder or archive whose files are all refused creates nothing. An album an import creates
//! is marked pending (an `import_items` row written with it) until the import ends: a run killed
//! before the end leaves its albums as drafts, and the run that resumes it takes them as its
//! own, publishing and announcing them with the rest.

use std::collections::HashSet;

use diesel::prelude::*;

use super::batch::{self, Bytes, Incoming};
use super::process::Settings;
use super::source::{self, FileRef, Plan};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::media::MediaStore;
use crate::models::album::{self, AlbumStatus, NewAlbum};
use crate::models::audit::Actor;
use crate::models::post::PostInput;
use crate::models::{gallery_category, import_item, photo};
use crate::schema::photos;

/// How an import behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub settings: Settings,
    /// Leave the albums it creates unpublished (to publish later from the admin). Otherwise they
    /// are published together when the import finishes: one event, not a trickle.
    pub leave_unpublished: bool,
    /// Draft an announcement post listing each album with new photos.
    pub announce: bool,
    /// Files decoded at once (bounded memory); 0 picks twice the number of cores.
    pub batch: usize,
}

/// Reports progress to a bar, a log, or nothing.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _n: u64, _album: &str) {}
    fn finish(&self) {}
    /// Whether to stop after the batch in hand (the process is stopping).
    fn should_stop(&self) -> bool {
        false
    }
}

/// Ends a run between batches when `progress` says the process is stopping, with the error
/// [`crate::shutdown::stopped`] knows: what is written is recorded, and whoever runs the job
/// next goes on from there.
pub fn stop_if_asked(progress: &dyn Progress) -> Result<()> {
    if progress.should_stop() {
        return Err(Error::Unavailable(crate::shutdown::STOPPING.into()));
    }
    Ok(())
}

/// No progress output.
pub struct Silent;
impl Progress for Silent {}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub imported: usize,
    /// Files whose content the album already had (re-runs, duplicates in the source).
    pub duplicates: Vec<String>,
    /// Files refused, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Albums created by this import (or by a run of it that was killed before the end).
    pub albums_created: Vec<(i64, String)>,
    /// Albums that received photos: id, slug, title, how many.
    pub albums_filled: Vec<(i64, String, String, usize)>,
    /// Albums that were there before and received photos: id, and the first id the photos
    /// this import (with a killed run it resumed) added can have.
    pub added_from: Vec<(i64, i64)>,
    pub announcement: Option<i64>,
}

/// Runs `plan`, writing files to `media` and rows to `db`.
pub fn run(
    db: &Db,
    media: &dyn MediaStore,
    plan: Plan,
    opts: &Options,
    progress: &dyn Progress,
    actor: &Actor,
) -> Result<Report> {
    let mut report = Report {
        skipped: plan.refused.clone(),
        ..Report::default()
    };
    let batch = if opts.batch == 0 {
        rayon::current_num_threads().max(1) * 2
    } else {
        opts.batch
    };
    let mut zip = match &plan.zip {
        Some(p) => {
            let f = std::fs::File::open(p)
                .map_err(|e| Error::io(format!("cannot open {}", p.display()), e))?;
            Some(
                zip::ZipArchive::new(f)
                    .map_err(|e| Error::invalid("path", format!("damaged zip ({e})")))?,
            )
        }
        None => None,
    };
    // Photos this run adds have larger ids than any there now: an announcement shows an
    // existing album's new photos from here on.
    let first_new_id = photo::max_id(&mut *db.conn()?)?.unwrap_or(0) + 1;
    // Albums that were there before and got photos: their marks go when the import ends.
    let mut touched: Vec<i64> = Vec::new();
    progress.start(plan.file_count() as u64);
    for source in plan.albums {
        let names: Vec<&str> = source.categories.iter().map(String::as_str).collect();
        // What is there already; nothing is created before a photo is ready for it.
        let mut album_id = {
            let mut conn = db.conn()?;
            existing_album(&mut conn, &names, &source.title)?
        };
        if let Some((id, true)) = album_id {
            report.albums_created.push((id, source.title.clone()));
        }
        // Photos added to an album that was there before are new from the first id of the run
        // that began adding them: a mark written with the first of them keeps it, so a run
        // resuming a killed one announces the killed run's photos too.
        let mut adding_from = match album_id {
            Some((id, false)) => {
                import_item::find(&mut *db.conn()?, ADDING.0, ADDING.1, &id.to_string())?
            }
            _ => None,
        };
        let mut known: HashSet<String> = match album_id {
            Some((id, _)) => {
                let mut conn = db.conn()?;
                photos::table
                    .filter(photos::album_id.eq(id))
                    .select(photos::content_hash)
                    .load::<String>(&mut *conn)?
                    .into_iter()
                    .collect()
            }
            None => HashSet::new(),
        };
        let mut added_here = 0usize;
        for chunk in source.files.chunks(batch) {
            // Archive entries are read here, in order (a zip cannot be read from several
            // threads); files of a folder are read by the pipeline when their turn comes.
            let incoming: Vec<Incoming> = chunk
                .iter()
                .map(|f| Incoming {
                    name: f.name.clone(),
                    bytes: match &f.file {
                        FileRef::Path(p) => Bytes::File(p.clone()),
                        FileRef::Zip { index, .. } => match zip.as_mut() {
                            Some(z) => {
                                match source::read_zip_entry(z, *index, opts.settings.max_bytes) {
                                    Ok(b) => Bytes::InMemory(b),
                                    Err(e) => Bytes::Unreadable(e.to_string()),
                                }
                            }
                            None => Bytes::Unreadable("no archive".into()),
                        },
                    },
                    hash: None,
                })
                .collect();
            let prepared = batch::prepare(incoming, &mut known, &opts.settings, media);
            report.duplicates.extend(prepared.duplicates);
            report.skipped.extend(prepared.refused);
            let done = prepared.photos;
            let store_error = prepared.store_error;
            if !done.is_empty() {
                let (id, created, added) = db.write_blocking(|conn| -> Result<_> {
                    let (id, created) = match album_id {
                        Some((id, pending)) => {
                            if !pending && adding_from.is_none() {
                                import_item::record(
                                    conn,
                                    ADDING.0,
                                    ADDING.1,
                                    &id.to_string(),
                                    first_new_id,
                                )?;
                            }
                            (id, false)
                        }
                        None => (create_album(conn, &names, &source, actor)?, true),
                    };
                    let added = crate::service::gallery::add_photos(conn, actor, id, &done)?;
                    Ok((id, created, added))
                })?;
                if matches!(album_id, Some((_, false))) && adding_from.is_none() {
                    adding_from = Some(first_new_id);
                }
                if created {
                    report.albums_created.push((id, source.title.clone()));
                    album_id = Some((id, true));
                }
                added_here += added.inserted.len();
                report.imported += added.inserted.len();
                report.duplicates.extend(added.duplicates);
            }
            if let Some(why) = store_error {
                // What is stored is recorded; a run started again goes on from here.
                return Err(crate::error::Error::MediaUnavailable(why));
            }
            progress.advance(chunk.len() as u64, &source.title);
            stop_if_asked(progress)?;
        }
        // An album this import created is new from its first photo to its last, any other
        // from the first photo this run (or the killed run it resumes) added.
        if let Some((id, pending)) = album_id
            && (pending || added_here > 0 || adding_from.is_some())
        {
            let mut conn = db.conn()?;
            let a = album::find(&mut conn, id)?.ok_or(Error::NotFound("album"))?;
            let new = match adding_from {
                Some(from) if !pending => photo::count_from(&mut conn, id, from)?.max(0) as usize,
                _ if pending => a.photo_count.max(0) as usize,
                _ => added_here,
            };
            if new > 0 {
                report.albums_filled.push((id, a.slug, a.title, new));
                if let Some(from) = adding_from.filter(|_| !pending) {
                    report.added_from.push((id, from));
                }
            }
            if adding_from.is_some() && !pending {
                touched.push(id);
            }
        }
    }
    progress.finish();
    // One event: every album this import created goes live together, then the announcement.
    db.write_blocking(|conn| -> Result<()> {
        let ids: Vec<i64> = report.albums_created.iter().map(|a| a.0).collect();
        if !opts.leave_unpublished && !ids.is_empty() {
            crate::service::gallery::publish_albums(conn, actor, &ids)?;
        }
        // The import has ended: its albums are no longer pending, published or (--draft) not.
        let keys: Vec<String> = ids.iter().map(i64::to_string).collect();
        import_item::forget(conn, PENDING.0, PENDING.1, &keys)?;
        let keys: Vec<String> = touched.iter().map(i64::to_string).collect();
        import_item::forget(conn, ADDING.0, ADDING.1, &keys)?;
        if opts.announce && !report.albums_filled.is_empty() {
            let input = announcement(conn, &report, actor)?;
            let p = crate::service::posts::create(conn, actor, &input)?;
            report.announcement = Some(p.id);
        }
        Ok(())
    })?;
    Ok(report)
}

/// The draft that announces an import, composed the way fan archives write them: a title from
/// the albums' shared category path ("Heartstopper Season 2 Captures"), an intro with the count
/// ("7,675 new captures from Heartstopper Season 2 have been added to the gallery!"), then per
/// album an embed — its category path, count and a row of the photos just added (an album that
/// existed before shows only its new photos) — filed under "Gallery Updates", the first new
/// photo featured. The editor can change all of it before publishing.
fn announcement(conn: &mut crate::db::DbConn, report: &Report, actor: &Actor) -> Result<PostInput> {
    let filled = &report.albums_filled;
    let total: usize = filled.iter().map(|a| a.3).sum();
    // Each album's category path, root first.
    let mut paths: Vec<Vec<String>> = Vec::new();
    for (id, ..) in filled {
        let a = album::find(conn, *id)?.ok_or(Error::NotFound("album"))?;
        paths.push(match a.category_id {
            Some(c) => gallery_category::breadcrumb(conn, c)?
                .into_iter()
                .map(|c| c.name)
                .collect(),
            None => Vec::new(),
        });
    }
    let mut shared: Vec<String> = paths.first().cloned().unwrap_or_default();
    for p in &paths[1..] {
        let n = shared.iter().zip(p).take_while(|(a, b)| a == b).count();
        shared.truncate(n);
    }
    let (title, intro) = announcement_words(&shared, total);
    let (title, intro) = match (title, intro) {
        (Some(t), Some(i)) => (t, i),
        _ if filled.len() == 1 => (
            format!(
                "{} in {}",
                crate::units::counted(total as i64, "new photo", "new photos"),
                filled[0].2
            ),
            format!(
                "{} added to {} in the gallery!",
                crate::units::counted(total as i64, "new photo has been", "new photos have been"),
                filled[0].2
            ),
        ),
        _ => (
            format!(
                "{} in {}",
                crate::units::counted(total as i64, "new photo", "new photos"),
                crate::units::counted(filled.len() as i64, "album", "albums")
            ),
            format!(
                "{} added to the gallery in {}!",
                crate::units::counted(total as i64, "new photo has been", "new photos have been"),
                crate::units::counted(filled.len() as i64, "album", "albums")
            ),
        ),
    };
    let from = |id: i64| report.added_from.iter().find(|a| a.0 == id).map(|a| a.1);
    let mut body = format!("{intro}\n\n");
    for (id, slug, ..) in filled {
        match from(*id) {
            Some(first) => body.push_str(&format!("[[album:{slug} from:{first}]]\n\n")),
            None => body.push_str(&format!("[[album:{slug}]]\n\n")),
        }
    }
    let mut input = PostInput::new(title, body);
    input.author_id = actor.user_id;
    input.category_ids =
        vec![crate::service::taxonomy::ensure_category(conn, actor, "Gallery Updates")?.id];
    input.featured_photo_id = photos::table
        .filter(photos::album_id.eq(filled[0].0))
        .filter(photos::id.ge(from(filled[0].0).unwrap_or(0)))
        .order((photos::position.asc(), photos::id.asc()))
        .select(photos::id)
        .first::<i64>(conn)
        .optional()?;
    Ok(input)
}

/// The title and intro an announcement takes from the albums' shared category path, when they
/// share one: the path without its top level (a section such as "Television Productions")
/// when it has more than one; a last category named for what it holds ("Episode Captures",
/// "Stills") gives the title its last word and the intro its noun, any other ends the subject
/// and the title says "Photos".
fn announcement_words(shared: &[String], total: usize) -> (Option<String>, Option<String>) {
    let Some((leaf, above)) = shared.split_last() else {
        return (None, None);
    };
    let above = if shared.len() > 1 && !above.is_empty() {
        &above[1..]
    } else {
        above
    };
    let last = leaf.split_whitespace().last().unwrap_or(leaf);
    // A plural noun ("Captures", "Stills"); not "Press", and not "Series" (its singular is
    // itself, so a count of one would read wrong either way).
    let lower_last = last.to_lowercase();
    let plural = last.len() > 1
        && last.ends_with('s')
        && !lower_last.ends_with("ss")
        && !lower_last.ends_with("series")
        && last.chars().all(char::is_alphabetic);
    let mut parts: Vec<&str> = above.iter().map(String::as_str).collect();
    let kind = if plural {
        last
    } else {
        parts.push(leaf);
        "Photos"
    };
    let subject = parts.join(" ");
    if subject.is_empty() {
        return (None, None);
    }
    let lower = kind.to_lowercase();
    let counted = crate::units::counted(
        total as i64,
        &format!("new {}", &lower[..lower.len() - 1]),
        &format!("new {lower}"),
    );
    let verb = if total == 1 { "has" } else { "have" };
    (
        Some(format!("{subject} {kind}")),
        Some(format!(
            "{counted} from {subject} {verb} been added to the gallery!"
        )),
    )
}

/// The `import_items` (source, kind) marking an album a gallery import created and has not
/// finished; its id is the source id.
const PENDING: (&str, &str) = ("gallery-import", "pending-album");

/// The `import_items` (source, kind) marking an album that was there before a gallery import
/// added photos to it, until the import ends; its id is the album's, its target the first id
/// the import's photos can have.
const ADDING: (&str, &str) = ("gallery-import", "adding-to-album");

/// The album an import of `title` under `categories` would fill, if it exists: its id, and
/// whether a gallery import created it and did not finish (a killed run).
fn existing_album(
    conn: &mut crate::db::DbConn,
    categories: &[&str],
    title: &str,
) -> Result<Option<(i64, bool)>> {
    let mut parent = None;
    for name in categories {
        match gallery_category::find_child_by_name(conn, parent, name)? {
            Some(c) => parent = Some(c.id),
            None => return Ok(None),
        }
    }
    let Some(a) = album::find_in_category_by_title(conn, parent, title)? else {
        return Ok(None);
    };
    let pending = a.status == AlbumStatus::Draft
        && import_item::find(conn, PENDING.0, PENDING.1, &a.id.to_string())?.is_some();
    Ok(Some((a.id, pending)))
}

/// Creates an album (and its categories) for its first photos, marked pending until the
/// import ends.
fn create_album(
    conn: &mut crate::db::DbConn,
    categories: &[&str],
    source: &source::AlbumSource,
    actor: &Actor,
) -> Result<i64> {
    let category = crate::service::gallery::ensure_path(conn, actor, categories)?;
    let a = crate::service::gallery::create_album(
        conn,
        actor,
        &NewAlbum {
            category_id: category,
            title: &source.title,
            description: &source.description,
            credit: &source.credit,
            status: AlbumStatus::Draft,
        },
    )?;
    import_item::record(conn, PENDING.0, PENDING.1, &a.id.to_string(), a.id)?;
    Ok(a.id)
}

#[cfg(test)]
mod tests {
    use super::announcement_words;

    fn words(path: &[&str], n: usize) -> (Option<String>, Option<String>) {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        announcement_words(&path, n)
    }

    #[test]
    fn announcements_are_worded_from_the_category_path() {
        assert_eq!(
            words(
                &[
                    "Television Productions",
                    "Heartstopper",
                    "Season 2",
                    "Episode Captures"
                ],
                7675
            ),
            (
                Some("Heartstopper Season 2 Captures".into()),
                Some(
                    "7,675 new captures from Heartstopper Season 2 have been added to the gallery!"
                        .into()
                )
            )
        );
        assert_eq!(
            words(&["Events", "BAFTA 2024"], 1),
            (
                Some("BAFTA 2024 Photos".into()),
                Some("1 new photo from BAFTA 2024 has been added to the gallery!".into())
            )
        );
        assert_eq!(
            words(&["Season 2"], 3).0.as_deref(),
            Some("Season 2 Photos")
        );
        assert_eq!(words(&[], 3), (None, None));
        // Words ending in s that are not plurals to cut: a folder of one photo reads right.
        assert_eq!(
            words(&["Events", "Press"], 1).1.as_deref(),
            Some("1 new photo from Press has been added to the gallery!")
        );
        assert_eq!(
            words(&["Television", "Heartstopper Series"], 1)
                .1
                .as_deref(),
            Some("1 new photo from Heartstopper Series has been added to the gallery!")
        );
        assert_eq!(
            words(&["Stills"], 3),
            (None, None),
            "a lone kind names no subject"
        );
    }
}
