//! Old addresses that answer with a permanent redirect: every URL of an imported WordPress,
//! Coppermine or Piwigo site, and the ones an admin adds. Looked up only when nothing else
//! answered a request (and for the legacy query shapes of `/`), never on a cached page.
//!
//! Paths are stored normalised ([`normalize`]): percent-decoded, without a trailing slash,
//! with the query's parameters sorted. A target is an item, followed to its current address
//! when the request comes (a renamed post still redirects; a deleted or unpublished one does
//! not), or a fixed path.

use diesel::prelude::*;

use super::now;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::schema::{
    albums, categories, gallery_categories, photos, posts, redirects, tags, videos,
};

/// Where a redirect leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Post(i64),
    Category(i64),
    Tag(i64),
    Album(i64),
    /// A photo's page.
    Photo(i64),
    /// A photo's original file.
    PhotoFile(i64),
    GalleryCategory(i64),
    Video(i64),
    /// A fixed path on this site (starting with `/`).
    Path(String),
}

impl Target {
    fn parts(&self) -> (&'static str, Option<i64>, Option<&str>) {
        match self {
            Target::Post(id) => ("post", Some(*id), None),
            Target::Category(id) => ("category", Some(*id), None),
            Target::Tag(id) => ("tag", Some(*id), None),
            Target::Album(id) => ("album", Some(*id), None),
            Target::Photo(id) => ("photo", Some(*id), None),
            Target::PhotoFile(id) => ("photo_file", Some(*id), None),
            Target::GalleryCategory(id) => ("gallery_category", Some(*id), None),
            Target::Video(id) => ("video", Some(*id), None),
            Target::Path(p) => ("path", None, Some(p.as_str())),
        }
    }

    fn from_parts(kind: &str, id: Option<i64>, path: Option<String>) -> Option<Target> {
        Some(match (kind, id, path) {
            ("post", Some(id), _) => Target::Post(id),
            ("category", Some(id), _) => Target::Category(id),
            ("tag", Some(id), _) => Target::Tag(id),
            ("album", Some(id), _) => Target::Album(id),
            ("photo", Some(id), _) => Target::Photo(id),
            ("photo_file", Some(id), _) => Target::PhotoFile(id),
            ("gallery_category", Some(id), _) => Target::GalleryCategory(id),
            ("video", Some(id), _) => Target::Video(id),
            ("path", _, Some(p)) => Target::Path(p),
            _ => return None,
        })
    }

    /// How the admin shows it, e.g. `post 12` or `/feed.rss`.
    pub fn describe(&self) -> String {
        match self.parts() {
            (_, _, Some(p)) => p.to_string(),
            (kind, Some(id), _) => format!("{} {id}", kind.replace('_', " ")),
            (kind, None, None) => kind.to_string(),
        }
    }
}

/// A stored redirect.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub id: i64,
    pub old_path: String,
    pub target: Target,
    pub source: String,
    pub created_at: chrono::NaiveDateTime,
}

type Row = (
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    String,
    chrono::NaiveDateTime,
);

fn from_row(r: Row) -> Option<Redirect> {
    Some(Redirect {
        id: r.0,
        old_path: r.1,
        target: Target::from_parts(&r.2, r.3, r.4)?,
        source: r.5,
        created_at: r.6,
    })
}

/// Percent-decodes a URL component (`+` stays a plus); invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The stored form of an address: the path percent-decoded, lower-cased for ASCII letters
/// only where the source's URLs are case-insensitive (never: WordPress slugs are lower-case
/// already, file names are not), without trailing slashes (but `/` stays `/`), and the query's
/// `key=value` pairs decoded and sorted, empty ones dropped. Accepts a full URL or a path.
pub fn normalize(address: &str) -> Option<String> {
    let rest = match address.find("://") {
        Some(i) => {
            let after = &address[i + 3..];
            &after[after.find('/').unwrap_or(after.len())..]
        }
        None => address,
    };
    let rest = rest.split('#').next().unwrap_or("");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let mut path = percent_decode(path);
    if path.chars().any(char::is_control) {
        return None;
    }
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    while path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    let mut pairs: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| percent_decode(&p.replace('+', " ")))
        .filter(|p| !p.ends_with('=') && !p.chars().any(char::is_control))
        .collect();
    pairs.sort();
    pairs.dedup();
    if pairs.is_empty() {
        Some(path)
    } else {
        Some(format!("{path}?{}", pairs.join("&")))
    }
}

