//! Archive-scale data for benchmarks (`cms generate`): the reference site at its real counts,
//! then a gallery tree shaped like a fan archive's (productions, seasons, films, events by
//! year, photoshoots, candids), albums of varied sizes, photo rows, posts in realistic Markdown,
//! video-vault entries with transcripts and subscribers, up to the totals asked for.
//!
//! Deterministic for a seed: the same options give the same titles, slugs, bodies, counts and
//! dates (only `created_at`-style bookkeeping times differ). Photos share a small pool of real
//! image files through hard links, so a million rows cost megabytes of disk. Rows go in by the
//! thousand per statement, in transactions of bounded size; posts and videos go through the
//! same services the admin uses (revisions, tags, search documents). Nothing is
//! announced: an archive loaded in bulk queues no update emails.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::{Db, DbConn};
use crate::demo::{self, ImagePool};
use crate::error::{Error, Result};
use crate::media::MediaStore;
use crate::models::album::AlbumStatus;
use crate::models::gallery_category::adjust_counts;
use crate::models::photo::{self, PlacedPhoto};
use crate::models::post::{PostInput, PostKind, PostStatus};
use crate::models::subscriber::{SubscriberStatus, Topic};
use crate::models::video::{TranscriptFormat, VideoInput};
use crate::models::{now, site};
use crate::schema::{albums, jobs, subscriber_topics, subscribers};
use crate::slug;

/// Rows per transaction for photos, and posts or videos per transaction.
const PHOTOS_PER_TX: usize = 20_000;
const ITEMS_PER_TX: usize = 500;

/// How big an archive to make. Totals include the reference site's own content.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub photos: u64,
    pub albums: u64,
    pub posts: u64,
    pub videos: u64,
    pub subscribers: u64,
    pub seed: u64,
    /// Real images drawn; every photo links to one of them.
    pub shared_images: u32,
}

impl Default for ScaleOptions {
    fn default() -> Self {
        ScaleOptions {
            photos: 1_000_000,
            albums: 20_000,
            posts: 100_000,
            videos: 2_000,
            subscribers: 100_000,
            seed: 1,
            shared_images: 64,
        }
    }
}

/// What was made, how long each phase took, and the admin login.
#[derive(Debug, Clone, Default)]
pub struct ScaleReport {
    pub admin_email: String,
    pub admin_password: String,
    pub gallery_categories: u64,
    pub albums: u64,
    pub photos: u64,
    pub posts: u64,
    pub videos: u64,
    pub subscribers: u64,
    pub phases: Vec<(&'static str, Duration)>,
}

/// Fills an empty database. `progress` hears one line per phase as it finishes.
pub fn generate(
    db: &Db,
    media: &dyn MediaStore,
    opts: &ScaleOptions,
    mut progress: impl FnMut(&str),
) -> Result<ScaleReport> {
    if !demo::database_is_empty(&mut *db.conn()?)? {
        return Err(Error::invalid(
            "database",
            "already has content: generate fills a new, empty database",
        ));
    }
    let reference_albums = demo::EPISODES.len() as u64;
    let reference_photos: u64 = demo::EPISODES.iter().map(|(_, n)| u64::from(*n)).sum();
    let extra_albums = opts.albums.saturating_sub(reference_albums);
    let extra_photos = opts.photos.saturating_sub(reference_photos);
    if extra_photos > 0 && extra_albums == 0 {
        return Err(Error::invalid(
            "albums",
            format!(
                "must be more than the reference site's {reference_albums} to hold more photos"
            ),
        ));
    }
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut report = ScaleReport::default();
    let mut phase =
        |report: &mut ScaleReport, name: &'static str, started: Instant, line: String| {
            report.phases.push((name, started.elapsed()));
            progress(&format!(
                "{name}: {line} ({:.1} s)",
                started.elapsed().as_secs_f64()
            ));
        };

    let started = Instant::now();
    let pool = ImagePool::new(media, opts.shared_images)?;
    let demo = demo::load_with(db, media, 1, Some(&pool))?
        .ok_or_else(|| Error::invalid("database", "gained content while the generator started"))?;
    report.admin_email = demo.admin_email;
    report.admin_password = demo.admin_password;
    let line = format!(
        "{} posts, {} albums, {} photos, {} shared images",
        demo.posts, demo.albums, demo.photos, opts.shared_images
    );
    phase(&mut report, "reference site", started, line);

