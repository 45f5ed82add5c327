//! Full-text search over everything readers can see: posts, albums, captioned photos, videos
//! and their transcripts. SQLite uses FTS5 (bm25), PostgreSQL a weighted `tsvector` with a GIN
//! index (ts_rank_cd); both sit behind [`search`]. The index holds published items only and is
//! updated by the service layer in the same transaction as each write, so a draft can never
//! be found and a publish is searchable at once.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::DbConn;
use crate::db::prepared::{Bind, sql};
use crate::markdown;
use crate::models::album::{self, AlbumStatus};
use crate::models::post::{self, PostStatus};
use crate::models::video::{self, VideoStatus};
use crate::models::{gallery_category, photo};
use crate::schema::{albums, photos};

mod snippet;

/// What a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Post = 1,
    Album = 2,
    Photo = 3,
    Video = 4,
}

impl Kind {
    fn from_code(code: i64) -> Option<Kind> {
        match code {
            1 => Some(Kind::Post),
            2 => Some(Kind::Album),
            3 => Some(Kind::Photo),
            4 => Some(Kind::Video),
            _ => None,
        }
    }

    /// A label for result lists.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Post => "Post",
            Kind::Album => "Album",
            Kind::Photo => "Photo",
            Kind::Video => "Video",
        }
    }
}

fn doc_id(kind: Kind, item_id: i64) -> i64 {
    item_id * 8 + kind as i64
}

/// One indexed item.
#[derive(Debug, Clone)]
pub struct Document {
    pub kind: Kind,
    pub item_id: i64,
    /// The slug of the item's URL (photos use their id).
    pub slug: String,
    pub title: String,
    pub body: String,
}

/// Text as indexed: the two control characters the engines mark matches with
/// ([`MARK_START`], [`MARK_END`]) become spaces (word breaks, as the engines read them), so a
/// title or text holding one cannot open or close a `<mark>` of its own in a result (FTS5
/// returns the text as stored). Migration 15 did the same to text indexed before.
fn indexable(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([MARK_START, MARK_END]) {
        s.replace([MARK_START, MARK_END], " ").into()
    } else {
        s.into()
    }
}

/// Adds or replaces a document.
pub fn upsert(conn: &mut DbConn, doc: &Document) -> QueryResult<()> {
    let id = doc_id(doc.kind, doc.item_id);
    let (title, body) = (indexable(&doc.title), indexable(&doc.body));
    match conn {
        DbConn::Sqlite(c) => {
            diesel::sql_query("DELETE FROM search_fts WHERE rowid = ?")
                .bind::<BigInt, _>(id)
                .execute(c)?;
            diesel::sql_query(
                "INSERT INTO search_fts (rowid, title, body, slug) VALUES (?, ?, ?, ?)",
            )
            .bind::<BigInt, _>(id)
            .bind::<Text, _>(&*title)
            .bind::<Text, _>(&*body)
            .bind::<Text, _>(&doc.slug)
            .execute(c)?;
        }
        DbConn::Pg(c) => {
            diesel::sql_query(
                "INSERT INTO search_documents (doc_id, title, body, slug) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (doc_id) DO UPDATE SET title = excluded.title, body = excluded.body, slug = excluded.slug",
            )
            .bind::<BigInt, _>(id)
            .bind::<Text, _>(&*title)
            .bind::<Text, _>(&*body)
            .bind::<Text, _>(&doc.slug)
            .execute(c)?;
        }
    }
    Ok(())
}

/// Documents per statement in [`upsert_many`]: 4 values each stays well under SQLite's 32,766
/// bound parameters.
const UPSERT_ROWS: usize = 500;

