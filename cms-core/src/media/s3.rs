//! Media in an S3-compatible object store (Garage, MinIO, AWS S3, R2…), chosen with
//! `CMS_MEDIA_URL=s3://BUCKET/PREFIX`. Every node of a site reads and writes the same bucket.
//!
//! Keys are content-addressed, so a retried upload writes the same bytes under the same name
//! (idempotent) and an object, once there, never changes: readers get a year-long cache. A PUT
//! of an object is atomic in S3 (a reader sees the old object or the whole new one), large
//! files go up in parts and become visible only when the last part is in.
//!
//! The rest of Keepsake calls the store from blocking code (ingest threads, the database's
//! blocking pool); the store runs its requests on a small runtime of its own and waits for them
//! there, so it works the same from any thread. The web plugin streams media with
//! [`S3MediaStore::get`] from async code.

use std::future::Future;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, RetryConfig,
};
use tracing::Instrument;

pub use object_store::GetRange;

use super::{MediaStore, validate_key};
use crate::error::{Error, Result};

/// Files larger than this go up in parts of this size (S3 needs at least 5 MiB a part).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Parts of one file in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Where the media of an `s3://` URL live and how to reach them.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Folder inside the bucket, without slashes at either end; may be empty.
    pub prefix: String,
    /// The store's address (`http://127.0.0.1:3900`); `None` means AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// The session token of temporary credentials (`AWS_SESSION_TOKEN`).
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Location {
    // The secret key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Location")
            .field("url", &self.url())
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl S3Location {
    /// Parses `s3://BUCKET` or `s3://BUCKET/PREFIX`; the rest comes from other settings.
    pub fn parse(url: &str) -> std::result::Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("'{url}' is not an s3://BUCKET/PREFIX address"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(format!(
                "'{bucket}' is not a bucket name (3 to 63 lower-case letters, digits, '-' or '.')"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && validate_key(prefix).is_err() {
            return Err(format!(
                "'{prefix}' is not a folder name (letters, digits, '-', '_', '.' and '/')"
            ));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
        })
    }

    /// The bucket and prefix of `url`, reached the way this location is (endpoint, region,
    /// keys).
    pub fn at(&self, url: &str) -> std::result::Result<S3Location, String> {
        let place = S3Location::parse(url)?;
        Ok(S3Location {
            bucket: place.bucket,
            prefix: place.prefix,
            ..self.clone()
        })
    }

    /// `s3://BUCKET/PREFIX`, as the setting is written.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// A runtime that is shut down without waiting when the store goes (a runtime dropped inside
/// another runtime's task would panic).
struct Executor(Option<tokio::runtime::Runtime>);

impl Drop for Executor {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The object-store backend of [`MediaStore`].
pub struct S3MediaStore {
    location: S3Location,
    store: Arc<AmazonS3>,
    /// Image sizes read so far (posters whose share cards state them).
    sizes: std::sync::Mutex<std::collections::HashMap<String, (u32, u32)>>,
    handle: tokio::runtime::Handle,
    _executor: Executor,
}

impl std::fmt::Debug for S3MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3MediaStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// One object read from the store, as the web plugin streams it.
pub struct Object {
    /// The bytes, in chunks as they arrive.
    pub body: BoxStream<'static, Result<Bytes>>,
    /// The byte range sent and the object's whole size.
    pub range: Range<u64>,
    pub size: u64,
    pub e_tag: Option<String>,
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

/// What a read of an object came to.
pub enum Fetched {
    Object(Object),
    /// The reader's copy (its `If-None-Match`) is current; the object's ETag.
    NotModified(Option<String>),
    /// No such key.
    NotFound,
    /// The range asked for is outside the object, of this size.
    BadRange(u64),
}

/// Installs the TLS provider HTTPS requests to the store use (once per process).
fn install_tls_provider() {
    // An error only says one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl S3MediaStore {
    /// A store for `location`. Connects to nothing yet: [`S3MediaStore::check`] does.
    pub fn open(location: S3Location) -> Result<S3MediaStore> {
        install_tls_provider();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("media-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the media store's threads", e))?;
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_region(&location.region)
            // Self-hosted stores answer at one address for every bucket.
            .with_virtual_hosted_style_request(false)
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    // No limit on a whole request (a large video streams for as long as its
                    // reader reads); a store that stops answering is cut off after 30 s.
                    .with_timeout_disabled()
                    .with_read_timeout(Duration::from_secs(30))
                    .with_allow_http(true),
            )
            // A store that is down fails an upload within seconds, not minutes.
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
            });
        if let Some(endpoint) = &location.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(id) = &location.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &location.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        if let Some(token) = &location.session_token {
            builder = builder.with_token(token);
        }
        let store = builder
            .build()
            .map_err(|e| Error::Internal(format!("media store {}: {e}", location.url())))?;
        Ok(S3MediaStore {
            handle: rt.handle().clone(),
            _executor: Executor(Some(rt)),
            store: Arc::new(store),
            sizes: Default::default(),
            location,
        })
    }

    /// Where this store is.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// The object name of a key.
    fn path(&self, key: &str) -> Result<ObjectPath> {
        validate_key(key)?;
        Ok(if self.location.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.location.prefix))
        })
    }

    /// The key of an object name under the prefix.
    fn key_of(&self, path: &ObjectPath) -> Option<String> {
        let p = path.as_ref();
        if self.location.prefix.is_empty() {
            Some(p.to_string())
        } else {
            p.strip_prefix(&self.location.prefix)?
                .strip_prefix('/')
                .map(str::to_string)
        }
    }

    /// Runs `fut` on the store's runtime and waits for it, from any thread.
    fn wait<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        // The caller's span (a request's, with its id) goes with the work.
        self.handle.spawn(
            async move {
                let _ = tx.send(fut.await);
            }
            .instrument(tracing::Span::current()),
        );
        rx.recv()
            .map_err(|_| Error::MediaUnavailable("the media store has stopped".into()))
    }

    /// A failed request, as the caller reports it.
    fn failure(&self, doing: &str, key: &str, e: object_store::Error) -> Error {
        match e {
            object_store::Error::NotFound { .. } => Error::NotFound("media file"),
            other => Error::MediaUnavailable(format!(
                "{} cannot {doing} {key}: {}",
                self.location.url(),
                one_line(&other)
            )),
        }
    }

    /// Lists the prefix once, so a store that cannot be reached, a bucket that does not exist
    /// or keys that are refused are reported at start in one line.
    pub fn check(&self) -> Result<()> {
        let store = self.store.clone();
        let prefix = (!self.location.prefix.is_empty())
            .then(|| ObjectPath::from(self.location.prefix.as_str()));
        let listed = self.wait(async move {
            tokio::time::timeout(
                Duration::from_secs(20),
                store.list_with_delimiter(prefix.as_ref()),
            )
            .await
        })?;
        let url = self.location.url();
        let at = self
            .location
            .endpoint
            .as_deref()
            .map(|e| format!(" at {e}"))
            .unwrap_or_default();
        match listed {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                let why = one_line(&e);
                // The store answered: say what it said, not that it is out of reach.
                let what = if why.contains("NoSuchBucket") {
                    "there is no such bucket".to_string()
                } else if why.contains("AccessDenied")
                    || why.contains("InvalidAccessKeyId")
                    || why.contains("SignatureDoesNotMatch")
                    || why.contains("403")
                {
                    "the store refused the keys (check CMS_S3_ACCESS_KEY_ID, CMS_S3_SECRET_ACCESS_KEY and CMS_S3_REGION)".to_string()
                } else if why.contains("169.254.169.254") {
                    "no keys are set (CMS_S3_ACCESS_KEY_ID and CMS_S3_SECRET_ACCESS_KEY, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)".to_string()
                } else {
                    return Err(Error::MediaUnavailable(format!(
                        "cannot reach {url}{at}: {why}"
                    )));
                };
                Err(Error::MediaUnavailable(format!("{url}{at}: {what}")))
            }
            Err(_) => Err(Error::MediaUnavailable(format!(
                "cannot reach {url}{at}: no answer in 20 s"
            ))),
        }
    }

    /// Reads `key` for a reader: a byte range (`None`: all of it; `head`: no bytes, only
    /// what they are), unless the reader's copy is current — `if_none_match` holds one of
    /// the object's ETags, or, when it is empty, the object is no newer than
    /// `if_modified_since` (a reader revalidating: rare, the cache lasts a year).
    pub async fn get(
        &self,
        key: &str,
        range: Option<GetRange>,
        if_none_match: &[String],
        if_modified_since: Option<std::time::SystemTime>,
        head: bool,
    ) -> Result<Fetched> {
        let path = self.path(key)?;
        if head || !if_none_match.is_empty() || if_modified_since.is_some() {
            let meta = match self.head_of(key, path.clone()).await? {
                Some(m) => m,
                None => return Ok(Fetched::NotFound),
            };
            // RFC 9110: If-Modified-Since counts only without If-None-Match; dates are
            // compared to the second, as HTTP dates carry.
            let current = if if_none_match.is_empty() {
                if_modified_since.is_some_and(|since| {
                    let since = chrono::DateTime::<chrono::Utc>::from(since).timestamp();
                    meta.last_modified.timestamp() <= since
                })
            } else {
                meta.e_tag
                    .as_deref()
                    .is_some_and(|t| if_none_match.iter().any(|m| m == "*" || m == t))
            };
            if current {
                return Ok(Fetched::NotModified(meta.e_tag));
            }
            if head {
                let size = meta.size;
                let range = match range.as_ref().map(|r| r.as_range(size)) {
                    None => 0..size,
                    Some(Ok(r)) => r,
                    Some(Err(_)) => return Ok(Fetched::BadRange(size)),
                };
                return Ok(Fetched::Object(Object {
                    body: futures_util::stream::empty().boxed(),
                    range,
                    size,
                    e_tag: meta.e_tag,
                    last_modified: meta.last_modified,
                }));
            }
        }
        let store = self.store.clone();
        let options = GetOptions {
            range: range.clone(),
            ..Default::default()
        };
        let task_path = path.clone();
        // The request runs on the store's runtime; the body is handed over chunk by chunk.
        let task = self.handle.spawn(
            async move {
                let got = store.get_opts(&task_path, options).await?;
                let meta = (got.range.clone(), got.meta.size, got.meta.e_tag.clone());
                let modified = got.meta.last_modified;
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(4);
                let mut body = got.into_stream();
                tokio::spawn(async move {
                    while let Some(chunk) = body.next().await {
                        let chunk = chunk.map_err(|e| {
                            Error::MediaUnavailable(format!("reading: {}", one_line(&e)))
                        });
                        if tx.send(chunk).await.is_err() {
                            break;
                        }
                    }
                });
                Ok::<_, object_store::Error>((meta, modified, rx))
            }
            .instrument(tracing::Span::current()),
        );
        let answer = task
            .await
            .map_err(|_| Error::MediaUnavailable("the media store has stopped".into()))?;
        match answer {
            Ok(((range, size, e_tag), last_modified, rx)) => {
                let body = futures_util::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|c| (c, rx))
                })
                .boxed();
                Ok(Fetched::Object(Object {
                    body,
                    range,
                    size,
                    e_tag,
                    last_modified,
                }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(Fetched::NotFound),
            Err(e) => {
                // A range outside the object, or the store failing: its size tells which.
                if let Some(r) = &range
                    && let Ok(Some(meta)) = self.head_of(key, path).await
                    && r.as_range(meta.size).is_err()
                {
                    return Ok(Fetched::BadRange(meta.size));
                }
                Err(self.failure("read", key, e))
            }
        }
    }

    /// What the store says of `key`; `None` when there is no such object.
    async fn head_of(
        &self,
        key: &str,
        path: ObjectPath,
    ) -> Result<Option<object_store::ObjectMeta>> {
        let store = self.store.clone();
        let answer = self
            .handle
            .spawn(async move { store.head(&path).await })
            .await
            .map_err(|_| Error::MediaUnavailable("the media store has stopped".into()))?;
        match answer {
            Ok(m) => Ok(Some(m)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failure("read", key, e)),
        }
    }

    /// The ETag of `key` as the store gives it.
    pub fn etag(&self, key: &str) -> Result<Option<String>> {
        let path = self.path(key)?;
        let store = self.store.clone();
        self.wait(async move { store.head(&path).await })?
            .map(|m| m.e_tag)
            .map_err(|e| self.failure("read", key, e))
    }

    /// Every key under the prefix with its size and ETag, in pages as the store lists them.
    pub fn list(&self) -> Result<Vec<(String, u64, Option<String>)>> {
        let store = self.store.clone();
        let prefix = (!self.location.prefix.is_empty())
            .then(|| ObjectPath::from(self.location.prefix.as_str()));
        let metas = self.wait(async move {
            store
                .list(prefix.as_ref())
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<std::result::Result<Vec<_>, _>>()
        })?;
        let metas = metas.map_err(|e| self.failure("list", "the media", e))?;
        Ok(metas
            .into_iter()
            .filter_map(|m| Some((self.key_of(&m.location)?, m.size, m.e_tag)))
            .collect())
    }

    /// The attributes a public bucket serves an object with: its type and a year's cache.
    fn attributes(key: &str) -> Attributes {
        let mut a = Attributes::new();
        a.insert(Attribute::ContentType, content_type(key).into());
        a.insert(
            Attribute::CacheControl,
            "public, max-age=31536000, immutable".into(),
        );
        a
    }

    /// Uploads what `file` reads in parts, up to [`PARTS_IN_FLIGHT`] at once; aborts the
    /// upload (so no half object is left) when any part, or the end, fails.
    fn put_parts(&self, key: &str, mut file: impl Read) -> Result<()> {
        let path = self.path(key)?;
        let store = self.store.clone();
        let opts = PutMultipartOptions {
            attributes: Self::attributes(key),
            ..Default::default()
        };
        let mut upload = self
            .wait(async move { store.put_multipart_opts(&path, opts).await })?
            .map_err(|e| self.failure("write", key, e))?;
        let mut pending = std::collections::VecDeque::new();
        let mut failed = None;
        loop {
            let mut part = vec![0u8; PART_BYTES];
            let n = match read_full(&mut file, &mut part) {
                Ok(n) => n,
                Err(e) => {
                    failed = Some(Error::io(format!("cannot read the file for {key}"), e));
                    break;
                }
            };
            if n == 0 {
                break;
            }
            part.truncate(n);
            let fut = upload.put_part(PutPayload::from(part));
            pending.push_back(self.handle.spawn(fut));
            if pending.len() >= PARTS_IN_FLIGHT
                && let Some(first) = pending.pop_front()
                && let Err(e) = self.join_part(first)
            {
                failed = Some(self.failure("write", key, e));
                break;
            }
            if n < PART_BYTES {
                break;
            }
        }
        while let Some(next) = pending.pop_front() {
            if let Err(e) = self.join_part(next)
                && failed.is_none()
            {
                failed = Some(self.failure("write", key, e));
            }
        }
        if let Some(e) = failed {
            let _ = self.wait(async move { upload.abort().await });
            return Err(e);
        }
        let (done, upload) = self.wait(async move {
            let done = upload.complete().await;
            (done, upload)
        })?;
        match done {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut upload = upload;
                let _ = self.wait(async move { upload.abort().await });
                Err(self.failure("write", key, e))
            }
        }
    }

    /// Uploads the file at `src` under `key` (in parts when it is larger than one), leaving
    /// the file where it is.
    pub fn put_from_path(&self, key: &str, src: &Path) -> Result<()> {
        let file = std::fs::File::open(src)
            .map_err(|e| Error::io(format!("cannot read {}", src.display()), e))?;
        let size = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot read {}", src.display()), e))?
            .len();
        if size as usize > PART_BYTES {
            self.put_parts(key, std::io::BufReader::with_capacity(1 << 20, file))
        } else {
            let bytes = std::fs::read(src)
                .map_err(|e| Error::io(format!("cannot read {}", src.display()), e))?;
            self.put(key, &bytes)
        }
    }

    /// Streams `key` into a new file at `dest` (synced; not whole in memory, whatever its
    /// size); its size.
    pub fn download_to(&self, key: &str, dest: &Path) -> Result<u64> {
        use std::io::Write as _;
        let path = self.path(key)?;
        let store = self.store.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel::<object_store::Result<Bytes>>(4);
        self.handle.spawn(async move {
            match store.get(&path).await {
                Ok(got) => {
                    let mut body = got.into_stream();
                    while let Some(chunk) = body.next().await {
                        let stop = chunk.is_err();
                        if tx.send(chunk).is_err() || stop {
                            break;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        let mut file = std::fs::File::create(dest)
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        let mut size = 0u64;
        // The sender goes when the object has been read whole (or failed).
        for chunk in rx {
            let chunk = chunk.map_err(|e| self.failure("read", key, e))?;
            file.write_all(&chunk)
                .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
            size += chunk.len() as u64;
        }
        file.sync_all()
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        Ok(size)
    }

    /// The width and height of the image under `key`, read from its first 64 KiB (once: keys
    /// never change, so the answer is kept), or `None` when it cannot be read within 3 s.
    pub fn image_size(&self, key: &str) -> Option<(u32, u32)> {
        if let Some(size) = self
            .sizes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            return Some(*size);
        }
        let path = self.path(key).ok()?;
        let store = self.store.clone();
        let head = self
            .wait(async move {
                tokio::time::timeout(Duration::from_secs(3), async move {
                    let meta = store.head(&path).await?;
                    store.get_range(&path, 0..meta.size.min(64 * 1024)).await
                })
                .await
            })
            .ok()?
            .ok()?
            .ok()?;
        let size = image::ImageReader::new(std::io::Cursor::new(head))
            .with_guessed_format()
            .ok()?
            .into_dimensions()
            .ok()?;
        let mut sizes = self.sizes.lock().unwrap_or_else(|e| e.into_inner());
        if sizes.len() >= 10_000 {
            sizes.clear();
        }
        sizes.insert(key.to_string(), size);
        Some(size)
    }

    fn join_part(
        &self,
        task: tokio::task::JoinHandle<object_store::Result<()>>,
    ) -> object_store::Result<()> {
        match self.wait(task) {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e),
            _ => Err(object_store::Error::Generic {
                store: "S3",
                source: "the upload of a part was cut off".into(),
            }),
        }
    }
}

/// Reads until `buf` is full or the file ends; how many bytes were read.
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// An object-store error on one line, with its innermost cause (the part that says what
/// happened: connection refused, access denied…).
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text = format!("{text}: {s}");
        }
        cause = c.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `Content-Type` of a media key, from its extension (keys are ours: the extension is the
/// sniffed type's).
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, e)| e) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("avif") => "image/avif",
        Some("heic") => "image/heic",
        Some("ico") => "image/x-icon",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("mov") => "video/quicktime",
        Some("vtt") => "text/vtt",
        _ => "application/octet-stream",
    }
}