    let started = Instant::now();
    // Only a larger archive gets the wider tree: the reference size stays the reference site.
    let made = if extra_albums > 0 {
        let gallery = Gallery::build(db, &mut rng)?;
        gallery.fill(db, media, &pool, &mut rng, extra_albums, extra_photos)?
    } else {
        Filled::default()
    };
    report.gallery_categories = crate::schema::gallery_categories::table
        .count()
        .get_result::<i64>(&mut *db.conn()?)? as u64;
    // Albums (slug, cover photo) for posts to embed and feature.
    let samples: Vec<(String, i64)> = albums::table
        .filter(albums::cover_photo_id.is_not_null())
        .select((albums::slug, albums::cover_photo_id.assume_not_null()))
        .order(albums::id)
        .load(&mut *db.conn()?)?;
    report.albums = demo.albums as u64 + made.albums;
    report.photos = demo.photos as u64 + made.photos;
    let line = format!(
        "{} categories, {} albums, {} photos",
        report.gallery_categories, report.albums, report.photos
    );
    phase(&mut report, "gallery", started, line);

    let started = Instant::now();
    let demo_posts = demo.posts as u64 + 1; // and its one draft
    let extra_posts = opts.posts.saturating_sub(demo_posts);
    make_posts(db, &mut rng, extra_posts, &samples)?;
    report.posts = demo_posts + extra_posts;
    let line = format!("{} posts", report.posts);
    phase(&mut report, "posts", started, line);

    let started = Instant::now();
    let extra_videos = opts.videos.saturating_sub(1);
    make_videos(db, &mut rng, extra_videos)?;
    report.videos = 1 + extra_videos;
    let line = format!("{} videos", report.videos);
    phase(&mut report, "videos", started, line);

    let started = Instant::now();
    make_subscribers(db, &mut rng, opts.subscribers)?;
    report.subscribers = opts.subscribers;
    let line = format!("{} subscribers", report.subscribers);
    phase(&mut report, "subscribers", started, line);

    let started = Instant::now();
    db.write_blocking(|conn| -> Result<()> {
        // Creating published items queued announcements; an archive loaded in bulk sends none.
        diesel::delete(jobs::table.filter(jobs::kind.eq(crate::notify::FANOUT_JOB)))
            .execute(conn)?;
        site::bump_content_version(conn)?;
        Ok(())
    })?;
    diesel::sql_query("ANALYZE").execute(&mut *db.conn()?)?;
    let line = "statistics gathered".into();
    phase(&mut report, "finish", started, line);
    Ok(report)
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// Shows or films, evenly.
fn projects(rng: &mut StdRng) -> &'static [&'static str] {
    if rng.gen_bool(0.5) { SHOWS } else { FILMS }
}

/// The newest date generated content carries: fixed, so output does not depend on the day.
fn anchor() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .unwrap_or_default()
}

fn date_in_year(rng: &mut StdRng, year: i32) -> NaiveDateTime {
    let start = NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let end = anchor().min(start + chrono::Duration::days(365));
    let span = (end - start).num_seconds().max(1);
    start + chrono::Duration::seconds(rng.gen_range(0..span))
}

