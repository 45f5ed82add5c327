//! Moving an existing site in: WordPress (WXR files). Each importer is keyed by the source's
//! own ids (`models::import_item`), so it can be killed at any point and run again, and leaves
//! a redirect from every old address (`models::redirect`).

pub mod common;
pub mod coppermine;
pub mod fetch;
pub mod job;
pub mod mysql;
pub mod pictures;
pub mod piwigo;
pub mod report;
pub mod wordpress;
pub mod wp_content;
pub mod wxr;

pub use report::Report;
