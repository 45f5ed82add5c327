//! Configuration: the `CMS_*` environment variables of the contract, optionally a `cms.toml` in
//! the working directory (the environment wins), typed per concern and validated at start with
//! one line per problem.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Every setting: its `cms.toml` key, the environment variable is `CMS_` + the key in capitals.
/// The one list: the environment, `cms.toml`, `--help` and [`RawSettings::resolve`] all read
/// it, and reading or setting a key missing here is a programming error that panics.
const KEYS: &[(&str, &str)] = &[
    (
        "database_url",
        "database URL: sqlite://PATH or postgres://…",
    ),
    ("database_pool_size", "connections in the pool"),
    (
        "data_dir",
        "folder for the SQLite file, the secret key and the outbox",
    ),
    ("media_dir", "folder for uploaded and derived media"),
    (
        "media_url",
        "s3://BUCKET/PREFIX: keep media in an S3-compatible object store instead of the folder",
    ),
    (
        "s3_endpoint",
        "the object store's address, e.g. http://127.0.0.1:3900 (unset: AWS)",
    ),
    ("s3_region", "the object store's region (default us-east-1)"),
    (
        "s3_access_key_id",
        "the object store's key id (or AWS_ACCESS_KEY_ID)",
    ),
    (
        "s3_secret_access_key",
        "the object store's secret key (or AWS_SECRET_ACCESS_KEY)",
    ),
    (
        "s3_session_token",
        "the session token of temporary keys (or AWS_SESSION_TOKEN)",
    ),
    (
        "media_public_url",
        "where readers' browsers fetch media instead of /media/, e.g. https://cdn.example.org/media",
    ),
    (
        "import_dir",
        "folder the admin may import galleries from (server-side, like FTP + sync)",
    ),
    ("bind", "address the server listens on"),
    (
        "trusted_proxies",
        "reverse proxies whose X-Forwarded-For/Forwarded is believed, e.g. 127.0.0.1,10.0.0.0/8",
    ),
    ("base_url", "absolute base of links in feeds and emails"),
    ("smtp_url", "SMTP server for outgoing mail"),
    ("mail_from", "sender of outgoing mail"),
    (
        "smtp_connections",
        "SMTP connections used at once (what the relay accepts)",
    ),
    ("mail_rate", "most messages sent per second (0: no limit)"),
    (
        "mail_retry_seconds",
        "first retry delay after a temporary failure (doubles each time)",
    ),
    ("secret_key", "key that signs tokens"),
    (
        "page_cache_mb",
        "memory for cached public pages, in MiB (0 turns it off)",
    ),
    (
        "api_rate",
        "requests per minute one API token may make (0: no limit)",
    ),
    (
        "image_widths",
        "derivative widths made for every photo, e.g. 320,640,1280",
    ),
    ("max_upload_mb", "largest image file accepted, in MiB"),
    (
        "timezone",
        "the site's time zone, e.g. Europe/London (schedules and dates)",
    ),
    (
        "digest_hour",
        "the hour (0-23, site time) daily and weekly update digests are sent (default 9)",
    ),
    (
        "digest_day",
        "the day weekly update digests are sent, e.g. monday (default)",
    ),
    (
        "require_2fa",
        "true: everyone who logs into the admin must use two-step verification",
    ),
    (
        "backup_dir",
        "folder for scheduled backups (turns them on; a dated snapshot each time)",
    ),
    (
        "backup_every",
        "how often the scheduled backup runs, e.g. 6h, 1d (default) or 1w",
    ),
    (
        "backup_keep",
        "how many scheduled snapshots are kept (default 7)",
    ),
    ("log", "log filter, e.g. info or cms=debug"),
    (
        "log_format",
        "text (default) or json: one JSON object per log line",
    ),
    (
        "metrics",
        "serve /metrics (Prometheus): a bearer token of 16+ characters, or public",
    ),
    (
        "webhook_allow_private",
        "true: webhooks may be sent to loopback and private addresses (a receiver on this network)",
    ),
];

