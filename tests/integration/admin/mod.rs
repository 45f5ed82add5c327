//! The admin panel over HTTP: authentication, CSRF, roles, headers, and the content screens.

mod auth;
mod backups;
pub(crate) mod client;
mod content;
pub(crate) mod gallery;
mod security;
mod settings;
mod subscribers;
mod tools;
mod two_factor;
