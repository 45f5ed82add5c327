//! Keepsake without HTTP: configuration, the database and its migrations, the content model,
//! and the services that change it (publishing, gallery counts, demo content).
//!
//! Everything here is usable from the command line, the web plugins and tests alike; nothing
//! here knows about requests or responses.

pub mod api;
pub mod backup;
pub mod branding;
pub mod config;
pub mod db;
pub mod demo;
pub mod digest;
pub mod embed;
pub mod embeds;
pub mod error;
pub mod export;
pub mod generate;
pub mod housekeeping;
pub mod import;
pub mod ingest;
pub mod input;
pub mod leases;
pub mod markdown;
pub mod media;
pub mod metrics;
pub mod models;
pub mod net;
pub mod notify;
pub mod page_cache;
pub mod password;
pub mod posters;
pub mod preview;
pub mod publishing;
pub mod schema;
pub mod search;
pub mod service;
pub mod shutdown;
pub mod slug;
pub mod snapshot;
pub mod state;
pub mod thumbs;
pub mod tokens;
pub mod transcript;
pub mod two_factor;
pub mod units;
pub mod view_counter;
pub mod webhooks;

pub use config::Config;
pub use db::{Backend, Db, DbConn};
pub use error::{Error, Result};
pub use state::AppState;
