//! Bulk ingest of photos: plan a folder tree or zip onto the gallery, then run every file
//! through the image pipeline. `batch::prepare` is the one way in for files in hand: `cms
//! import gallery`, the server-side folder import, the admin's and the API's uploads.

pub mod batch;
pub mod job;
pub mod process;
pub mod run;
pub mod source;
pub mod strip;

pub use process::{Settings, Skip};
pub use run::{Options, Progress, Report, Silent, stop_if_asked};