/// Adds a redirect from `old` (a URL or path, normalised here); an existing redirect from the
/// same address is replaced. Refuses to redirect an address to itself.
pub fn put(conn: &mut DbConn, old: &str, target: &Target, source: &str) -> Result<()> {
    let old_path = normalize(old).ok_or_else(|| Error::invalid("old_path", "not an address"))?;
    check_target(&old_path, target)?;
    let (kind, id, path) = target.parts();
    diesel::delete(redirects::table.filter(redirects::old_path.eq(&old_path))).execute(conn)?;
    diesel::insert_into(redirects::table)
        .values((
            redirects::old_path.eq(&old_path),
            redirects::target_kind.eq(kind),
            redirects::target_id.eq(id),
            redirects::target_path.eq(path),
            redirects::source.eq(source),
            redirects::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Rows per statement in [`put_many`]: 6 columns stay well under SQLite's bound parameters.
const BATCH_ROWS: usize = 1_000;

/// [`put`] for many redirects at once (an import's batch): one multi-row insert per thousand
/// that replaces the target of an address already there. Addresses that do not normalise are
/// left out; when one appears twice, the last target wins.
pub fn put_many(conn: &mut DbConn, rows: &[(String, Target)], source: &str) -> Result<()> {
    use diesel::upsert::excluded;
    let mut unique: std::collections::BTreeMap<String, &Target> = Default::default();
    for (old, target) in rows {
        if let Some(p) = normalize(old) {
            check_target(&p, target)?;
            unique.insert(p, target);
        }
    }
    let all: Vec<(String, &Target)> = unique.into_iter().collect();
    let t = now();
    for chunk in all.chunks(BATCH_ROWS) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(old, target)| {
                let (kind, id, path) = target.parts();
                (
                    redirects::old_path.eq(old.as_str()),
                    redirects::target_kind.eq(kind),
                    redirects::target_id.eq(id),
                    redirects::target_path.eq(path),
                    redirects::source.eq(source),
                    redirects::created_at.eq(t),
                )
            })
            .collect();
        crate::per_backend!(conn, |c| diesel::insert_into(redirects::table)
            .values(&values)
            .on_conflict(redirects::old_path)
            .do_update()
            .set((
                redirects::target_kind.eq(excluded(redirects::target_kind)),
                redirects::target_id.eq(excluded(redirects::target_id)),
                redirects::target_path.eq(excluded(redirects::target_path)),
                redirects::source.eq(excluded(redirects::source)),
                redirects::created_at.eq(excluded(redirects::created_at)),
            ))
            .execute(c))?;
    }
    Ok(())
}

/// A fixed path must be on this site and not the old address itself.
fn check_target(old_path: &str, target: &Target) -> Result<()> {
    if let Target::Path(p) = target {
        if !p.starts_with('/') || p.starts_with("//") {
            return Err(Error::invalid(
                "target",
                "must be a path on this site, starting with /",
            ));
        }
        if normalize(p).as_deref() == Some(old_path) {
            return Err(Error::invalid("target", "redirects to itself"));
        }
    }
    Ok(())
}

/// Removes one redirect.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    let n = diesel::delete(redirects::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("redirect"));
    }
    Ok(())
}

