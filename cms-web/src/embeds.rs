//! Embeds in post bodies: drawn by [`cms_core::embeds`], the one renderer the editor's preview
//! and update emails share.

use cms_core::DbConn;
use cms_core::snapshot::Snapshot;

use crate::error::WebError;

/// Replaces embed markers with their live content.
pub fn expand(conn: &mut DbConn, snap: &Snapshot, html: &str) -> Result<String, WebError> {
    Ok(cms_core::embeds::expand(conn, snap, html)?)
}