/// Settings that also answer to the name every S3 tool reads, when the `CMS_` one is unset.
const STANDARD_NAMES: &[(&str, &str)] = &[
    ("s3_access_key_id", "AWS_ACCESS_KEY_ID"),
    ("s3_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
    ("s3_session_token", "AWS_SESSION_TOKEN"),
];

/// The whole configuration, one struct per concern.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub mail: MailConfig,
    pub secret: SecretKey,
    /// The key file the secret was read from (generated in the data folder when no key is
    /// configured); `None` when it comes from `CMS_SECRET_KEY` or `cms.toml`.
    pub secret_key_file: Option<PathBuf>,
    /// The `tracing` filter (`CMS_LOG`, default `info`).
    pub log: String,
    /// One JSON object per log line instead of text (`CMS_LOG_FORMAT=json`).
    pub log_json: bool,
    /// How photos are processed.
    pub images: crate::ingest::Settings,
    /// The site's time zone: editors schedule in it and see dates in it (`CMS_TIMEZONE`).
    pub timezone: chrono_tz::Tz,
    /// When digests are sent (`CMS_DIGEST_HOUR`, `CMS_DIGEST_DAY`), in the site's time zone.
    pub digest: crate::digest::Schedule,
    /// Every admin panel account must use two-step verification (`CMS_REQUIRE_2FA`).
    pub require_2fa: bool,
    /// Webhooks may go to loopback and private addresses (`CMS_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_allow_private: bool,
    /// Scheduled backups (`CMS_BACKUP_DIR`, `CMS_BACKUP_EVERY`, `CMS_BACKUP_KEEP`).
    pub backup: Option<crate::backup::schedule::Schedule>,
}

/// Where the database is and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub pool_size: u32,
}

/// A parsed database URL: the scheme decides the backend.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://data/cms.db` (relative) or `sqlite:///var/lib/cms.db` (absolute).
    Sqlite { path: PathBuf },
    /// `postgres://user:pass@host:port/db` or `postgresql://…`, passed to libpq as is.
    Postgres { url: String },
}

/// How the HTTP server is reached.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `host:port` to listen on.
    pub bind: String,
    /// Who may read `/metrics` (`CMS_METRICS`).
    pub metrics: MetricsAccess,
    /// Absolute base URL without a trailing slash, e.g. `https://kitconnor.example`.
    pub base_url: String,
    /// True when `base_url` is https: cookies get `Secure`.
    pub https: bool,
    /// The page cache's size in bytes.
    pub page_cache_bytes: u64,
    /// Requests per minute one API token may make; 0 means no limit.
    pub api_rate_per_minute: u32,
    /// The reverse proxies whose forwarding headers name the client (`CMS_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::net::TrustedProxies,
}

/// Who may read `/metrics`.
#[derive(Clone, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Not served (the default): 404.
    Off,
    /// Anyone who can reach the node (a private network, or a proxy that keeps it inside).
    Public,
    /// Only a scraper sending `Authorization: Bearer TOKEN`.
    Token(String),
}

impl fmt::Debug for MetricsAccess {
    // The token never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricsAccess::Off => f.write_str("Off"),
            MetricsAccess::Public => f.write_str("Public"),
            MetricsAccess::Token(_) => f.write_str("Token(…)"),
        }
    }
}

/// Where files live.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    /// The media folder (used when no object store is configured).
    pub media_dir: PathBuf,
    /// The object store holding the media instead of the folder (`CMS_MEDIA_URL`).
    pub s3: Option<crate::media::s3::S3Location>,
    /// How an object store is reached (endpoint, region, keys), whatever the bucket: what
    /// `cms media migrate --to s3://…` uses ([`crate::media::s3::S3Location::at`]).
    pub s3_access: crate::media::s3::S3Location,
    /// The public address media are linked at instead of `/media/` (`CMS_MEDIA_PUBLIC_URL`),
    /// without a trailing slash.
    pub media_public_url: Option<String>,
    /// Where editors drop folders and zips for the admin's server-side import.
    pub import_dir: PathBuf,
}

