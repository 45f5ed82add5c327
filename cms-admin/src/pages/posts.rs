//! Posts: the list with filters and search, the editor (Markdown with live preview, slug,
//! kind, status and schedule in the site's time zone, source fields, excerpt, featured photo,
//! categories, tags, notify flag), revisions with diffs and restore, and deletion.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::category::{self, Category};
use cms_core::models::post::{self, AdminFilter, PostInput, PostKind, PostStatus};
use cms_core::models::{photo, user};
use cms_core::service;

use crate::auth::{Editor, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, Form, see_other};
use crate::layout::{Chrome, Section};
use crate::pages::ConfirmPage;
use crate::time;

const PER_PAGE: i64 = 25;

/// A row of the list.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub title: String,
    pub status: PostStatus,
    pub kind: PostKind,
    pub author: String,
    pub when: String,
}

/// A choice in a filter or a select.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "posts.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    total: i64,
    statuses: Vec<Choice>,
    categories: Vec<Choice>,
    authors: Vec<Choice>,
    q: String,
    prev: Option<String>,
    next: Option<String>,
}

fn choices<T: ToString>(
    items: impl IntoIterator<Item = (T, String)>,
    selected: &str,
) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(v, label)| {
            let value = v.to_string();
            Choice {
                selected: value == selected,
                value,
                label,
            }
        })
        .collect()
}

/// `GET /admin/posts`
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    let q = |k: &str| forms::query_value(&req, k).unwrap_or_default();
    let (status_s, cat_s, author_s, search, page_s) =
        (q("status"), q("category"), q("author"), q("q"), q("page"));
    let bad = |what: &str| AdminError::BadRequest(format!("unknown {what} filter"));
    let filter = AdminFilter {
        status: if status_s.is_empty() {
            None
        } else {
            Some(status_s.parse().map_err(|_| bad("status"))?)
        },
        category_id: if cat_s.is_empty() {
            None
        } else {
            Some(cat_s.parse().map_err(|_| bad("category"))?)
        },
        author_id: if author_s.is_empty() {
            None
        } else {
            Some(author_s.parse().map_err(|_| bad("author"))?)
        },
        search: (!search.is_empty()).then(|| search.clone()),
    };
    let page: i64 = if page_s.is_empty() {
        1
    } else {
        page_s
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| bad("page"))?
    };
    let tz = state.config.timezone;
    let (rows, total, cats, users) = state
        .db
        .run(move |conn| {
            let (posts, total) = post::admin_list(conn, &filter, (page - 1) * PER_PAGE, PER_PAGE)?;
            let ids: Vec<i64> = posts.iter().filter_map(|p| p.author_id).collect();
            let names = user::names(conn, &ids)?;
            let rows = posts
                .into_iter()
                .map(|p| Row {
                    id: p.id,
                    author: p
                        .author_id
                        .and_then(|a| names.get(&a).cloned())
                        .unwrap_or_default(),
                    when: match p.status {
                        PostStatus::Scheduled => p
                            .publish_at
                            .map(|t| format!("due {}", time::display(t, tz))),
                        PostStatus::Published | PostStatus::Archived => {
                            p.published_at.map(|t| time::display(t, tz))
                        }
                        PostStatus::Draft => {
                            Some(format!("edited {}", time::display(p.updated_at, tz)))
                        }
                    }
                    .unwrap_or_default(),
                    title: p.title,
                    status: p.status,
                    kind: p.kind,
                })
                .collect::<Vec<_>>();
            Ok::<_, cms_core::Error>((rows, total, category::all(conn)?, user::list(conn)?))
        })
        .await?;
    let link = |p: i64| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &status_s),
            ("category", &cat_s),
            ("author", &author_s),
            ("q", &search),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("page", &p.to_string());
        format!("/admin/posts?{}", s.finish())
    };
    let c = Chrome::new(&req, &user.0, "Posts", Section::Posts);
    forms::render(&ListPage {
        c,
        total,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page * PER_PAGE < total).then(|| link(page + 1)),
        statuses: choices(
            PostStatus::ALL
                .iter()
                .map(|s| (s.as_str(), s.as_str().to_string())),
            &status_s,
        ),
        categories: choices(cats.into_iter().map(|c| (c.id, c.name)), &cat_s),
        authors: choices(users.into_iter().map(|u| (u.id, u.name)), &author_s),
        q: search,
        rows,
    })
}

/// The editor's fields as typed (strings), so a form with errors comes back as it was.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct PostForm {
    pub title: String,
    pub slug: String,
    pub kind: String,
    pub status: String,
    pub publish_at: String,
    pub body: String,
    pub excerpt: String,
    pub featured_photo_id: String,
    pub categories: Vec<String>,
    pub tags: String,
    pub source_publication: String,
    pub source_author: String,
    pub source_url: String,
    pub source_date: String,
    pub notify: Option<String>,
}

