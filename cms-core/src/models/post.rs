//! Posts: news, reposted articles and static pages, with revisions, categories, tags, and
//! redirects from old slugs.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::category::Category;
use super::tag::{self, Tag};
use super::{now, text_enum};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::markdown;
use crate::schema::{
    categories, post_categories, post_revisions, post_slug_redirects, post_tags, posts, tags,
};
use crate::slug;

text_enum! {
    /// What a post is: a news item, a reposted article (with its source), or a static page.
    pub enum PostKind {
        News = "news",
        Article = "article",
        Page = "page",
    }
}

text_enum! {
    /// Where a post is in its life. Readers see `published` only.
    pub enum PostStatus {
        Draft = "draft",
        Scheduled = "scheduled",
        Published = "published",
        Archived = "archived",
    }
}

/// A stored post.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = posts)]
pub struct Post {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub kind: PostKind,
    pub status: PostStatus,
    pub body_markdown: String,
    pub body_html: String,
    pub excerpt: String,
    pub featured_photo_id: Option<i64>,
    pub author_id: Option<i64>,
    pub publish_at: Option<NaiveDateTime>,
    pub published_at: Option<NaiveDateTime>,
    pub source_publication: Option<String>,
    pub source_author: Option<String>,
    pub source_url: Option<String>,
    pub source_date: Option<NaiveDate>,
    pub notify_subscribers: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When it was first published; kept when it goes back to a draft (its address is out).
    pub first_published_at: Option<NaiveDateTime>,
}

impl Post {
    /// The excerpt as written, or the start of the body.
    pub fn summary(&self) -> String {
        if self.excerpt.trim().is_empty() {
            markdown::plain_excerpt(&self.body_markdown, 220)
        } else {
            self.excerpt.clone()
        }
    }

    /// True when readers may see it.
    pub fn is_public(&self) -> bool {
        self.status == PostStatus::Published
    }
}

/// Everything an editor sets on a post. Create and update take the whole input.
#[derive(Debug, Clone)]
pub struct PostInput {
    pub title: String,
    /// `None` or empty: made from the title (on create) or kept (on update).
    pub slug: Option<String>,
    pub kind: PostKind,
    pub status: PostStatus,
    pub body_markdown: String,
    pub excerpt: String,
    pub featured_photo_id: Option<i64>,
    pub author_id: Option<i64>,
    /// When a scheduled post goes live; for a published post, its shown date (default now).
    pub publish_at: Option<NaiveDateTime>,
    pub source_publication: Option<String>,
    pub source_author: Option<String>,
    pub source_url: Option<String>,
    pub source_date: Option<NaiveDate>,
    pub notify_subscribers: bool,
    pub category_ids: Vec<i64>,
    pub tags: Vec<String>,
}

impl PostInput {
    /// A draft news post with just a title and body; fill in the rest as needed.
    pub fn new(title: impl Into<String>, body_markdown: impl Into<String>) -> Self {
        PostInput {
            title: title.into(),
            slug: None,
            kind: PostKind::News,
            status: PostStatus::Draft,
            body_markdown: body_markdown.into(),
            excerpt: String::new(),
            featured_photo_id: None,
            author_id: None,
            publish_at: None,
            source_publication: None,
            source_author: None,
            source_url: None,
            source_date: None,
            notify_subscribers: false,
            category_ids: Vec::new(),
            tags: Vec::new(),
        }
    }
}