/// Outgoing mail. With no SMTP URL, messages are written as `.eml` files to `data/outbox/`.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp_url: Option<String>,
    pub from: String,
    /// Whether `from` was set; when it was not, emails go out under the site's title as the
    /// sender's name (with the default address).
    pub from_set: bool,
    /// SMTP connections used at once.
    pub connections: usize,
    /// Most messages per second; 0 means no limit.
    pub rate: u32,
    /// First retry delay after a temporary failure, in seconds; it doubles with each attempt.
    pub retry_seconds: u64,
}

/// The 32-byte key that signs tokens. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

/// All problems found in the configuration, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    /// Shows the URL with any password replaced by `***`, fit for logs and error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres { url } => match url::Url::parse(url) {
                Ok(mut u) if u.password().is_some() => {
                    let _ = u.set_password(Some("***"));
                    write!(f, "{u}")
                }
                _ => f.write_str(url),
            },
        }
    }
}

impl DatabaseUrl {
    /// Parses a `sqlite://` or `postgres://` URL.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(rest) = s.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/cms.db".into());
            }
            return Ok(DatabaseUrl::Sqlite {
                path: PathBuf::from(rest),
            });
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return match url::Url::parse(s) {
                Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => {
                    Ok(DatabaseUrl::Postgres { url: s.to_string() })
                }
                Ok(_) => Err("the PostgreSQL URL has no host".into()),
                Err(e) => Err(format!("not a valid PostgreSQL URL ({e})")),
            };
        }
        Err(format!(
            "'{s}' is not a database URL: use sqlite://PATH or postgres://USER@HOST/DB"
        ))
    }

    /// True for PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres { .. })
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// Derives the key from a passphrase of at least 32 characters.
    pub fn from_passphrase(s: &str) -> Self {
        SecretKey(Sha256::digest(s.as_bytes()).into())
    }

    /// The key bytes, for HMAC.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads the key file in `data_dir`, creating it with a fresh random key (mode 0600) if
    /// it does not exist yet.
    fn load_or_create(data_dir: &Path) -> Result<Self, String> {
        use std::io::Write;
        let path = data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(s) => {
                let s = s.trim();
                if s.len() < 32 {
                    return Err(format!("{} is shorter than 32 characters", path.display()));
                }
                return Ok(SecretKey::from_passphrase(s));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let key: [u8; 32] = rand::random();
        let text = hex::encode(key);
        // Written whole to a file of our own, then linked into place: a process killed half-way
        // leaves no empty key behind, and of two processes creating it at once one wins.
        let tmp = data_dir.join(format!(".secret.key.{}", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated a new secret key");
                Ok(SecretKey::from_passphrase(&text))
            }
            // Another process created it between our read and our link: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::load_or_create(data_dir)
            }
            Err(e) => Err(format!("cannot create {}: {e}", path.display())),
        }
    }
}

