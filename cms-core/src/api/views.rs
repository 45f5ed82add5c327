//! The JSON shapes of the API: structs of their own (never the database rows), ISO 8601 times in
//! UTC, absolute URLs from `CMS_BASE_URL`. Builders load what a list needs in a fixed number of
//! queries, whatever its length.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::embed::Embed;
use crate::error::Result;
use crate::markdown::{EmbedMarker, split_embeds};
use crate::media::{photo_original_key, photo_variant_key};
use crate::models::album::{self, Album, AlbumStatus};
use crate::models::category::Category;
use crate::models::gallery_category::{self, GalleryCategory};
use crate::models::photo::{self, Photo};
use crate::models::post::{self, Post, PostKind, PostStatus};
use crate::models::tag::Tag;
use crate::models::video::{self, TranscriptFormat, Video, VideoStatus};
use crate::schema::{categories, tags, users};

/// `2024-08-03T10:00:00Z`.
pub fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// What the caller may see: readers see published content only; a token with `drafts:read`
/// sees everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Public,
    Drafts,
}

impl Audience {
    pub fn drafts(self) -> bool {
        self == Audience::Drafts
    }
}

/// One size of an image.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
    pub url: String,
}

/// A short reference to an album.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlbumRef {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub url: String,
}

/// A photo with every derivative.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhotoOut {
    pub id: i64,
    /// The photo's page on the public site.
    pub url: String,
    pub album: AlbumRef,
    /// 1-based place in the album.
    pub position: i64,
    pub caption: String,
    pub credit: String,
    pub source: String,
    pub width: i32,
    pub height: i32,
    pub mime: String,
    pub bytes: i64,
    /// The original file (metadata stripped).
    pub original: ImageSize,
    /// JPEG derivatives, smallest first.
    pub sizes: Vec<ImageSize>,
    pub views: i64,
    pub created_at: String,
}

/// A reference to a gallery category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GalleryCategoryRef {
    pub id: i64,
    pub slug: String,
    /// Slugs from the top, joined by `/`.
    pub path: String,
    pub name: String,
    pub url: String,
}

/// An album.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlbumOut {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub credit: String,
    pub status: AlbumStatus,
    pub url: String,
    /// Where its photos are listed in the API.
    pub photos_url: String,
    /// The category chain from the top of the gallery, ending with the album's own category.
    pub categories: Vec<GalleryCategoryRef>,
    pub photo_count: i64,
    pub cover: Option<PhotoOut>,
    pub published_at: Option<String>,
    pub last_added_at: Option<String>,
    pub updated_at: String,
}

/// An album in the gallery tree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlbumBrief {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub status: AlbumStatus,
    pub photo_count: i64,
    pub url: String,
    /// The album in the API.
    pub api_url: String,
}

/// A gallery category with its counts (published albums and photos, this category and every
/// category under it), its albums and its subcategories.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GalleryNode {
    pub id: i64,
    pub slug: String,
    pub path: String,
    pub name: String,
    pub description: String,
    pub url: String,
    pub album_count: i64,
    pub photo_count: i64,
    pub albums: Vec<AlbumBrief>,
    #[schema(no_recursion)]
    pub children: Vec<GalleryNode>,
}

/// A category or a tag on a post.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TermRef {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub url: String,
}

/// A post category.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryOut {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub parent_id: Option<i64>,
    pub url: String,
    /// Published posts in it.
    pub post_count: i64,
}

/// A tag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagOut {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub url: String,
    /// Published posts with it.
    pub post_count: i64,
}

/// Where a reposted article first appeared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceOut {
    pub publication: Option<String>,
    pub author: Option<String>,
    pub url: Option<String>,
    pub date: Option<String>,
}

/// A post in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostSummary {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub kind: PostKind,
    pub status: PostStatus,
    pub url: String,
    pub excerpt: String,
    pub published_at: Option<String>,
    /// When a scheduled post goes live.
    pub publish_at: Option<String>,
    pub updated_at: String,
    pub author: Option<String>,
    pub categories: Vec<TermRef>,
    pub tags: Vec<TermRef>,
    pub featured_photo: Option<PhotoOut>,
    pub source: Option<SourceOut>,
}

