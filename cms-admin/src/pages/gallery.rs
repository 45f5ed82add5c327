//! The gallery admin: the category tree (create, rename, move, reorder, delete when empty),
//! albums (create, edit, cover, publish, move, delete), the photo grid (multi-select caption,
//! credit, move, delete; reorder by drag or by name), uploads of many files one request each,
//! and server-side imports with live progress.

use std::collections::HashSet;

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;
use cms_core::ingest::batch;
use cms_core::ingest::job::{self as import_job, IMPORT_JOB, ImportRequest};
use cms_core::media::photo_variant_key;
use cms_core::models::album::{self, Album, AlbumStatus, NewAlbum};
use cms_core::models::gallery_category::{self as gc, GalleryCategory};
use cms_core::models::{job, photo};
use cms_core::service;

use crate::auth::{Editor, actor};
use crate::error::AdminError;
use crate::forms::{self, Errors, Form, see_other};
use crate::layout::{Chrome, Section};
use crate::pages::ConfirmPage;
use crate::upload;

/// Photos per page of the album grid.
const GRID_PAGE: i64 = 120;

/// A category line of the tree, with its albums.
#[derive(Debug, Clone)]
pub struct CategoryLine {
    pub c: GalleryCategory,
    pub depth: usize,
    pub albums: Vec<Album>,
}

impl CategoryLine {
    /// Is `id` this category's parent (for the move select)?
    pub fn parent_is(&self, id: &i64) -> bool {
        self.c.parent_id == Some(*id)
    }
}

/// A choice of parent or target.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "gallery.html")]
struct TreePage {
    c: Chrome,
    lines: Vec<CategoryLine>,
    top_albums: Vec<Album>,
    targets: Vec<Target>,
    errors: Errors,
}

fn targets_of(cats: &[GalleryCategory]) -> Vec<Target> {
    let by_id: std::collections::HashMap<i64, &GalleryCategory> =
        cats.iter().map(|c| (c.id, c)).collect();
    cats.iter()
        .map(|c| {
            let mut names = vec![c.name.clone()];
            let mut cur = c.parent_id;
            let mut steps = 0;
            while let Some(p) = cur.and_then(|p| by_id.get(&p)) {
                names.push(p.name.clone());
                cur = p.parent_id;
                steps += 1;
                if steps > 64 {
                    break;
                }
            }
            names.reverse();
            Target {
                id: c.id,
                label: names.join(" › "),
            }
        })
        .collect()
}

async fn tree(
    state: &AppState,
    req: &HttpRequest,
    user: &Editor,
    errors: Errors,
) -> Result<HttpResponse, AdminError> {
    let (lines, top_albums, targets) = state
        .db
        .run(|conn| {
            let cats = gc::all(conn)?;
            let albums = album::all(conn)?;
            let mut depth: std::collections::HashMap<i64, usize> = Default::default();
            let lines = cats
                .iter()
                .map(|c| {
                    let d = c
                        .parent_id
                        .and_then(|p| depth.get(&p).map(|x| x + 1))
                        .unwrap_or(0);
                    depth.insert(c.id, d);
                    let mut mine: Vec<Album> = albums
                        .iter()
                        .filter(|a| a.category_id == Some(c.id))
                        .cloned()
                        .collect();
                    mine.sort_by(|a, b| {
                        a.position
                            .cmp(&b.position)
                            .then_with(|| natord::compare(&a.title, &b.title))
                    });
                    CategoryLine {
                        c: c.clone(),
                        depth: d,
                        albums: mine,
                    }
                })
                .collect();
            let top = albums
                .iter()
                .filter(|a| a.category_id.is_none())
                .cloned()
                .collect();
            Ok::<_, cms_core::Error>((lines, top, targets_of(&cats)))
        })
        .await?;
    let status = errors.status();
    forms::render_status(
        status,
        &TreePage {
            c: Chrome::new(req, &user.0, "Gallery", Section::Gallery),
            lines,
            top_albums,
            targets,
            errors,
        },
    )
}

/// `GET /admin/gallery`
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    tree(&state, &req, &user, Errors::default()).await
}

fn parse_parent(s: &str) -> Result<Option<i64>, AdminError> {
    match s.trim() {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| AdminError::BadRequest("unknown category".into())),
    }
}

/// A category form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CategoryForm {
    name: String,
    description: String,
    parent: String,
}

