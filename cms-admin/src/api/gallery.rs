//! Gallery categories, albums and photos through the API (scope `gallery:write`). Uploads go
//! through the same ingest pipeline and limits as the admin's upload queue and the CLI.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use cms_core::AppState;
use cms_core::api::Problem;
use cms_core::api::views::{self, Urls};
use cms_core::ingest::batch;
use cms_core::models::album::{self, AlbumStatus, NewAlbum};
use cms_core::models::photo;
use cms_core::service;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    ApiError, ApiResult, authorize, created, deleted, double_option, json, path_id, read_json,
};
use crate::upload;

/// A new gallery category.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GalleryCategoryCreate {
    #[schema(format = "line", max_length = 200)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The parent category; at the top when absent.
    pub parent_id: Option<i64>,
}

/// A gallery category created.
#[derive(Debug, Serialize, ToSchema)]
pub struct GalleryCategoryCreated {
    pub id: i64,
    pub slug: String,
    pub path: String,
    pub name: String,
    pub url: String,
}

/// Creates a gallery category.
#[utoipa::path(post, path = "/api/v1/gallery/categories", operation_id = "create_gallery_category", tag = "write",
    request_body = GalleryCategoryCreate,
    responses(
        (status = 201, description = "Created", body = GalleryCategoryCreated),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["gallery:write"])))]
pub async fn create_category(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "gallery:write").await?;
    let b: GalleryCategoryCreate = read_json(&req, body).await?;
    let act = caller.actor;
    let c = state
        .db
        .write(move |conn| {
            Ok::<_, ApiError>(service::gallery::create_category(
                conn,
                &act,
                b.parent_id,
                &b.name,
                &b.description,
            )?)
        })
        .await?;
    let base = &state.config.server.base_url;
    Ok(created(
        &format!("{base}/api/v1/gallery/categories"),
        &GalleryCategoryCreated {
            id: c.id,
            url: format!("{base}/gallery/{}", c.path),
            slug: c.slug,
            path: c.path,
            name: c.name,
        },
    ))
}

/// A new album.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlbumCreate {
    #[schema(format = "line", max_length = 200)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub credit: String,
    /// Its gallery category; at the top of the gallery when absent.
    pub category_id: Option<i64>,
    /// Default `draft`: upload its photos, then publish it (subscribers of gallery updates are
    /// emailed once).
    pub status: Option<AlbumStatus>,
}

/// Changes to an album: only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlbumUpdate {
    #[schema(format = "line", max_length = 200)]
    pub title: Option<String>,
    pub description: Option<String>,
    pub credit: Option<String>,
    pub status: Option<AlbumStatus>,
    /// `null` moves it to the top of the gallery.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<i64>>,
    /// A photo of the album; `null` goes back to the first photo.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub cover_photo_id: Option<Option<i64>>,
}

fn album_json(
    conn: &mut cms_core::DbConn,
    id: i64,
    base: &str,
) -> Result<views::AlbumOut, ApiError> {
    let a = album::find(conn, id)?.ok_or(cms_core::Error::NotFound("album"))?;
    Ok(views::album_out(conn, &a, Urls(base))?)
}

/// Creates an album.
#[utoipa::path(post, path = "/api/v1/albums", tag = "write",
    request_body = AlbumCreate,
    responses(
        (status = 201, description = "Created; `Location` is the album in the API", body = views::AlbumOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["gallery:write"])))]
pub async fn create_album(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "gallery:write").await?;
    let b: AlbumCreate = read_json(&req, body).await?;
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let out = state
        .db
        .write(move |conn| {
            let a = service::gallery::create_album(
                conn,
                &act,
                &NewAlbum {
                    category_id: b.category_id,
                    title: &b.title,
                    description: &b.description,
                    credit: &b.credit,
                    status: b.status.unwrap_or(AlbumStatus::Draft),
                },
            )?;
            album_json(conn, a.id, &base)
        })
        .await?;
    let location = format!(
        "{}/api/v1/albums/{}",
        state.config.server.base_url, out.slug
    );
    Ok(created(&location, &out))
}

/// Changes an album: details, status (publishing emails gallery subscribers once), category,
/// cover.
#[utoipa::path(patch, path = "/api/v1/albums/{slug}", tag = "write",
    params(("slug" = String, Path, description = "The album's slug")),
    request_body = AlbumUpdate,
    responses(
        (status = 200, description = "The album as saved", body = views::AlbumOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["gallery:write"])))]
