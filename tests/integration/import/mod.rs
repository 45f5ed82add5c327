//! Moving sites in: `cms import wordpress` against a WXR fixture covering the format's corners
//! (`tests/fixtures/wordpress/EXPECTED.md` is its truth table), resumed after kill -9, and
//! every old address answering with a redirect.

pub mod coppermine;
pub mod mysql;
mod piwigo;
pub mod wordpress;