/// Runs a gallery write, re-rendering the tree with the error on a validation failure.
async fn gallery_write<F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    user: &Editor,
    f: F,
) -> Result<HttpResponse, AdminError>
where
    F: FnOnce(&mut cms_core::DbConn) -> cms_core::Result<()> + Send + 'static,
{
    match state.db.write(f).await {
        Ok(()) => Ok(see_other("/admin/gallery?notice=saved")),
        Err(cms_core::Error::NotFound(_)) => Err(AdminError::NotFound),
        Err(e) => tree(state, req, user, Errors::from_core(e)?).await,
    }
}

/// `POST /admin/gallery/categories`
pub async fn create_category(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    form: Form<CategoryForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let parent = parse_parent(&f.parent)?;
    let act = actor(&user.0.user, &req);
    gallery_write(&state, &req, &user, move |conn| {
        service::gallery::create_category(conn, &act, parent, &f.name, &f.description)?;
        Ok(())
    })
    .await
}

/// `POST /admin/gallery/categories/{id}`: rename (the URL stays).
pub async fn update_category(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    form: Form<CategoryForm>,
) -> Result<HttpResponse, AdminError> {
    let (id, f) = (id.into_inner(), form.into_inner());
    let act = actor(&user.0.user, &req);
    gallery_write(&state, &req, &user, move |conn| {
        service::gallery::update_category(conn, &act, id, &f.name, &f.description)?;
        Ok(())
    })
    .await
}

/// `POST /admin/gallery/categories/{id}/move`
pub async fn move_category(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    form: Form<CategoryForm>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let parent = parse_parent(&form.into_inner().parent)?;
    let act = actor(&user.0.user, &req);
    gallery_write(&state, &req, &user, move |conn| {
        service::gallery::move_category(conn, &act, id, parent)?;
        Ok(())
    })
    .await
}

/// `POST /admin/gallery/categories/{id}/up` and `/down`: one place among its siblings.
pub async fn shift_category(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AdminError> {
    let (id, dir) = path.into_inner();
    let up = match dir.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AdminError::NotFound),
    };
    let act = actor(&user.0.user, &req);
    gallery_write(&state, &req, &user, move |conn| {
        let c = gc::find(conn, id)?.ok_or(cms_core::Error::NotFound("gallery category"))?;
        let mut ids: Vec<i64> = gc::children(conn, c.parent_id)?
            .into_iter()
            .map(|x| x.id)
            .collect();
        let Some(i) = ids.iter().position(|x| *x == id) else {
            return Ok(());
        };
        let j = if up {
            i.checked_sub(1)
        } else {
            Some(i + 1).filter(|j| *j < ids.len())
        };
        if let Some(j) = j {
            ids.swap(i, j);
            service::gallery::reorder_categories(conn, &act, &ids)?;
        }
        Ok(())
    })
    .await
}

/// `POST /admin/gallery/categories/{id}/delete`: only when empty.
pub async fn delete_category(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&user.0.user, &req);
    gallery_write(&state, &req, &user, move |conn| {
        service::gallery::delete_category(conn, &act, id)
    })
    .await
}

/// An album form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct AlbumForm {
    title: String,
    description: String,
    credit: String,
    category: String,
    published: Option<String>,
}

/// `POST /admin/albums`
pub async fn create_album(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    form: Form<AlbumForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let category = parse_parent(&f.category)?;
    let act = actor(&user.0.user, &req);
    let result = state
        .db
        .write(move |conn| {
            let status = if f.published.is_some() {
                AlbumStatus::Published
            } else {
                AlbumStatus::Draft
            };
            let a = service::gallery::create_album(
                conn,
                &act,
                &NewAlbum {
                    category_id: category,
                    title: &f.title,
                    description: &f.description,
                    credit: &f.credit,
                    status,
                },
            )?;
            Ok::<_, cms_core::Error>(a.id)
        })
        .await;
    match result {
        Ok(id) => Ok(see_other(&format!("/admin/albums/{id}?notice=created"))),
        Err(e) => tree(&state, &req, &user, Errors::from_core(e)?).await,
    }
}

/// A photo tile of the grid.
#[derive(Debug, Clone)]
pub struct Tile {
    pub id: i64,
    pub src: String,
    pub name: String,
    pub caption: String,
    pub credit: String,
    pub cover: bool,
}