impl MediaStore for S3MediaStore {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        if bytes.len() > PART_BYTES {
            return self.put_parts(key, bytes);
        }
        let path = self.path(key)?;
        let store = self.store.clone();
        let payload = PutPayload::from(bytes.to_vec());
        let opts = PutOptions {
            attributes: Self::attributes(key),
            ..Default::default()
        };
        self.wait(async move { store.put_opts(&path, payload, opts).await })?
            .map(|_| ())
            .map_err(|e| self.failure("write", key, e))
    }

    fn put_file(&self, key: &str, src: &Path) -> Result<()> {
        self.put_from_path(key, src)?;
        // The caller gave the file up; it is in the store now.
        let _ = std::fs::remove_file(src);
        Ok(())
    }

    fn link(&self, existing: &str, key: &str) -> Result<()> {
        let (from, to) = (self.path(existing)?, self.path(key)?);
        let store = self.store.clone();
        self.wait(async move { store.copy(&from, &to).await })?
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => Error::NotFound("media file"),
                other => self.failure("copy", existing, other),
            })
    }

    fn exists(&self, key: &str) -> bool {
        let Ok(path) = self.path(key) else {
            return false;
        };
        let store = self.store.clone();
        matches!(self.wait(async move { store.head(&path).await }), Ok(Ok(_)))
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        let store = self.store.clone();
        match self.wait(async move { store.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failure("delete", key, e)),
        }
    }

    fn read(&self, key: &str) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        let store = self.store.clone();
        let got = self.wait(async move {
            match store.get(&path).await {
                Ok(r) => r.bytes().await,
                Err(e) => Err(e),
            }
        })?;
        got.map(|b| b.to_vec())
            .map_err(|e| self.failure("read", key, e))
    }

    fn local_root(&self) -> Option<&Path> {
        None
    }

    fn s3(&self) -> Option<&S3MediaStore> {
        Some(self)
    }

    fn describe(&self) -> String {
        self.location.url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_addresses_are_read_and_checked() {
        let l = S3Location::parse("s3://fan-media/keepsake/").expect("parse");
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("fan-media", "keepsake")
        );
        assert_eq!(l.url(), "s3://fan-media/keepsake");
        assert_eq!(
            S3Location::parse("s3://media").expect("parse").url(),
            "s3://media"
        );
        for bad in [
            "media",
            "s3://",
            "s3://UPPER",
            "s3://ab",
            "s3://ok-bucket/../x",
            "http://x/y",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
        let mut l = l;
        l.secret_access_key = Some("very-secret".into());
        assert!(!format!("{l:?}").contains("very-secret"));
    }

    #[test]
    fn media_types_follow_the_extension() {
        assert_eq!(content_type("photos/ab/x-320.jpg"), "image/jpeg");
        assert_eq!(content_type("videos/x.mp4"), "video/mp4");
        assert_eq!(content_type("x"), "application/octet-stream");
    }
}
