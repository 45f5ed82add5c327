//! Integration tests of the whole application, one binary (fast to link), folders mirroring
//! the code: `models/` for the content model, `pages/` for the public URLs, `cli/` for the
//! `cms` binary. Database tests run on SQLite and PostgreSQL alike.

mod common;

mod admin;
mod api;
mod cli;
mod cluster;
pub mod gallery;
pub mod import;
pub mod mail;
mod models;
mod pages;
mod storage;
mod webhooks;