/// A page of redirects, newest first, optionally those whose old path contains `q`.
pub fn list(
    conn: &mut DbConn,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Redirect>, i64)> {
    let filter = |q: Option<&str>| {
        let mut b = redirects::table.into_boxed();
        if let Some(q) = q.filter(|q| !q.is_empty()) {
            b = b.filter(redirects::old_path.like(format!("%{}%", q.replace(['%', '_'], ""))));
        }
        b
    };
    let total: i64 = filter(q).count().get_result(conn)?;
    let rows: Vec<Row> = filter(q)
        .order(redirects::id.desc())
        .limit(limit)
        .offset(offset)
        .select((
            redirects::id,
            redirects::old_path,
            redirects::target_kind,
            redirects::target_id,
            redirects::target_path,
            redirects::source,
            redirects::created_at,
        ))
        .load(conn)?;
    Ok((rows.into_iter().filter_map(from_row).collect(), total))
}

/// The redirect stored for exactly this normalised address.
pub fn find(conn: &mut DbConn, old_path: &str) -> QueryResult<Option<Target>> {
    let row: Option<(String, Option<i64>, Option<String>)> = redirects::table
        .filter(redirects::old_path.eq(old_path))
        .select((
            redirects::target_kind,
            redirects::target_id,
            redirects::target_path,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(k, id, p)| Target::from_parts(&k, id, p)))
}

/// How many redirects there are (the admin's count; 0 lets a request skip the lookup).
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    redirects::table.count().get_result(conn)
}

/// The current address of a target, or `None` when it is gone or not public.
pub fn resolve(conn: &mut DbConn, target: &Target) -> QueryResult<Option<String>> {
    use crate::models::album::AlbumStatus;
    use crate::models::post::PostStatus;
    Ok(match target {
        Target::Path(p) => Some(p.clone()),
        Target::Post(id) => posts::table
            .find(id)
            .filter(posts::status.eq(PostStatus::Published))
            .select(posts::slug)
            .first::<String>(conn)
            .optional()?
            .map(|s| format!("/posts/{s}")),
        Target::Category(id) => categories::table
            .find(id)
            .select(categories::slug)
            .first::<String>(conn)
            .optional()?
            .map(|s| format!("/category/{s}")),
        Target::Tag(id) => tags::table
            .find(id)
            .select(tags::slug)
            .first::<String>(conn)
            .optional()?
            .map(|s| format!("/tag/{s}")),
        Target::Album(id) => albums::table
            .find(id)
            .filter(albums::status.eq(AlbumStatus::Published))
            .select(albums::slug)
            .first::<String>(conn)
            .optional()?
            .map(|s| format!("/albums/{s}")),
        Target::Photo(id) | Target::PhotoFile(id) => {
            let row: Option<(String, String)> = photos::table
                .inner_join(albums::table)
                .filter(photos::id.eq(id))
                .filter(albums::status.eq(AlbumStatus::Published))
                .select((photos::content_hash, photos::mime))
                .first(conn)
                .optional()?;
            row.map(|(hash, mime)| match target {
                Target::PhotoFile(_) => {
                    format!("/media/{}", crate::media::photo_original_key(&hash, &mime))
                }
                _ => format!("/photos/{id}"),
            })
        }
        Target::GalleryCategory(id) => gallery_categories::table
            .find(id)
            .select(gallery_categories::path)
            .first::<String>(conn)
            .optional()?
            .map(|p| format!("/gallery/{p}")),
        Target::Video(id) => videos::table
            .find(id)
            .filter(videos::status.eq(crate::models::video::VideoStatus::Published))
            .select(videos::slug)
            .first::<String>(conn)
            .optional()?
            .map(|s| format!("/videos/{s}")),
    })
}

/// Removes a WordPress image-size suffix: `x-300x200.jpg` → `x.jpg`, `x-scaled.jpg` → `x.jpg`.
fn strip_size_suffix(path: &str) -> Option<String> {
    let (stem, ext) = path.rsplit_once('.')?;
    if let Some(s) = stem.strip_suffix("-scaled") {
        return Some(format!("{s}.{ext}"));
    }
    let (base, size) = stem.rsplit_once('-')?;
    let (w, h) = size.split_once('x')?;
    let digits = |t: &str| !t.is_empty() && t.len() <= 5 && t.bytes().all(|b| b.is_ascii_digit());
    (digits(w) && digits(h)).then(|| format!("{base}.{ext}"))
}

