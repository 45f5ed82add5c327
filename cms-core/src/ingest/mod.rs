//! Bulk ingest of photos: plan a folder tree or zip onto the gallery, then run every file
//! through the image pipeline. Used by `cms import gallery`, admin uploads and the server-side
//! folder import alike.

pub mod job;
pub mod process;
pub mod run;
pub mod source;
pub mod strip;

pub use process::{Settings, Skip};
pub use run::{Options, Progress, Report, Silent};