fn clean_opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Checks an input, collecting every problem with its field.
fn validate(input: &PostInput, now: NaiveDateTime, creating: bool) -> Result<()> {
    let mut errs: Vec<(&'static str, String)> = Vec::new();
    let title = input.title.trim();
    if title.is_empty() {
        errs.push(("title", "must not be empty".into()));
    } else if input.title.chars().count() > 300 {
        errs.push(("title", "must be at most 300 characters".into()));
    }
    if let Some(s) = input
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        && let Err(Error::Invalid { message, .. }) = slug::validate(s)
    {
        errs.push(("slug", message));
    }
    if input.body_markdown.len() > 1_000_000 {
        errs.push(("body", "must be at most 1 MB".into()));
    }
    if input.excerpt.chars().count() > 1000 {
        errs.push(("excerpt", "must be at most 1000 characters".into()));
    }
    if input.status == PostStatus::Scheduled {
        match input.publish_at {
            None => errs.push((
                "publish_at",
                "a scheduled post needs a date and time".into(),
            )),
            Some(t) if creating && t <= now => errs.push((
                "publish_at",
                "must be in the future (publish now instead)".into(),
            )),
            Some(_) => {}
        }
    }
    if let Some(u) = clean_opt(&input.source_url) {
        let ok = url::Url::parse(&u).is_ok_and(|p| matches!(p.scheme(), "http" | "https"));
        if !ok {
            errs.push((
                "source_url",
                "must be an http:// or https:// address".into(),
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error::Fields(errs))
    }
}

/// The featured photo must exist (a field error rather than a foreign-key failure).
fn check_featured_photo(conn: &mut DbConn, input: &PostInput) -> Result<()> {
    if let Some(id) = input.featured_photo_id {
        let n: i64 = crate::schema::photos::table
            .find(id)
            .count()
            .get_result(conn)?;
        if n == 0 {
            return Err(Error::missing(
                "featured_photo_id",
                format!("there is no photo {id}"),
            ));
        }
    }
    Ok(())
}

fn slug_taken(conn: &mut DbConn, s: &str, except: Option<i64>) -> Result<bool> {
    let mut q = posts::table.filter(posts::slug.eq(s)).into_boxed();
    if let Some(id) = except {
        q = q.filter(posts::id.ne(id));
    }
    let n: i64 = q.count().get_result(conn)?;
    // An old slug that redirects to another post is taken too.
    let r: i64 = post_slug_redirects::table
        .filter(post_slug_redirects::old_slug.eq(s))
        .filter(post_slug_redirects::post_id.ne(except.unwrap_or(-1)))
        .count()
        .get_result(conn)?;
    Ok(n + r > 0)
}

/// True when a new post could not take this slug (a post has it, or it redirects to one).
pub fn slug_in_use(conn: &mut DbConn, s: &str) -> Result<bool> {
    slug_taken(conn, s, None)
}

fn published_at_for(
    input: &PostInput,
    previous: Option<NaiveDateTime>,
    t: NaiveDateTime,
) -> Option<NaiveDateTime> {
    match input.status {
        PostStatus::Published | PostStatus::Archived => previous.or(input.publish_at).or(Some(t)),
        PostStatus::Draft | PostStatus::Scheduled => None,
    }
}

/// Creates a post with its first revision, categories and tags.
pub fn create(conn: &mut DbConn, input: &PostInput) -> Result<Post> {
    let t = now();
    validate(input, t, true)?;
    check_featured_photo(conn, input)?;
    let slug = match input
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => {
            if slug_taken(conn, s, None)? {
                return Err(Error::taken("slug", format!("'{s}' is taken")));
            }
            s.to_string()
        }
        None => slug::unique(&slug::slugify(&input.title), |s| slug_taken(conn, s, None))?,
    };
    let post = diesel::insert_into(posts::table)
        .values((
            posts::slug.eq(&slug),
            posts::title.eq(input.title.trim()),
            posts::kind.eq(input.kind),
            posts::status.eq(input.status),
            posts::body_markdown.eq(&input.body_markdown),
            posts::body_html.eq(markdown::render(&input.body_markdown)),
            posts::excerpt.eq(input.excerpt.trim()),
            posts::featured_photo_id.eq(input.featured_photo_id),
            posts::author_id.eq(input.author_id),
            posts::publish_at.eq(input.publish_at),
            posts::published_at.eq(published_at_for(input, None, t)),
            posts::first_published_at.eq(published_at_for(input, None, t)),
            posts::source_publication.eq(clean_opt(&input.source_publication)),
            posts::source_author.eq(clean_opt(&input.source_author)),
            posts::source_url.eq(clean_opt(&input.source_url)),
            posts::source_date.eq(input.source_date),
            posts::notify_subscribers.eq(input.notify_subscribers),
            posts::created_at.eq(t),
            posts::updated_at.eq(t),
        ))
        .returning(posts::all_columns)
        .get_result::<Post>(conn)?;
    add_revision(conn, &post, input.author_id)?;
    set_categories(conn, post.id, &input.category_ids)?;
    set_tags(conn, post.id, &input.tags)?;
    Ok(post)
}

/// Was `slug` made from `title` (itself, or with the number a taken slug gets)?
fn slug_came_from(slug: &str, title: &str) -> bool {
    let base = slug::slugify(title);
    slug == base
        || slug
            .strip_prefix(&base)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Replaces a post's fields. A changed slug leaves a redirect from the old one; a changed
/// title, body or excerpt adds a revision.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    input: &PostInput,
    editor_id: Option<i64>,
) -> Result<Post> {
    let t = now();
    validate(input, t, false)?;
    check_featured_photo(conn, input)?;
    let old = find(conn, id)?.ok_or(Error::NotFound("post"))?;
    let typed = input
        .slug
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    // Until a post is first published its slug follows its title, unless the editor chose one:
    // nobody outside has the address yet. A post taken back to a draft has been out.
    let never_published = old.published_at.is_none() && old.first_published_at.is_none();
    let follows_title = never_published
        && typed.is_none_or(|s| s == old.slug)
        && slug_came_from(&old.slug, &old.title)
        && input.title.trim() != old.title.trim();
    let slug = match typed {
        _ if follows_title => slug::unique(&slug::slugify(&input.title), |s| {
            slug_taken(conn, s, Some(id))
        })?,
        Some(s) if s != old.slug => {
            if slug_taken(conn, s, Some(id))? {
                return Err(Error::taken("slug", format!("'{s}' is taken")));
            }
            s.to_string()
        }
        _ => old.slug.clone(),
    };
    // Readers (and feeds, and emails) may hold a published post's old address; a draft's
    // was never given out.
    if slug != old.slug && !never_published {
        diesel::delete(post_slug_redirects::table.filter(post_slug_redirects::old_slug.eq(&slug)))
            .execute(conn)?;
        diesel::insert_into(post_slug_redirects::table)
            .values((
                post_slug_redirects::old_slug.eq(&old.slug),
                post_slug_redirects::post_id.eq(id),
                post_slug_redirects::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    let body_html = if input.body_markdown == old.body_markdown {
        old.body_html.clone()
    } else {
        markdown::render(&input.body_markdown)
    };
    let previous_published = match input.status {
        PostStatus::Published | PostStatus::Archived => old.published_at,
        _ => None,
    };
    let post = diesel::update(posts::table.find(id))
        .set((
            posts::slug.eq(&slug),
            posts::title.eq(input.title.trim()),
            posts::kind.eq(input.kind),
            posts::status.eq(input.status),
            posts::body_markdown.eq(&input.body_markdown),
            posts::body_html.eq(body_html),
            posts::excerpt.eq(input.excerpt.trim()),
            posts::featured_photo_id.eq(input.featured_photo_id),
            posts::publish_at.eq(input.publish_at),
            posts::published_at.eq(published_at_for(input, previous_published, t)),
            posts::first_published_at.eq(old.first_published_at.or(published_at_for(
                input,
                previous_published,
                t,
            ))),
            posts::source_publication.eq(clean_opt(&input.source_publication)),
            posts::source_author.eq(clean_opt(&input.source_author)),
            posts::source_url.eq(clean_opt(&input.source_url)),
            posts::source_date.eq(input.source_date),
            posts::notify_subscribers.eq(input.notify_subscribers),
            posts::updated_at.eq(t),
        ))
        .returning(posts::all_columns)
        .get_result::<Post>(conn)?;
    if post.title != old.title
        || post.body_markdown != old.body_markdown
        || post.excerpt != old.excerpt
    {
        add_revision(conn, &post, editor_id.or(input.author_id))?;
    }
    set_categories(conn, id, &input.category_ids)?;
    set_tags(conn, id, &input.tags)?;
    Ok(post)
}

/// Publishes a post now (or keeps its first publication date if it had one).
pub fn publish(conn: &mut DbConn, id: i64) -> Result<Post> {
    let old = find(conn, id)?.ok_or(Error::NotFound("post"))?;
    let t = now();
    let post = diesel::update(posts::table.find(id))
        .set((
            posts::status.eq(PostStatus::Published),
            posts::published_at.eq(old.published_at.or(Some(t))),
            posts::first_published_at.eq(old.first_published_at.or(old.published_at).or(Some(t))),
            posts::updated_at.eq(t),
        ))
        .returning(posts::all_columns)
        .get_result::<Post>(conn)?;
    Ok(post)
}

/// Publishes `old` if it is still scheduled and its time has come (checked again in the
/// UPDATE, so two schedulers cannot both publish it); returns the post when it did. The post
/// keeps its scheduled time as its publication date.
pub fn publish_if_due(conn: &mut DbConn, old: &Post, at: NaiveDateTime) -> Result<Option<Post>> {
    let due = old.status == PostStatus::Scheduled && old.publish_at.is_some_and(|t| t <= at);
    if !due {
        return Ok(None);
    }
    Ok(diesel::update(
        posts::table
            .find(old.id)
            .filter(posts::status.eq(PostStatus::Scheduled)),
    )
    .set((
        posts::status.eq(PostStatus::Published),
        posts::published_at.eq(old.publish_at.or(Some(at))),
        posts::first_published_at.eq(old.first_published_at.or(old.publish_at).or(Some(at))),
        posts::updated_at.eq(now()),
    ))
    .returning(posts::all_columns)
    .get_result::<Post>(conn)
    .optional()?)
}

/// Sets a post's status without touching its content (unpublish, archive). As with an edit in
/// the admin, a post taken back to a draft loses its publication date (it gets a new one when
/// it is published again) and keeps its first one, and with it its address.
pub fn set_status(conn: &mut DbConn, id: i64, status: PostStatus) -> Result<Post> {
    if status == PostStatus::Published {
        return publish(conn, id);
    }
    let unpublished = matches!(status, PostStatus::Draft | PostStatus::Scheduled);
    let old = find(conn, id)?.ok_or(Error::NotFound("post"))?;
    let post = diesel::update(posts::table.find(id))
        .set((
            posts::status.eq(status),
            posts::published_at.eq(old.published_at.filter(|_| !unpublished)),
            posts::first_published_at.eq(old.first_published_at.or(old.published_at)),
            posts::updated_at.eq(now()),
        ))
        .returning(posts::all_columns)
        .get_result::<Post>(conn)
        .optional()?
        .ok_or(Error::NotFound("post"))?;
    Ok(post)
}

/// Deletes a post with its revisions, links and redirects.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<()> {
    let n = diesel::delete(posts::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("post"));
    }
    Ok(())
}

fn add_revision(conn: &mut DbConn, post: &Post, author_id: Option<i64>) -> QueryResult<()> {
    diesel::insert_into(post_revisions::table)
        .values((
            post_revisions::post_id.eq(post.id),
            post_revisions::author_id.eq(author_id),
            post_revisions::title.eq(&post.title),
            post_revisions::body_markdown.eq(&post.body_markdown),
            post_revisions::excerpt.eq(&post.excerpt),
            post_revisions::created_at.eq(post.updated_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Replaces a post's categories.
pub fn set_categories(conn: &mut DbConn, post_id: i64, category_ids: &[i64]) -> Result<()> {
    diesel::delete(post_categories::table.filter(post_categories::post_id.eq(post_id)))
        .execute(conn)?;
    let mut ids = category_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for cid in ids {
        let exists: i64 = categories::table
            .filter(categories::id.eq(cid))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(Error::Fields(vec![(
                "categories",
                format!("category {cid} does not exist"),
            )]));
        }
        diesel::insert_into(post_categories::table)
            .values((
                post_categories::post_id.eq(post_id),
                post_categories::category_id.eq(cid),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces a post's tags, creating tags that do not exist yet.
pub fn set_tags(conn: &mut DbConn, post_id: i64, names: &[String]) -> Result<()> {
    diesel::delete(post_tags::table.filter(post_tags::post_id.eq(post_id))).execute(conn)?;
    let mut ids = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        ids.push(tag::find_or_create(conn, name)?.id);
    }
    ids.sort_unstable();
    ids.dedup();
    for tid in ids {
        diesel::insert_into(post_tags::table)
            .values((post_tags::post_id.eq(post_id), post_tags::tag_id.eq(tid)))
            .execute(conn)?;
    }
    Ok(())
}

/// What an editor would see in the form of a stored post: its input, ready to change and save.
pub fn input_of(conn: &mut DbConn, p: &Post) -> QueryResult<PostInput> {
    let (categories, tags) = terms_of(conn, &[p.id])?.take(p.id);
    let category_ids = categories.into_iter().map(|c| c.id).collect();
    let tags = tags.into_iter().map(|t| t.name).collect();
    Ok(PostInput {
        title: p.title.clone(),
        slug: Some(p.slug.clone()),
        kind: p.kind,
        status: p.status,
        body_markdown: p.body_markdown.clone(),
        excerpt: p.excerpt.clone(),
        featured_photo_id: p.featured_photo_id,
        author_id: p.author_id,
        publish_at: p.publish_at,
        source_publication: p.source_publication.clone(),
        source_author: p.source_author.clone(),
        source_url: p.source_url.clone(),
        source_date: p.source_date,
        notify_subscribers: p.notify_subscribers,
        category_ids,
        tags,
    })
}

/// A post by id, in any status (admin).
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Post>> {
    posts::table
        .find(id)
        .select(Post::as_select())
        .first(conn)
        .optional()
}

/// A post by slug, in any status (API clients that may see drafts).
pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Post>> {
    posts::table
        .filter(posts::slug.eq(slug))
        .select(Post::as_select())
        .first(conn)
        .optional()
}

/// A published post by slug (readers).
pub fn find_published_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Post>> {
    posts::table
        .filter(posts::slug.eq(slug))
        .filter(posts::status.eq(PostStatus::Published))
        .select(Post::as_select())
        .first(conn)
        .optional()
}

/// The published post with this slug and its author's name, in one statement (a post page's
/// first read).
pub fn find_published_by_slug_with_author(
    conn: &mut DbConn,
    slug: &str,
) -> QueryResult<Option<(Post, Option<String>)>> {
    posts::table
        .left_join(crate::schema::users::table)
        .filter(posts::slug.eq(slug))
        .filter(posts::status.eq(PostStatus::Published))
        .select((Post::as_select(), crate::schema::users::name.nullable()))
        .first(conn)
        .optional()
}

/// The current slug of the published post an old slug pointed to, for a 301.
pub fn redirect_for(conn: &mut DbConn, old_slug: &str) -> QueryResult<Option<String>> {
    post_slug_redirects::table
        .inner_join(posts::table)
        .filter(post_slug_redirects::old_slug.eq(old_slug))
        .filter(posts::status.eq(PostStatus::Published))
        .select(posts::slug)
        .first(conn)
        .optional()
}

/// Which published posts a reader list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub category_ids: Option<Vec<i64>>,
    pub tag_id: Option<i64>,
    /// Half-open range on the publication time.
    pub published_from: Option<NaiveDateTime>,
    pub published_before: Option<NaiveDateTime>,
    pub kind: Option<PostKind>,
    /// Posts in any status (API clients that may see drafts), most recently changed first.
    pub any_status: bool,
    /// Only this status (with `any_status`).
    pub status: Option<PostStatus>,
}

/// Counts of published posts (pages left out) as of one content version: in all, per month,
/// per category (posts filed directly in it) and per tag. Lists take their totals from here, so
/// a list page of a 100,000-post archive costs no count query; [`crate::snapshot::Snapshot`]
/// computes them once per content version, on first use.
#[derive(Debug, Clone, Default)]
pub struct PostStats {
    pub published: i64,
    /// (year, month, posts), newest first.
    pub months: Vec<(i32, u32, i64)>,
    pub by_category: HashMap<i64, i64>,
    pub by_tag: HashMap<i64, i64>,
}

/// Reads [`PostStats`]: three grouped counts over the published posts.
pub fn stats(conn: &mut DbConn) -> QueryResult<PostStats> {
    let months = archive_months(conn)?;
    let listed = || {
        posts::status
            .eq(PostStatus::Published)
            .and(posts::kind.ne(PostKind::Page))
    };
    let by_category = post_categories::table
        .inner_join(posts::table)
        .filter(listed())
        .group_by(post_categories::category_id)
        .select((post_categories::category_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let by_tag = post_tags::table
        .inner_join(posts::table)
        .filter(listed())
        .group_by(post_tags::tag_id)
        .select((post_tags::tag_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(PostStats {
        published: months.iter().map(|m| m.2).sum(),
        months,
        by_category,
        by_tag,
    })
}

impl PostStats {
    /// The number of posts `filter` matches, when these counts know it: no filter, one
    /// category, one tag or one calendar month, published posts only.
    pub fn total_for(&self, filter: &ListFilter) -> Option<i64> {
        if filter.any_status || filter.kind.is_some() {
            return None;
        }
        match (
            filter.category_ids.as_deref(),
            filter.tag_id,
            filter.published_from,
            filter.published_before,
        ) {
            (None, None, None, None) => Some(self.published),
            (Some([id]), None, None, None) => Some(self.by_category.get(id).copied().unwrap_or(0)),
            (None, Some(id), None, None) => Some(self.by_tag.get(&id).copied().unwrap_or(0)),
            (None, None, Some(from), Some(before)) => {
                let (y, m) = (from.year(), from.month());
                let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let whole_month = from.day() == 1
                    && from.time() == chrono::NaiveTime::MIN
                    && before.time() == chrono::NaiveTime::MIN
                    && before.day() == 1
                    && (before.year(), before.month()) == next;
                whole_month.then(|| {
                    self.months
                        .iter()
                        .find(|(yy, mm, _)| (*yy, *mm) == (y, m))
                        .map_or(0, |x| x.2)
                })
            }
            _ => None,
        }
    }
}

/// The number of posts `filter` matches: from `stats` when they know it, else counted.
pub fn count_listed(
    conn: &mut DbConn,
    filter: &ListFilter,
    stats: Option<&PostStats>,
) -> QueryResult<i64> {
    match stats.and_then(|s| s.total_for(filter)) {
        Some(n) => Ok(n),
        None => listed_query(filter, Membership::Collect)
            .count()
            .get_result(conn),
    }
}

/// How a category or tag filter is written. SQLite plans `id IN (subquery)` by collecting
/// every member and sorting them, which costs the size of the category; `EXISTS` walks the
/// newest posts in index order and stops after a page, which costs the page divided by the
/// category's share of all posts. [`list_page`] picks the cheaper from [`PostStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Membership {
    Collect,
    Probe,
}

/// The posts a list filter selects, unordered (see [`list_published`]).
fn listed_query(
    filter: &ListFilter,
    how: Membership,
) -> posts::BoxedQuery<'static, <DbConn as diesel::Connection>::Backend> {
    let mut q = posts::table.into_boxed();
    q = match (filter.any_status, filter.status) {
        (true, Some(s)) => q.filter(posts::status.eq(s)),
        (true, None) => q,
        (false, _) => q.filter(posts::status.eq(PostStatus::Published)),
    };
    q = match filter.kind {
        Some(k) => q.filter(posts::kind.eq(k)),
        None => q.filter(posts::kind.ne(PostKind::Page)),
    };
    if let Some(ids) = &filter.category_ids {
        q = match how {
            Membership::Collect => q.filter(
                posts::id.eq_any(
                    post_categories::table
                        .filter(post_categories::category_id.eq_any(ids.clone()))
                        .select(post_categories::post_id),
                ),
            ),
            Membership::Probe => q.filter(diesel::dsl::exists(
                post_categories::table
                    .filter(post_categories::post_id.eq(posts::id))
                    .filter(post_categories::category_id.eq_any(ids.clone())),
            )),
        };
    }
    if let Some(tid) = filter.tag_id {
        q = match how {
            Membership::Collect => q.filter(
                posts::id.eq_any(
                    post_tags::table
                        .filter(post_tags::tag_id.eq(tid))
                        .select(post_tags::post_id),
                ),
            ),
            Membership::Probe => q.filter(diesel::dsl::exists(
                post_tags::table
                    .filter(post_tags::post_id.eq(posts::id))
                    .filter(post_tags::tag_id.eq(tid)),
            )),
        };
    }
    if let Some(from) = filter.published_from {
        q = q.filter(posts::published_at.ge(from));
    }
    if let Some(before) = filter.published_before {
        q = q.filter(posts::published_at.lt(before));
    }
    q
}

/// One page of the posts `filter` selects, without the total (see [`count_listed`]). `stats`
/// (with the total `filter` matches) choose how a category or tag filter is queried.
pub fn list_page(
    conn: &mut DbConn,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
    stats: Option<(&PostStats, i64)>,
) -> QueryResult<Vec<Post>> {
    let how = match stats {
        // Probing reads about (offset + limit) × published / matching rows; collecting reads
        // all `matching` and sorts them.
        Some((s, matching)) if !filter.any_status && matching > 0 => {
            let probed = (offset + limit) as f64 * s.published as f64 / matching as f64;
            if probed < matching as f64 {
                Membership::Probe
            } else {
                Membership::Collect
            }
        }
        _ => Membership::Collect,
    };
    let ordered = if filter.any_status {
        listed_query(filter, how).order((posts::updated_at.desc(), posts::id.desc()))
    } else {
        listed_query(filter, how).order((posts::published_at.desc(), posts::id.desc()))
    };
    ordered
        .offset(offset)
        .limit(limit)
        .select(Post::as_select())
        .load(conn)
}

/// One page of published posts, newest first, and the total count. Pages (kind `page`) are left
/// out unless asked for by kind. With `any_status`, drafts, scheduled and archived posts are
/// listed too, most recently changed first.
pub fn list_published(
    conn: &mut DbConn,
    filter: &ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Post>, i64)> {
    let total = count_listed(conn, filter, None)?;
    Ok((list_page(conn, filter, offset, limit, None)?, total))
}

/// A category of a post, as PostgreSQL's list statement returns it.
#[derive(QueryableByName)]
struct CategoryOf {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    post_id: i64,
    #[diesel(embed)]
    item: Category,
}

/// A tag of a post, likewise.
#[derive(QueryableByName)]
struct TagOf {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    post_id: i64,
    #[diesel(embed)]
    item: Tag,
}

/// Items of each post in `post_ids` (categories, tags), grouped by post in the rows' order: on
/// PostgreSQL the statement `pg` (its list read through `(SELECT $1)`, so that it is planned
/// once per connection: see [`crate::db::prepared`]) with its rows made pairs by `pair`, on
/// SQLite `sqlite`'s pairs.
fn of_posts<T, R: QueryableByName<diesel::pg::Pg> + 'static>(
    conn: &mut DbConn,
    post_ids: &[i64],
    pg: &'static str,
    pair: fn(R) -> (i64, T),
    sqlite: impl FnOnce(&mut DbConn) -> QueryResult<Vec<(i64, T)>>,
) -> QueryResult<HashMap<i64, Vec<T>>> {
    if post_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = match conn {
        DbConn::Pg(c) => {
            let binds = [crate::db::prepared::Bind::BigInts(post_ids)];
            let rows: Vec<R> = crate::db::prepared::sql(pg, &binds).load(c)?;
            rows.into_iter().map(pair).collect()
        }
        DbConn::Sqlite(_) => sqlite(conn)?,
    };
    let mut map: HashMap<i64, Vec<T>> = HashMap::new();
    for (pid, item) in rows {
        map.entry(pid).or_default().push(item);
    }
    Ok(map)
}

/// Categories of each post in `post_ids`.
pub fn categories_of(
    conn: &mut DbConn,
    post_ids: &[i64],
) -> QueryResult<HashMap<i64, Vec<Category>>> {
    of_posts(
        conn,
        post_ids,
        "SELECT pc.post_id, c.* FROM post_categories pc
         JOIN categories c ON c.id = pc.category_id
         WHERE pc.post_id = ANY((SELECT $1)::int8[]) ORDER BY c.name",
        |r: CategoryOf| (r.post_id, r.item),
        |conn| {
            post_categories::table
                .inner_join(categories::table)
                .filter(post_categories::post_id.eq_any(post_ids))
                .order(categories::name.asc())
                .select((post_categories::post_id, Category::as_select()))
                .load(conn)
        },
    )
}

/// Tags of each post in `post_ids`.
pub fn tags_of(conn: &mut DbConn, post_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<Tag>>> {
    of_posts(
        conn,
        post_ids,
        "SELECT pt.post_id, t.* FROM post_tags pt
         JOIN tags t ON t.id = pt.tag_id
         WHERE pt.post_id = ANY((SELECT $1)::int8[]) ORDER BY t.name",
        |r: TagOf| (r.post_id, r.item),
        |conn| {
            post_tags::table
                .inner_join(tags::table)
                .filter(post_tags::post_id.eq_any(post_ids))
                .order(tags::name.asc())
                .select((post_tags::post_id, Tag::as_select()))
                .load(conn)
        },
    )
}

/// The categories and the tags of some posts, each post's in name order.
#[derive(Debug, Default)]
pub struct Terms {
    pub categories: HashMap<i64, Vec<Category>>,
    pub tags: HashMap<i64, Vec<Tag>>,
}

impl Terms {
    /// The categories and tags of one post, taken out.
    pub fn take(&mut self, post_id: i64) -> (Vec<Category>, Vec<Tag>) {
        (
            self.categories.remove(&post_id).unwrap_or_default(),
            self.tags.remove(&post_id).unwrap_or_default(),
        )
    }
}

/// A category or a tag of a post, as PostgreSQL's one statement for both returns it (a tag's
/// row has no parent, an empty description and position 0).
#[derive(QueryableByName)]
struct TermOf {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    post_id: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    is_category: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    parent_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    slug: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    description: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    position: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    updated_at: NaiveDateTime,
}

/// Categories and tags of each post in `post_ids`: one statement on PostgreSQL, where each is a
/// round trip (SQLite reads them as [`categories_of`] and [`tags_of`] do).
pub fn terms_of(conn: &mut DbConn, post_ids: &[i64]) -> QueryResult<Terms> {
    if post_ids.is_empty() {
        return Ok(Terms::default());
    }
    let DbConn::Pg(c) = conn else {
        return Ok(Terms {
            categories: categories_of(conn, post_ids)?,
            tags: tags_of(conn, post_ids)?,
        });
    };
    let binds = [crate::db::prepared::Bind::BigInts(post_ids)];
    let rows: Vec<TermOf> = crate::db::prepared::sql(
        "SELECT pc.post_id, TRUE AS is_category, c.id, c.parent_id, c.slug, c.name,
                c.description, c.position, c.created_at, c.updated_at
         FROM post_categories pc JOIN categories c ON c.id = pc.category_id
         WHERE pc.post_id = ANY((SELECT $1)::int8[])
         UNION ALL
         SELECT pt.post_id, FALSE, t.id, NULL, t.slug, t.name, '', 0, t.created_at, t.created_at
         FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
         WHERE pt.post_id = ANY((SELECT $1)::int8[])
         ORDER BY name",
        &binds,
    )
    .load(c)?;
    let mut terms = Terms::default();
    for r in rows {
        if r.is_category {
            terms
                .categories
                .entry(r.post_id)
                .or_default()
                .push(Category {
                    id: r.id,
                    parent_id: r.parent_id,
                    slug: r.slug,
                    name: r.name,
                    description: r.description,
                    position: r.position,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                });
        } else {
            terms.tags.entry(r.post_id).or_default().push(Tag {
                id: r.id,
                slug: r.slug,
                name: r.name,
                created_at: r.created_at,
            });
        }
    }
    Ok(terms)
}

/// A stored revision.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = post_revisions)]
pub struct Revision {
    pub id: i64,
    pub post_id: i64,
    pub author_id: Option<i64>,
    pub title: String,
    pub body_markdown: String,
    pub excerpt: String,
    pub created_at: NaiveDateTime,
}

/// A post's revisions, newest first.
pub fn revisions(conn: &mut DbConn, post_id: i64) -> QueryResult<Vec<Revision>> {
    post_revisions::table
        .filter(post_revisions::post_id.eq(post_id))
        .order(post_revisions::id.desc())
        .select(Revision::as_select())
        .load(conn)
}

/// Puts a revision's title, body and excerpt back (as a new revision).
pub fn restore_revision(
    conn: &mut DbConn,
    post_id: i64,
    revision_id: i64,
    editor_id: Option<i64>,
) -> Result<Post> {
    let rev: Revision = post_revisions::table
        .filter(post_revisions::id.eq(revision_id))
        .filter(post_revisions::post_id.eq(post_id))
        .select(Revision::as_select())
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound("revision"))?;
    let t = now();
    let post = diesel::update(posts::table.find(post_id))
        .set((
            posts::title.eq(&rev.title),
            posts::body_markdown.eq(&rev.body_markdown),
            posts::body_html.eq(markdown::render(&rev.body_markdown)),
            posts::excerpt.eq(&rev.excerpt),
            posts::updated_at.eq(t),
        ))
        .returning(posts::all_columns)
        .get_result::<Post>(conn)?;
    add_revision(conn, &post, editor_id)?;
    Ok(post)
}

/// Scheduled posts whose time has come, oldest first (the scheduler publishes them).
pub fn due_scheduled(conn: &mut DbConn, at: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    posts::table
        .filter(posts::status.eq(PostStatus::Scheduled))
        .filter(posts::publish_at.le(at))
        .order(posts::publish_at.asc())
        .limit(limit)
        .select(posts::id)
        .load(conn)
}

/// How many posts exist.
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    posts::table.count().get_result(conn)
}

/// Months that have published posts (not pages), newest first, with their counts.
pub fn archive_months(conn: &mut DbConn) -> QueryResult<Vec<(i32, u32, i64)>> {
    #[derive(QueryableByName)]
    struct Month {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ym: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<Month> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT substr(published_at, 1, 7) AS ym, count(*) AS n FROM posts
             WHERE status = 'published' AND kind != 'page' AND published_at IS NOT NULL
             GROUP BY ym ORDER BY ym DESC",
        )
        .load(c)?,
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT to_char(published_at, 'YYYY-MM') AS ym, count(*) AS n FROM posts
             WHERE status = 'published' AND kind != 'page' AND published_at IS NOT NULL
             GROUP BY ym ORDER BY ym DESC",
        )
        .load(c)?,
    };
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            let (y, mo) = m.ym.split_once('-')?;
            Some((y.parse().ok()?, mo.parse().ok()?, m.n))
        })
        .collect())
}

/// Slugs and update times of every published post, for the sitemap.
pub fn published_slugs(conn: &mut DbConn) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    posts::table
        .filter(posts::status.eq(PostStatus::Published))
        .order(posts::id.asc())
        .select((posts::slug, posts::updated_at))
        .load(conn)
}

/// Filters of the admin's post list.
#[derive(Debug, Clone, Default)]
pub struct AdminFilter {
    pub status: Option<PostStatus>,
    pub category_id: Option<i64>,
    pub author_id: Option<i64>,
    /// Matches titles containing these words, in any letter case.
    pub search: Option<String>,
}

/// One page of posts in any status for the admin, newest change first, and the total.
pub fn admin_list(
    conn: &mut DbConn,
    f: &AdminFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Post>, i64)> {
    let build = || {
        let mut q = posts::table.into_boxed();
        if let Some(s) = f.status {
            q = q.filter(posts::status.eq(s));
        }
        if let Some(c) = f.category_id {
            q = q.filter(
                posts::id.eq_any(
                    post_categories::table
                        .filter(post_categories::category_id.eq(c))
                        .select(post_categories::post_id),
                ),
            );
        }
        if let Some(a) = f.author_id {
            q = q.filter(posts::author_id.eq(a));
        }
        if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let escaped = s
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q = q.filter(
                crate::models::lower(posts::title)
                    .like(format!("%{escaped}%"))
                    .escape('\\'),
            );
        }
        q
    };
    let total = build().count().get_result(conn)?;
    let rows = build()
        .order((posts::updated_at.desc(), posts::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(Post::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// How many posts are in each status.
pub fn status_counts(conn: &mut DbConn) -> QueryResult<Vec<(PostStatus, i64)>> {
    posts::table
        .group_by(posts::status)
        .select((posts::status, diesel::dsl::count_star()))
        .load(conn)
}

/// Replaces a post's body (Markdown, and its HTML) without a revision: an import pointing the
/// links of its own text at their new addresses, not an edit (its dates stay).
pub fn set_body(conn: &mut DbConn, id: i64, markdown: &str) -> Result<()> {
    let n = diesel::update(posts::table.find(id))
        .set((
            posts::body_html.eq(crate::markdown::render(markdown)),
            posts::body_markdown.eq(markdown),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("post"));
    }
    Ok(())
}

/// Sets (or clears) a post's featured photo.
pub fn set_featured_photo(conn: &mut DbConn, id: i64, photo_id: Option<i64>) -> Result<()> {
    let n = diesel::update(posts::table.find(id))
        .set((
            posts::featured_photo_id.eq(photo_id),
            posts::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("post"));
    }
    Ok(())
}