impl PostForm {
    fn from_post(
        p: &post::Post,
        cats: &[Category],
        tags: &[String],
        tz: chrono_tz::Tz,
    ) -> PostForm {
        PostForm {
            title: p.title.clone(),
            slug: p.slug.clone(),
            kind: p.kind.as_str().into(),
            status: p.status.as_str().into(),
            publish_at: p
                .publish_at
                .or(p.published_at)
                .map(|t| time::to_input(t, tz))
                .unwrap_or_default(),
            body: p.body_markdown.clone(),
            excerpt: p.excerpt.clone(),
            featured_photo_id: p
                .featured_photo_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
            categories: cats.iter().map(|c| c.id.to_string()).collect(),
            tags: tags.join(", "),
            source_publication: p.source_publication.clone().unwrap_or_default(),
            source_author: p.source_author.clone().unwrap_or_default(),
            source_url: p.source_url.clone().unwrap_or_default(),
            source_date: p
                .source_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            notify: p.notify_subscribers.then(|| "on".into()),
        }
    }

    /// Parses into a core input; every field that cannot be read is reported.
    fn parse(&self, tz: chrono_tz::Tz, author: i64) -> Result<PostInput, Errors> {
        let mut errors = Errors::default();
        let mut input = PostInput::new(self.title.clone(), self.body.clone());
        input.slug = Some(self.slug.trim().to_string()).filter(|s| !s.is_empty());
        match self.kind.parse() {
            Ok(k) => input.kind = k,
            Err(e) => errors.add("kind", e),
        }
        match self.status.parse() {
            Ok(s) => input.status = s,
            Err(e) => errors.add("status", e),
        }
        if !self.publish_at.trim().is_empty() {
            match time::from_input(&self.publish_at, tz) {
                Ok(t) => input.publish_at = Some(t),
                Err(e) => errors.add("publish_at", e),
            }
        }
        input.excerpt = self.excerpt.clone();
        if !self.featured_photo_id.trim().is_empty() {
            match self.featured_photo_id.trim().parse() {
                Ok(id) => input.featured_photo_id = Some(id),
                Err(_) => errors.add("featured_photo_id", "must be a photo number"),
            }
        }
        for c in &self.categories {
            match c.parse() {
                Ok(id) => input.category_ids.push(id),
                Err(_) => errors.add("categories", format!("'{c}' is not a category")),
            }
        }
        input.tags = self
            .tags
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        input.source_publication = opt(&self.source_publication);
        input.source_author = opt(&self.source_author);
        input.source_url = opt(&self.source_url);
        if !self.source_date.trim().is_empty() {
            match time::date_from_input(&self.source_date) {
                Ok(d) => input.source_date = Some(d),
                Err(e) => errors.add("source_date", e),
            }
        }
        input.notify_subscribers = self.notify.is_some();
        input.author_id = Some(author);
        if errors.is_empty() {
            Ok(input)
        } else {
            Err(errors)
        }
    }
}

/// A category checkbox, indented by depth.
#[derive(Debug, Clone)]
pub struct CategoryOption {
    pub id: i64,
    pub name: String,
    pub depth: usize,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "post_edit.html")]
struct EditPage {
    c: Chrome,
    post_id: Option<i64>,
    f: PostForm,
    errors: Errors,
    kinds: Vec<Choice>,
    statuses: Vec<Choice>,
    categories: Vec<CategoryOption>,
    featured_src: Option<String>,
    public_href: Option<String>,
    /// A signed link that shows the saved post in the site's layout, whatever its status.
    reader_preview: Option<String>,
    timezone: String,
    revisions: usize,
}

fn category_options(all: Vec<Category>, checked: &[String]) -> Vec<CategoryOption> {
    let mut out = Vec::new();
    fn walk(
        parent: Option<i64>,
        depth: usize,
        all: &[Category],
        checked: &[String],
        out: &mut Vec<CategoryOption>,
    ) {
        for c in all.iter().filter(|c| c.parent_id == parent) {
            out.push(CategoryOption {
                id: c.id,
                name: c.name.clone(),
                depth,
                checked: checked.contains(&c.id.to_string()),
            });
            if depth < 16 {
                walk(Some(c.id), depth + 1, all, checked, out);
            }
        }
    }
    walk(None, 0, &all, checked, &mut out);
    out
}

