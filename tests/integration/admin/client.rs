//! A cookie-keeping client for the admin panel in the actix test service.

use std::collections::BTreeMap;

use actix_web::body::MessageBody;
use actix_web::test;
use cms_core::models::user::{self, NewUser, Role};

use crate::common::{Page, TestApp, TestEnv};

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// Creates a user with [`PASSWORD`].
pub fn make_user(env: &TestEnv, email: &str, role: Role) -> i64 {
    let hash = cms_core::password::hash(PASSWORD).expect("hash");
    env.write(|c| {
        user::create(
            c,
            &NewUser {
                email,
                name: email.split('@').next().unwrap_or("u"),
                role,
                password_hash: &hash,
                must_change_password: false,
            },
        )
    })
    .id
}

/// A browser: cookies, the peer address requests come from, and headers every request
/// carries (what a reverse proxy adds, say).
pub struct Client {
    pub cookies: BTreeMap<String, String>,
    pub peer: String,
    pub headers: Vec<(String, String)>,
}

impl Client {
    pub fn new() -> Self {
        Client {
            cookies: BTreeMap::new(),
            peer: "10.0.0.1:40000".into(),
            headers: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, headers: &actix_web::http::header::HeaderMap) {
        for v in headers.get_all("set-cookie") {
            let Ok(s) = v.to_str() else { continue };
            let Some((pair, attrs)) = s.split_once(';').or(Some((s, ""))) else {
                continue;
            };
            let Some((k, val)) = pair.split_once('=') else {
                continue;
            };
            let removed = attrs.to_ascii_lowercase().contains("max-age=0") || val.is_empty();
            if removed {
                self.cookies.remove(k.trim());
            } else {
                self.cookies
                    .insert(k.trim().to_string(), val.trim().to_string());
            }
        }
    }

    /// Sends a request built by `build` with this client's cookies and address.
    pub async fn send<S, B>(&mut self, app: &S, build: test::TestRequest) -> Page
    where
        S: TestApp<B>,
        B: MessageBody,
    {
        let mut req = build.peer_addr(self.peer.parse().expect("address"));
        for (k, v) in &self.headers {
            req = req.insert_header((k.as_str(), v.as_str()));
        }
        if !self.cookies.is_empty() {
            req = req.insert_header(("Cookie", self.cookie_header()));
        }
        let resp = test::call_service(app, req.to_request()).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.absorb(&headers);
        let bytes = test::read_body(resp).await;
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get<S, B>(&mut self, app: &S, path: &str) -> Page
    where
        S: TestApp<B>,
        B: MessageBody,
    {
        self.send(app, test::TestRequest::get().uri(path)).await
    }

    /// POSTs a urlencoded form (add `_csrf` yourself, or use [`Client::post_form`]).
    pub async fn post<S, B>(&mut self, app: &S, path: &str, fields: &[(&str, &str)]) -> Page
    where
        S: TestApp<B>,
        B: MessageBody,
    {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            app,
            test::TestRequest::post()
                .uri(path)
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload(body),
        )
        .await
    }

    /// POSTs a form with the CSRF token of the page at `form_page`.
    pub async fn post_form<S, B>(
        &mut self,
        app: &S,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Page
    where
        S: TestApp<B>,
        B: MessageBody,
    {
        let page = self.get(app, form_page).await;
        let token = csrf_of(&page);
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(app, path, &all).await
    }

    /// Logs in and returns the response to the login POST.
    pub async fn login<S, B>(&mut self, app: &S, email: &str, password: &str) -> Page
    where
        S: TestApp<B>,
        B: MessageBody,
    {
        self.post_form(
            app,
            "/admin/login",
            "/admin/login",
            &[("email", email), ("password", password), ("next", "/admin")],
        )
        .await
    }
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(page: &Page) -> String {
    let from_meta = page.attrs("meta[name=csrf-token]", "content");
    if let Some(t) = from_meta.into_iter().next() {
        return t;
    }
    page.attrs("input[name=_csrf]", "value")
        .into_iter()
        .next()
        .unwrap_or_default()
}