/// An album or a video placed in a post body with `[[album:slug]]` or `[[video:slug]]`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmbedOut {
    /// `album` or `video`.
    pub kind: String,
    pub slug: String,
    pub title: String,
    pub url: String,
    pub api_url: String,
}

/// A whole post.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostOut {
    #[serde(flatten)]
    pub summary: PostSummary,
    /// Sanitised HTML. Embeds are `<figure class="keepsake-embed" data-kind="album"
    /// data-slug="…">` elements with a link; the `embeds` list describes them.
    pub html: String,
    /// The Markdown source.
    pub markdown: String,
    pub embeds: Vec<EmbedOut>,
}

/// A video embed from an allowed provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VideoEmbedOut {
    /// `youtube` or `vimeo`.
    pub provider: String,
    pub id: String,
    pub url: String,
}

/// An uploaded video file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VideoFileOut {
    pub url: String,
    pub mime: String,
}

/// A video vault entry in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VideoSummary {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub series: String,
    pub source: String,
    pub credits: String,
    pub release_date: Option<String>,
    pub duration_seconds: Option<i32>,
    pub status: VideoStatus,
    pub url: String,
    pub poster: Option<String>,
    pub embed: Option<VideoEmbedOut>,
    pub file: Option<VideoFileOut>,
    pub published_at: Option<String>,
    pub updated_at: String,
}

/// One time-coded line of a transcript.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CueOut {
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub text: String,
}

/// A transcript: the text, and its cues when it is WebVTT.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptOut {
    pub format: TranscriptFormat,
    pub text: String,
    pub cues: Vec<CueOut>,
    /// WebVTT captions for a `<track>`, when there are cues.
    pub captions_url: Option<String>,
}

/// A whole video vault entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VideoOut {
    #[serde(flatten)]
    pub summary: VideoSummary,
    pub transcript: TranscriptOut,
}

/// A search result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchHitOut {
    /// `post`, `album`, `photo` or `video`.
    pub kind: String,
    pub id: i64,
    pub title: String,
    pub url: String,
    /// The matching passage, HTML-escaped, with `<mark>` around the matched words.
    pub snippet_html: String,
}

macro_rules! list_type {
    ($(#[$meta:meta])* $name:ident, $item:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Items in the whole list.
            pub total: i64,
            pub page: u64,
            pub per_page: u64,
            /// Pages in the whole list (at least 1).
            pub pages: u64,
        }
    };
}

list_type!(
    /// A page of posts.
    PostList,
    PostSummary
);
list_type!(
    /// A page of an album's photos.
    PhotoList,
    PhotoOut
);
list_type!(
    /// A page of videos.
    VideoList,
    VideoSummary
);
list_type!(
    /// A page of search results.
    SearchList,
    SearchHitOut
);

/// Builds absolute URLs.
#[derive(Debug, Clone, Copy)]
pub struct Urls<'a>(pub &'a str);

impl Urls<'_> {
    pub fn abs(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
    pub fn media(&self, key: &str) -> String {
        crate::thumbs::absolute_media_url(self.0, key)
    }
    pub fn album(&self, slug: &str) -> String {
        self.abs(&format!("/albums/{slug}"))
    }
    pub fn api(&self, path: &str) -> String {
        self.abs(&format!("/api/v1{path}"))
    }
}

fn album_ref(a: &Album, u: Urls<'_>) -> AlbumRef {
    AlbumRef {
        id: a.id,
        slug: a.slug.clone(),
        title: a.title.clone(),
        url: u.album(&a.slug),
    }
}