pub async fn update_album(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "gallery:write").await?;
    let slug = slug.into_inner();
    let b: AlbumUpdate = read_json(&req, body).await?;
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let out = state
        .db
        .write(move |conn| {
            let id = super::lookup(conn, "album", &slug)?;
            if let Some(Some(pid)) = b.cover_photo_id
                && photo::find(conn, pid)?.is_none_or(|p| p.album_id != id)
            {
                return Err(ApiError::from(cms_core::Error::missing(
                    "cover_photo_id",
                    format!("there is no photo {pid} in this album"),
                )));
            }
            let edit = service::gallery::AlbumEdit {
                title: b.title.as_deref(),
                description: b.description.as_deref(),
                credit: b.credit.as_deref(),
                category_id: b.category_id,
                cover_photo_id: b.cover_photo_id,
                status: b.status,
            };
            service::gallery::edit_album(conn, &act, id, &edit)?;
            album_json(conn, id, &base)
        })
        .await?;
    Ok(json(StatusCode::OK, &out))
}

/// Deletes an album with its photos.
#[utoipa::path(delete, path = "/api/v1/albums/{slug}", tag = "write",
    params(("slug" = String, Path, description = "The album's slug")),
    responses(
        (status = 204, description = "Deleted"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["gallery:write"])))]
pub async fn delete_album(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> ApiResult {
    let caller = authorize(&req, &state, "gallery:write").await?;
    let slug = slug.into_inner();
    let act = caller.actor;
    let unused = state
        .db
        .write(move |conn| {
            let id = super::lookup(conn, "album", &slug)?;
            let gone = service::gallery::delete_album(conn, &act, id)?;
            Ok::<_, ApiError>(photo::unused_files(conn, &gone)?)
        })
        .await?;
    // Files nobody uses any more go after the rows did (never before).
    cms_core::media::forget(state.media.clone(), unused).await;
    Ok(deleted())
}

/// A file the upload did not add.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refused {
    pub file: String,
    pub reason: String,
}

/// What an upload did.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadReport {
    /// The new photos, in the order sent.
    pub added: Vec<views::PhotoOut>,
    /// Files whose content the album already holds.
    pub duplicates: Vec<String>,
    /// Files that are not images we take, too large, or pixel floods.
    pub refused: Vec<Refused>,
}

/// The multipart form of an upload (for the description only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// One or more image files (JPEG, PNG, WebP, GIF), each in a part named `file`.
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1)]
    file: Vec<Vec<u8>>,
}

/// Adds photos to an album: one or many files, each decided by its bytes, with derivatives made
/// and metadata stripped; content the album already has is skipped.
#[utoipa::path(post, path = "/api/v1/albums/{slug}/photos", tag = "write",
    params(("slug" = String, Path, description = "The album's slug")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "At least one photo was added", body = UploadReport),
        (status = 200, description = "Nothing new was added (duplicates)", body = UploadReport),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["gallery:write"])))]
pub async fn upload_photos(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    payload: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "gallery:write").await?;
    let slug = slug.into_inner();
    let is_multipart = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError(Problem::new(
            415,
            "send the photos as multipart/form-data, each file in a part named 'file'",
        )));
    }
    let (id, known) = state
        .db
        .run(move |conn| {
            let id = super::lookup(conn, "album", &slug)?;
            Ok::<_, ApiError>((id, photo::hashes_in_album(conn, id)?))
        })
        .await?;
    let settings = state.config.images.clone();
    let staging = state.config.storage.data_dir.join("staging");
    let mp = Multipart::new(req.headers(), payload);
    let mut up = upload::read(mp, &staging, &[("file", settings.max_bytes)]).await?;
    let mut files: Vec<upload::StagedFile> = up.files.remove("file").into_iter().collect();
    // Only `file` parts, as the description says (the admin's forms also send text fields).
    if let Some(other) = up
        .fields
        .keys()
        .chain(up.files.keys())
        .chain(up.repeated.iter().map(|(n, _)| n).filter(|n| *n != "file"))
        .chain(up.ignored_files.iter())
        .next()
    {
        return Err(ApiError(Problem::bad_field(
            "file",
            format!("unknown part '{other}'; send each image in a part named 'file'"),
        )));
    }
    files.extend(up.repeated.into_iter().map(|(_, f)| f));
    if up.empty_files > 0 {
        return Err(ApiError(Problem::bad_field(
            "file",
            "a part holds no file; each part named 'file' must hold an image",
        )));
    }
    if files.is_empty() {
        return Err(ApiError(Problem::bad_field(
            "file",
            "no file in the upload; send each image in a part named 'file'",
        )));
    }
    let mut report = UploadReport {
        added: Vec::new(),
        duplicates: Vec::new(),
        refused: Vec::new(),
    };
    // Read, hashed-already, checked against the album and processed on every core, on a
    // blocking thread; the staging files live until then.
    let media = state.media.clone();
    let prepared = web::block(move || {
        let incoming = files
            .iter()
            .map(|f| {
                batch::Incoming::file(
                    batch::file_name(&f.filename),
                    f.file.path(),
                    Some(f.sha256.clone()),
                )
            })
            .collect();
        let mut known: std::collections::HashSet<String> = known.into_iter().collect();
        let p = batch::prepare(incoming, &mut known, &settings, media.as_ref());
        drop(files);
        p
    })
    .await
    .map_err(|e| ApiError::from(cms_core::Error::Internal(e.to_string())))?;
    if let Some(why) = prepared.store_error {
        return Err(ApiError::from(cms_core::Error::MediaUnavailable(why)));
    }
    report.duplicates = prepared.duplicates;
    report.refused = prepared
        .refused
        .into_iter()
        .map(|(file, reason)| Refused { file, reason })
        .collect();
    let new = prepared.photos;
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let added = if new.is_empty() {
        Vec::new()
    } else {
        state
            .db
            .write(move |conn| {
                let r = service::gallery::add_photos(conn, &act, id, &new)?;
                let a = album::find(conn, id)?.ok_or(cms_core::Error::NotFound("album"))?;
                let photos = photo::by_ids(conn, &r.inserted)?;
                Ok::<_, ApiError>(
                    photos
                        .iter()
                        .map(|p| views::photo_out(p, &a, Urls(&base)))
                        .collect(),
                )
            })
            .await?
    };
    report.added = added;
    if report.added.is_empty() && report.duplicates.is_empty() {
        let errors: Vec<cms_core::api::FieldError> = report
            .refused
            .iter()
            .map(|r| cms_core::api::FieldError {
                field: "file".into(),
                message: format!("{}: {}", r.file, r.reason),
            })
            .collect();
        return Err(ApiError(Problem {
            field: Some("file".into()),
            errors,
            ..Problem::new(422, "no file was added: none is an image we take")
        }));
    }
    let status = if report.added.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json(status, &report))
}

