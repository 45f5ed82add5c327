//! Bulk ingest: the pipeline's rules, safe zips, resumable imports, the `cms import` command.

pub mod files;
pub mod import;