/// A photo of `album`.
pub fn photo_out(p: &Photo, album: &Album, u: Urls<'_>) -> PhotoOut {
    let (w, h) = (p.width.max(1) as u32, p.height.max(1) as u32);
    let sizes = p
        .variant_widths()
        .into_iter()
        .map(|vw| ImageSize {
            width: vw,
            height: ((u64::from(vw) * u64::from(h)) / u64::from(w)).max(1) as u32,
            url: u.media(&photo_variant_key(&p.content_hash, vw)),
        })
        .collect();
    PhotoOut {
        id: p.id,
        url: u.abs(&format!("/photos/{}", p.id)),
        album: album_ref(album, u),
        position: p.position + 1,
        caption: p.caption.clone(),
        credit: p.credit.clone(),
        source: p.source.clone(),
        width: p.width,
        height: p.height,
        mime: p.mime.clone(),
        bytes: p.bytes,
        original: ImageSize {
            width: w,
            height: h,
            url: u.media(&photo_original_key(&p.content_hash, &p.mime)),
        },
        sizes,
        views: p.views,
        created_at: iso(p.created_at),
    }
}

fn category_ref(c: &GalleryCategory, u: Urls<'_>) -> GalleryCategoryRef {
    GalleryCategoryRef {
        id: c.id,
        slug: c.slug.clone(),
        path: c.path.clone(),
        name: c.name.clone(),
        url: u.abs(&format!("/gallery/{}", c.path)),
    }
}

/// An album with its category chain and cover.
pub fn album_out(conn: &mut DbConn, a: &Album, u: Urls<'_>) -> Result<AlbumOut> {
    let categories = match a.category_id {
        Some(c) => gallery_category::breadcrumb(conn, c)?
            .iter()
            .map(|c| category_ref(c, u))
            .collect(),
        None => Vec::new(),
    };
    let cover = match a.cover_photo_id {
        Some(id) => photo::find(conn, id)?,
        None => photo::page_in_album(conn, a.id, 0, 1)?.into_iter().next(),
    }
    .filter(|p| p.album_id == a.id)
    .map(|p| photo_out(&p, a, u));
    Ok(AlbumOut {
        id: a.id,
        slug: a.slug.clone(),
        title: a.title.clone(),
        description: a.description.clone(),
        credit: a.credit.clone(),
        status: a.status,
        url: u.album(&a.slug),
        photos_url: u.api(&format!("/albums/{}/photos", a.slug)),
        categories,
        photo_count: a.photo_count,
        cover,
        published_at: a.published_at.map(iso),
        last_added_at: a.last_added_at.map(iso),
        updated_at: iso(a.updated_at),
    })
}

/// The whole gallery tree with its albums (drafts only for the `Drafts` audience).
pub fn gallery_tree(conn: &mut DbConn, aud: Audience, u: Urls<'_>) -> Result<Vec<GalleryNode>> {
    let cats = gallery_category::all(conn)?;
    let albums = if aud.drafts() {
        album::all(conn)?
    } else {
        album::all_published(conn)?
    };
    let mut albums_of: HashMap<Option<i64>, Vec<AlbumBrief>> = HashMap::new();
    for a in &albums {
        albums_of
            .entry(a.category_id)
            .or_default()
            .push(AlbumBrief {
                id: a.id,
                slug: a.slug.clone(),
                title: a.title.clone(),
                status: a.status,
                photo_count: a.photo_count,
                url: u.album(&a.slug),
                api_url: u.api(&format!("/albums/{}", a.slug)),
            });
    }
    let mut children_of: HashMap<Option<i64>, Vec<&GalleryCategory>> = HashMap::new();
    for c in &cats {
        children_of.entry(c.parent_id).or_default().push(c);
    }
    fn build(
        parent: Option<i64>,
        depth: usize,
        children_of: &HashMap<Option<i64>, Vec<&GalleryCategory>>,
        albums_of: &mut HashMap<Option<i64>, Vec<AlbumBrief>>,
        u: Urls<'_>,
    ) -> Vec<GalleryNode> {
        if depth > gallery_category::MAX_DEPTH {
            return Vec::new();
        }
        let Some(list) = children_of.get(&parent) else {
            return Vec::new();
        };
        list.iter()
            .map(|c| GalleryNode {
                id: c.id,
                slug: c.slug.clone(),
                path: c.path.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                url: u.abs(&format!("/gallery/{}", c.path)),
                album_count: c.album_count,
                photo_count: c.photo_count,
                albums: albums_of.remove(&Some(c.id)).unwrap_or_default(),
                children: build(Some(c.id), depth + 1, children_of, albums_of, u),
            })
            .collect()
    }
    Ok(build(None, 0, &children_of, &mut albums_of, u))
}