/// Settings as given, before validation: `cms.toml` first, the environment on top.
#[derive(Debug, Clone, Default)]
pub struct RawSettings(BTreeMap<&'static str, String>);

impl RawSettings {
    /// Reads `CMS_*` variables and, if it exists, `cms.toml` in the working directory.
    pub fn from_process() -> Result<Self, ConfigError> {
        let mut raw = Self::default();
        let toml_path = Path::new("cms.toml");
        if toml_path.exists() {
            raw.merge_toml_file(toml_path)?;
        }
        raw.merge_env(|name| std::env::var(name).ok());
        Ok(raw)
    }

    /// Adds the keys of a TOML file; unknown keys and non-scalar values are errors.
    pub fn merge_toml_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(vec![format!("cannot read {}: {e}", path.display())]))?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError(vec![format!(
                "{}: {}",
                path.display(),
                e.message().replace('\n', " ")
            )])
        })?;
        let mut problems = Vec::new();
        for (k, v) in table {
            let Some(&(key, _)) = KEYS.iter().find(|(name, _)| *name == k) else {
                problems.push(format!(
                    "{}: unknown setting '{k}' (known: {})",
                    path.display(),
                    KEYS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ));
                continue;
            };
            let value = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    problems.push(format!(
                        "{}: '{k}' must be a string or a number, not {}",
                        path.display(),
                        other.type_str()
                    ));
                    continue;
                }
            };
            self.0.insert(key, value);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(problems))
        }
    }

    /// Adds every `CMS_*` variable that `lookup` knows; they override the file.
    pub fn merge_env(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        for (key, _) in KEYS {
            if let Some(v) = lookup(&format!("CMS_{}", key.to_ascii_uppercase())) {
                self.0.insert(key, v);
            } else if let Some((_, standard)) = STANDARD_NAMES.iter().find(|(k, _)| k == key)
                && let Some(v) = lookup(standard)
            {
                self.0.insert(key, v);
            }
        }
    }

    /// Sets one setting by its `cms.toml` key (tests and command-line overrides).
    ///
    /// # Panics
    /// On a key that is not a setting: a typo in code must not be a setting silently ignored.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let k = known(key);
        self.0.insert(k, value.into());
        self
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(known(key))
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Validates everything and returns the typed configuration, or every problem at once.
    /// May create the data folder and its secret key when no key is configured.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let env_name = |k: &str| format!("CMS_{}", k.to_ascii_uppercase());

        let data_dir = PathBuf::from(self.get("data_dir").unwrap_or("data"));
        let media_dir = self
            .get("media_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("media"));

        // How to reach an object store: for CMS_MEDIA_URL, and for `cms media migrate --to s3://`.
        let mut s3_access = crate::media::s3::S3Location::parse("s3://any-bucket")
            .map_err(|e| ConfigError(vec![e]))?;
        if let Some(endpoint) = self.get("s3_endpoint") {
            match url::Url::parse(endpoint) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    s3_access.endpoint = Some(endpoint.trim_end_matches('/').to_string());
                }
                _ => problems.push(format!(
                    "{}: '{endpoint}' is not an http:// or https:// address",
                    env_name("s3_endpoint")
                )),
            }
        }
        if let Some(region) = self.get("s3_region") {
            if !region.is_empty()
                && region.len() <= 64
                && region
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                s3_access.region = region.to_string();
            } else {
                problems.push(format!(
                    "{}: '{region}' is not a region name (letters, digits, '-' and '_', e.g. eu-west-1 or garage)",
                    env_name("s3_region")
                ));
            }
        }
        s3_access.access_key_id = self.get("s3_access_key_id").map(str::to_string);
        s3_access.secret_access_key = self.get("s3_secret_access_key").map(str::to_string);
        s3_access.session_token = self.get("s3_session_token").map(str::to_string);
        if s3_access.session_token.is_some() && s3_access.access_key_id.is_none() {
            problems.push(format!(
                "{}: a session token goes with the temporary keys it belongs to: set {} and {} too",
                env_name("s3_session_token"),
                env_name("s3_access_key_id"),
                env_name("s3_secret_access_key")
            ));
        }
        if s3_access.access_key_id.is_some() != s3_access.secret_access_key.is_some() {
            problems.push(format!(
                "{0} and {1} (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) go together: set both",
                env_name("s3_access_key_id"),
                env_name("s3_secret_access_key")
            ));
        }
        let s3 = match self.get("media_url") {
            None => None,
            Some(url) => match s3_access.at(url) {
                Ok(location) => Some(location),
                Err(e) => {
                    problems.push(format!("{}: {e}", env_name("media_url")));
                    None
                }
            },
        };
        let media_public_url = match self.get("media_public_url") {
            None => None,
            Some(u) => match url::Url::parse(u) {
                Ok(parsed)
                    if matches!(parsed.scheme(), "http" | "https")
                        && parsed.host().is_some()
                        && parsed.query().is_none()
                        && parsed.fragment().is_none() =>
                {
                    Some(u.trim_end_matches('/').to_string())
                }
                _ => {
                    problems.push(format!(
                        "{}: '{u}' is not an http:// or https:// address without ?query or #fragment",
                        env_name("media_public_url")
                    ));
                    None
                }
            },
        };

        let import_dir = self
            .get("import_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("import"));
        let default_db = format!("sqlite://{}", data_dir.join("cms.db").display());
        let url = match DatabaseUrl::parse(self.get("database_url").unwrap_or(&default_db)) {
            Ok(u) => Some(u),
            Err(e) => {
                problems.push(format!("{}: {e}", env_name("database_url")));
                None
            }
        };
        let pool_size = match self.get("database_pool_size") {
            None => 8,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=512).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "{}: '{s}' is not a number from 1 to 512",
                        env_name("database_pool_size")
                    ));
                    8
                }
            },
        };

        let bind = self.get("bind").unwrap_or("127.0.0.1:8080").to_string();
        if let Err(e) = validate_bind(&bind) {
            problems.push(format!("{}: {e}", env_name("bind")));
        }
        let base_raw = self
            .get("base_url")
            .map(str::to_string)
            .unwrap_or_else(|| format!("http://{bind}"));
        let base_url = match validate_base_url(&base_raw) {
            Ok(u) => u,
            Err(e) => {
                problems.push(format!("{}: {e}", env_name("base_url")));
                base_raw.clone()
            }
        };

        let smtp_url = self.get("smtp_url").map(str::to_string);
        if let Some(s) = &smtp_url
            && let Err(e) = validate_smtp_url(s)
        {
            problems.push(format!("{}: {e}", env_name("smtp_url")));
        }
        let host = url::Url::parse(&base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".into());
        let from_set = self.get("mail_from").is_some();
        let from = self
            .get("mail_from")
            .map(str::to_string)
            .unwrap_or_else(|| format!("Keepsake <noreply@{host}>"));
        if from.contains(['\r', '\n']) || from.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(format!(
                "{}: '{}' is not a sender, e.g. Site <noreply@example.org>",
                env_name("mail_from"),
                from.replace(['\r', '\n'], " ")
            ));
        }

        let mut number = |key: &str, default: u64, min: u64, max: u64| -> u64 {
            match self.get(key) {
                None => default,
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => n,
                    _ => {
                        problems.push(format!(
                            "{}: '{v}' is not a number from {min} to {max}",
                            env_name(key)
                        ));
                        default
                    }
                },
            }
        };
        let connections = number("smtp_connections", 8, 1, 256) as usize;
        let rate = number("mail_rate", 0, 0, 100_000) as u32;
        let retry_seconds = number("mail_retry_seconds", 30, 1, 86_400);
        let api_rate_per_minute = number("api_rate", 600, 0, 1_000_000) as u32;
        let trusted_proxies =
            match crate::net::TrustedProxies::parse(self.get("trusted_proxies").unwrap_or("")) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("{}: {e}", env_name("trusted_proxies")));
                    crate::net::TrustedProxies::default()
                }
            };
        let secret = match self.get("secret_key") {
            Some(s) if s.chars().count() >= 32 => Some(SecretKey::from_passphrase(s)),
            Some(_) => {
                problems.push(format!(
                    "{}: must be at least 32 characters (or unset it to generate one)",
                    env_name("secret_key")
                ));
                None
            }
            None if problems.is_empty() => match SecretKey::load_or_create(&data_dir) {
                Ok(k) => Some(k),
                Err(e) => {
                    problems.push(format!("{}: {e}", env_name("secret_key")));
                    None
                }
            },
            None => None,
        };

        let page_cache_bytes = match self.get("page_cache_mb") {
            None => 64 << 20,
            Some(s) => match s.parse::<u64>() {
                Ok(n) if n <= 65_536 => n << 20,
                _ => {
                    problems.push(format!(
                        "{}: '{s}' is not a number of MiB from 0 to 65536",
                        env_name("page_cache_mb")
                    ));
                    0
                }
            },
        };
        let log = self.get("log").unwrap_or("info").to_string();
        let log_json = match self.get("log_format") {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                problems.push(format!(
                    "{}: '{other}' is neither text nor json",
                    env_name("log_format")
                ));
                false
            }
        };
        let metrics = match self.get("metrics") {
            None | Some("off") => MetricsAccess::Off,
            Some("public") => MetricsAccess::Public,
            Some(token)
                if token.len() >= 16
                    && token.len() <= 256
                    && token.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                MetricsAccess::Token(token.to_string())
            }
            Some(_) => {
                problems.push(format!(
                    "{}: give a token of 16 to 256 visible characters (the scraper's bearer token), public, or off",
                    env_name("metrics")
                ));
                MetricsAccess::Off
            }
        };
        let mut images = crate::ingest::Settings::default();
        if let Some(w) = self.get("image_widths") {
            let parsed: std::result::Result<Vec<u32>, _> =
                w.split(',').map(|x| x.trim().parse::<u32>()).collect();
            match parsed {
                Ok(v) if !v.is_empty() && v.iter().all(|x| (16..=8192).contains(x)) => {
                    images.widths = v
                }
                _ => problems.push(format!(
                    "{}: '{w}' is not a list of widths from 16 to 8192, e.g. 320,640,1280",
                    env_name("image_widths")
                )),
            }
        }
        if let Some(m) = self.get("max_upload_mb") {
            match m.parse::<u64>() {
                Ok(n) if (1..=4096).contains(&n) => images.max_bytes = n << 20,
                _ => problems.push(format!(
                    "{}: '{m}' is not a number of MiB from 1 to 4096",
                    env_name("max_upload_mb")
                )),
            }
        }
        let timezone = match self
            .get("timezone")
            .unwrap_or("UTC")
            .parse::<chrono_tz::Tz>()
        {
            Ok(tz) => tz,
            Err(_) => {
                problems.push(format!(
                    "{}: '{}' is not a time zone name like Europe/London or UTC",
                    env_name("timezone"),
                    self.get("timezone").unwrap_or_default()
                ));
                chrono_tz::UTC
            }
        };

        let mut flag = |name: &str| match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "0" | "no" | "off") => false,
            Some("true" | "1" | "yes" | "on") => true,
            Some(other) => {
                problems.push(format!(
                    "{}: '{other}' is not true or false",
                    env_name(name)
                ));
                false
            }
        };
        let require_2fa = flag("require_2fa");
        let webhook_allow_private = flag("webhook_allow_private");

        let mut digest = crate::digest::Schedule::default();
        if let Some(h) = self.get("digest_hour") {
            match h.trim().parse::<u32>() {
                Ok(n) if n < 24 => digest.hour = n,
                _ => problems.push(format!(
                    "{}: '{h}' is not an hour from 0 to 23",
                    env_name("digest_hour")
                )),
            }
        }
        if let Some(d) = self.get("digest_day") {
            match d.trim().parse::<chrono::Weekday>() {
                Ok(w) => digest.day = w,
                Err(_) => problems.push(format!(
                    "{}: '{d}' is not a day of the week like monday",
                    env_name("digest_day")
                )),
            }
        }

        let backup_every = match self.get("backup_every") {
            None => std::time::Duration::from_secs(86_400),
            Some(s) => crate::backup::schedule::parse_every(s).unwrap_or_else(|e| {
                problems.push(format!("{}: {e}", env_name("backup_every")));
                std::time::Duration::from_secs(86_400)
            }),
        };
        let backup_keep = match self.get("backup_keep") {
            None => 7,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=10_000).contains(&n) => n,
                _ => {
                    problems.push(format!(
                        "{}: '{s}' is not a number from 1 to 10000",
                        env_name("backup_keep")
                    ));
                    7
                }
            },
        };
        let backup = match self.get("backup_dir") {
            Some(dir) if within(Path::new(dir), &media_dir) => {
                problems.push(format!(
                    "{}: '{dir}' is inside the media folder ({}): backups must go elsewhere",
                    env_name("backup_dir"),
                    media_dir.display()
                ));
                None
            }
            Some(dir) => Some(crate::backup::schedule::Schedule {
                dir: PathBuf::from(dir),
                every: backup_every,
                keep: backup_keep,
            }),
            None => {
                for key in ["backup_every", "backup_keep"] {
                    if self.get(key).is_some() {
                        problems.push(format!(
                            "{}: set {} too (the folder scheduled backups go in)",
                            env_name(key),
                            env_name("backup_dir")
                        ));
                    }
                }
                None
            }
        };

        let secret_key_file = self
            .get("secret_key")
            .is_none()
            .then(|| data_dir.join("secret.key"));
        match (url, secret) {
            (Some(url), Some(secret)) if problems.is_empty() => Ok(Config {
                database: DatabaseConfig { url, pool_size },
                server: ServerConfig {
                    bind,
                    metrics,
                    https: base_url.starts_with("https://"),
                    base_url,
                    page_cache_bytes,
                    api_rate_per_minute,
                    trusted_proxies,
                },
                storage: StorageConfig {
                    data_dir,
                    media_dir,
                    s3,
                    s3_access,
                    media_public_url,
                    import_dir,
                },
                mail: MailConfig {
                    smtp_url,
                    from,
                    from_set,
                    connections,
                    rate,
                    retry_seconds,
                },
                secret_key_file,
                secret,
                log,
                log_json,
                images,
                timezone,
                digest,
                require_2fa,
                webhook_allow_private,
                backup,
            }),
            _ => Err(ConfigError(problems)),
        }
    }
}