fn date_since(rng: &mut StdRng, first_year: i32) -> NaiveDateTime {
    let start = NaiveDate::from_ymd_opt(first_year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let span = (anchor() - start).num_seconds().max(1);
    start + chrono::Duration::seconds(rng.gen_range(0..span))
}

const FIRST_YEAR: i32 = 2012;

const SHOWS: &[&str] = &[
    "Heartstopper",
    "The Borrowers",
    "Silver Harbour",
    "Northern Lights",
    "The Long Summer",
    "Saltwater",
    "Kings of Nowhere",
    "Hollow Lane",
    "The Lighthouse Keepers",
    "After School",
    "Brightwater",
    "The Quiet Hours",
];

const FILMS: &[&str] = &[
    "One of Us",
    "Rocketman",
    "Little Joe",
    "The Mirror Crack'd",
    "Paper Boats",
    "A Winter's Tale",
    "Glasshouse",
    "The Last Train North",
    "Static",
    "Small Hours",
    "Wildflowers",
    "Kite Season",
];

const EPISODE_WORDS: &[&str] = &[
    "Out",
    "Family",
    "Promise",
    "Challenge",
    "Heat",
    "Dare",
    "Sorry",
    "Perfect",
    "Meet",
    "Crush",
    "Kiss",
    "Secret",
    "Friend",
    "Boyfriend",
    "Paris",
    "Prom",
    "Storm",
    "Return",
    "Home",
    "Tide",
];

const EVENTS: &[&str] = &[
    "BAFTA Television Awards",
    "Netflix Premiere Screening",
    "London Fashion Week",
    "Royal Television Society Awards",
    "Comic-Con Panel",
    "Press Junket",
    "Charity Gala",
    "GQ Men of the Year Awards",
    "Glamour Women of the Year Awards",
    "Film Festival Photocall",
    "Tag Heuer Anniversary Party",
    "Fan Convention",
];

const MAGAZINES: &[&str] = &[
    "GQ",
    "Rolling Stone UK",
    "Attitude",
    "Wonderland",
    "Hero",
    "Vogue",
    "Esquire",
    "Man About Town",
    "i-D",
    "Variety",
];

const CITIES: &[&str] = &[
    "London",
    "Paris",
    "Los Angeles",
    "New York",
    "Berlin",
    "Toronto",
    "Sydney",
    "Manchester",
    "Brighton",
    "Dublin",
    "Rome",
    "Tokyo",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeafKind {
    Episodes,
    Promo,
    BehindTheScenes,
    FilmStills,
    Premieres,
    Events,
    Photoshoots,
    Candids,
}

/// A category that holds albums.
struct Leaf {
    id: i64,
    kind: LeafKind,
    /// The show or film, or the year as text.
    context: String,
    season: u32,
    year: i32,
    weight: f64,
}

struct Gallery {
    leaves: Vec<Leaf>,
}

/// What filling the gallery made.
#[derive(Default)]
struct Filled {
    albums: u64,
    photos: u64,
}

struct NewAlbumRow {
    leaf: usize,
    slug: String,
    title: String,
    description: String,
    position: i32,
    photos: u64,
    at: NaiveDateTime,
}

impl Gallery {
    /// The category tree: productions by season or film, and events, photoshoots and candids
    /// by year.
    fn build(db: &Db, rng: &mut StdRng) -> Result<Gallery> {
        let mut plan: Vec<(Vec<String>, LeafKind, String, u32, i32, f64)> = Vec::new();
        for show in SHOWS {
            let seasons = if *show == "Heartstopper" {
                3
            } else {
                rng.gen_range(1..=4)
            };
            let year = rng.gen_range(FIRST_YEAR..=2024);
            for s in 1..=seasons {
                let base = ["Television Productions", show, &format!("Season {s}")];
                for (leaf, kind, w) in [
                    ("Episode Captures", LeafKind::Episodes, 1.0),
                    ("Promotional Stills", LeafKind::Promo, 0.5),
                    ("Behind the Scenes", LeafKind::BehindTheScenes, 0.5),
                ] {
                    // The reference season keeps exactly its eight episodes, so its page
                    // compares like for like between archive sizes.
                    if *show == "Heartstopper" && s == 2 && kind == LeafKind::Episodes {
                        continue;
                    }
                    let mut path: Vec<String> = base.iter().map(|s| s.to_string()).collect();
                    path.push(leaf.into());
                    let year = (year + s as i32 - 1).min(anchor().year());
                    plan.push((path, kind, show.to_string(), s, year, w));
                }
            }
        }
        for film in FILMS {
            let year = rng.gen_range(FIRST_YEAR..=2026);
            for (leaf, kind, w) in [
                ("Film Stills", LeafKind::FilmStills, 1.0),
                ("Promotional Stills", LeafKind::Promo, 0.5),
                ("Premieres & Screenings", LeafKind::Premieres, 0.5),
            ] {
                let path = vec!["Film Productions".into(), film.to_string(), leaf.into()];
                plan.push((path, kind, film.to_string(), 0, year, w));
            }
        }
        for year in FIRST_YEAR..=2026 {
            for (top, kind, w) in [
                ("Events & Appearances", LeafKind::Events, 4.0),
                ("Photoshoots & Magazines", LeafKind::Photoshoots, 1.5),
                ("Candids", LeafKind::Candids, 3.0),
            ] {
                let path = vec![top.into(), year.to_string()];
                plan.push((path, kind, year.to_string(), 0, year, w));
            }
        }
        let leaves = db.write_blocking(|conn| -> Result<Vec<Leaf>> {
            let mut leaves = Vec::with_capacity(plan.len());
            for (path, kind, context, season, year, weight) in plan {
                let names: Vec<&str> = path.iter().map(String::as_str).collect();
                let id = crate::service::gallery::ensure_path(conn, &loader(), &names)?
                    .ok_or_else(|| Error::Internal("an empty category path".into()))?;
                leaves.push(Leaf {
                    id,
                    kind,
                    context,
                    season,
                    year,
                    weight,
                });
            }
            Ok(leaves)
        })?;
        Ok(Gallery { leaves })
    }

    fn album_title(&self, rng: &mut StdRng, leaf: &Leaf, k: u32) -> (String, NaiveDateTime) {
        let at = date_in_year(rng, leaf.year);
        let title = match leaf.kind {
            LeafKind::Episodes => format!(
                "S{:02}E{:02} – {}",
                leaf.season,
                k,
                pick(rng, EPISODE_WORDS)
            ),
            LeafKind::Promo if leaf.season > 0 => format!(
                "{} Season {} Promotional Stills – Set {k}",
                leaf.context, leaf.season
            ),
            LeafKind::Promo => format!("{} Promotional Stills – Set {k}", leaf.context),
            LeafKind::BehindTheScenes => format!(
                "{} Season {} Behind the Scenes – Set {k}",
                leaf.context, leaf.season
            ),
            LeafKind::FilmStills => format!("{} Film Stills – Set {k}", leaf.context),
            LeafKind::Premieres => format!("{} {} Premiere", leaf.context, pick(rng, CITIES)),
            LeafKind::Events => format!("{} – {}", at.format("%Y-%m-%d"), pick(rng, EVENTS)),
            LeafKind::Photoshoots => format!("{} – {}", pick(rng, MAGAZINES), at.format("%B %Y")),
            LeafKind::Candids => {
                format!(
                    "{} – Out and About in {}",
                    at.format("%Y-%m-%d"),
                    pick(rng, CITIES)
                )
            }
        };
        (title, at)
    }

    /// Adds `albums` published albums holding `photos` photos in all.
    fn fill(
        &self,
        db: &Db,
        media: &dyn MediaStore,
        pool: &ImagePool,
        rng: &mut StdRng,
        albums: u64,
        photos: u64,
    ) -> Result<Filled> {
        let mut taken: HashSet<String> = albums::table
            .select(albums::slug)
            .load::<String>(&mut *db.conn()?)?
            .into_iter()
            .collect();
        // Album sizes vary from a quarter to nearly twice the mean, like real sets do.
        let weights: Vec<f64> = (0..albums).map(|_| rng.gen_range(0.25..1.75)).collect();
        let sum: f64 = weights.iter().sum();
        let mut sizes: Vec<u64> = weights
            .iter()
            .map(|w| (photos as f64 * w / sum).floor() as u64)
            .collect();
        let short = photos - sizes.iter().sum::<u64>().min(photos);
        let len = sizes.len().max(1) as u64;
        for i in 0..short {
            if let Some(s) = sizes.get_mut((i % len) as usize) {
                *s += 1;
            }
        }
        let total_weight: f64 = self.leaves.iter().map(|l| l.weight).sum();
        let mut per_leaf = vec![(0u32, 0i64, 0i64); self.leaves.len()]; // next k, albums, photos
        let mut rows = Vec::with_capacity(albums as usize);
        for size in sizes {
            let mut x = rng.gen_range(0.0..total_weight);
            let leaf_i = self
                .leaves
                .iter()
                .position(|l| {
                    x -= l.weight;
                    x < 0.0
                })
                .unwrap_or(self.leaves.len() - 1);
            let leaf = &self.leaves[leaf_i];
            let slot = &mut per_leaf[leaf_i];
            slot.0 += 1;
            slot.1 += 1;
            slot.2 += size as i64;
            let (title, at) = self.album_title(rng, leaf, slot.0);
            let base = slug::slugify(&title);
            let mut slug = base.clone();
            let mut n = 2;
            while !taken.insert(slug.clone()) {
                slug = format!("{base}-{n}");
                n += 1;
            }
            rows.push(NewAlbumRow {
                leaf: leaf_i,
                slug,
                description: format!("{} photos from {}.", size, title),
                title,
                position: slot.0 as i32,
                photos: size,
                at,
            });
        }

        let mut filled = Filled::default();
        let mut batch: Vec<PhotoRow> = Vec::with_capacity(PHOTOS_PER_TX);
        let mut album_ids = Vec::with_capacity(rows.len());
        let mut start = 0;
        while start < rows.len() {
            // Albums until about PHOTOS_PER_TX photos, in one transaction with their photos.
            let mut end = start;
            let mut n = 0;
            while end < rows.len() && (end == start || n + rows[end].photos <= PHOTOS_PER_TX as u64)
            {
                n += rows[end].photos;
                end += 1;
            }
            let chunk = &rows[start..end];
            for (album, r) in chunk.iter().enumerate() {
                for j in 0..r.photos {
                    let p = pool.photo(
                        media,
                        &format!("generated:{}:{j}", r.slug),
                        rng.r#gen(),
                        format!("{}-{:04}.jpg", short_name(&r.slug), j + 1),
                    )?;
                    batch.push(PhotoRow {
                        album,
                        position: j as i64,
                        views: (rng.r#gen::<f64>().powi(4) * 20_000.0) as i64,
                        at: r.at,
                        photo: p,
                    });
                }
            }
            let ids = db.write_blocking(|conn| -> Result<Vec<i64>> {
                let t = now();
                let mut ids = Vec::with_capacity(chunk.len());
                for r in chunk {
                    let leaf = &self.leaves[r.leaf];
                    let id: i64 = diesel::insert_into(albums::table)
                        .values((
                            albums::category_id.eq(leaf.id),
                            albums::slug.eq(&r.slug),
                            albums::title.eq(&r.title),
                            albums::description.eq(&r.description),
                            albums::credit.eq("The archive team"),
                            albums::status.eq(AlbumStatus::Published),
                            albums::photo_count.eq(r.photos as i64),
                            albums::position.eq(r.position),
                            albums::published_at.eq(r.at),
                            albums::last_added_at.eq(r.at),
                            albums::created_at.eq(t),
                            albums::updated_at.eq(t),
                        ))
                        .returning(albums::id)
                        .get_result(conn)?;
                    ids.push(id);
                }
                insert_photos(conn, &batch, &ids, t)?;
                crate::service::gallery::bulk_loaded_albums(conn, &loader(), &ids)?;
                Ok(ids)
            })?;
            filled.albums += ids.len() as u64;
            filled.photos += batch.len() as u64;
            album_ids.extend(ids);
            batch.clear();
            start = end;
        }
        db.write_blocking(|conn| -> Result<()> {
            for (i, leaf) in self.leaves.iter().enumerate() {
                adjust_counts(conn, Some(leaf.id), per_leaf[i].1, per_leaf[i].2)?;
            }
            diesel::sql_query(
                "UPDATE albums SET cover_photo_id = (SELECT p.id FROM photos p \
                 WHERE p.album_id = albums.id ORDER BY p.position, p.id LIMIT 1) \
                 WHERE cover_photo_id IS NULL",
            )
            .execute(conn)?;
            Ok(())
        })?;
        Ok(filled)
    }
}

/// `s02e01-out` → `s02e01`: the file-name stem of an album's photos.
fn short_name(slug: &str) -> &str {
    slug.split('-').next().unwrap_or("photo")
}

struct PhotoRow {
    /// Index into the transaction's album ids.
    album: usize,
    position: i64,
    views: i64,
    at: NaiveDateTime,
    photo: crate::models::photo::NewPhoto,
}

fn insert_photos(
    conn: &mut DbConn,
    rows: &[PhotoRow],
    album_ids: &[i64],
    t: NaiveDateTime,
) -> Result<()> {
    let placed: Vec<PlacedPhoto> = rows
        .iter()
        .map(|r| PlacedPhoto {
            album_id: album_ids[r.album],
            position: r.position,
            views: r.views,
            created_at: r.at.min(t),
            photo: &r.photo,
        })
        .collect();
    photo::insert_rows(conn, &placed)?;
    Ok(())
}

const ACTORS: &[&str] = &[
    "Kit",
    "Joe Locke",
    "Yasmin Finney",
    "William Gao",
    "Corinna Brown",
    "Olivia Colman",
    "Tobie Donovan",
    "Jenny Walser",
];

const PUBLICATIONS: &[&str] = &[
    "Rolling Stone UK",
    "Entertainment Weekly",
    "GQ",
    "The New York Times",
    "Variety",
    "The Guardian",
    "Attitude",
    "Netflix Tudum",
    "Radio Times",
    "Teen Vogue",
];

const NEWS_CATEGORIES: &[&str] = &[
    "Gallery Updates",
    "Interviews",
    "Projects",
    "Fashion",
    "Events",
    "Video Vault",
    "Awards",
    "Site News",
    "Press",
];

const TAGS: &[&str] = &[
    "Captures",
    "Interview",
    "Netflix",
    "Film",
    "Fashion",
    "Events",
    "Awards",
    "Press",
    "Video Vault",
    "Photoshoot",
    "Premiere",
    "Behind the Scenes",
    "Theatre",
    "Charity",
    "Podcast",
    "Magazine Cover",
    "Red Carpet",
    "Fan Mail",
    "Site News",
    "Birthday",
];

/// A sentence about the archive's subject, with real-looking variety.
fn sentence(rng: &mut StdRng) -> String {
    let actor = *pick(rng, ACTORS);
    let project = {
        let list = projects(rng);
        *pick(rng, list)
    };
    let city = *pick(rng, CITIES);
    let publication = *pick(rng, PUBLICATIONS);
    let event = *pick(rng, EVENTS);
    match rng.gen_range(0..14) {
        0 => format!("{actor} spoke about the final weeks of filming {project} in {city}."),
        1 => {
            format!("The new season of {project} arrives with eight episodes and a longer finale.")
        }
        2 => format!("We have added high-quality captures from {project} to the gallery."),
        3 => format!(
            "In a conversation with {publication}, {actor} looks back on the first audition."
        ),
        4 => format!("Photos from the {event} are now in the gallery, thanks to our contributors."),
        5 => {
            format!("Fans gathered outside the cinema in {city} hours before the screening began.")
        }
        6 => "Please credit the archive if you share these images elsewhere.".into(),
        7 => format!("{actor} thanked the crew, calling the shoot the happiest of their career."),
        8 => format!("Production on {project} wrapped in {city} after eleven weeks."),
        9 => "The interview also covers fashion, music and the pressure of being online.".into(),
        10 => {
            format!("{publication} shared a short clip from the set, which we have archived below.")
        }
        11 => format!("Tickets for the {event} sold out within minutes of going on sale."),
        12 => "A full transcript of the panel is available in the video vault.".into(),
        _ => format!("Rehearsals took place in {city}, with the cast arriving a week early."),
    }
}

fn paragraph(rng: &mut StdRng) -> String {
    let n = rng.gen_range(2..=5);
    let mut p: Vec<String> = (0..n).map(|_| sentence(rng)).collect();
    if rng.gen_bool(0.2) {
        let i = rng.gen_range(0..p.len());
        p[i] = format!("**{}**", p[i].trim_end_matches('.'));
    }
    if rng.gen_bool(0.15) {
        p.push(format!(
            "[Read more at {}](https://www.example.com/{}).",
            pick(rng, PUBLICATIONS),
            rng.gen_range(1000..99999)
        ));
    }
    p.join(" ")
}

/// A post body: paragraphs with the odd heading, list, quote and gallery or video embed.
fn body(rng: &mut StdRng, albums: &[(String, i64)], videos: &[String]) -> String {
    let mut parts = Vec::new();
    for i in 0..rng.gen_range(2..=7) {
        if i > 0 && rng.gen_bool(0.15) {
            parts.push(format!("## {}", sentence(rng).trim_end_matches('.')));
        }
        match rng.gen_range(0..10) {
            0 => parts.push(
                (0..rng.gen_range(3..6))
                    .map(|_| format!("- {}", sentence(rng)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            1 => parts.push(format!("> {}", paragraph(rng))),
            _ => parts.push(paragraph(rng)),
        }
    }
    if !albums.is_empty() && rng.gen_bool(0.2) {
        for _ in 0..rng.gen_range(1..=3) {
            parts.push(format!("[[album:{}]]", pick(rng, albums).0));
        }
    }
    if !videos.is_empty() && rng.gen_bool(0.05) {
        parts.push(format!("[[video:{}]]", pick(rng, videos)));
    }
    parts.join("\n\n")
}

fn post_title(rng: &mut StdRng) -> String {
    let actor = *pick(rng, ACTORS);
    let project = {
        let list = projects(rng);
        *pick(rng, list)
    };
    let city = *pick(rng, CITIES);
    let event = *pick(rng, EVENTS);
    let publication = *pick(rng, PUBLICATIONS);
    match rng.gen_range(0..10) {
        0 => format!("New {project} Captures in the Gallery"),
        1 => format!("{actor} Talks {project} with {publication}"),
        2 => format!("{actor} Attends the {event} in {city}"),
        3 => format!("First Look at {project}"),
        4 => format!("{project} Premiere Date Announced"),
        5 => format!("Photos: {actor} Out and About in {city}"),
        6 => format!("{publication} Photoshoot Added to the Gallery"),
        7 => format!("Video: {actor} on the Set of {project}"),
        8 => format!("{actor} Joins the Cast of {project}"),
        _ => format!(
            "Gallery Update: {event} {}",
            rng.gen_range(FIRST_YEAR..=2026)
        ),
    }
}

fn make_posts(db: &Db, rng: &mut StdRng, count: u64, albums: &[(String, i64)]) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let (author, categories, videos) = db.write_blocking(|conn| -> Result<_> {
        let author = crate::schema::users::table
            .select(crate::schema::users::id)
            .order(crate::schema::users::id)
            .first::<i64>(conn)?;
        let categories: Vec<i64> = NEWS_CATEGORIES
            .iter()
            .map(|n| crate::service::taxonomy::ensure_category(conn, &loader(), n).map(|c| c.id))
            .collect::<Result<_>>()?;
        let videos: Vec<String> = crate::schema::videos::table
            .select(crate::schema::videos::slug)
            .load(conn)?;
        Ok((author, categories, videos))
    })?;
    let tags: Vec<String> = TAGS
        .iter()
        .map(|t| t.to_string())
        .chain(SHOWS.iter().chain(FILMS).map(|t| t.to_string()))
        .chain(ACTORS.iter().map(|t| t.to_string()))
        .collect();
    let mut made = 0;
    while made < count {
        let n = (count - made).min(ITEMS_PER_TX as u64);
        let inputs: Vec<PostInput> = (0..n)
            .map(|_| {
                let mut input = PostInput::new(post_title(rng), body(rng, albums, &videos));
                input.author_id = Some(author);
                input.kind = if rng.gen_bool(0.25) {
                    PostKind::Article
                } else {
                    PostKind::News
                };
                let roll: f64 = rng.r#gen();
                let at = date_since(rng, FIRST_YEAR);
                input.status = if roll < 0.02 {
                    PostStatus::Draft
                } else if roll < 0.025 {
                    input.publish_at = Some(now() + chrono::Duration::days(rng.gen_range(1..60)));
                    PostStatus::Scheduled
                } else {
                    input.publish_at = Some(at);
                    PostStatus::Published
                };
                input.category_ids = vec![*pick(rng, &categories)];
                let k = rng.gen_range(1..=4);
                input.tags = (0..k).map(|_| pick(rng, &tags).clone()).collect();
                input.tags.sort();
                input.tags.dedup();
                if input.kind == PostKind::Article {
                    input.source_publication = Some(pick(rng, PUBLICATIONS).to_string());
                    input.source_author = Some(pick(rng, ACTORS).to_string());
                    input.source_url = Some(format!(
                        "https://www.example.com/{}",
                        rng.gen_range(1000..99999)
                    ));
                    input.source_date = Some(at.date());
                }
                if !albums.is_empty() && rng.gen_bool(0.3) {
                    input.featured_photo_id = Some(pick(rng, albums).1);
                }
                input
            })
            .collect();
        db.write_blocking(|conn| -> Result<()> {
            let loader = loader();
            for input in &inputs {
                crate::service::posts::create(conn, &loader, input)?;
            }
            Ok(())
        })?;
        made += n;
    }
    Ok(())
}

const SERIES: &[&str] = &[
    "GQ Action Replay",
    "Netflix Behind the Streams",
    "Red Carpet Interviews",
    "Press Junkets",
    "Late Night Appearances",
    "Podcasts",
    "Trailers & Teasers",
    "Fan Q&A",
];

fn transcript(rng: &mut StdRng) -> (String, i32) {
    let mut out = String::from("WEBVTT\n");
    let mut t = 0u32;
    let cues = rng.gen_range(20..80);
    for _ in 0..cues {
        let len = rng.gen_range(3..9);
        let ts = |s: u32| format!("{:02}:{:02}:{:02}.000", s / 3600, s / 60 % 60, s % 60);
        let speaker = pick(rng, ACTORS).to_uppercase();
        out.push_str(&format!(
            "\n{} --> {}\n{speaker}: {}\n",
            ts(t),
            ts(t + len),
            sentence(rng)
        ));
        t += len;
    }
    (out, t as i32)
}

fn make_videos(db: &Db, rng: &mut StdRng, count: u64) -> Result<()> {
    const ID_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    let mut made = 0;
    while made < count {
        let n = (count - made).min(ITEMS_PER_TX as u64);
        let inputs: Vec<VideoInput> = (0..n)
            .map(|_| {
                let series = *pick(rng, SERIES);
                let project = {
                    let list = projects(rng);
                    *pick(rng, list)
                };
                let actor = *pick(rng, ACTORS);
                let (transcript, duration) = transcript(rng);
                let id: String = (0..11)
                    .map(|_| ID_CHARS[rng.gen_range(0..ID_CHARS.len())] as char)
                    .collect();
                VideoInput {
                    title: format!("{series}: {actor} on {project}"),
                    description: paragraph(rng),
                    series: series.into(),
                    source: pick(rng, PUBLICATIONS).to_string(),
                    release_date: Some(date_since(rng, FIRST_YEAR).date()),
                    credits: format!("Starring: {actor}"),
                    duration_seconds: Some(duration),
                    embed_url: Some(format!("https://www.youtube.com/watch?v={id}")),
                    transcript,
                    transcript_format: Some(TranscriptFormat::Vtt),
                    published: rng.gen_bool(0.95),
                    ..VideoInput::default()
                }
            })
            .collect();
        db.write_blocking(|conn| -> Result<()> {
            let loader = loader();
            for input in &inputs {
                crate::service::videos::create(conn, &loader, input)?;
            }
            Ok(())
        })?;
        made += n;
    }
    Ok(())
}

/// Who writes a generated archive: a bulk load, quiet like an import (nobody is emailed,
/// no audit entry per item).
fn loader() -> crate::models::audit::Actor {
    crate::models::audit::Actor::import("generate")
}

fn make_subscribers(db: &Db, rng: &mut StdRng, count: u64) -> Result<()> {
    const BATCH: u64 = 2_000;
    let mut made = 0;
    while made < count {
        let n = (count - made).min(BATCH);
        let t = now();
        let people: Vec<(String, SubscriberStatus, Vec<Topic>)> = (made..made + n)
            .map(|i| {
                let roll: f64 = rng.r#gen();
                let status = if roll < 0.88 {
                    SubscriberStatus::Confirmed
                } else if roll < 0.95 {
                    SubscriberStatus::Pending
                } else {
                    SubscriberStatus::Unsubscribed
                };
                let mut topics: Vec<Topic> = [
                    (Topic::News, 0.8),
                    (Topic::Gallery, 0.6),
                    (Topic::Videos, 0.4),
                ]
                .into_iter()
                .filter(|(_, p)| rng.gen_bool(*p))
                .map(|(t, _)| t)
                .collect();
                if topics.is_empty() {
                    topics.push(Topic::News);
                }
                (format!("fan{i}@example.net"), status, topics)
            })
            .collect();
        db.write_blocking(|conn| -> Result<()> {
            let rows: Vec<_> = people
                .iter()
                .map(|(email, status, _)| {
                    let confirmed = *status != SubscriberStatus::Pending;
                    (
                        subscribers::email.eq(email),
                        subscribers::status.eq(*status),
                        subscribers::source.eq("generated"),
                        subscribers::created_at.eq(t),
                        subscribers::confirmed_at.eq(confirmed.then_some(t)),
                        subscribers::unsubscribed_at
                            .eq((*status == SubscriberStatus::Unsubscribed).then_some(t)),
                        subscribers::updated_at.eq(t),
                    )
                })
                .collect();
            let ids: Vec<(i64, String)> =
                crate::per_backend!(conn, |c| diesel::insert_into(subscribers::table)
                    .values(&rows)
                    .returning((subscribers::id, subscribers::email))
                    .get_results(c))?;
            let by_email: std::collections::HashMap<&str, &Vec<Topic>> = people
                .iter()
                .map(|(e, _, topics)| (e.as_str(), topics))
                .collect();
            let topic_rows: Vec<_> = ids
                .iter()
                .flat_map(|(id, email)| {
                    by_email
                        .get(email.as_str())
                        .map(|t| t.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .map(move |t| {
                            (
                                subscriber_topics::subscriber_id.eq(*id),
                                subscriber_topics::topic.eq(*t),
                            )
                        })
                })
                .collect();
            for chunk in topic_rows.chunks(5_000) {
                crate::per_backend!(conn, |c| diesel::insert_into(subscriber_topics::table)
                    .values(chunk)
                    .execute(c))?;
            }
            Ok(())
        })?;
        made += n;
    }
    Ok(())
}
