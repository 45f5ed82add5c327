//! Post categories (a tree) and tags: list, create, rename, delete.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::models::{category, tag};
use cms_core::service;
use diesel::prelude::*;

use crate::auth::{Editor, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, Form, see_other};
use crate::layout::{Chrome, Section};

/// A category line with its post count.
#[derive(Debug, Clone)]
pub struct CategoryRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub depth: usize,
    pub posts: i64,
}

/// A tag with its post count.
#[derive(Debug, Clone)]
pub struct TagRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub posts: i64,
}

#[derive(Template)]
#[template(path = "taxonomy.html")]
struct Page {
    c: Chrome,
    categories: Vec<CategoryRow>,
    tags: Vec<TagRow>,
    errors: Errors,
    new_name: String,
    new_slug: String,
}

async fn render(
    state: &AppState,
    req: &HttpRequest,
    user: &Editor,
    errors: Errors,
    new_name: String,
    new_slug: String,
) -> Result<HttpResponse, AdminError> {
    let (categories, tags) = state
        .db
        .run(|conn| {
            use cms_core::schema::{post_categories, post_tags};
            let all = category::all(conn)?;
            let counts: Vec<(i64, i64)> = post_categories::table
                .group_by(post_categories::category_id)
                .select((post_categories::category_id, diesel::dsl::count_star()))
                .load(conn)?;
            let mut rows = Vec::new();
            fn walk(
                parent: Option<i64>,
                depth: usize,
                all: &[category::Category],
                counts: &[(i64, i64)],
                out: &mut Vec<CategoryRow>,
            ) {
                for c in all.iter().filter(|c| c.parent_id == parent) {
                    out.push(CategoryRow {
                        id: c.id,
                        name: c.name.clone(),
                        slug: c.slug.clone(),
                        description: c.description.clone(),
                        depth,
                        posts: counts.iter().find(|(id, _)| *id == c.id).map_or(0, |x| x.1),
                    });
                    if depth < 16 {
                        walk(Some(c.id), depth + 1, all, counts, out);
                    }
                }
            }
            walk(None, 0, &all, &counts, &mut rows);
            let tag_counts: Vec<(i64, i64)> = post_tags::table
                .group_by(post_tags::tag_id)
                .select((post_tags::tag_id, diesel::dsl::count_star()))
                .load(conn)?;
            let tags = tag::all(conn)?
                .into_iter()
                .map(|t| TagRow {
                    posts: tag_counts
                        .iter()
                        .find(|(id, _)| *id == t.id)
                        .map_or(0, |x| x.1),
                    id: t.id,
                    name: t.name,
                    slug: t.slug,
                })
                .collect();
            Ok::<_, cms_core::Error>((rows, tags))
        })
        .await?;
    let status = errors.status();
    forms::render_status(
        status,
        &Page {
            c: Chrome::new(req, &user.0, "Categories & tags", Section::Taxonomy),
            categories,
            tags,
            errors,
            new_name,
            new_slug,
        },
    )
}

/// `GET /admin/categories`
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    render(
        &state,
        &req,
        &user,
        Errors::default(),
        String::new(),
        String::new(),
    )
    .await
}

/// The category form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CategoryForm {
    name: String,
    slug: String,
    parent: String,
    description: String,
}

/// `POST /admin/categories`
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    form: Form<CategoryForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let parent: Option<i64> = match f.parent.trim() {
        "" => None,
        p => Some(
            p.parse()
                .map_err(|_| AdminError::BadRequest("unknown parent category".into()))?,
        ),
    };
    let act = actor(&user.0.user, &req);
    let (name, slug, description) = (f.name.clone(), f.slug.clone(), f.description.clone());
    let result = state
        .db
        .write(move |conn| {
            service::taxonomy::create_category(
                conn,
                &act,
                parent,
                &name,
                Some(slug.as_str()).filter(|s| !s.trim().is_empty()),
                &description,
            )
            .map(drop)
        })
        .await;
    match result {
        Ok(()) => Ok(see_other("/admin/categories?notice=created")),
        Err(e) => render(&state, &req, &user, Errors::from_core(e)?, f.name, f.slug).await,
    }
}

/// `POST /admin/categories/{id}`: rename.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    form: Form<CategoryForm>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let f = form.into_inner();
    let act = actor(&user.0.user, &req);
    let result = state
        .db
        .write(move |conn| {
            service::taxonomy::update_category(conn, &act, id, &f.name, &f.description).map(drop)
        })
        .await;
    match result {
        Ok(()) => Ok(see_other("/admin/categories?notice=saved")),
        Err(cms_core::Error::NotFound(_)) => Err(AdminError::NotFound),
        Err(e) => {
            render(
                &state,
                &req,
                &user,
                Errors::from_core(e)?,
                String::new(),
                String::new(),
            )
            .await
        }
    }
}

/// `POST /admin/categories/{id}/delete`
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&user.0.user, &req);
    let result = state
        .db
        .write(move |conn| service::taxonomy::delete_category(conn, &act, id).map(drop))
        .await;
    match result {
        Ok(()) => Ok(see_other("/admin/categories?notice=deleted")),
        Err(cms_core::Error::NotFound(_)) => Err(AdminError::NotFound),
        Err(e) => {
            render(
                &state,
                &req,
                &user,
                Errors::from_core(e)?,
                String::new(),
                String::new(),
            )
            .await
        }
    }
}

/// `POST /admin/tags/{id}/delete`: the tag leaves every post.
pub async fn delete_tag(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&user.0.user, &req);
    state
        .db
        .write(move |conn| service::taxonomy::delete_tag(conn, &act, id))
        .await?;
    Ok(see_other("/admin/categories?notice=deleted"))
}
