//! The reader pages, one module per area.

pub mod album;
pub mod assets;
pub mod home;
pub mod post;