/// Changes to a photo's text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoUpdate {
    pub caption: Option<String>,
    pub credit: Option<String>,
    pub source: Option<String>,
}

/// Changes a photo's caption, credit or source.
#[utoipa::path(patch, path = "/api/v1/photos/{id}", tag = "write",
    params(("id" = i64, Path, description = "The photo's id", minimum = 1)),
    request_body = PhotoUpdate,
    responses(
        (status = 200, description = "The photo as saved", body = views::PhotoOut),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["gallery:write"])))]
pub async fn update_photo(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Payload,
) -> ApiResult {
    let caller = authorize(&req, &state, "gallery:write").await?;
    let id = path_id(&id)?;
    let b: PhotoUpdate = read_json(&req, body).await?;
    let base = state.config.server.base_url.clone();
    let act = caller.actor;
    let out = state
        .db
        .write(move |conn| {
            let p = photo::find(conn, id)?.ok_or(cms_core::Error::NotFound("photo"))?;
            for (field, value) in [
                ("caption", &b.caption),
                ("credit", &b.credit),
                ("source", &b.source),
            ] {
                if value.as_ref().is_some_and(|v| v.chars().count() > 2000) {
                    return Err(ApiError(Problem {
                        status: 422,
                        title: "Unprocessable Content",
                        ..Problem::bad_field(field, "must be at most 2000 characters")
                    }));
                }
            }
            service::gallery::update_photo(
                conn,
                &act,
                id,
                b.caption.as_deref().unwrap_or(&p.caption),
                b.credit.as_deref().unwrap_or(&p.credit),
                b.source.as_deref().unwrap_or(&p.source),
            )?;
            let p = photo::find(conn, id)?.ok_or(cms_core::Error::NotFound("photo"))?;
            let a = album::find(conn, p.album_id)?.ok_or(cms_core::Error::NotFound("album"))?;
            Ok::<_, ApiError>(views::photo_out(&p, &a, Urls(&base)))
        })
        .await?;
    Ok(json(StatusCode::OK, &out))
}

/// Deletes a photo.
#[utoipa::path(delete, path = "/api/v1/photos/{id}", tag = "write",
    params(("id" = i64, Path, description = "The photo's id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        cms_core::api::problem::WriteResponses,
    ),
    security(("bearer" = ["gallery:write"])))]
pub async fn delete_photo(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult {
    let caller = authorize(&req, &state, "gallery:write").await?;
    let id = path_id(&id)?;
    let act = caller.actor;
    let unused = state
        .db
        .write(move |conn| {
            let gone = service::gallery::delete_photos(conn, &act, &[id])?;
            if gone.is_empty() {
                return Err(ApiError::from(cms_core::Error::NotFound("photo")));
            }
            Ok(photo::unused_files(conn, &gone)?)
        })
        .await?;
    cms_core::media::forget(state.media.clone(), unused).await;
    Ok(deleted())
}