/// [`upsert`] for many documents: one statement per few hundred (on SQLite a delete and an
/// insert), so indexing a batch of imported photos is not a round trip each. The last of two
/// documents for the same item wins.
pub fn upsert_many(conn: &mut DbConn, docs: &[Document]) -> QueryResult<()> {
    let mut seen = std::collections::HashSet::with_capacity(docs.len());
    let mut unique: Vec<&Document> = docs
        .iter()
        .rev()
        .filter(|d| seen.insert(doc_id(d.kind, d.item_id)))
        .collect();
    unique.reverse();
    for chunk in unique.chunks(UPSERT_ROWS) {
        let ids: Vec<i64> = chunk.iter().map(|d| doc_id(d.kind, d.item_id)).collect();
        let titles: Vec<_> = chunk.iter().map(|d| indexable(&d.title)).collect();
        let bodies: Vec<_> = chunk.iter().map(|d| indexable(&d.body)).collect();
        match conn {
            DbConn::Sqlite(c) => {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                // The ids are integers we computed: safe to inline.
                diesel::sql_query(format!(
                    "DELETE FROM search_fts WHERE rowid IN ({})",
                    list.join(",")
                ))
                .execute(c)?;
                let values = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
                let mut q = diesel::sql_query(format!(
                    "INSERT INTO search_fts (rowid, title, body, slug) VALUES {values}"
                ))
                .into_boxed::<diesel::sqlite::Sqlite>();
                for (i, (d, id)) in chunk.iter().zip(&ids).enumerate() {
                    q = q
                        .bind::<BigInt, _>(*id)
                        .bind::<Text, _>(&*titles[i])
                        .bind::<Text, _>(&*bodies[i])
                        .bind::<Text, _>(&d.slug);
                }
                q.execute(c)?;
            }
            DbConn::Pg(c) => {
                use diesel::sql_types::Array;
                let titles: Vec<&str> = titles.iter().map(|t| &**t).collect();
                let bodies: Vec<&str> = bodies.iter().map(|b| &**b).collect();
                let slugs: Vec<&str> = chunk.iter().map(|d| d.slug.as_str()).collect();
                diesel::sql_query(
                    "INSERT INTO search_documents (doc_id, title, body, slug)
                     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
                     ON CONFLICT (doc_id) DO UPDATE SET title = excluded.title, body = excluded.body, slug = excluded.slug",
                )
                .bind::<Array<BigInt>, _>(&ids)
                .bind::<Array<Text>, _>(&titles)
                .bind::<Array<Text>, _>(&bodies)
                .bind::<Array<Text>, _>(&slugs)
                .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Removes the documents of some items (missing ones are fine).
pub fn remove(conn: &mut DbConn, kind: Kind, item_ids: &[i64]) -> QueryResult<()> {
    for chunk in item_ids.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(|i| doc_id(kind, *i).to_string()).collect();
        // The ids are integers we computed: safe to inline, and one statement per chunk.
        let list = ids.join(",");
        match conn {
            DbConn::Sqlite(c) => {
                diesel::sql_query(format!("DELETE FROM search_fts WHERE rowid IN ({list})"))
                    .execute(c)?
            }
            DbConn::Pg(c) => diesel::sql_query(format!(
                "DELETE FROM search_documents WHERE doc_id IN ({list})"
            ))
            .execute(c)?,
        };
    }
    Ok(())
}

/// Removes `[[album:…]]` and `[[video:…]]` embed markers from text for the index.
fn without_embeds(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        out.push_str(&rest[..start]);
        match rest[start..].find("]]") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Indexes a post if it is published, else removes it.
pub fn sync_post(conn: &mut DbConn, post_id: i64) -> QueryResult<()> {
    match post::find(conn, post_id)? {
        Some(p) if p.status == PostStatus::Published => {
            let mut body = String::new();
            for part in [
                &p.excerpt,
                &markdown::plain_text(&without_embeds(&p.body_markdown)),
            ] {
                body.push_str(part);
                body.push('\n');
            }
            for part in [&p.source_publication, &p.source_author]
                .into_iter()
                .flatten()
            {
                body.push_str(part);
                body.push('\n');
            }
            upsert(
                conn,
                &Document {
                    kind: Kind::Post,
                    item_id: p.id,
                    slug: p.slug,
                    title: p.title,
                    body,
                },
            )
        }
        _ => remove(conn, Kind::Post, &[post_id]),
    }
}

/// Indexes an album (and its captioned photos) if published, else removes them.
pub fn sync_album(conn: &mut DbConn, album_id: i64) -> crate::Result<()> {
    let photo_ids: Vec<i64> = photos::table
        .filter(photos::album_id.eq(album_id))
        .filter(
            photos::title
                .ne("")
                .or(photos::caption.ne(""))
                .or(photos::credit.ne("")),
        )
        .select(photos::id)
        .load(conn)?;
    match album::find(conn, album_id)? {
        Some(a) if a.status == AlbumStatus::Published => {
            let mut body = format!("{}\n{}\n", a.description, a.credit);
            if let Some(c) = a.category_id {
                for crumb in gallery_category::breadcrumb(conn, c)? {
                    body.push_str(&crumb.name);
                    body.push('\n');
                }
            }
            upsert(
                conn,
                &Document {
                    kind: Kind::Album,
                    item_id: a.id,
                    slug: a.slug,
                    title: a.title,
                    body,
                },
            )?;
            sync_photos(conn, &photo_ids)?;
        }
        _ => {
            remove(conn, Kind::Album, &[album_id])?;
            remove(conn, Kind::Photo, &photo_ids)?;
        }
    }
    Ok(())
}

/// Re-indexes every album under a gallery category (after a rename or a move).
pub fn sync_albums_under(conn: &mut DbConn, category_id: i64) -> crate::Result<()> {
    let path: String = crate::schema::gallery_categories::table
        .find(category_id)
        .select(crate::schema::gallery_categories::path)
        .first(conn)?;
    let cat_ids: Vec<i64> = crate::schema::gallery_categories::table
        .filter(
            crate::schema::gallery_categories::path
                .eq(&path)
                .or(crate::schema::gallery_categories::path.like(format!("{path}/%"))),
        )
        .select(crate::schema::gallery_categories::id)
        .load(conn)?;
    let album_ids: Vec<i64> = albums::table
        .filter(albums::category_id.eq_any(cat_ids))
        .select(albums::id)
        .load(conn)?;
    for id in album_ids {
        sync_album(conn, id)?;
    }
    Ok(())
}

/// Indexes photos that have a title, caption or credit and sit in a published album; removes
/// the rest. A photo is found by its title, else its caption, else its album's title.
pub fn sync_photos(conn: &mut DbConn, photo_ids: &[i64]) -> QueryResult<()> {
    for chunk in photo_ids.chunks(UPSERT_ROWS) {
        let rows = photos::table
            .inner_join(albums::table)
            .filter(photos::id.eq_any(chunk))
            .select((photo::Photo::as_select(), albums::title, albums::status))
            .load::<(photo::Photo, String, AlbumStatus)>(conn)?;
        let mut docs = Vec::with_capacity(rows.len());
        for (p, album_title, status) in rows {
            if status != AlbumStatus::Published || !has_text(&p) {
                continue;
            }
            let title = [&p.title, &p.caption, &album_title]
                .into_iter()
                .find(|t| !t.is_empty())
                .cloned()
                .unwrap_or_default();
            let body = format!(
                "{}\n{}\n{}\n{}\n{}",
                p.title, p.caption, p.credit, p.source, album_title
            );
            docs.push(Document {
                kind: Kind::Photo,
                item_id: p.id,
                slug: p.id.to_string(),
                title,
                body,
            });
        }
        let gone: Vec<i64> = {
            let kept: std::collections::HashSet<i64> = docs.iter().map(|d| d.item_id).collect();
            chunk
                .iter()
                .copied()
                .filter(|id| !kept.contains(id))
                .collect()
        };
        upsert_many(conn, &docs)?;
        remove(conn, Kind::Photo, &gone)?;
    }
    Ok(())
}

/// Whether a photo says anything of its own to be found by (a title, caption or credit).
fn has_text(p: &photo::Photo) -> bool {
    !(p.title.is_empty() && p.caption.is_empty() && p.credit.is_empty())
}

/// Indexes a video (with its transcript text) if published, else removes it.
pub fn sync_video(conn: &mut DbConn, video_id: i64) -> QueryResult<()> {
    match video::find(conn, video_id)? {
        Some(v) if v.status == VideoStatus::Published => {
            let transcript = match v.transcript_format {
                video::TranscriptFormat::Vtt => v
                    .cues()
                    .iter()
                    .map(|c| c.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => v.transcript.clone(),
            };
            let body = format!(
                "{}\n{}\n{}\n{}\n{}",
                v.series, v.source, v.description, v.credits, transcript
            );
            upsert(
                conn,
                &Document {
                    kind: Kind::Video,
                    item_id: v.id,
                    slug: v.slug,
                    title: v.title,
                    body,
                },
            )
        }
        _ => remove(conn, Kind::Video, &[video_id]),
    }
}

/// The first cue of a transcript holding every word of a query (the last as a prefix, as the
/// search matches), else the first holding any: its number from 1, and the cue.
pub fn cue_matching<'a>(
    cues: &'a [crate::transcript::Cue],
    q: &str,
) -> Option<(usize, &'a crate::transcript::Cue)> {
    let words = terms(q);
    if words.is_empty() {
        return None;
    }
    let tokens = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let has = |toks: &[String], w: &str, last: bool| {
        toks.iter().any(|t| t == w || (last && t.starts_with(w)))
    };
    let n = words.len();
    let all = cues.iter().enumerate().find(|(_, c)| {
        let toks = tokens(&c.text);
        words
            .iter()
            .enumerate()
            .all(|(i, w)| has(&toks, w, i + 1 == n))
    });
    all.or_else(|| {
        cues.iter().enumerate().find(|(_, c)| {
            let toks = tokens(&c.text);
            words
                .iter()
                .enumerate()
                .any(|(i, w)| has(&toks, w, i + 1 == n))
        })
    })
    .map(|(i, c)| (i + 1, c))
}

/// The words of a reader's query: letters and digits only (so nothing reaches the engines'
/// query syntax), at most eight words of at most 64 characters.
pub fn terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(64).collect::<String>().to_lowercase())
        .take(8)
        .collect()
}

/// A transcript line as a result's snippet: escaped, with `<mark>` around the words of `q` it
/// holds (the last word also as a prefix, as the search matched it).
pub fn cue_snippet_html(text: &str, q: &str) -> String {
    let words = terms(q);
    let last = words.len().saturating_sub(1);
    marked_html(&snippet::mark_words(text, |w| {
        let lower = w.to_lowercase();
        words
            .iter()
            .enumerate()
            .any(|(i, t)| lower == *t || (i == last && lower.starts_with(t.as_str())))
    }))
}

/// One search result, with highlighted HTML (escaped, `<mark>` around matches).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    pub kind: Kind,
    pub item_id: i64,
    pub url: String,
    pub title: String,
    pub title_html: String,
    pub snippet_html: String,
    /// Where in a video's transcript the words are ("1:23"), when the caller found the cue.
    pub at: Option<String>,
}

/// A page of results and how many there are in all.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub hits: Vec<Hit>,
    pub total: i64,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    doc_id: i64,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    title: String,
    /// On SQLite the title with its matches marked; on PostgreSQL the title (marked here).
    #[diesel(sql_type = Text)]
    title_marked: String,
    /// On SQLite the snippet; on PostgreSQL the text, the snippet being made here.
    #[diesel(sql_type = Text)]
    snippet: String,
    /// On PostgreSQL the query's lexemes (`tsquery::text`); empty on SQLite.
    #[diesel(sql_type = Text)]
    lexemes: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

const MARK_START: char = '\u{2}';
const MARK_END: char = '\u{3}';

/// Escapes text for HTML and turns the engines' match markers into `<mark>`.
fn marked_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            MARK_START => out.push_str("<mark>"),
            MARK_END => out.push_str("</mark>"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// Matches ranked by relevance. Ranking reads every ranked document's term positions, so on a
/// large archive a common word (a show's name in half of 100,000 posts) would cost tens of
/// milliseconds per search: only the newest `RANK_WINDOW` matches are ranked, best first, and
/// older ones follow newest first. Below the window nothing changes.
pub const RANK_WINDOW: i64 = 1_000;

/// The SQL of a search on one backend. Each takes the engine query first; `floor` then the
/// window's size less one; `ranked` and `older` the floor id, a limit and an offset.
struct SearchSql {
    count: &'static str,
    floor: &'static str,
    ranked: &'static str,
    older: &'static str,
}

const SQLITE: SearchSql = SearchSql {
    count: "SELECT count(*) AS n FROM search_fts WHERE search_fts MATCH $1",
    floor: "SELECT rowid AS n FROM search_fts WHERE search_fts MATCH $1
            ORDER BY rowid DESC LIMIT 1 OFFSET $2",
    ranked: "SELECT rowid AS doc_id, slug, title,
                    highlight(search_fts, 0, char(2), char(3)) AS title_marked,
                    snippet(search_fts, 1, char(2), char(3), '…', 24) AS snippet, '' AS lexemes
             FROM search_fts WHERE search_fts MATCH $1 AND rowid >= $2
             ORDER BY bm25(search_fts, 4.0, 1.0), rowid DESC LIMIT $3 OFFSET $4",
    older: "SELECT rowid AS doc_id, slug, title,
                   highlight(search_fts, 0, char(2), char(3)) AS title_marked,
                   snippet(search_fts, 1, char(2), char(3), '…', 24) AS snippet, '' AS lexemes
            FROM search_fts WHERE search_fts MATCH $1 AND rowid < $2
            ORDER BY rowid DESC LIMIT $3 OFFSET $4",
};

/// PostgreSQL sends each result's title and text (its first 131,072 characters: a match
/// further into a longer text shows the text's start, unmarked) with the query's lexemes, and
/// the matches are marked here (`snippet`): `ts_headline` parsed every result's text again and
/// was most of a search's database time.
const POSTGRES: SearchSql = SearchSql {
    count: "SELECT count(*) AS n FROM search_documents WHERE tsv @@ to_tsquery('english', $1)",
    floor: "SELECT doc_id AS n FROM search_documents WHERE tsv @@ to_tsquery('english', $1)
            ORDER BY doc_id DESC OFFSET $2 LIMIT 1",
    ranked: "SELECT d.doc_id, d.slug, d.title,
                    d.title AS title_marked, left(d.body, 131072) AS snippet, q::text AS lexemes
             FROM (SELECT doc_id, slug, title, body, ts_rank_cd(tsv, q) AS rank, q
                   FROM search_documents, to_tsquery('english', $1) q
                   WHERE tsv @@ q AND doc_id >= $2
                   ORDER BY rank DESC, doc_id DESC LIMIT $3 OFFSET $4) d
             ORDER BY d.rank DESC, d.doc_id DESC",
    older: "SELECT d.doc_id, d.slug, d.title,
                   d.title AS title_marked, left(d.body, 131072) AS snippet, q::text AS lexemes
            FROM (SELECT doc_id, slug, title, body, q
                  FROM search_documents, to_tsquery('english', $1) q
                  WHERE tsv @@ q AND doc_id < $2
                  ORDER BY doc_id DESC LIMIT $3 OFFSET $4) d
            ORDER BY d.doc_id DESC",
};

/// Words as an engine query: each quoted, the last also as a prefix, joined by `sep`.
fn engine_query(words: &[String], quote: &str, prefix: &str, sep: &str) -> String {
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let p = if i == last { prefix } else { "" };
            format!("{quote}{w}{quote}{p}")
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// Which part of a result page comes from the ranked window and which from the older matches:
/// `(offset, limit)` within each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    ranked: Option<(i64, i64)>,
    older: Option<(i64, i64)>,
}

impl Window {
    fn of(total: i64, floor: Option<i64>, offset: i64, limit: i64) -> Window {
        let ranked_len = if floor.is_some() { RANK_WINDOW } else { total };
        let ranked = (offset < ranked_len).then(|| (offset, limit.min(ranked_len - offset)));
        let taken = ranked.map_or(0, |r| r.1);
        let older = (floor.is_some() && taken < limit)
            .then(|| ((offset - RANK_WINDOW).max(0), limit - taken));
        Window { ranked, older }
    }
}

/// Searches the index: every word must match (the last also as a prefix), best first among
/// the newest [`RANK_WINDOW`] matches, then older ones, newest first.
pub fn search(conn: &mut DbConn, q: &str, offset: i64, limit: i64) -> QueryResult<Results> {
    let words = terms(q);
    if words.is_empty() {
        return Ok(Results::default());
    }
    let (search, query) = match conn {
        DbConn::Sqlite(_) => (&SQLITE, engine_query(&words, "\"", "*", " ")),
        DbConn::Pg(_) => (&POSTGRES, engine_query(&words, "'", ":*", " & ")),
    };
    // The same steps on either backend, with its own SQL (each prepared once per connection).
    let (rows, total): (Vec<Row>, i64) = crate::per_backend!(conn, |c| {
        let total = sql(search.count, &[Bind::Text(&query)])
            .get_result::<Count>(c)?
            .n;
        let floor = if total > RANK_WINDOW {
            Some(
                sql(
                    search.floor,
                    &[Bind::Text(&query), Bind::BigInt(RANK_WINDOW - 1)],
                )
                .get_result::<Count>(c)?
                .n,
            )
        } else {
            None
        };
        let window = Window::of(total, floor, offset, limit);
        let mut rows = Vec::new();
        for (part, from, (skip, take)) in [
            (search.ranked, floor.unwrap_or(i64::MIN), window.ranked),
            (
                search.older,
                floor.unwrap_or(i64::MIN),
                window.older.filter(|_| floor.is_some()),
            ),
        ]
        .into_iter()
        .filter_map(|(p, f, w)| w.map(|w| (p, f, w)))
        {
            let binds = [
                Bind::Text(&query),
                Bind::BigInt(from),
                Bind::BigInt(take),
                Bind::BigInt(skip),
            ];
            rows.extend(sql(part, &binds).load::<Row>(c)?);
        }
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    // One query, so the same lexemes on every PostgreSQL row.
    let lexemes = rows
        .iter()
        .find(|r| !r.lexemes.is_empty())
        .map(|r| snippet::lexemes_of(&r.lexemes));
    let hits = rows
        .into_iter()
        .filter_map(|mut r| {
            if let Some(lexemes) = &lexemes {
                r.title_marked = snippet::mark_all(&r.title_marked, lexemes);
                r.snippet = snippet::snippet(&r.snippet, lexemes);
            }
            let kind = Kind::from_code(r.doc_id.rem_euclid(8))?;
            let item_id = r.doc_id.div_euclid(8);
            let url = match kind {
                Kind::Post => format!("/posts/{}", r.slug),
                Kind::Album => format!("/albums/{}", r.slug),
                Kind::Photo => format!("/photos/{item_id}"),
                Kind::Video => format!("/videos/{}", r.slug),
            };
            Some(Hit {
                kind,
                item_id,
                url,
                title: r.title,
                title_html: marked_html(&r.title_marked),
                snippet_html: marked_html(&r.snippet),
                at: None,
            })
        })
        .collect();
    Ok(Results { hits, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_pages_run_from_the_ranked_window_into_older_matches() {
        // Small result sets are ranked whole; past the end there is nothing to read.
        assert_eq!(
            Window::of(50, None, 40, 20),
            Window {
                ranked: Some((40, 10)),
                older: None
            }
        );
        assert_eq!(
            Window::of(50, None, 60, 20),
            Window {
                ranked: None,
                older: None
            }
        );
        let f = Some(7);
        assert_eq!(
            Window::of(5_000, f, 0, 20),
            Window {
                ranked: Some((0, 20)),
                older: None
            }
        );
        // A page across the edge takes the window's last ten and the ten newest older ones.
        assert_eq!(
            Window::of(5_000, f, RANK_WINDOW - 10, 20),
            Window {
                ranked: Some((RANK_WINDOW - 10, 10)),
                older: Some((0, 10))
            }
        );
        assert_eq!(
            Window::of(5_000, f, RANK_WINDOW + 40, 20),
            Window {
                ranked: None,
                older: Some((40, 20))
            }
        );
    }

    #[test]
    fn the_cue_holding_the_words_is_found() {
        let cue = |s: u64, text: &str| crate::transcript::Cue {
            start_ms: s * 1000,
            end_ms: s * 1000 + 900,
            text: text.into(),
        };
        let cues = [
            cue(1, "Hello there"),
            cue(5, "The rain scene was cold"),
            cue(9, "We did the rain scene again, milkshakes everywhere"),
        ];
        assert_eq!(cue_matching(&cues, "rain milk").map(|(i, _)| i), Some(3));
        assert_eq!(cue_matching(&cues, "RAIN").map(|(i, _)| i), Some(2));
        assert_eq!(
            cue_matching(&cues, "cold snow").map(|(i, _)| i),
            Some(2),
            "any word"
        );
        assert_eq!(cue_matching(&cues, "nothing").map(|(i, _)| i), None);
        assert_eq!(cue_matching(&cues, "…").map(|(i, _)| i), None);
    }

    #[test]
    fn query_words_are_plain() {
        assert_eq!(
            terms("Truth / Dare \"OR\" NEAR( x*"),
            ["truth", "dare", "or", "near", "x"]
        );
        assert!(terms("*** \" ( )").is_empty());
    }

    #[test]
    fn transcript_lines_are_marked_where_the_words_are() {
        assert_eq!(
            super::cue_snippet_html("The <b>rain</b> scene & the raining one", "rain sce"),
            "The &lt;b&gt;<mark>rain</mark>&lt;/b&gt; <mark>scene</mark> &amp; the raining one"
        );
        assert_eq!(
            super::cue_snippet_html("Nothing here", "rain"),
            "Nothing here"
        );
    }

    #[test]
    fn marks_become_html_and_the_rest_is_escaped() {
        assert_eq!(
            marked_html("a \u{2}<b>\u{3} & c"),
            "a <mark>&lt;b&gt;</mark> &amp; c"
        );
    }

    #[test]
    fn embeds_are_left_out_of_the_index() {
        assert_eq!(without_embeds("a [[album:s02e01-out]] b"), "a  b");
    }
}
