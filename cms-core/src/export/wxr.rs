//! `cms export wordpress FILE.xml`: the site as a WordPress export (WXR 1.2), which
//! WordPress's importer (Tools → Import → WordPress) reads: the authors, categories with their
//! hierarchy, tags, posts and pages (published, scheduled and drafts, with their categories,
//! tags, excerpts and featured images), and every photo as an attachment whose absolute URL
//! the importer downloads. Nobody is locked in.
//!
//! Ids: a post keeps its id; a photo's attachment id is the highest post id plus the photo's
//! id, so the two never meet. Text goes in CDATA sections (a `]]>` inside is split), other
//! values are XML-escaped. The file is written to `FILE.partial` and renamed when complete.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use diesel::prelude::*;

use crate::backup::io;
use crate::config::Config;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::schema::{albums, categories, photos, post_categories, post_tags, posts, tags, users};

/// A photo as an attachment needs it: id, title, caption, alt text, hash, type, added,
/// file name, album slug.
type PhotoRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    chrono::NaiveDateTime,
    String,
    String,
);

/// What a WXR export holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub posts: u64,
    pub attachments: u64,
    pub categories: u64,
    pub tags: u64,
    pub authors: u64,
}

fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

fn wp_date(t: chrono::NaiveDateTime, tz: chrono_tz::Tz) -> String {
    use chrono::TimeZone;
    tz.from_utc_datetime(&t)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn rfc2822(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc2822()
}

/// The login an author gets in the file: the part of the address before the `@`, made unique.
fn logins(people: &[(i64, String, String)]) -> HashMap<i64, String> {
    let mut taken = std::collections::HashSet::new();
    let mut out = HashMap::new();
    for (id, email, _) in people {
        let base: String = email
            .split('@')
            .next()
            .unwrap_or("author")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .collect();
        let base = if base.is_empty() {
            "author".into()
        } else {
            base
        };
        let mut login = base.clone();
        let mut n = 2;
        while !taken.insert(login.clone()) {
            login = format!("{base}{n}");
            n += 1;
        }
        out.insert(*id, login);
    }
    out
}

/// Writes the WXR file.
pub fn write(config: &Config, db: &Db, file: &Path) -> Result<Counts> {
    let partial = file.with_extension("xml.partial");
    let f = std::fs::File::create(&partial)
        .map_err(io(format!("cannot write {}", partial.display())))?;
    let written = (|| {
        let mut w = BufWriter::new(f);
        let counts = write_to(config, db, &mut w)?;
        let f = w.into_inner().map_err(|e| {
            Error::io(
                format!("cannot write {}", partial.display()),
                e.into_error(),
            )
        })?;
        f.sync_all()
            .map_err(io(format!("cannot write {}", partial.display())))?;
        std::fs::rename(&partial, file).map_err(io(format!("cannot write {}", file.display())))?;
        Ok(counts)
    })();
    if written.is_err() {
        // A failed export leaves nothing behind.
        let _ = std::fs::remove_file(&partial);
    }
    written
}

fn write_to(config: &Config, db: &Db, w: &mut impl Write) -> Result<Counts> {
    let mut conn = db.conn()?;
    let conn = &mut *conn;
    let base = config.server.base_url.trim_end_matches('/').to_string();
    let tz = config.timezone;
    let mut counts = Counts::default();
    let out = |w: &mut dyn Write, s: &str| -> Result<()> {
        w.write_all(s.as_bytes())
            .map_err(io("cannot write the export"))
    };
    let title =
        crate::models::site::setting(conn, "site_title")?.unwrap_or_else(|| "Keepsake".into());
    out(
        w,
        &format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n\
<!-- A WordPress eXtended RSS (WXR) file written by Keepsake {}: import it in WordPress with Tools > Import > WordPress. -->\n\
<rss version=\"2.0\" xmlns:excerpt=\"http://wordpress.org/export/1.2/excerpt/\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:wfw=\"http://wellformedweb.org/CommentAPI/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:wp=\"http://wordpress.org/export/1.2/\">\n<channel>\n\
\t<title>{}</title>\n\t<link>{}</link>\n\t<description></description>\n\t<pubDate>{}</pubDate>\n\t<language>en</language>\n\
\t<wp:wxr_version>1.2</wp:wxr_version>\n\t<wp:base_site_url>{}</wp:base_site_url>\n\t<wp:base_blog_url>{}</wp:base_blog_url>\n",
            env!("CARGO_PKG_VERSION"),
            esc(&title),
            esc(&base),
            rfc2822(crate::models::now()),
            esc(&base),
            esc(&base)
        ),
    )?;

    // Authors: everyone who wrote a post.
    let people: Vec<(i64, String, String)> = users::table
        .filter(
            users::id.eq_any(
                posts::table
                    .filter(posts::author_id.is_not_null())
                    .select(posts::author_id.assume_not_null()),
            ),
        )
        .select((users::id, users::email, users::name))
        .order(users::id)
        .load(conn)?;
    let login = logins(&people);
    for (id, email, name) in &people {
        out(
            w,
            &format!(
                "\t<wp:author><wp:author_id>{id}</wp:author_id><wp:author_login>{}</wp:author_login><wp:author_email>{}</wp:author_email><wp:author_display_name>{}</wp:author_display_name><wp:author_first_name><![CDATA[]]></wp:author_first_name><wp:author_last_name><![CDATA[]]></wp:author_last_name></wp:author>\n",
                cdata(&login[id]),
                cdata(email),
                cdata(name)
            ),
        )?;
        counts.authors += 1;
    }

    // Categories, parents before children (WordPress's importer needs the parent first).
    let cats: Vec<(i64, Option<i64>, String, String, String)> = categories::table
        .select((
            categories::id,
            categories::parent_id,
            categories::slug,
            categories::name,
            categories::description,
        ))
        .order((categories::position, categories::id))
        .load(conn)?;
    let slug_of: HashMap<i64, String> = cats.iter().map(|c| (c.0, c.2.clone())).collect();
    let mut written = std::collections::HashSet::new();
    while written.len() < cats.len() {
        let before = written.len();
        for (id, parent, slug, name, description) in &cats {
            if written.contains(id)
                || parent.is_some_and(|p| !written.contains(&p) && slug_of.contains_key(&p))
            {
                continue;
            }
            let parent_slug = parent
                .and_then(|p| slug_of.get(&p))
                .cloned()
                .unwrap_or_default();
            out(
                w,
                &format!(
                    "\t<wp:category><wp:term_id>{id}</wp:term_id><wp:category_nicename>{}</wp:category_nicename><wp:category_parent>{}</wp:category_parent><wp:cat_name>{}</wp:cat_name><wp:category_description>{}</wp:category_description></wp:category>\n",
                    cdata(slug),
                    cdata(&parent_slug),
                    cdata(name),
                    cdata(description)
                ),
            )?;
            written.insert(*id);
            counts.categories += 1;
        }
        if written.len() == before {
            return Err(Error::Internal("the categories form a loop".into()));
        }
    }
    let tag_rows: Vec<(i64, String, String)> = tags::table
        .select((tags::id, tags::slug, tags::name))
        .order(tags::id)
        .load(conn)?;
    let max_cat = cats.iter().map(|c| c.0).max().unwrap_or(0);
    for (id, slug, name) in &tag_rows {
        out(
            w,
            &format!(
                "\t<wp:tag><wp:term_id>{}</wp:term_id><wp:tag_slug>{}</wp:tag_slug><wp:tag_name>{}</wp:tag_name></wp:tag>\n",
                max_cat + id,
                cdata(slug),
                cdata(name)
            ),
        )?;
        counts.tags += 1;
    }

    // Posts and pages.
    let cat_names: HashMap<i64, (String, String)> = cats
        .iter()
        .map(|c| (c.0, (c.2.clone(), c.3.clone())))
        .collect();
    let tag_names: HashMap<i64, (String, String)> = tag_rows
        .iter()
        .map(|t| (t.0, (t.1.clone(), t.2.clone())))
        .collect();
    let mut terms_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (post, cat) in post_categories::table
        .select((post_categories::post_id, post_categories::category_id))
        .load::<(i64, i64)>(conn)?
    {
        if let Some((slug, name)) = cat_names.get(&cat) {
            terms_of.entry(post).or_default().push(format!(
                "\t\t<category domain=\"category\" nicename=\"{}\">{}</category>\n",
                esc(slug),
                cdata(name)
            ));
        }
    }
    for (post, tag) in post_tags::table
        .select((post_tags::post_id, post_tags::tag_id))
        .load::<(i64, i64)>(conn)?
    {
        if let Some((slug, name)) = tag_names.get(&tag) {
            terms_of.entry(post).or_default().push(format!(
                "\t\t<category domain=\"post_tag\" nicename=\"{}\">{}</category>\n",
                esc(slug),
                cdata(name)
            ));
        }
    }
    let max_post: i64 = posts::table
        .select(diesel::dsl::max(posts::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0);
    let all: Vec<crate::models::post::Post> = posts::table
        .select(crate::models::post::Post::as_select())
        .order(posts::id)
        .load(conn)?;
    for p in &all {
        let (status, date) = match p.status {
            crate::models::post::PostStatus::Published => ("publish", p.published_at),
            crate::models::post::PostStatus::Scheduled => ("future", p.publish_at),
            _ => ("draft", None),
        };
        let when = date.unwrap_or(p.updated_at);
        let post_type = if p.kind == crate::models::post::PostKind::Page {
            "page"
        } else {
            "post"
        };
        let link = format!("{base}/posts/{}", p.slug);
        let creator = p
            .author_id
            .and_then(|a| login.get(&a))
            .cloned()
            .unwrap_or_default();
        let mut meta = String::new();
        if let Some(photo) = p.featured_photo_id {
            meta.push_str(&format!(
                "\t\t<wp:postmeta><wp:meta_key><![CDATA[_thumbnail_id]]></wp:meta_key><wp:meta_value>{}</wp:meta_value></wp:postmeta>\n",
                cdata(&(max_post + photo).to_string())
            ));
        }
        if let Some(url) = &p.source_url {
            meta.push_str(&format!(
                "\t\t<wp:postmeta><wp:meta_key><![CDATA[source_url]]></wp:meta_key><wp:meta_value>{}</wp:meta_value></wp:postmeta>\n",
                cdata(url)
            ));
        }
        out(
            w,
            &format!(
                "\t<item>\n\t\t<title>{}</title>\n\t\t<link>{}</link>\n\t\t<pubDate>{}</pubDate>\n\t\t<dc:creator>{}</dc:creator>\n\t\t<guid isPermaLink=\"false\">{}</guid>\n\t\t<description></description>\n\t\t<content:encoded>{}</content:encoded>\n\t\t<excerpt:encoded>{}</excerpt:encoded>\n\t\t<wp:post_id>{}</wp:post_id>\n\t\t<wp:post_date>{}</wp:post_date>\n\t\t<wp:post_date_gmt>{}</wp:post_date_gmt>\n\t\t<wp:post_modified>{}</wp:post_modified>\n\t\t<wp:post_modified_gmt>{}</wp:post_modified_gmt>\n\t\t<wp:comment_status><![CDATA[closed]]></wp:comment_status>\n\t\t<wp:ping_status><![CDATA[closed]]></wp:ping_status>\n\t\t<wp:post_name>{}</wp:post_name>\n\t\t<wp:status>{}</wp:status>\n\t\t<wp:post_parent>0</wp:post_parent>\n\t\t<wp:menu_order>0</wp:menu_order>\n\t\t<wp:post_type>{}</wp:post_type>\n\t\t<wp:post_password><![CDATA[]]></wp:post_password>\n\t\t<wp:is_sticky>0</wp:is_sticky>\n{}{}\t</item>\n",
                esc(&p.title),
                esc(&link),
                rfc2822(when),
                cdata(&creator),
                esc(&format!("{base}/?p={}", p.id)),
                cdata(&p.body_html),
                cdata(&p.excerpt),
                p.id,
                cdata(&wp_date(when, tz)),
                cdata(&if status == "draft" {
                    "0000-00-00 00:00:00".to_string()
                } else {
                    when.format("%Y-%m-%d %H:%M:%S").to_string()
                }),
                cdata(&wp_date(p.updated_at, tz)),
                cdata(&p.updated_at.format("%Y-%m-%d %H:%M:%S").to_string()),
                cdata(&p.slug),
                cdata(status),
                cdata(post_type),
                terms_of.remove(&p.id).unwrap_or_default().concat(),
                meta
            ),
        )?;
        counts.posts += 1;
    }

    // Every photo, as an attachment with the URL of its original.
    let mut after = 0i64;
    loop {
        let rows: Vec<PhotoRow> = photos::table
            .inner_join(albums::table)
            .filter(photos::id.gt(after))
            .select((
                photos::id,
                photos::title,
                photos::caption,
                photos::alt_text,
                photos::content_hash,
                photos::mime,
                photos::created_at,
                photos::original_filename,
                albums::slug,
            ))
            .order(photos::id)
            .limit(5_000)
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        for (id, title, caption, alt, hash, mime, created, filename, album) in &rows {
            let url = format!(
                "{base}/media/{}",
                crate::media::photo_original_key(hash, mime)
            );
            let name = if title.is_empty() {
                filename
                    .rsplit_once('.')
                    .map_or(filename.as_str(), |(n, _)| n)
                    .to_string()
            } else {
                title.clone()
            };
            out(
                w,
                &format!(
                    "\t<item>\n\t\t<title>{}</title>\n\t\t<link>{}</link>\n\t\t<pubDate>{}</pubDate>\n\t\t<dc:creator><![CDATA[]]></dc:creator>\n\t\t<guid isPermaLink=\"false\">{}</guid>\n\t\t<description></description>\n\t\t<content:encoded>{}</content:encoded>\n\t\t<excerpt:encoded>{}</excerpt:encoded>\n\t\t<wp:post_id>{}</wp:post_id>\n\t\t<wp:post_date>{}</wp:post_date>\n\t\t<wp:post_date_gmt>{}</wp:post_date_gmt>\n\t\t<wp:comment_status><![CDATA[closed]]></wp:comment_status>\n\t\t<wp:ping_status><![CDATA[closed]]></wp:ping_status>\n\t\t<wp:post_name>{}</wp:post_name>\n\t\t<wp:status><![CDATA[inherit]]></wp:status>\n\t\t<wp:post_parent>0</wp:post_parent>\n\t\t<wp:menu_order>0</wp:menu_order>\n\t\t<wp:post_type><![CDATA[attachment]]></wp:post_type>\n\t\t<wp:post_mime_type>{}</wp:post_mime_type>\n\t\t<wp:attachment_url>{}</wp:attachment_url>\n\t\t<wp:postmeta><wp:meta_key><![CDATA[_wp_attached_file]]></wp:meta_key><wp:meta_value>{}</wp:meta_value></wp:postmeta>\n\t\t<wp:postmeta><wp:meta_key><![CDATA[_wp_attachment_image_alt]]></wp:meta_key><wp:meta_value>{}</wp:meta_value></wp:postmeta>\n\t\t<wp:postmeta><wp:meta_key><![CDATA[keepsake_album]]></wp:meta_key><wp:meta_value>{}</wp:meta_value></wp:postmeta>\n\t</item>\n",
                    esc(&name),
                    esc(&format!("{base}/photos/{id}")),
                    rfc2822(*created),
                    esc(&url),
                    cdata(caption),
                    cdata(caption),
                    max_post + id,
                    cdata(&wp_date(*created, tz)),
                    cdata(&created.format("%Y-%m-%d %H:%M:%S").to_string()),
                    cdata(&format!("photo-{id}")),
                    cdata(mime),
                    cdata(&url),
                    cdata(&format!(
                        "{}/{}",
                        created.format("%Y/%m"),
                        url.rsplit('/').next().unwrap_or_default()
                    )),
                    cdata(alt),
                    cdata(album)
                ),
            )?;
            counts.attachments += 1;
        }
    }
    out(w, "</channel>\n</rss>\n")?;
    Ok(counts)
}
