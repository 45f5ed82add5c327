//! `cms`: the Keepsake command line. `serve` runs the site, admin and API; the other commands
//! manage the database. Every failure prints one line and exits non-zero.

use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use cms_core::models::api_token;
use cms_core::models::audit::{self, Actor};
use cms_core::models::user::{self, NewUser, Role};
use cms_core::{AppState, Config, demo, password};

#[derive(Parser)]
#[command(
    name = "cms",
    version,
    about = "Keepsake: a content management system for fan archives"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve the public site, admin panel and API.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage admin-panel users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage webhooks: endpoints sent the site's changes.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Import content in bulk.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Update emails: delivery status, retrying failures.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Fill an empty database with a generated archive of a given size, for benchmarks: the
    /// reference site at its real counts, then a gallery tree, albums, photos, posts, videos
    /// and subscribers up to the totals given. Deterministic for a seed; photos share a few
    /// real image files through hard links; queues no emails.
    Generate(GenerateArgs),
    /// Back up the site into DIR while it runs: a consistent snapshot of the database, the
    /// media files it does not have yet, the secret key, and a manifest written last. With
    /// --verify, check the backup in DIR instead.
    Backup(BackupArgs),
    /// Restore the backup in DIR into an empty database and media folder (stop the site
    /// first). Checks the backup before touching anything.
    Restore(RestoreArgs),
    /// Export the whole site as a portable archive (a folder, or FILE.zip): JSON Lines per
    /// table plus the media files, readable on either backend (docs/EXPORT.md). With
    /// `wordpress FILE.xml`, write a WordPress export (WXR) instead.
    Export(ExportArgs),
    /// The media files: move them between the media folder and an S3-compatible object store.
    #[command(subcommand)]
    Media(MediaCommand),
}

