//! The admin screens, one module per area.

use askama::Template;

use crate::layout::{Chrome, Section};

pub mod dashboard;
pub mod gallery;
pub mod people;
pub mod picker;
pub mod posts;
pub mod settings;
pub mod subscribers;
pub mod taxonomy;
pub mod tools;
pub mod videos;
pub mod webhooks;

/// "Delete this?" before anything is deleted.
#[derive(Template)]
#[template(path = "confirm_delete.html")]
pub struct ConfirmPage {
    pub c: Chrome,
    pub what: String,
    pub action: String,
    pub back: String,
}