fn term(id: i64, slug: &str, name: &str, url: String) -> TermRef {
    TermRef {
        id,
        slug: slug.to_string(),
        name: name.to_string(),
        url,
    }
}

fn category_out(c: Category, post_count: i64, u: Urls<'_>) -> CategoryOut {
    CategoryOut {
        post_count,
        url: u.abs(&format!("/category/{}", c.slug)),
        id: c.id,
        slug: c.slug,
        name: c.name,
        description: c.description,
        parent_id: c.parent_id,
    }
}

fn tag_out(t: Tag, post_count: i64, u: Urls<'_>) -> TagOut {
    TagOut {
        post_count,
        url: u.abs(&format!("/tag/{}", t.slug)),
        id: t.id,
        slug: t.slug,
        name: t.name,
    }
}

/// Every post category, by name, with its listed posts (published, pages left out) from the
/// per-version [`post::PostStats`].
pub fn categories_out(
    conn: &mut DbConn,
    stats: &post::PostStats,
    u: Urls<'_>,
) -> QueryResult<Vec<CategoryOut>> {
    let rows: Vec<Category> = categories::table
        .order((categories::name.asc(), categories::id.asc()))
        .select(Category::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let n = stats.by_category.get(&c.id).copied().unwrap_or(0);
            category_out(c, n, u)
        })
        .collect())
}

/// One post category with its listed posts counted (for write answers).
pub fn one_category_out(
    conn: &mut DbConn,
    id: i64,
    u: Urls<'_>,
) -> QueryResult<Option<CategoryOut>> {
    let Some(c) = categories::table
        .find(id)
        .select(Category::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let filter = post::ListFilter {
        category_ids: Some(vec![id]),
        ..post::ListFilter::default()
    };
    let n = post::count_listed(conn, &filter, None)?;
    Ok(Some(category_out(c, n, u)))
}

/// Every tag, by name, with its listed posts from the per-version [`post::PostStats`].
pub fn tags_out(
    conn: &mut DbConn,
    stats: &post::PostStats,
    u: Urls<'_>,
) -> QueryResult<Vec<TagOut>> {
    let rows: Vec<Tag> = tags::table
        .order((tags::name.asc(), tags::id.asc()))
        .select(Tag::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let n = stats.by_tag.get(&t.id).copied().unwrap_or(0);
            tag_out(t, n, u)
        })
        .collect())
}