#[derive(Subcommand)]
enum MediaCommand {
    /// Copy every media file from where the site keeps them now (CMS_MEDIA_URL, else the media
    /// folder) to TARGET, verifying each, while the site keeps serving. Resumable: run it again
    /// and it copies only what is missing or does not verify. Nothing is deleted. Then point
    /// the site at TARGET and restart it.
    Migrate {
        /// s3://BUCKET/PREFIX (reached with CMS_S3_ENDPOINT, CMS_S3_REGION and the keys), or a
        /// folder.
        #[arg(long, value_name = "s3://BUCKET/PREFIX | DIR")]
        to: String,
    },
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct ExportArgs {
    #[command(subcommand)]
    format: Option<ExportFormat>,
    /// A new folder, or a file ending in .zip.
    path: Option<std::path::PathBuf>,
    /// Include the API tokens (their hashes), so integrations keep working after a move.
    #[arg(long)]
    with_tokens: bool,
    /// Leave the media files out.
    #[arg(long)]
    no_media: bool,
}

#[derive(Subcommand)]
enum ExportFormat {
    /// A WordPress export (WXR 1.2) of the posts, pages, categories, tags, authors and media
    /// (as attachments with absolute URLs), for WordPress's importer.
    Wordpress {
        /// The file to write (.xml).
        file: std::path::PathBuf,
    },
}

#[derive(Args)]
struct BackupArgs {
    /// The backup folder (created if needed; a backup already there is brought up to date).
    dir: std::path::PathBuf,
    /// Check the backup in DIR (checksums, integrity, counts, files) and change nothing.
    #[arg(long)]
    verify: bool,
}

#[derive(Args)]
struct RestoreArgs {
    /// The backup folder.
    dir: std::path::PathBuf,
    /// Replace a database and media folder that are not empty.
    #[arg(long)]
    force: bool,
}

/// "3 posts, 1 photo" from a manifest's counts.
fn summary(m: &cms_core::backup::Manifest) -> String {
    let n = |t: &str| m.counts.get(t).copied().unwrap_or(0);
    let plural = cms_core::units::counted;
    [
        plural(n("posts"), "post", "posts"),
        plural(n("albums"), "album", "albums"),
        plural(n("photos"), "photo", "photos"),
        plural(n("videos"), "video", "videos"),
        plural(n("subscribers"), "subscriber", "subscribers"),
        plural(n("users"), "user", "users"),
    ]
    .join(", ")
}

#[derive(Args)]
struct GenerateArgs {
    /// Photos in all (the reference site's 7,675 included).
    #[arg(long, default_value_t = 1_000_000)]
    photos: u64,
    /// Albums in all (the reference site's 8 included).
    #[arg(long, default_value_t = 20_000)]
    albums: u64,
    /// Posts in all (the reference site's 14 included).
    #[arg(long, default_value_t = 100_000)]
    posts: u64,
    /// Video-vault entries in all (the reference site's one included).
    #[arg(long, default_value_t = 2_000)]
    videos: u64,
    /// Subscribers, most confirmed, with topics.
    #[arg(long, default_value_t = 100_000)]
    subscribers: u64,
    /// Seed of the generator: the same seed makes the same archive.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Real images drawn for the photos to share.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    shared_images: u32,
}

#[derive(Subcommand)]
enum MailCommand {
    /// Show how many messages are queued, sent and failed, overall and per published item.
    Status,
    /// Queue every failed message again (the server sends them within seconds).
    RetryFailed,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import a folder tree or a .zip into the gallery: folders become categories, a folder of
    /// images becomes an album. Resumable: run it again to finish an interrupted import; files
    /// already in an album are skipped by content. Exits with 3 if any file was refused.
    Gallery {
        /// A folder or a .zip file.
        path: std::path::PathBuf,
        /// Put everything under this category path, e.g. "Television Productions/Heartstopper".
        #[arg(long, value_name = "A/B/C")]
        into: Option<String>,
        /// Leave the albums this import creates unpublished (publish them later in the admin).
        #[arg(long)]
        draft: bool,
        /// Draft an announcement post listing each album with new photos.
        #[arg(long)]
        announce: bool,
    },
    /// Import a WordPress export (Tools → Export, a WXR file): posts, pages, categories, tags,
    /// authors (as disabled users) and attachments (as photos in "WordPress uploads › YYYY ›
    /// MM"), with a permanent redirect from every old address. Resumable: run it again after
    /// an interruption; nothing is doubled. Exits with 3 if some items could not be imported.
    Wordpress {
        /// The export file (.xml).
        file: std::path::PathBuf,
        /// A copy of the site's wp-content/uploads folder, where attachments are read from.
        #[arg(long, value_name = "DIR", conflicts_with = "fetch_media")]
        media_from: Option<std::path::PathBuf>,
        /// Fetch attachments over HTTP(S) from their addresses in the export (public
        /// addresses only).
        #[arg(long)]
        fetch_media: bool,
        /// With --fetch-media: also fetch from loopback and private addresses (an old site on
        /// this machine or network).
        #[arg(long, requires = "fetch_media")]
        allow_private_addresses: bool,
        /// Read the file and report what would be imported, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import a Coppermine gallery (1.4–1.6) from its MySQL/MariaDB database and its albums
    /// folder: categories, albums (members' galleries under "Member galleries"), pictures with
    /// their titles, captions, keywords, views and dates; unapproved pictures in draft albums.
    /// Every old address redirects. Resumable: run it again after an interruption; nothing is
    /// doubled. Exits with 3 if some pictures could not be imported.
    Coppermine {
        /// The gallery's database, mysql://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, value_name = "URL")]
        db: String,
        /// The prefix of the gallery's tables.
        #[arg(long, default_value = "cpg_")]
        prefix: String,
        /// A copy of the gallery's albums folder.
        #[arg(long, value_name = "DIR")]
        albums: std::path::PathBuf,
        /// The folder the gallery's addresses were under, e.g. /gallery (default: from the
        /// gallery's settings; / for the root).
        #[arg(long, value_name = "PATH")]
        base_path: Option<String>,
        /// Leave members' own galleries out.
        #[arg(long)]
        skip_user_galleries: bool,
        /// Read the database and report what would be imported, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Pictures per transaction (tests).
        #[arg(long, hide = true, default_value_t = 0)]
        batch: usize,
    },
    /// Import a Piwigo gallery (2.x–16) from its MySQL/MariaDB database and its folder: the
    /// album tree, photos with their names, descriptions, authors, views and dates (a photo in
    /// several albums appears in each); private photos in draft albums. Every old address
    /// redirects. Resumable; exits with 3 if some photos could not be imported.
    Piwigo {
        /// The gallery's database, mysql://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, value_name = "URL")]
        db: String,
        /// The prefix of the gallery's tables.
        #[arg(long, default_value = "piwigo_")]
        prefix: String,
        /// A copy of the gallery's folder (the one holding upload/ and galleries/).
        #[arg(long, value_name = "DIR")]
        root: std::path::PathBuf,
        /// The folder the gallery's addresses were under, e.g. /photos (default: the root).
        #[arg(long, value_name = "PATH")]
        base_path: Option<String>,
        /// Read the database and report what would be imported, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Photos per transaction (tests).
        #[arg(long, hide = true, default_value_t = 0)]
        batch: usize,
    },
    /// Import a Keepsake export (`cms export`, a folder or .zip) into an empty database and
    /// media folder, on either backend: how a site moves from SQLite to PostgreSQL.
    Keepsake {
        /// The export folder or .zip file.
        path: std::path::PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (overrides CMS_BIND).
    #[arg(long, value_name = "HOST:PORT")]
    bind: Option<String>,
    /// On an empty database, load the demo archive and print an admin login.
    #[arg(long)]
    demo: bool,
    /// Demo albums get their real photo count divided by this.
    #[arg(long, default_value_t = 50, hide = true, value_parser = clap::value_parser!(u32).range(1..))]
    demo_photo_divisor: u32,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. Without --password-stdin a temporary password is generated and printed,
    /// and must be changed at first login.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "editor"])]
        role: String,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lift the login throttle on an account (after failed attempts from anywhere), so its
    /// owner can log in now rather than when the window ends.
    Unlock {
        #[arg(long)]
        email: String,
    },
    /// Turn two-step verification off for an account (a lost phone and no recovery code) and
    /// end its sessions; its owner logs in with the password and sets it up again.
    #[command(name = "reset-2fa")]
    Reset2fa {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it once.
    Create {
        #[arg(long)]
        name: String,
        /// Scopes, e.g. posts:write gallery:write videos:write drafts:read.
        #[arg(long = "scope", required = true, num_args = 1..)]
        scopes: Vec<String>,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Register an endpoint; prints its signing secret once.
    Add {
        /// The receiver's address (http or https).
        #[arg(long)]
        url: String,
        /// An event type it wants, e.g. album.published (repeat; none: every type).
        #[arg(long = "event")]
        events: Vec<String>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the endpoints with their state.
    List,
    /// Remove an endpoint and its deliveries.
    Remove { id: i64 },
    /// Queue a test delivery (`webhook.ping`) to an endpoint.
    Ping { id: i64 },
}

/// A failure to report as one line.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let help = format!(
        "Configuration comes from CMS_* environment variables and an optional cms.toml in the\n\
         working directory with the same keys in lower case (the environment wins):\n\n{}\n\n\
         README.md describes each with its default.",
        cms_core::Config::settings_help()
    );
    let matches = Cli::command().after_help(help).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(msg)) => {
            for line in msg.lines().filter(|l| !l.trim().is_empty()) {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

fn load_config(bind: Option<&str>) -> Result<Config, Failure> {
    let mut raw = cms_core::config::RawSettings::from_process()?;
    if let Some(b) = bind {
        raw.set("bind", b);
    }
    Ok(raw.resolve()?)
}

/// Logs to stderr at `CMS_LOG`'s level, as text or (`CMS_LOG_FORMAT=json`) one JSON object
/// per line with the request's span (its id) on each line written while handling it.
fn init_logging(config: &Config) {
    // The object store client reports each retry at info: warnings only, unless asked for.
    let directives = if config.log.contains("object_store") {
        config.log.clone()
    } else {
        format!("{},object_store=warn", config.log)
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: not in the journal, a file or a pipe.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if config.log_json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Migrate => {
            let config = load_config(None)?;
            init_logging(&config);
            let state = AppState::open(config)?;
            let report = state.migrate()?;
            if report.applied.is_empty() {
                println!("database is up to date");
            } else {
                println!(
                    "applied {} migration(s): {}",
                    report.applied.len(),
                    report.applied.join(", ")
                );
            }
            Ok(())
        }
        Command::User(UserCommand::Add {
            email,
            name,
            role,
            password_stdin,
        }) => {
            let role: Role = role.parse()?;
            let config = load_config(None)?;
            init_logging(&config);
            let (password, generated) = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                let line = s.lines().next().unwrap_or_default().to_string();
                (line, false)
            } else {
                (generate_password(), true)
            };
            password::validate_new(&password)?;
            let hash = password::hash(&password)?;
            let state = AppState::open(config)?;
            state.migrate()?;
            let created = state.db.write_blocking(|conn| {
                let u = user::create(
                    conn,
                    &NewUser {
                        email: &email,
                        name: &name,
                        role,
                        password_hash: &hash,
                        must_change_password: generated,
                    },
                )?;
                audit::record(
                    conn,
                    &Actor::cli(),
                    "user.create",
                    Some(("user", u.id)),
                    &u.email,
                )?;
                Ok::<_, cms_core::Error>(u)
            })?;
            println!(
                "created {} {} <{}>",
                created.role, created.name, created.email
            );
            if generated {
                println!("temporary password (change it at first login): {password}");
            }
            Ok(())
        }
        Command::User(UserCommand::Unlock { email }) => {
            let config = load_config(None)?;
            init_logging(&config);
            let state = AppState::open(config)?;
            state.migrate()?;
            let account = user::normalize_email(&email);
            let cleared = state.db.write_blocking(|conn| {
                let u = user::find_by_email(conn, &account)?.ok_or_else(|| {
                    cms_core::Error::invalid("--email", format!("no user {account}"))
                })?;
                let n = cms_admin::auth::unlock(conn, &account, u.id)?;
                audit::record(
                    conn,
                    &Actor::cli(),
                    "user.unlock",
                    Some(("user", u.id)),
                    &u.email,
                )?;
                Ok::<_, cms_core::Error>(n)
            })?;
            println!("unlocked {account} ({cleared} failed attempts forgotten)");
            Ok(())
        }
        Command::User(UserCommand::Reset2fa { email }) => {
            let config = load_config(None)?;
            init_logging(&config);
            let state = AppState::open(config)?;
            state.migrate()?;
            let account = user::normalize_email(&email);
            let was_on = state.db.write_blocking(|conn| {
                let u = user::find_by_email(conn, &account)?.ok_or_else(|| {
                    cms_core::Error::invalid("--email", format!("no user {account}"))
                })?;
                user::disable_totp(conn, u.id)?;
                cms_core::models::session::delete_for_user(conn, u.id, None)?;
                audit::record(
                    conn,
                    &Actor::cli(),
                    "2fa.reset",
                    Some(("user", u.id)),
                    &u.email,
                )?;
                Ok::<_, cms_core::Error>(u.has_two_factor())
            })?;
            if was_on {
                println!("two-step verification is off for {account}; its sessions are ended");
            } else {
                println!("{account} had no two-step verification; its sessions are ended");
            }
            Ok(())
        }
        Command::Backup(args) => {
            let config = load_config(None)?;
            init_logging(&config);
            if args.verify {
                let m = cms_core::backup::verify(&args.dir)?;
                println!(
                    "{} is a complete backup of {} ({}, schema {}): {}; {} media files",
                    args.dir.display(),
                    m.created_at,
                    m.backend,
                    m.schema,
                    summary(&m),
                    m.media.files
                );
                return Ok(());
            }
            let db = cms_core::db::Db::connect(&config.database)?;
            let (at, started) = (db.now(), std::time::Instant::now());
            let m = cms_core::backup::backup(&config, &db, &config.storage.media_dir, &args.dir)?;
            // The dashboard shows the last backup, whoever took it.
            let folder = std::fs::canonicalize(&args.dir).unwrap_or_else(|_| args.dir.clone());
            let done = cms_core::backup::schedule::done_of(
                &m,
                &folder,
                at,
                started.elapsed().as_secs_f64(),
                false,
            );
            if let Err(e) = cms_core::backup::schedule::record(&db, done) {
                eprintln!(
                    "warning: the backup is complete, but the dashboard could not be told: {e}"
                );
            }
            println!(
                "backed up to {}: {} database of {:.1} MB ({}) in {:.1} s; {} media files, {} copied now in {:.1} s; {}",
                args.dir.display(),
                m.backend,
                m.database.bytes as f64 / 1_048_576.0,
                summary(&m),
                m.seconds.database,
                m.media.files,
                m.media.copied,
                m.seconds.media,
                if m.secret_key.is_some() {
                    "the secret key included"
                } else {
                    "the secret key is CMS_SECRET_KEY's (not in the backup)"
                }
            );
            Ok(())
        }
        Command::Restore(args) => {
            let config = load_config(None)?;
            init_logging(&config);
            let m = cms_core::backup::restore(&config, &args.dir, args.force)?;
            println!(
                "restored the backup of {} from {}: {}; {} media files",
                m.created_at,
                args.dir.display(),
                summary(&m),
                m.media.files
            );
            Ok(())
        }
        Command::Generate(args) => {
            let config = load_config(None)?;
            init_logging(&config);
            let state = AppState::open(config)?;
            state.migrate()?;
            let opts = cms_core::generate::ScaleOptions {
                photos: args.photos,
                albums: args.albums,
                posts: args.posts,
                videos: args.videos,
                subscribers: args.subscribers,
                seed: args.seed,
                shared_images: args.shared_images,
            };
            let started = std::time::Instant::now();
            let report =
                cms_core::generate::generate(&state.db, state.media.as_ref(), &opts, |line| {
                    println!("{line}")
                })?;
            println!(
                "Generated {} photos in {} albums, {} posts, {} videos and {} subscribers in {:.1} s.",
                report.photos,
                report.albums,
                report.posts,
                report.videos,
                report.subscribers,
                started.elapsed().as_secs_f64()
            );
            println!(
                "Admin login: email: {}  password: {}",
                report.admin_email, report.admin_password
            );
            Ok(())
        }
        Command::Mail(cmd) => {
            let config = load_config(None)?;
            init_logging(&config);
            let state = AppState::open(config)?;
            state.migrate()?;
            match cmd {
                MailCommand::Status => {
                    let (totals, items) = state.db.write_blocking(|conn| {
                        Ok::<_, cms_core::Error>((
                            cms_core::models::outbox::status_counts(conn)?,
                            cms_core::models::outbox::items_progress(conn, 20)?,
                        ))
                    })?;
                    let all = ["queued", "sending", "sent", "failed"];
                    let line = |counts: &[(cms_core::models::outbox::OutboxStatus, i64)]| {
                        all.iter()
                            .map(|s| {
                                format!(
                                    "{} {s}",
                                    counts
                                        .iter()
                                        .find(|c| c.0.as_str() == *s)
                                        .map_or(0, |c| c.1)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    println!("all messages: {}", line(&totals));
                    for (kind, id, counts) in items {
                        println!("{kind} {id}: {}", line(&counts));
                    }
                }
                MailCommand::RetryFailed => {
                    let n = state.db.write_blocking(|conn| {
                        let n = cms_core::models::outbox::retry_failed(conn)?;
                        audit::record(
                            conn,
                            &Actor::cli(),
                            "mail.retry",
                            None,
                            &format!("{n} messages"),
                        )?;
                        Ok::<_, cms_core::Error>(n)
                    })?;
                    println!("queued {n} failed message(s) again");
                }
            }
            Ok(())
        }
        Command::Import(ImportCommand::Gallery {
            path,
            into,
            draft,
            announce,
        }) => import_gallery(path, into, draft, announce),
        Command::Import(ImportCommand::Keepsake { path }) => {
            let config = load_config(None)?;
            init_logging(&config);
            let r = cms_core::export::import(&config, &path)?;
            let rows: u64 = r.rows.values().sum();
            let n = |t: &str| r.rows.get(t).copied().unwrap_or(0);
            println!(
                "imported {} rows from {} ({} posts, {} albums, {} photos, {} videos, {} subscribers, {} users); {} media files copied",
                rows,
                path.display(),
                n("posts"),
                n("albums"),
                n("photos"),
                n("videos"),
                n("subscribers"),
                n("users"),
                r.media_copied
            );
            if r.two_step_reset > 0 {
                println!(
                    "two-step verification was turned off for {} account(s): the export came from a site with another secret key; they set it up again from Your account",
                    r.two_step_reset
                );
            }
            Ok(())
        }
        Command::Media(MediaCommand::Migrate { to }) => migrate_media(&to),
        Command::Export(args) => {
            let config = load_config(None)?;
            init_logging(&config);
            let db = cms_core::db::Db::connect(&config.database)?;
            match (args.format, args.path) {
                (Some(ExportFormat::Wordpress { file }), _) => {
                    let n = cms_core::export::wxr::write(&config, &db, &file)?;
                    println!(
                        "wrote {}: {} posts and pages, {}, {}, {}, {}",
                        file.display(),
                        n.posts,
                        cms_core::units::counted(n.attachments as i64, "attachment", "attachments"),
                        cms_core::units::counted(n.categories as i64, "category", "categories"),
                        cms_core::units::counted(n.tags as i64, "tag", "tags"),
                        cms_core::units::counted(n.authors as i64, "author", "authors")
                    );
                    Ok(())
                }
                (None, Some(path)) => {
                    let m = cms_core::export::export(
                        &config,
                        &db,
                        &path,
                        cms_core::export::Options {
                            with_tokens: args.with_tokens,
                            no_media: args.no_media,
                        },
                    )?;
                    let rows: u64 = m.tables.values().map(|t| t.rows).sum();
                    println!(
                        "exported {} rows in {} tables{} to {}",
                        rows,
                        m.tables.len(),
                        m.media
                            .as_ref()
                            .map(|s| format!(" and {} media files", s.files))
                            .unwrap_or_default(),
                        path.display()
                    );
                    Ok(())
                }
                (None, None) => Err(Failure(
                    "cms export needs a folder or a .zip file, or `wordpress FILE.xml`".into(),
                )),
            }
        }
        Command::Import(ImportCommand::Wordpress {
            file,
            media_from,
            fetch_media,
            allow_private_addresses,
            dry_run,
        }) => import_wordpress(
            file,
            media_from,
            (fetch_media, allow_private_addresses),
            dry_run,
        ),
        Command::Import(ImportCommand::Coppermine {
            db,
            prefix,
            albums,
            base_path,
            skip_user_galleries,
            dry_run,
            batch,
        }) => import_coppermine(cms_core::import::coppermine::Options {
            db_url: db,
            prefix,
            albums,
            base_path,
            skip_user_galleries,
            dry_run,
            batch,
            ..Default::default()
        }),
        Command::Import(ImportCommand::Piwigo {
            db,
            prefix,
            root,
            base_path,
            dry_run,
            batch,
        }) => import_piwigo(cms_core::import::piwigo::Options {
            db_url: db,
            prefix,
            root,
            base_path,
            dry_run,
            batch,
            ..Default::default()
        }),
        Command::Token(TokenCommand::Create { name, scopes }) => {
            let config = load_config(None)?;
            init_logging(&config);
            let state = AppState::open(config)?;
            state.migrate()?;
            let (token, secret) = state.db.write_blocking(|conn| {
                let (t, s) = api_token::create(conn, &name, &scopes, None)?;
                audit::record(
                    conn,
                    &Actor::cli(),
                    "token.create",
                    Some(("api_token", t.id)),
                    &t.name,
                )?;
                Ok::<_, cms_core::Error>((t, s))
            })?;
            eprintln!(
                "created token '{}' with scopes: {} (shown once; store it now)",
                token.name, token.scopes
            );
            println!("{secret}");
            Ok(())
        }
        Command::Webhook(cmd) => {
            let config = load_config(None)?;
            init_logging(&config);
            let state = AppState::open(config)?;
            state.migrate()?;
            webhook_command(&state, cmd)
        }
    }
}

fn webhook_command(state: &AppState, cmd: WebhookCommand) -> Result<(), Failure> {
    use cms_core::models::webhook;
    let key = state.config.secret.clone();
    let base = state.config.server.base_url.clone();
    match cmd {
        WebhookCommand::Add {
            url,
            events,
            description,
        } => {
            let (hook, secret) = state.db.write_blocking(|conn| {
                let (h, s) = cms_core::webhooks::add(conn, &key, &url, &events, &description)?;
                audit::record(
                    conn,
                    &Actor::cli(),
                    "webhook.add",
                    Some(("webhook", h.id)),
                    &h.url,
                )?;
                Ok::<_, cms_core::Error>((h, s))
            })?;
            eprintln!(
                "added webhook {} for {} ({}); its signing secret (shown once):",
                hook.id,
                hook.url,
                if hook.events.is_empty() {
                    "every event type".into()
                } else {
                    hook.events.replace(',', ", ")
                }
            );
            println!("{secret}");
            Ok(())
        }
        WebhookCommand::List => {
            let hooks = state
                .db
                .write_blocking(|conn| Ok::<_, cms_core::Error>(webhook::all(conn)?))?;
            if hooks.is_empty() {
                println!("no webhooks");
            }
            for h in hooks {
                let events = if h.events.is_empty() {
                    "*".to_string()
                } else {
                    h.events.clone()
                };
                let state = match (&h.disabled_reason, h.failing_since) {
                    (Some(why), _) => format!("disabled: {why}"),
                    (None, Some(since)) => format!("failing since {since} UTC"),
                    (None, None) => "enabled".into(),
                };
                println!("{}\t{}\t{events}\t{state}", h.id, h.url);
            }
            Ok(())
        }
        WebhookCommand::Remove { id } => {
            let gone = state.db.write_blocking(|conn| {
                let gone = webhook::delete(conn, id)?;
                if gone {
                    audit::record(
                        conn,
                        &Actor::cli(),
                        "webhook.remove",
                        Some(("webhook", id)),
                        "",
                    )?;
                }
                Ok::<_, cms_core::Error>(gone)
            })?;
            if !gone {
                return Err(Failure(format!("no webhook {id}")));
            }
            println!("removed webhook {id}");
            Ok(())
        }
        WebhookCommand::Ping { id } => {
            state.db.write_blocking(|conn| {
                let h = webhook::find(conn, id)?
                    .ok_or_else(|| cms_core::Error::invalid("id", format!("no webhook {id}")))?;
                cms_core::webhooks::ping(conn, &h, &base)
            })?;
            println!("queued a test delivery to webhook {id} (a running `cms serve` sends it)");
            Ok(())
        }
    }
}

/// Progress of an import: a bar on a terminal, a line every few seconds otherwise.
struct ImportProgress {
    bar: Option<indicatif::ProgressBar>,
    done: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
    started: std::time::Instant,
    last_line: std::sync::Mutex<std::time::Instant>,
}

impl ImportProgress {
    fn new(unit: &str) -> Self {
        use std::io::IsTerminal;
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(&format!(
                    "{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  ETA {{eta}}  {{msg}}"
                ))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        ImportProgress {
            bar,
            done: Default::default(),
            total: Default::default(),
            started: std::time::Instant::now(),
            last_line: std::sync::Mutex::new(std::time::Instant::now()),
        }
    }
}

impl cms_core::ingest::Progress for ImportProgress {
    fn start(&self, total: u64) {
        self.total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_length(total);
        } else {
            eprintln!("importing {total} items");
        }
    }

    fn advance(&self, n: u64, album: &str) {
        let done = self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        if let Some(b) = &self.bar {
            b.inc(n);
            b.set_message(album.to_string());
            return;
        }
        let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= std::time::Duration::from_secs(5) {
            *last = std::time::Instant::now();
            let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
            let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            let eta = if rate > 0.0 {
                (total.saturating_sub(done)) as f64 / rate
            } else {
                0.0
            };
            eprintln!("{done}/{total} items, {rate:.1}/s, about {eta:.0}s left ({album})");
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Removes temporary media files a killed process left (never fatal: logged).
fn sweep_media(state: &AppState) {
    match state.media.sweep_temporary() {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            files = n,
            "removed temporary media files left by a stopped process"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot sweep temporary media files"),
    }
}

/// The exit code of an import that finished but refused some files.
const EXIT_SKIPPED: u8 = 3;

fn import_gallery(
    path: std::path::PathBuf,
    into: Option<String>,
    draft: bool,
    announce: bool,
) -> Result<(), Failure> {
    let config = load_config(None)?;
    init_logging(&config);
    let settings = config.images.clone();
    let state = AppState::open(config)?;
    state.migrate()?;
    sweep_media(&state);
    let into = into
        .as_deref()
        .map(cms_core::ingest::source::parse_into)
        .unwrap_or_default();
    let is_zip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
        && path.is_file();
    let plan = if is_zip {
        cms_core::ingest::source::plan_zip(&path, &into, settings.max_bytes)?
    } else {
        cms_core::ingest::source::plan_folder(&path, &into)?
    };
    let opts = cms_core::ingest::Options {
        settings,
        leave_unpublished: draft,
        announce,
        batch: 0,
    };
    let progress = ImportProgress::new("photos");
    let started = std::time::Instant::now();
    let report = cms_core::ingest::run::run(
        &state.db,
        state.media.as_ref(),
        plan,
        &opts,
        &progress,
        &Actor::cli(),
    )?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported {} photos into {} albums in {:.1}s ({:.1} photos/s); {} already there",
        report.imported,
        report.albums_filled.len(),
        secs,
        report.imported as f64 / secs.max(0.001),
        report.duplicates.len()
    );
    for (id, title) in &report.albums_created {
        println!(
            "created album {id}: {title}{}",
            if draft { " (unpublished)" } else { "" }
        );
    }
    if let Some(p) = report.announcement {
        println!("drafted announcement post {p}");
    }
    if report.skipped.is_empty() {
        return Ok(());
    }
    for (name, why) in &report.skipped {
        eprintln!("skipped {name}: {why}");
    }
    eprintln!("{} files were skipped", report.skipped.len());
    std::process::exit(i32::from(EXIT_SKIPPED));
}

fn import_wordpress(
    file: std::path::PathBuf,
    media_from: Option<std::path::PathBuf>,
    (fetch_media, allow_private_addresses): (bool, bool),
    dry_run: bool,
) -> Result<(), Failure> {
    if !file.is_file() {
        return Err(Failure(format!("{} is not a file", file.display())));
    }
    if let Some(dir) = &media_from
        && !dir.is_dir()
    {
        return Err(Failure(format!(
            "--media-from {} is not a folder",
            dir.display()
        )));
    }
    let config = load_config(None)?;
    init_logging(&config);
    let settings = config.images.clone();
    let state = AppState::open(config)?;
    state.migrate()?;
    let opts = cms_core::import::wordpress::Options {
        media_from,
        fetch_media,
        allow_private_addresses,
        dry_run,
        settings,
        batch: 0,
    };
    let progress = ImportProgress::new("items");
    let started = std::time::Instant::now();
    let report = cms_core::import::wordpress::run(
        &state.db,
        state.media.as_ref(),
        &file,
        &opts,
        &progress,
        &Actor::cli(),
    )?;
    print_site_report(&report, dry_run, started)
}

/// What a site import said, printed: the report's lines, each failure on standard error, the
/// time taken; exits with the report's code when some items were refused.
fn print_site_report(
    report: &cms_core::import::Report,
    dry_run: bool,
    started: std::time::Instant,
) -> Result<(), Failure> {
    if dry_run {
        println!("dry run: nothing was written");
    }
    for line in report.lines() {
        println!("{line}");
    }
    for (what, why) in &report.failures {
        eprintln!("failed {what}: {why}");
    }
    println!(
        "{} in {:.1}s",
        if dry_run { "read" } else { "imported" },
        started.elapsed().as_secs_f64()
    );
    match report.exit_code() {
        0 => Ok(()),
        code => {
            eprintln!("{} items could not be imported", report.failures.len());
            std::process::exit(i32::from(code));
        }
    }
}

/// A gallery's import (Coppermine, Piwigo) from the command line: its folder checked, our
/// database opened and migrated, the import run with a progress bar, the report printed.
fn import_gallery_site(
    (flag, folder): (&str, &std::path::Path),
    dry_run: bool,
    unit: &str,
    run: impl FnOnce(
        &AppState,
        cms_core::ingest::Settings,
        &ImportProgress,
    ) -> Result<cms_core::import::Report, cms_core::Error>,
) -> Result<(), Failure> {
    if !folder.is_dir() {
        return Err(Failure(format!(
            "{flag} {} is not a folder",
            folder.display()
        )));
    }
    let config = load_config(None)?;
    init_logging(&config);
    let settings = config.images.clone();
    let state = AppState::open(config)?;
    state.migrate()?;
    let progress = ImportProgress::new(unit);
    let started = std::time::Instant::now();
    let report = run(&state, settings, &progress)?;
    print_site_report(&report, dry_run, started)
}

fn import_coppermine(mut opts: cms_core::import::coppermine::Options) -> Result<(), Failure> {
    let albums = opts.albums.clone();
    let dry_run = opts.dry_run;
    import_gallery_site(
        ("--albums", &albums),
        dry_run,
        "pictures",
        |state, settings, progress| {
            opts.settings = settings;
            cms_core::import::coppermine::run(
                &state.db,
                state.media.as_ref(),
                &opts,
                progress,
                &Actor::cli(),
            )
        },
    )
}

fn import_piwigo(mut opts: cms_core::import::piwigo::Options) -> Result<(), Failure> {
    let root = opts.root.clone();
    let dry_run = opts.dry_run;
    import_gallery_site(
        ("--root", &root),
        dry_run,
        "photos",
        |state, settings, progress| {
            opts.settings = settings;
            cms_core::import::piwigo::run(
                &state.db,
                state.media.as_ref(),
                &opts,
                progress,
                &Actor::cli(),
            )
        },
    )
}

fn generate_password() -> String {
    let t = cms_core::tokens::random_token();
    t[..20].to_string()
}

fn serve(args: ServeArgs) -> Result<(), Failure> {
    let config = load_config(args.bind.as_deref())?;
    init_logging(&config);
    let bind = config.server.bind.clone();
    let base_url = config.server.base_url.clone();
    let state = AppState::open(config)?;
    let report = state.migrate()?;
    if !report.applied.is_empty() {
        tracing::info!(migrations = ?report.applied, "applied migrations");
    }
    if args.demo {
        let loaded = demo::load(
            &state.db,
            state.media.as_ref(),
            demo::DemoOptions {
                photo_divisor: args.demo_photo_divisor,
                ..Default::default()
            },
        )?;
        match loaded {
            Some(r) => {
                println!(
                    "Loaded the demo archive: {} posts, {} albums, {} photos.",
                    r.posts, r.albums, r.photos
                );
                println!(
                    "Admin login: {base_url}/admin  email: {}  password: {}",
                    r.admin_email, r.admin_password
                );
            }
            None => println!("The database already has content; --demo left it as it is."),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served = rt.block_on(async move {
        let server_state = state.clone();
        let server = actix_web::HttpServer::new(move || keepsake::app(server_state.clone()))
            .shutdown_timeout(DRAIN_SECONDS)
            // Signals are ours: the workers must hear of the stop when the server does.
            .disable_signals()
            .bind(&bind)
            .map_err(|e| Failure(format!("cannot listen on {bind}: {e}")))?;
        for addr in server.addrs() {
            tracing::info!(%addr, "listening");
            println!("Serving on http://{addr}");
        }
        let server = server.run();
        let handle = server.handle();
        let views = cms_web::spawn_workers(state.clone());
        let workers = cms_worker::spawn_workers(state.clone());
        tokio::spawn(async move {
            stop_signal().await;
            tracing::info!("stopping: finishing requests, emails and imports in flight");
            cms_core::shutdown::begin();
            tokio::spawn(async {
                // A second signal: whoever sent it does not want to wait. What this process
                // holds is taken up again as after a crash.
                stop_signal().await;
                tracing::warn!("second signal: stopping now");
                std::process::exit(1);
            });
            // In-flight requests (uploads) are answered first; new connections are refused.
            handle.stop(true).await;
        });
        let served = server.await;
        // However the server ended, the workers hand back what they hold.
        cms_core::shutdown::begin();
        let abandoned = workers
            .stop(std::time::Duration::from_secs(WORK_GRACE_SECONDS))
            .await;
        if abandoned > 0 {
            tracing::warn!(
                workers = abandoned,
                "stopped before finishing; their work is taken up again"
            );
        }
        views.abort();
        cms_web::flush_views(&state).await;
        served?;
        tracing::info!("stopped");
        Ok::<(), Failure>(())
    });
    // A blocking task still running (a housekeeping pass) does not hold the stop up.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    served
}

/// How long requests in flight (uploads) get to finish when the server stops.
const DRAIN_SECONDS: u64 = 20;
/// How long the workers get, after that, to finish what they hold.
const WORK_GRACE_SECONDS: u64 = 20;

/// SIGTERM (systemd, containers) or SIGINT (Ctrl-C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `cms media migrate --to TARGET`.
fn migrate_media(to: &str) -> Result<(), Failure> {
    use cms_core::media::migrate::{self, End};
    use cms_core::media::s3::S3MediaStore;
    use cms_core::media::{LocalMediaStore, MediaStore};
    let config = load_config(None)?;
    init_logging(&config);
    let storage = &config.storage;
    let open_bucket = |location: cms_core::media::s3::S3Location| -> Result<S3MediaStore, Failure> {
        let store = S3MediaStore::open(location)?;
        store.check()?;
        Ok(store)
    };
    let (src_bucket, src_folder) = match &storage.s3 {
        Some(location) => (Some(open_bucket(location.clone())?), None),
        None => (None, Some(LocalMediaStore::open(&storage.media_dir)?)),
    };
    if to.contains("://") && !to.starts_with("s3://") {
        return Err(Failure(format!(
            "--to: '{to}' is neither s3://BUCKET/PREFIX nor a folder"
        )));
    }
    // One end a folder, the other a bucket: anything else is refused before anything is
    // opened or created.
    if to.starts_with("s3://") == storage.s3.is_some() {
        let already = if let Some(s3) = &storage.s3 {
            storage.s3_access.at(to).is_ok_and(|l| l.url() == s3.url())
        } else {
            std::fs::canonicalize(to).ok() == std::fs::canonicalize(&storage.media_dir).ok()
        };
        return Err(Failure(if already {
            format!("the media are in {to} already")
        } else {
            "--to: the media move between the media folder and an object store; copy a folder with rsync, a bucket with your store's tools".into()
        }));
    }
    let (dst_bucket, dst_folder) = if to.starts_with("s3://") {
        let location = storage
            .s3_access
            .at(to)
            .map_err(|e| Failure(format!("--to: {e}")))?;
        if storage
            .s3
            .as_ref()
            .is_some_and(|s| s.url() == location.url())
        {
            return Err(Failure(format!(
                "the media are in {} already",
                location.url()
            )));
        }
        (Some(open_bucket(location)?), None)
    } else {
        if to.contains("://") {
            return Err(Failure(format!(
                "--to: '{to}' is neither s3://BUCKET/PREFIX nor a folder"
            )));
        }
        let dir = std::path::PathBuf::from(to);
        if src_folder.is_some() {
            let same =
                std::fs::canonicalize(&dir).ok() == std::fs::canonicalize(&storage.media_dir).ok();
            if same {
                return Err(Failure(format!(
                    "the media are in {} already",
                    storage.media_dir.display()
                )));
            }
        }
        (None, Some(LocalMediaStore::open(&dir)?))
    };
    let from = match (&src_bucket, &src_folder) {
        (Some(b), _) => End::Bucket(b),
        (_, Some(f)) => End::Folder(f),
        _ => return Err(Failure("no media store".into())),
    };
    let target = match (&dst_bucket, &dst_folder) {
        (Some(b), _) => End::Bucket(b),
        (_, Some(f)) => End::Folder(f),
        _ => return Err(Failure("no media store".into())),
    };
    let (src_name, dst_name) = (
        src_bucket
            .as_ref()
            .map(|b| b.describe())
            .or(src_folder.as_ref().map(|f| f.describe()))
            .unwrap_or_default(),
        dst_bucket
            .as_ref()
            .map(|b| b.describe())
            .or(dst_folder.as_ref().map(|f| f.describe()))
            .unwrap_or_default(),
    );
    eprintln!("copying the media from {src_name} to {dst_name}…");
    let last = std::cell::Cell::new(std::time::Instant::now());
    let report = migrate::migrate(
        &from,
        &target,
        &storage.data_dir.join("staging").join("migrate"),
        &|r| {
            if last.get().elapsed().as_secs() >= 2 {
                last.set(std::time::Instant::now());
                eprintln!(
                    "{}/{} files: {} copied, {} there already",
                    r.copied + r.present + r.failed.len(),
                    r.files,
                    r.copied,
                    r.present
                );
            }
        },
    )?;
    for (key, why) in &report.failed {
        eprintln!("failed {key}: {why}");
    }
    if !report.failed.is_empty() {
        return Err(Failure(format!(
            "{} of {} files could not be copied to {dst_name}; run the command again",
            report.failed.len(),
            report.files
        )));
    }
    let setting = if dst_bucket.is_some() {
        format!("CMS_MEDIA_URL={dst_name}")
    } else {
        format!("CMS_MEDIA_DIR={dst_name} (and no CMS_MEDIA_URL)")
    };
    println!(
        "all {} media files are in {dst_name}, each verified: {} copied now ({:.1} MiB), {} were there already. \
         Nothing was deleted from {src_name}. To switch, run this again (it copies what was added meanwhile), \
         then restart the site with {setting}.",
        report.files,
        report.copied,
        report.copied_bytes as f64 / 1_048_576.0,
        report.present
    );
    Ok(())
}