/// The shorter forms of a query that is a path, as Piwigo's are
/// (`index.php?/category/5-concerts/start-15`): each leading part of it, longest first, with
/// the words Piwigo appends to an id (`5-concerts` → `5`) left out. Nothing for other queries.
fn path_query_forms(pair: &str) -> impl Iterator<Item = String> + '_ {
    let parts: Vec<&str> = if pair.starts_with('/') {
        pair.trim_matches('/')
            .split('/')
            .take(8)
            .map(|part| {
                let digits = part.bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 && part.as_bytes().get(digits) == Some(&b'-') {
                    &part[..digits]
                } else {
                    part
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    (1..=parts.len())
        .rev()
        .map(move |n| format!("/{}", parts[..n].join("/")))
        .filter(move |f| f != pair)
}

/// The width of a Piwigo derivative by its suffix (`-me` is "medium", 792 pixels wide).
fn piwigo_derivative_width(suffix: &str) -> Option<u32> {
    Some(match suffix {
        "sq" => 120,
        "th" => 144,
        "2s" => 240,
        "xs" => 432,
        "sm" => 576,
        "me" => 792,
        "la" => 1008,
        "xl" => 1224,
        "xx" => 1656,
        custom => {
            let size = custom.strip_prefix("cu_")?;
            let digits: String = size
                .chars()
                .skip_while(|c| c.is_ascii_alphabetic())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap_or(250)
        }
    })
}

/// A resized copy a gallery kept beside an original, as the original's address and about the
/// width it was: Coppermine's `thumb_x.jpg` and `normal_x.jpg` beside `x.jpg`, Piwigo's
/// derivatives (`i.php?/upload/…/x-me.jpg` and `_data/i/upload/…/x-me.jpg` of
/// `upload/…/x.jpg`).
fn resized_original(bare: &str, query: &str) -> Option<(String, u32)> {
    let piwigo = |prefix: &str, rest: &str| -> Option<(String, u32)> {
        let (stem, ext) = rest.rsplit_once('.')?;
        let (base, suffix) = stem.rsplit_once('-')?;
        let width = piwigo_derivative_width(suffix)?;
        Some((
            format!("{prefix}/{}.{ext}", base.trim_start_matches('/')),
            width,
        ))
    };
    if let Some(prefix) = bare.strip_suffix("/i.php") {
        return query
            .split('&')
            .find(|p| p.starts_with('/'))
            .and_then(|rest| piwigo(prefix, rest));
    }
    if let Some((prefix, rest)) = bare.split_once("/_data/i/") {
        return piwigo(prefix, rest);
    }
    let (dir, name) = bare.rsplit_once('/')?;
    for (prefix, width) in [("thumb_", 100), ("normal_", 400)] {
        if let Some(orig) = name.strip_prefix(prefix).filter(|o| !o.is_empty()) {
            return Some((format!("{dir}/{orig}"), width));
        }
    }
    None
}

/// A published photo's file at the smallest stored width of at least `width` (else its
/// largest, else the original).
fn photo_file_near(conn: &mut DbConn, id: i64, width: u32) -> QueryResult<Option<String>> {
    use crate::models::album::AlbumStatus;
    let row: Option<(String, String, String)> = photos::table
        .inner_join(albums::table)
        .filter(photos::id.eq(id))
        .filter(albums::status.eq(AlbumStatus::Published))
        .select((photos::content_hash, photos::mime, photos::variants))
        .first(conn)
        .optional()?;
    Ok(row.map(|(hash, mime, variants)| {
        let mut widths: Vec<u32> = serde_json::from_str(&variants).unwrap_or_default();
        widths.sort_unstable();
        let chosen = widths
            .iter()
            .copied()
            .find(|w| *w >= width)
            .or(widths.last().copied());
        match chosen {
            Some(w) => format!("/media/{}", crate::media::photo_variant_key(&hash, w)),
            None => format!("/media/{}", crate::media::photo_original_key(&hash, &mime)),
        }
    }))
}

/// The addresses every WordPress site has, answered without a table: monthly and daily
/// archives, feeds, list pages.
fn builtin(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    match parts.as_slice() {
        ["feed"] | ["feed", "rss2"] | ["feed", "rss"] | ["rss"] | ["comments", "feed"] => {
            Some("/feed.rss".into())
        }
        ["feed", "atom"] => Some("/feed.atom".into()),
        ["page", n] => num(n, n.len())
            .filter(|n| *n >= 1 && *n < 100_000)
            .map(|n| format!("/posts?page={n}")),
        [y, m] | [y, m, _] if num(y, 4).is_some() => {
            let (y, m) = (num(y, 4)?, num(m, 2)?);
            (1..=12)
                .contains(&m)
                .then(|| format!("/archive/{y}/{m:02}"))
        }
        _ => None,
    }
}

/// Where an old address lives now, followed to the current address of its target: the
/// address itself, then each of its query parameters alone (`/?p=12&utm_source=x` finds
/// `/?p=12`), then the path without its query, the original of a resized WordPress upload,
/// a category's feed, and the shapes every WordPress site has. `None` when nothing matches,
/// the target is gone or unpublished, or the answer would be the same address.
pub fn lookup(conn: &mut DbConn, path: &str, query: &str) -> QueryResult<Option<String>> {
    let full = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let Some(key) = normalize(&full) else {
        return Ok(None);
    };
    let bare = key.split('?').next().unwrap_or("/").to_string();
    let mut candidates = vec![key.clone()];
    if let Some((p, q)) = key.split_once('?') {
        for pair in q.split('&').take(8) {
            candidates.push(format!("{p}?{pair}"));
            candidates.extend(path_query_forms(pair).map(|f| format!("{p}?{f}")));
        }
        candidates.push(p.to_string());
    }
    let found: Vec<(String, String, Option<i64>, Option<String>)> = redirects::table
        .filter(redirects::old_path.eq_any(&candidates))
        .select((
            redirects::old_path,
            redirects::target_kind,
            redirects::target_id,
            redirects::target_path,
        ))
        .load(conn)?;
    for c in &candidates {
        if let Some((_, k, id, p)) = found.iter().find(|f| f.0 == *c)
            && let Some(t) = Target::from_parts(k, *id, p.clone())
            && let Some(to) = resolve(conn, &t)?
        {
            return Ok((to != full).then_some(to));
        }
    }
    if bare.contains("/wp-content/uploads/")
        && let Some(orig) = strip_size_suffix(&bare)
        && let Some(t) = find(conn, &orig)?
    {
        return resolve(conn, &t);
    }
    if let Some((orig, width)) = resized_original(&bare, key.split_once('?').map_or("", |k| k.1))
        && let Some(Target::PhotoFile(id)) = find(conn, &orig)?
    {
        return photo_file_near(conn, id, width);
    }
    if let Some(cat) = bare.strip_suffix("/feed")
        && cat.starts_with("/category/")
        && let Some(t) = find(conn, cat)?
        && let Some(to) = resolve(conn, &t)?
    {
        return Ok(Some(format!("{to}/feed.atom")));
    }
    Ok(builtin(&bare).filter(|to| *to != full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_addresses() {
        assert_eq!(
            normalize("https://fan.example/2023/08/premiere/").as_deref(),
            Some("/2023/08/premiere")
        );
        assert_eq!(normalize("/?p=12").as_deref(), Some("/?p=12"));
        assert_eq!(normalize("/?utm=x&p=12&").as_deref(), Some("/?p=12&utm=x"));
        assert_eq!(
            normalize("/%e2%9c%a8-sparkle/").as_deref(),
            Some("/✨-sparkle")
        );
        assert_eq!(normalize("/").as_deref(), Some("/"));
        assert_eq!(
            normalize("index.php?cat=3#top").as_deref(),
            Some("/index.php?cat=3")
        );
        assert_eq!(normalize("/a%00b"), None);
        assert_eq!(normalize("/a%zzb/").as_deref(), Some("/a%zzb"));
    }

    #[test]
    fn piwigo_queries_are_paths() {
        // The query is a path: kept whole (nothing to sort), slashes and all.
        assert_eq!(
            normalize("/gallery/index.php?/category/5").as_deref(),
            Some("/gallery/index.php?/category/5")
        );
        assert_eq!(
            normalize("https://old.example/picture.php?/123/category/5-concerts").as_deref(),
            Some("/picture.php?/123/category/5-concerts")
        );
        assert_eq!(
            normalize("/i.php?/upload/2024/01/02/20240102-ab%20c-me.jpg").as_deref(),
            Some("/i.php?/upload/2024/01/02/20240102-ab c-me.jpg")
        );
        let forms: Vec<String> = path_query_forms("/123/category/5-concerts/start-15").collect();
        assert_eq!(
            forms,
            [
                "/123/category/5/start-15",
                "/123/category/5",
                "/123/category",
                "/123"
            ]
        );
        let forms: Vec<String> = path_query_forms("/category/5").collect();
        assert_eq!(forms, ["/category"]);
        assert_eq!(path_query_forms("cat=5").count(), 0);
        // A permalink that starts with a number keeps its words past the first form.
        let forms: Vec<String> = path_query_forms("/category/2024-tour").collect();
        assert_eq!(forms, ["/category/2024", "/category"]);
    }

    #[test]
    fn resized_copies_lead_to_their_originals() {
        assert_eq!(
            resized_original("/gallery/albums/userpics/10001/thumb_a b.jpg", ""),
            Some(("/gallery/albums/userpics/10001/a b.jpg".into(), 100))
        );
        assert_eq!(
            resized_original("/albums/events/normal_x.jpg", ""),
            Some(("/albums/events/x.jpg".into(), 400))
        );
        assert_eq!(resized_original("/albums/events/x.jpg", ""), None);
        assert_eq!(resized_original("/albums/thumb_", ""), None);
        assert_eq!(
            resized_original("/photos/i.php", "/upload/2024/01/02/2024-abc-me.jpg"),
            Some(("/photos/upload/2024/01/02/2024-abc.jpg".into(), 792))
        );
        assert_eq!(
            resized_original("/i.php", "/galleries/tour/x-cu_e250.png"),
            Some(("/galleries/tour/x.png".into(), 250))
        );
        assert_eq!(
            resized_original("/_data/i/upload/2024/01/02/2024-abc-sq.jpg", ""),
            Some(("/upload/2024/01/02/2024-abc.jpg".into(), 120))
        );
        assert_eq!(resized_original("/i.php", "/upload/x-huge.jpg"), None);
        assert_eq!(resized_original("/i.php", "a=b"), None);
    }

    #[test]
    fn wordpress_shapes() {
        assert_eq!(builtin("/2023/08").as_deref(), Some("/archive/2023/08"));
        assert_eq!(builtin("/2023/08/14").as_deref(), Some("/archive/2023/08"));
        assert_eq!(builtin("/2023/13"), None);
        assert_eq!(builtin("/feed").as_deref(), Some("/feed.rss"));
        assert_eq!(builtin("/feed/atom").as_deref(), Some("/feed.atom"));
        assert_eq!(builtin("/page/3").as_deref(), Some("/posts?page=3"));
        assert_eq!(builtin("/page/x"), None);
        assert_eq!(builtin("/posts/x"), None);
        assert_eq!(
            strip_size_suffix("/wp-content/uploads/2023/08/a-b-300x200.jpg").as_deref(),
            Some("/wp-content/uploads/2023/08/a-b.jpg")
        );
        assert_eq!(
            strip_size_suffix("/wp-content/uploads/2023/08/a-scaled.jpg").as_deref(),
            Some("/wp-content/uploads/2023/08/a.jpg")
        );
        assert_eq!(
            strip_size_suffix("/wp-content/uploads/2023/08/a-b.jpg"),
            None
        );
    }
}