#[derive(Template)]
#[template(path = "album_edit.html")]
struct AlbumPage {
    c: Chrome,
    a: Album,
    category: String,
    tiles: Vec<Tile>,
    targets: Vec<Target>,
    albums: Vec<Target>,
    errors: Errors,
    prev: Option<String>,
    next: Option<String>,
    max_mb: u64,
    public_href: Option<String>,
}

impl AlbumPage {
    /// Is the album in category `id`?
    fn in_category(&self, id: &i64) -> bool {
        self.a.category_id == Some(*id)
    }
}

async fn album_page(
    state: &AppState,
    req: &HttpRequest,
    user: &Editor,
    id: i64,
    errors: Errors,
) -> Result<HttpResponse, AdminError> {
    let page: i64 = match forms::query_value(req, "page") {
        None => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| AdminError::BadRequest("page must be a number from 1".into()))?,
    };
    let (a, category, photos, cats, albums) = state
        .db
        .run(move |conn| {
            let a = album::find(conn, id)?.ok_or(AdminError::NotFound)?;
            let cats = gc::all(conn)?;
            let photos = photo::page_in_album(conn, id, (page - 1) * GRID_PAGE, GRID_PAGE)?;
            let albums = album::all(conn)?;
            Ok::<_, AdminError>((a, String::new(), photos, cats, albums))
        })
        .await?;
    let targets = targets_of(&cats);
    let category = a
        .category_id
        .and_then(|c| targets.iter().find(|t| t.id == c))
        .map(|t| t.label.clone())
        .unwrap_or(category);
    let tiles = photos
        .iter()
        .map(|p| Tile {
            id: p.id,
            src: format!(
                "/media/{}",
                photo_variant_key(
                    &p.content_hash,
                    p.variant_widths().first().copied().unwrap_or(320)
                )
            ),
            name: p.original_filename.clone(),
            caption: p.caption.clone(),
            credit: p.credit.clone(),
            cover: a.cover_photo_id == Some(p.id),
        })
        .collect();
    let album_targets = albums
        .into_iter()
        .filter(|x| x.id != id)
        .map(|x| Target {
            id: x.id,
            label: x.title,
        })
        .collect();
    let pages_left = a.photo_count > page * GRID_PAGE;
    forms::render_status(
        errors.status(),
        &AlbumPage {
            c: Chrome::new(req, &user.0, &a.title, Section::Gallery),
            public_href: (a.status == AlbumStatus::Published)
                .then(|| format!("/albums/{}", a.slug)),
            prev: (page > 1).then(|| format!("/admin/albums/{id}?page={}", page - 1)),
            next: pages_left.then(|| format!("/admin/albums/{id}?page={}", page + 1)),
            max_mb: state.config.images.max_bytes >> 20,
            a,
            category,
            tiles,
            targets,
            albums: album_targets,
            errors,
        },
    )
}

/// `GET /admin/albums/{id}`
pub async fn show_album(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    album_page(&state, &req, &user, id.into_inner(), Errors::default()).await
}

async fn album_write<F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    user: &Editor,
    id: i64,
    f: F,
) -> Result<HttpResponse, AdminError>
where
    F: FnOnce(&mut cms_core::DbConn) -> cms_core::Result<()> + Send + 'static,
{
    match state.db.write(f).await {
        Ok(()) => Ok(see_other(&format!("/admin/albums/{id}?notice=saved"))),
        Err(cms_core::Error::NotFound(_)) => Err(AdminError::NotFound),
        Err(e) => album_page(state, req, user, id, Errors::from_core(e)?).await,
    }
}

/// `POST /admin/albums/{id}`: details, status and category in one form.
pub async fn update_album(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    form: Form<AlbumForm>,
) -> Result<HttpResponse, AdminError> {
    let (id, f) = (id.into_inner(), form.into_inner());
    let category = parse_parent(&f.category)?;
    let act = actor(&user.0.user, &req);
    album_write(&state, &req, &user, id, move |conn| {
        let status = if f.published.is_some() {
            AlbumStatus::Published
        } else {
            AlbumStatus::Draft
        };
        let edit = service::gallery::AlbumEdit {
            title: Some(&f.title),
            description: Some(&f.description),
            credit: Some(&f.credit),
            category_id: Some(category),
            status: Some(status),
            ..Default::default()
        };
        service::gallery::edit_album(conn, &act, id, &edit)?;
        Ok(())
    })
    .await
}

/// The grid's batch form: an action on the selected photos.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct BatchForm {
    action: String,
    ids: Vec<String>,
    value: String,
    target: String,
}