impl Config {
    /// The configuration of this process: environment and `cms.toml`.
    pub fn from_process() -> Result<Self, ConfigError> {
        RawSettings::from_process()?.resolve()
    }

    /// A configuration for tests: everything under `dir`, the given database, a fixed key.
    pub fn for_tests(dir: &Path, database_url: &str) -> Result<Self, ConfigError> {
        let mut raw = RawSettings::default();
        raw.set("data_dir", dir.display().to_string())
            .set("database_url", database_url)
            .set("bind", "127.0.0.1:0")
            .set("base_url", "http://keepsake.test")
            .set("secret_key", "test-secret-key-test-secret-key-test-secret");
        raw.resolve()
    }

    /// The help text listing every setting, for `cms --help`.
    pub fn settings_help() -> String {
        KEYS.iter()
            .map(|(k, what)| format!("  CMS_{:<20} {what}", k.to_ascii_uppercase()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The static name of a setting's key; panics on a key that is not one (a programming error,
/// caught by every test that touches the configuration).
fn known(key: &str) -> &'static str {
    match KEYS.iter().find(|(name, _)| *name == key) {
        Some((k, _)) => k,
        None => panic!("'{key}' is not a setting: add it to config::KEYS"),
    }
}

/// True when `inner` is `outer` or inside it (compared as absolute paths, `..` resolved
/// where the folders exist).
fn within(inner: &Path, outer: &Path) -> bool {
    let abs = |p: &Path| {
        std::fs::canonicalize(p).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_path_buf())
        })
    };
    abs(inner).starts_with(abs(outer))
}