async fn render_editor(
    state: &AppState,
    req: &HttpRequest,
    user: &Editor,
    post_id: Option<i64>,
    f: PostForm,
    errors: Errors,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AdminError> {
    let checked = f.categories.clone();
    let featured: Option<i64> = f.featured_photo_id.trim().parse().ok();
    let (cats, featured_photo, public_slug, revisions) = state
        .db
        .run(move |conn| {
            let cats = category::all(conn)?;
            let photo = match featured {
                Some(id) => photo::find(conn, id)?,
                None => None,
            };
            let (public, revs) = match post_id {
                Some(id) => {
                    let p = post::find(conn, id)?;
                    (
                        p.filter(|p| p.is_public()).map(|p| p.slug),
                        post::revisions(conn, id)?.len(),
                    )
                }
                None => (None, 0),
            };
            Ok::<_, cms_core::Error>((cats, photo, public, revs))
        })
        .await?;
    let title = if post_id.is_some() {
        "Edit post"
    } else {
        "New post"
    };
    let c = Chrome::new(req, &user.0, title, Section::Posts);
    let page = EditPage {
        c,
        post_id,
        kinds: choices(
            PostKind::ALL
                .iter()
                .map(|k| (k.as_str(), k.as_str().to_string())),
            &f.kind,
        ),
        statuses: choices(
            PostStatus::ALL
                .iter()
                .map(|s| (s.as_str(), s.as_str().to_string())),
            &f.status,
        ),
        categories: category_options(cats, &checked),
        featured_src: featured_photo.map(|p| {
            let w = p.variant_widths().first().copied().unwrap_or(320);
            format!(
                "/media/{}",
                cms_core::media::photo_variant_key(&p.content_hash, w)
            )
        }),
        public_href: public_slug.map(|s| format!("/posts/{s}")),
        reader_preview: post_id.map(|id| {
            format!(
                "/preview/{}",
                cms_core::preview::token(&state.config.secret, id, cms_core::models::now())
            )
        }),
        timezone: state.config.timezone.to_string(),
        revisions,
        f,
        errors,
    };
    forms::render_status(status, &page)
}

/// `GET /admin/posts/new`
pub async fn new(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    let f = PostForm {
        kind: "news".into(),
        status: "draft".into(),
        ..PostForm::default()
    };
    render_editor(
        &state,
        &req,
        &user,
        None,
        f,
        Errors::default(),
        actix_web::http::StatusCode::OK,
    )
    .await
}

/// `POST /admin/posts`
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    form: Form<PostForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let input = match f.parse(state.config.timezone, user.0.user.id) {
        Ok(i) => i,
        Err(errors) => {
            return render_editor(
                &state,
                &req,
                &user,
                None,
                f,
                errors,
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let act = actor(&user.0.user, &req);
    let saved = state
        .db
        .write(move |conn| service::posts::create(conn, &act, &input))
        .await;
    match saved {
        Ok(p) => {
            let notice = match p.status {
                PostStatus::Scheduled => "scheduled",
                PostStatus::Published => "published",
                _ => "created",
            };
            Ok(see_other(&format!(
                "/admin/posts/{}/edit?notice={notice}",
                p.id
            )))
        }
        Err(e) => {
            let errors = Errors::from_core(e)?;
            render_editor(
                &state,
                &req,
                &user,
                None,
                f,
                errors,
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// `GET /admin/posts/{id}/edit`
pub async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let tz = state.config.timezone;
    let f = state
        .db
        .run(move |conn| {
            let p = post::find(conn, id)?.ok_or(AdminError::NotFound)?;
            let (cats, tags) = post::terms_of(conn, &[id])?.take(id);
            let tags: Vec<String> = tags.into_iter().map(|t| t.name).collect();
            Ok::<_, AdminError>(PostForm::from_post(&p, &cats, &tags, tz))
        })
        .await?;
    render_editor(
        &state,
        &req,
        &user,
        Some(id),
        f,
        Errors::default(),
        actix_web::http::StatusCode::OK,
    )
    .await
}

/// `POST /admin/posts/{id}`
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    form: Form<PostForm>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let f = form.into_inner();
    let input = match f.parse(state.config.timezone, user.0.user.id) {
        Ok(i) => i,
        Err(errors) => {
            return render_editor(
                &state,
                &req,
                &user,
                Some(id),
                f,
                errors,
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let act = actor(&user.0.user, &req);
    let editor_id = user.0.user.id;
    let saved = state
        .db
        .write(move |conn| {
            let old = post::find(conn, id)?.ok_or(cms_core::Error::NotFound("post"))?;
            // The author stays who wrote it; the editor is recorded on the revision.
            let mut input = input;
            input.author_id = old.author_id;
            service::posts::update(conn, &act, id, &input, Some(editor_id))
        })
        .await;
    match saved {
        Ok(p) => {
            let notice = match p.status {
                PostStatus::Scheduled => "scheduled",
                PostStatus::Published => "published",
                _ => "saved",
            };
            Ok(see_other(&format!(
                "/admin/posts/{}/edit?notice={notice}",
                p.id
            )))
        }
        Err(cms_core::Error::NotFound(_)) => Err(AdminError::NotFound),
        Err(e) => {
            let errors = Errors::from_core(e)?;
            render_editor(
                &state,
                &req,
                &user,
                Some(id),
                f,
                errors,
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// The preview request.
#[derive(Debug, serde::Deserialize)]
pub struct PreviewForm {
    #[serde(default)]
    body: String,
}

/// `POST /admin/preview`: Markdown rendered by the same sanitising renderer as the site.
pub async fn preview(
    state: web::Data<AppState>,
    _user: Editor,
    form: Form<PreviewForm>,
) -> Result<HttpResponse, AdminError> {
    let body = form.into_inner().body;
    // The public page's renderer: Markdown, then embeds drawn as readers see them.
    let version = state.db.content_version().await?.version;
    let snapshots = state.snapshot.clone();
    let html = state
        .db
        .run(move |conn| {
            let snap = snapshots.get(conn, version)?;
            let rendered = cms_core::markdown::render(&body);
            cms_core::embeds::expand(conn, &snap, &rendered)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// A line of a diff.
#[derive(Debug, Clone)]
pub struct DiffLine {
    pub sign: &'static str,
    pub text: String,
}

/// A revision and what it changed from the one before.
#[derive(Debug, Clone)]
pub struct RevisionView {
    pub id: i64,
    pub when: String,
    pub author: String,
    pub title: String,
    pub diff: Vec<DiffLine>,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "revisions.html")]
struct RevisionsPage {
    c: Chrome,
    post_id: i64,
    post_title: String,
    revisions: Vec<RevisionView>,
}

fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    let d = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for group in d.grouped_ops(2) {
        for op in group {
            for change in d.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => "-",
                    similar::ChangeTag::Insert => "+",
                    similar::ChangeTag::Equal => " ",
                };
                out.push(DiffLine {
                    sign,
                    text: change.value().trim_end_matches(['\n', '\r']).to_string(),
                });
            }
        }
        out.push(DiffLine {
            sign: "…",
            text: String::new(),
        });
    }
    out.pop();
    out
}

/// `GET /admin/posts/{id}/revisions`
pub async fn revisions(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let tz = state.config.timezone;
    let (title, revs) = state
        .db
        .run(move |conn| {
            let p = post::find(conn, id)?.ok_or(AdminError::NotFound)?;
            let revs = post::revisions(conn, id)?;
            let ids: Vec<i64> = revs.iter().filter_map(|r| r.author_id).collect();
            let names = user::names(conn, &ids)?;
            let views = revs
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let older = revs.get(i + 1);
                    let old_text = older
                        .map(|o| format!("# {}\n\n{}\n\n{}", o.title, o.excerpt, o.body_markdown))
                        .unwrap_or_default();
                    let new_text = format!("# {}\n\n{}\n\n{}", r.title, r.excerpt, r.body_markdown);
                    RevisionView {
                        id: r.id,
                        when: time::display(r.created_at, tz),
                        author: r
                            .author_id
                            .and_then(|a| names.get(&a).cloned())
                            .unwrap_or_default(),
                        title: r.title.clone(),
                        diff: diff(&old_text, &new_text),
                        current: i == 0,
                    }
                })
                .collect();
            Ok::<_, AdminError>((p.title, views))
        })
        .await?;
    let c = Chrome::new(&req, &user.0, "Revisions", Section::Posts);
    forms::render(&RevisionsPage {
        c,
        post_id: id,
        post_title: title,
        revisions: revs,
    })
}

/// `POST /admin/posts/{id}/revisions/{rev}/restore`
pub async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AdminError> {
    let (id, rev) = path.into_inner();
    let act = actor(&user.0.user, &req);
    let editor = user.0.user.id;
    state
        .db
        .write(move |conn| {
            service::posts::restore_revision(conn, &act, id, rev, Some(editor)).map(drop)
        })
        .await?;
    Ok(see_other(&format!(
        "/admin/posts/{id}/edit?notice=restored"
    )))
}

/// `GET /admin/posts/{id}/delete`: asks first.
pub async fn confirm_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let p = state
        .db
        .run(move |conn| post::find(conn, id)?.ok_or(AdminError::NotFound))
        .await?;
    let c = Chrome::new(&req, &user.0, "Delete post", Section::Posts);
    forms::render(&ConfirmPage {
        c,
        what: format!("the post “{}” with all its revisions", p.title),
        action: format!("/admin/posts/{id}/delete"),
        back: format!("/admin/posts/{id}/edit"),
    })
}

/// `POST /admin/posts/{id}/delete`
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&user.0.user, &req);
    state
        .db
        .write(move |conn| service::posts::delete(conn, &act, id).map(drop))
        .await?;
    Ok(see_other("/admin/posts?notice=deleted"))
}
