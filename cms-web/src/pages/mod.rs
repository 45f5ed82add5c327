//! The reader pages, one module per area.

pub mod album;
pub mod assets;
pub mod discovery;
pub mod feeds;
pub mod gallery;
pub mod home;
mod lists;
pub mod news;
pub mod photo;
pub mod post;
pub mod search;
pub mod subscribe;
pub mod videos;