/// `POST /admin/albums/{id}/photos`: caption, credit, move, delete or cover for the selection.
pub async fn batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    form: Form<BatchForm>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let f = form.into_inner();
    let ids: Vec<i64> = f
        .ids
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| AdminError::BadRequest("unknown photo".into()))
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        let mut e = Errors::default();
        e.add("photos", "select at least one photo");
        return album_page(&state, &req, &user, id, e).await;
    }
    let act = actor(&user.0.user, &req);
    let media = state.media.clone();
    let action = f.action.clone();
    let result = state
        .db
        .write(move |conn| {
            // Only photos of this album are touched, whatever ids were posted: the posted
            // ones are read (not the whole album, which may hold thousands), in their order.
            let photos: Vec<photo::Photo> = photo::by_ids(conn, &ids)?
                .into_iter()
                .filter(|p| p.album_id == id)
                .collect();
            let ids: Vec<i64> = photos.iter().map(|p| p.id).collect();
            let mut unused = Vec::new();
            match action.as_str() {
                "caption" | "credit" => {
                    let changes: Vec<service::gallery::PhotoMeta<'_>> = photos
                        .iter()
                        .map(|p| service::gallery::PhotoMeta {
                            id: p.id,
                            caption: if action == "caption" {
                                f.value.as_str()
                            } else {
                                p.caption.as_str()
                            },
                            credit: if action == "credit" {
                                f.value.as_str()
                            } else {
                                p.credit.as_str()
                            },
                            source: p.source.as_str(),
                        })
                        .collect();
                    service::gallery::update_photos(conn, &act, id, &action, &changes)?;
                }
                "move" => {
                    let target: i64 = f.target.parse().map_err(|_| {
                        cms_core::Error::invalid("target", "choose an album to move to")
                    })?;
                    service::gallery::move_photos(conn, &act, &ids, target)?;
                }
                "delete" => {
                    let gone = service::gallery::delete_photos(conn, &act, &ids)?;
                    unused = photo::unused_files(conn, &gone)?;
                }
                "cover" => {
                    let edit = service::gallery::AlbumEdit {
                        cover_photo_id: Some(ids.first().copied()),
                        ..Default::default()
                    };
                    service::gallery::edit_album(conn, &act, id, &edit)?;
                }
                other => {
                    return Err(cms_core::Error::invalid(
                        "action",
                        format!("'{other}' is not an action"),
                    ));
                }
            }
            Ok::<_, cms_core::Error>(unused)
        })
        .await;
    match result {
        Ok(unused) => {
            // Files nobody uses any more go after the rows did (never before).
            cms_core::media::forget(media, unused).await;
            Ok(see_other(&format!("/admin/albums/{id}?notice=saved")))
        }
        Err(cms_core::Error::NotFound(_)) => Err(AdminError::NotFound),
        Err(e) => album_page(&state, &req, &user, id, Errors::from_core(e)?).await,
    }
}

/// The order form: photo ids in their new order.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct OrderForm {
    ids: Vec<String>,
    by: String,
}

/// `POST /admin/albums/{id}/order`: a dragged order (`ids`), or `by=name`.
pub async fn order(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    form: Form<OrderForm>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let f = form.into_inner();
    let ids: Vec<i64> = f.ids.iter().filter_map(|s| s.parse().ok()).collect();
    let act = actor(&user.0.user, &req);
    album_write(&state, &req, &user, id, move |conn| {
        if f.by == "name" {
            service::gallery::sort_photos_by_name(conn, &act, id)
        } else {
            // The dragged page first, then the rest in their old order.
            let mut all: Vec<i64> = photo::page_in_album(conn, id, 0, i64::MAX)?
                .into_iter()
                .map(|p| p.id)
                .collect();
            let moved: HashSet<i64> = ids.iter().copied().collect();
            let first = all.iter().position(|x| moved.contains(x)).unwrap_or(0);
            all.retain(|x| !moved.contains(x));
            let tail = all.split_off(first.min(all.len()));
            let mut order = all;
            order.extend(ids.iter().copied());
            order.extend(tail);
            service::gallery::reorder_photos(conn, &act, id, &order)
        }
    })
    .await
}