fn validate_bind(bind: &str) -> Result<(), String> {
    let Some((host, port)) = bind.rsplit_once(':') else {
        return Err(format!("'{bind}' is not HOST:PORT, e.g. 127.0.0.1:8080"));
    };
    if host.is_empty() {
        return Err(format!("'{bind}' has no host, e.g. 127.0.0.1:8080"));
    }
    port.parse::<u16>()
        .map(|_| ())
        .map_err(|_| format!("'{port}' in '{bind}' is not a port number"))
}

fn validate_base_url(s: &str) -> Result<String, String> {
    let u = url::Url::parse(s).map_err(|e| format!("'{s}' is not an absolute URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("'{s}' must start with http:// or https://"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{s}' has no host"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!("'{s}' must not have a query or fragment"));
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

fn validate_smtp_url(s: &str) -> Result<(), String> {
    let u = url::Url::parse(s).map_err(|e| format!("'{s}' is not a URL ({e})"))?;
    if !matches!(u.scheme(), "smtp" | "smtps") {
        return Err(format!(
            "'{}' must start with smtp:// or smtps://",
            redact(&u)
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{}' has no host", redact(&u)));
    }
    Ok(())
}

fn redact(u: &url::Url) -> String {
    let mut u = u.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut raw = RawSettings::default();
        raw.set("secret_key", "0123456789abcdef0123456789abcdef");
        for (k, v) in pairs {
            raw.set(k, *v);
        }
        raw.resolve()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = resolve(&[]).expect("defaults are valid");
        assert_eq!(
            c.database.url,
            DatabaseUrl::Sqlite {
                path: PathBuf::from("data/cms.db")
            }
        );
        assert_eq!(c.server.bind, "127.0.0.1:8080");
        assert_eq!(c.server.base_url, "http://127.0.0.1:8080");
        assert_eq!(c.storage.media_dir, PathBuf::from("data/media"));
        assert!(c.mail.smtp_url.is_none());
    }

    #[test]
    fn every_problem_is_one_line() {
        let err = resolve(&[
            ("database_url", "mysql://x"),
            ("bind", "nonsense"),
            ("base_url", "ftp://x"),
            ("database_pool_size", "lots"),
        ])
        .expect_err("invalid");
        assert_eq!(err.0.len(), 4, "{err}");
        assert!(err.0.iter().all(|l| !l.contains('\n')));
        assert!(err.0[0].starts_with("CMS_DATABASE_URL:"), "{}", err.0[0]);
    }

    #[test]
    fn passwords_are_redacted() {
        let u = DatabaseUrl::parse("postgres://me:hunter2@db.example/cms").expect("valid");
        assert!(!u.to_string().contains("hunter2"));
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("cms.toml");
        std::fs::write(&file, "bind = \"0.0.0.0:9000\"\ndata_dir = \"x\"\n").expect("write");
        let mut raw = RawSettings::default();
        raw.merge_toml_file(&file).expect("valid toml");
        raw.merge_env(|k| (k == "CMS_BIND").then(|| "127.0.0.1:7000".to_string()));
        raw.set("secret_key", "0123456789abcdef0123456789abcdef");
        let c = raw.resolve().expect("valid");
        assert_eq!(c.server.bind, "127.0.0.1:7000");
        assert_eq!(c.storage.data_dir, PathBuf::from("x"));
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("cms.toml");
        std::fs::write(&file, "bnid = \"0.0.0.0:9000\"\n").expect("write");
        let err = RawSettings::default()
            .merge_toml_file(&file)
            .expect_err("unknown key");
        assert!(err.0[0].contains("unknown setting 'bnid'"), "{err}");
    }

    #[test]
    fn secret_key_is_generated_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = SecretKey::load_or_create(dir.path()).expect("created");
        let b = SecretKey::load_or_create(dir.path()).expect("read back");
        assert_eq!(a, b);
    }
}
