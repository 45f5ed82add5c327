//! The admin pages' shared frame: who is logged in, the CSRF token for forms, navigation, and
//! a notice after a successful action.

use std::sync::OnceLock;

use actix_web::HttpRequest;
use cms_core::models::user::Role;

use crate::forms::query_value;
use crate::session::Current;

/// Admin navigation sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Posts,
    Taxonomy,
    Gallery,
    Videos,
    Subscribers,
    Mail,
    Users,
    Tokens,
    Webhooks,
    Audit,
    Tools,
    Redirects,
    Settings,
    Account,
}

/// The frame of an admin page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub user_name: String,
    pub is_admin: bool,
    pub csrf: String,
    pub section: Section,
    pub notice: Option<&'static str>,
    pub css_href: &'static str,
    pub js_href: &'static str,
}

/// Messages for `?notice=` codes; only these can appear (no text from the URL reaches a page).
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "saved" => "Saved.",
        "saved-no-poster" => {
            "Saved. The provider's thumbnail could not be fetched as the poster: upload one if you like."
        }
        "created" => "Created.",
        "deleted" => "Deleted.",
        "published" => "Published.",
        "scheduled" => "Scheduled.",
        "restored" => "The revision was restored.",
        "revoked" => "The token was revoked.",
        "queued" => "The email is queued; it goes out within seconds.",
        "sending" => "The delivery is queued; it goes out within seconds.",
        "preview-queued" => "The preview is on its way to your email address.",
        "preview-empty" => "Nothing to preview yet: no email was sent.",
        "started" => "The import has started; its progress shows below.",
        "2fa-off" => "Two-step verification is off.",
        "2fa-reset" => "Two-step verification is off for that account; they can set it up again.",
        "recovery-used" => {
            "You logged in with a recovery code, which is now used up. Make new ones below if few are left."
        }
        _ => return None,
    })
}

fn hashed(name: &str, ext: &str, bytes: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("/admin/static/{name}.{:012x}.{ext}", h & 0xffff_ffff_ffff)
}

/// The admin stylesheet and script.
pub const CSS: &str = include_str!("../static/admin.css");
pub const JS: &str = include_str!("../static/admin.js");

/// `/admin/static/admin.<hash>.css`
pub fn css_href() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hashed("admin", "css", CSS))
}

/// `/admin/static/admin.<hash>.js`
pub fn js_href() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hashed("admin", "js", JS))
}

impl Chrome {
    /// The frame for `current`'s page titled `title`.
    pub fn new(req: &HttpRequest, current: &Current, title: &str, section: Section) -> Chrome {
        Chrome {
            title: title.to_string(),
            user_name: current.user.name.clone(),
            is_admin: current.user.role == Role::Admin,
            csrf: current.session.csrf_token.clone(),
            section,
            notice: query_value(req, "notice").as_deref().and_then(notice_text),
            css_href: css_href(),
            js_href: js_href(),
        }
    }

    /// `aria-current` for a navigation link.
    pub fn current(&self, section: Section) -> &'static str {
        if section == self.section {
            "page"
        } else {
            "false"
        }
    }
}