/// `GET /admin/albums/{id}/delete`
pub async fn confirm_delete_album(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let a = state
        .db
        .run(move |conn| album::find(conn, id)?.ok_or(AdminError::NotFound))
        .await?;
    forms::render(&ConfirmPage {
        c: Chrome::new(&req, &user.0, "Delete album", Section::Gallery),
        what: format!(
            "the album “{}” and its {}",
            a.title,
            cms_core::units::counted(a.photo_count, "photo", "photos")
        ),
        action: format!("/admin/albums/{id}/delete"),
        back: format!("/admin/albums/{id}"),
    })
}

/// `POST /admin/albums/{id}/delete`
pub async fn delete_album(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let act = actor(&user.0.user, &req);
    let unused = state
        .db
        .write(move |conn| {
            let gone = service::gallery::delete_album(conn, &act, id)?;
            Ok::<_, cms_core::Error>(photo::unused_files(conn, &gone)?)
        })
        .await?;
    cms_core::media::forget(state.media.clone(), unused).await;
    Ok(see_other("/admin/gallery?notice=deleted"))
}

/// `POST /admin/albums/{id}/upload`: one file through the ingest pipeline, answered in JSON
/// for the upload queue (`{"ok":true,"photo_id":…}` or `{"ok":false,"error":…}`).
pub async fn upload_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    id: web::Path<i64>,
    mp: Multipart,
) -> Result<HttpResponse, AdminError> {
    let id = id.into_inner();
    let settings = state.config.images.clone();
    let staging = state.config.storage.data_dir.join("staging");
    let fail = |status: actix_web::http::StatusCode, msg: String| {
        HttpResponse::build(status).json(serde_json::json!({ "ok": false, "error": msg }))
    };
    let up = match upload::read(mp, &staging, &[("file", settings.max_bytes)]).await {
        Ok(u) => u,
        Err(AdminError::TooLarge(m)) => {
            return Ok(fail(actix_web::http::StatusCode::PAYLOAD_TOO_LARGE, m));
        }
        Err(e) => return Err(e),
    };
    let Some(file) = up.files.into_values().next() else {
        return Ok(fail(
            actix_web::http::StatusCode::BAD_REQUEST,
            "no file in the upload".into(),
        ));
    };
    let known = state
        .db
        .run(move |conn| {
            album::find(conn, id)?.ok_or(AdminError::NotFound)?;
            Ok::<_, AdminError>(photo::hashes_in_album(conn, id)?)
        })
        .await?;
    let filename = batch::file_name(&file.filename).to_string();
    let media = state.media.clone();
    let incoming = batch::Incoming::file(
        filename.clone(),
        file.file.path(),
        Some(file.sha256.clone()),
    );
    // Read, hashed-already, checked against the album and processed on a blocking thread; the
    // staging file lives until then.
    let prepared = web::block(move || {
        let mut known: HashSet<String> = known.into_iter().collect();
        let p = batch::prepare(vec![incoming], &mut known, &settings, media.as_ref());
        drop(file);
        p
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))?;
    if let Some(why) = prepared.store_error {
        let id = cms_core::error::incident(tracing::Level::WARN, "admin: upload not stored", &why);
        return Ok(fail(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{filename}: the media store cannot be reached, so the photo was not saved; try again in a moment (error {id})"
            ),
        ));
    }
    if !prepared.duplicates.is_empty() {
        return Ok(HttpResponse::Ok()
            .json(serde_json::json!({ "ok": true, "duplicate": true, "name": filename })));
    }
    if let Some((name, why)) = prepared.refused.into_iter().next() {
        return Ok(fail(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            format!("{name}: {why}"),
        ));
    }
    let new = prepared.photos;
    let new_thumbs: Vec<(String, u32)> = new
        .iter()
        .map(|p| {
            (
                p.content_hash.clone(),
                p.variants.first().copied().unwrap_or(320),
            )
        })
        .collect();
    let new_names: Vec<String> = new.iter().map(|p| p.original_filename.clone()).collect();
    let act = actor(&user.0.user, &req);
    let added = state
        .db
        .write(move |conn| {
            let r = service::gallery::add_photos(conn, &act, id, &new)?;
            let count = album::find(conn, id)?.map_or(0, |a| a.photo_count);
            Ok::<_, cms_core::Error>((r, count))
        })
        .await?;
    let (added, count) = added;
    // What the grid needs to show the new photo at once: its number, thumbnail and the
    // album's new count.
    let thumb = new_thumbs
        .first()
        .map(|(hash, w)| format!("/media/{}", photo_variant_key(hash, *w)));
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "ok": true,
        "photo_id": added.inserted.first(),
        "duplicate": added.inserted.is_empty(),
        "count": count,
        "thumb": thumb,
        "name": new_names.first(),
    })))
}

