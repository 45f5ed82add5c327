//! Bulk ingest: the pipeline's rules, safe zips, resumable imports, the `cms import` command.

mod files;
mod import;