/// One tag with its listed posts counted (for write answers).
pub fn one_tag_out(conn: &mut DbConn, id: i64, u: Urls<'_>) -> QueryResult<Option<TagOut>> {
    let Some(t) = tags::table
        .find(id)
        .select(Tag::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let filter = post::ListFilter {
        tag_id: Some(id),
        ..post::ListFilter::default()
    };
    let n = post::count_listed(conn, &filter, None)?;
    Ok(Some(tag_out(t, n, u)))
}

/// List entries for `posts`, with authors, categories, tags and featured photos loaded in four
/// queries. Featured photos in draft albums are left out for readers.
pub fn post_summaries(
    conn: &mut DbConn,
    posts: &[Post],
    aud: Audience,
    u: Urls<'_>,
) -> Result<Vec<PostSummary>> {
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let post::Terms {
        categories: mut cats,
        mut tags,
    } = post::terms_of(conn, &ids)?;
    let author_ids: Vec<i64> = posts.iter().filter_map(|p| p.author_id).collect();
    let authors: HashMap<i64, String> = users::table
        .filter(users::id.eq_any(&author_ids))
        .select((users::id, users::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let photo_ids: Vec<i64> = posts.iter().filter_map(|p| p.featured_photo_id).collect();
    let featured: HashMap<i64, PhotoOut> = if photo_ids.is_empty() {
        HashMap::new()
    } else if aud.drafts() {
        let photos = photo::by_ids(conn, &photo_ids)?;
        let album_ids: Vec<i64> = photos.iter().map(|p| p.album_id).collect();
        let albums: HashMap<i64, Album> = crate::schema::albums::table
            .filter(crate::schema::albums::id.eq_any(&album_ids))
            .select(Album::as_select())
            .load::<Album>(conn)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        photos
            .iter()
            .filter_map(|p| albums.get(&p.album_id).map(|a| (p.id, photo_out(p, a, u))))
            .collect()
    } else {
        photo::published_by_ids(conn, &photo_ids)?
            .iter()
            .map(|(p, a)| (p.id, photo_out(p, a, u)))
            .collect()
    };
    Ok(posts
        .iter()
        .map(|p| {
            let source = (p.source_publication.is_some()
                || p.source_author.is_some()
                || p.source_url.is_some()
                || p.source_date.is_some())
            .then(|| SourceOut {
                publication: p.source_publication.clone(),
                author: p.source_author.clone(),
                url: p.source_url.clone(),
                date: p.source_date.map(day),
            });
            PostSummary {
                id: p.id,
                slug: p.slug.clone(),
                title: p.title.clone(),
                kind: p.kind,
                status: p.status,
                url: u.abs(&format!("/posts/{}", p.slug)),
                excerpt: p.summary(),
                published_at: p.published_at.map(iso),
                publish_at: p.publish_at.map(iso),
                updated_at: iso(p.updated_at),
                author: p.author_id.and_then(|a| authors.get(&a).cloned()),
                categories: cats
                    .remove(&p.id)
                    .unwrap_or_default()
                    .iter()
                    .map(|c| {
                        term(
                            c.id,
                            &c.slug,
                            &c.name,
                            u.abs(&format!("/category/{}", c.slug)),
                        )
                    })
                    .collect(),
                tags: tags
                    .remove(&p.id)
                    .unwrap_or_default()
                    .iter()
                    .map(|t| term(t.id, &t.slug, &t.name, u.abs(&format!("/tag/{}", t.slug))))
                    .collect(),
                featured_photo: p
                    .featured_photo_id
                    .and_then(|id| featured.get(&id).cloned()),
                source,
            }
        })
        .collect())
}

/// A whole post: its HTML with embeds as `<figure>` links (unpublished targets vanish for
/// readers), the Markdown source, and the embeds described.
pub fn post_out(conn: &mut DbConn, p: &Post, aud: Audience, u: Urls<'_>) -> Result<PostOut> {
    let summary = post_summaries(conn, std::slice::from_ref(p), aud, u)?
        .pop()
        .ok_or(crate::Error::NotFound("post"))?;
    let parts = split_embeds(&p.body_html);
    let (mut album_slugs, mut video_slugs) = (Vec::new(), Vec::new());
    for part in &parts {
        match part {
            Err(EmbedMarker::Album(s, _)) => album_slugs.push(s.clone()),
            Err(EmbedMarker::Video(s)) => video_slugs.push(s.clone()),
            Ok(_) => {}
        }
    }
    let albums: Vec<(String, String)> = {
        let mut q = crate::schema::albums::table
            .filter(crate::schema::albums::slug.eq_any(&album_slugs))
            .select((crate::schema::albums::slug, crate::schema::albums::title))
            .into_boxed();
        if !aud.drafts() {
            q = q.filter(crate::schema::albums::status.eq(AlbumStatus::Published));
        }
        q.load(conn)?
    };
    let videos: Vec<(String, String)> = {
        let mut q = crate::schema::videos::table
            .filter(crate::schema::videos::slug.eq_any(&video_slugs))
            .select((crate::schema::videos::slug, crate::schema::videos::title))
            .into_boxed();
        if !aud.drafts() {
            q = q.filter(crate::schema::videos::status.eq(VideoStatus::Published));
        }
        q.load(conn)?
    };
    let mut html = String::with_capacity(p.body_html.len());
    let mut embeds = Vec::new();
    for part in parts {
        let (kind, slug, found) = match part {
            Ok(text) => {
                html.push_str(text);
                continue;
            }
            Err(EmbedMarker::Album(slug, _)) => {
                let t = albums.iter().find(|(s, _)| *s == slug).map(|a| a.1.clone());
                ("album", slug, t)
            }
            Err(EmbedMarker::Video(slug)) => {
                let t = videos.iter().find(|(s, _)| *s == slug).map(|v| v.1.clone());
                ("video", slug, t)
            }
        };
        let Some(title) = found else { continue };
        let url = u.abs(&format!("/{kind}s/{slug}"));
        html.push_str(&format!(
            "<figure class=\"keepsake-embed\" data-kind=\"{kind}\" data-slug=\"{slug}\"><a href=\"{}\">{}</a></figure>",
            crate::markdown::escape_html(&url),
            crate::markdown::escape_html(&title)
        ));
        embeds.push(EmbedOut {
            kind: kind.to_string(),
            api_url: u.api(&format!("/{kind}s/{slug}")),
            slug,
            title,
            url,
        });
    }
    Ok(PostOut {
        summary,
        html,
        markdown: p.body_markdown.clone(),
        embeds,
    })
}

/// A video in a list.
pub fn video_summary(v: &Video, u: Urls<'_>) -> VideoSummary {
    let embed = v.embed().map(|e| match e {
        Embed::YouTube(id) => VideoEmbedOut {
            provider: "youtube".into(),
            url: format!("https://www.youtube.com/watch?v={id}"),
            id,
        },
        Embed::Vimeo(id) => VideoEmbedOut {
            provider: "vimeo".into(),
            url: format!("https://vimeo.com/{id}"),
            id,
        },
    });
    VideoSummary {
        id: v.id,
        slug: v.slug.clone(),
        title: v.title.clone(),
        description: v.description.clone(),
        series: v.series.clone(),
        source: v.source.clone(),
        credits: v.credits.clone(),
        release_date: v.release_date.map(day),
        duration_seconds: v.duration_seconds,
        status: v.status,
        url: u.abs(&format!("/videos/{}", v.slug)),
        poster: v.poster_key.as_deref().map(|k| u.media(k)),
        embed,
        file: v.file_key.as_deref().map(|k| VideoFileOut {
            url: u.media(k),
            mime: v.file_mime.clone().unwrap_or_default(),
        }),
        published_at: v.published_at.map(iso),
        updated_at: iso(v.updated_at),
    }
}

/// A whole video with its transcript.
pub fn video_out(v: &Video, u: Urls<'_>) -> VideoOut {
    let cues: Vec<CueOut> = v
        .cues()
        .into_iter()
        .map(|c| CueOut {
            start_seconds: c.start_ms as f64 / 1000.0,
            end_seconds: c.end_ms as f64 / 1000.0,
            text: c.text,
        })
        .collect();
    VideoOut {
        summary: video_summary(v, u),
        transcript: TranscriptOut {
            format: v.transcript_format,
            text: v.transcript.clone(),
            captions_url: (!cues.is_empty())
                .then(|| u.abs(&format!("/videos/{}/captions.vtt", v.slug))),
            cues,
        },
    }
}

/// A video by slug for `aud`.
pub fn find_video(conn: &mut DbConn, slug: &str, aud: Audience) -> QueryResult<Option<Video>> {
    if aud.drafts() {
        video::find_by_slug(conn, slug)
    } else {
        video::find_published_by_slug(conn, slug)
    }
}

/// An album by slug for `aud`.
pub fn find_album(conn: &mut DbConn, slug: &str, aud: Audience) -> QueryResult<Option<Album>> {
    if aud.drafts() {
        album::find_by_slug(conn, slug)
    } else {
        album::find_published_by_slug(conn, slug)
    }
}

/// A post by slug for `aud`.
pub fn find_post(conn: &mut DbConn, slug: &str, aud: Audience) -> QueryResult<Option<Post>> {
    if aud.drafts() {
        post::find_by_slug(conn, slug)
    } else {
        post::find_published_by_slug(conn, slug)
    }
}
