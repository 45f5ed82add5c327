//! `/subscribe`: the sign-up form (email and topics). Sending and confirming are handled by the
//! subscriptions feature; this page only presents the form.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use cms_core::AppState;

use crate::cache::{self, html};
use crate::error::WebError;
use crate::layout::{Layout, Section, Site};

#[derive(Template)]
#[template(path = "subscribe.html")]
struct SubscribePage {
    l: Layout,
}

/// `GET /subscribe`
pub async fn form(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, WebError> {
    let base = state.config.server.base_url.clone();
    cache::respond(&req, &state, None, move |_, snap| {
        let site = Site::of(snap);
        let mut l = Layout::new(&site, &base, "Subscribe", "/subscribe", Section::Subscribe);
        l.description = format!(
            "Get an email when {} publishes news, photos or videos.",
            site.title
        );
        html(&SubscribePage { l })
    })
    .await
}