/// A server-side import in the list.
#[derive(Debug, Clone)]
pub struct ImportLine {
    pub id: i64,
    pub path: String,
    pub status: String,
    pub progress: String,
}

#[derive(Template)]
#[template(path = "gallery_import.html")]
struct ImportPage {
    c: Chrome,
    folder: String,
    candidates: Vec<String>,
    imports: Vec<ImportLine>,
    targets: Vec<Target>,
    errors: Errors,
}

async fn import_page(
    state: &AppState,
    req: &HttpRequest,
    user: &Editor,
    errors: Errors,
) -> Result<HttpResponse, AdminError> {
    let (jobs, cats) = state
        .db
        .run(|conn| Ok::<_, cms_core::Error>((job::recent(conn, IMPORT_JOB, 10)?, gc::all(conn)?)))
        .await?;
    let imports = jobs
        .into_iter()
        .map(|j| ImportLine {
            id: j.id,
            path: serde_json::from_str::<ImportRequest>(&j.payload)
                .map(|r| r.path)
                .unwrap_or_default(),
            status: j.status.to_string(),
            progress: j.progress,
        })
        .collect();
    let dir = state.config.storage.import_dir.clone();
    let candidates = web::block(move || import_job::candidates(&dir))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    forms::render_status(
        errors.status(),
        &ImportPage {
            c: Chrome::new(req, &user.0, "Import from the server", Section::Gallery),
            folder: state.config.storage.import_dir.display().to_string(),
            candidates,
            imports,
            targets: targets_of(&cats),
            errors,
        },
    )
}

/// `GET /admin/gallery/import`
pub async fn import_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
) -> Result<HttpResponse, AdminError> {
    import_page(&state, &req, &user, Errors::default()).await
}

/// The server-side import form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ImportForm {
    path: String,
    into: String,
    draft: Option<String>,
    announce: Option<String>,
}

/// `POST /admin/gallery/import`: queues the import; a worker runs it.
pub async fn start_import(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Editor,
    form: Form<ImportForm>,
) -> Result<HttpResponse, AdminError> {
    let f = form.into_inner();
    let dir = state.config.storage.import_dir.clone();
    let path = f.path.clone();
    let resolved = web::block(move || import_job::resolve(&dir, &path))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    if let Err(e) = resolved {
        return import_page(&state, &req, &user, Errors::from_core(e)?).await;
    }
    let act = actor(&user.0.user, &req);
    let request = ImportRequest {
        path: f.path,
        into: f.into,
        draft: f.draft.is_some(),
        announce: f.announce.is_some(),
        user_id: Some(user.0.user.id),
        user_label: user.0.user.email.clone(),
    };
    let id = state
        .db
        .write(move |conn| {
            let payload = serde_json::to_value(&request)
                .map_err(|e| cms_core::Error::Internal(e.to_string()))?;
            let id = job::enqueue_returning(conn, IMPORT_JOB, &payload)?;
            cms_core::models::audit::record(
                conn,
                &act,
                "gallery.import",
                Some(("job", id)),
                &request.path,
            )?;
            Ok::<_, cms_core::Error>(id)
        })
        .await?;
    Ok(see_other(&format!(
        "/admin/gallery/import?notice=started#import-{id}"
    )))
}

/// `GET /admin/gallery/imports/{id}`: the progress of an import as JSON, for the live view.
pub async fn import_progress(
    state: web::Data<AppState>,
    _user: Editor,
    id: web::Path<i64>,
) -> Result<HttpResponse, AdminError> {
    job_progress(&state, IMPORT_JOB, id.into_inner()).await
}

/// A job of `kind` as the live views read it: status, progress, last error. 404 for another
/// kind's job.
pub(crate) async fn job_progress(
    state: &AppState,
    kind: &'static str,
    id: i64,
) -> Result<HttpResponse, AdminError> {
    let j = state
        .db
        .run(move |conn| {
            job::find(conn, id)?
                .filter(|j| j.kind == kind)
                .ok_or(AdminError::NotFound)
        })
        .await?;
    let progress: serde_json::Value =
        serde_json::from_str(&j.progress).unwrap_or(serde_json::Value::Null);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": j.status.as_str(), "progress": progress, "error": j.last_error })))
}
