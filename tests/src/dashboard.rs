//! Driving the dashboard over HTTP without a browser: a request through the Router, and the
//! whole Discord login against the fake Discord (the bot's redirect, the authorize page's
//! "Authorize", the callback). The e2e access tests and the dashboard bench share it.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

use timmybot_fake_discord::rest::RunningRest;

/// One answer of the Router, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body's size on the wire (after any compression).
    pub wire_bytes: usize,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The whole `Set-Cookie` line for `name`, if this answer sets it.
    pub fn set_cookie_line(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// `name=value` of the cookie this answer sets, if it sets it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let line = self.set_cookie_line(name)?;
        line.split(';').next().map(str::to_owned)
    }
}

pub async fn call(router: &Router, req: Request<Body>) -> Answer {
    let res = router
        .clone()
        .oneshot(req)
        .await
        .expect("the router answers");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res
        .into_body()
        .collect()
        .await
        .expect("a whole body")
        .to_bytes();
    Answer {
        status,
        headers,
        wire_bytes: bytes.len(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.body(Body::empty()).expect("a request")
}

pub fn post(path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Request<Body> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    req.body(Body::from(body)).expect("a request")
}

/// What Discord's authorize page does when `user` presses "Authorize": the redirect back to
/// the bot, as a path under `public_url`, with the code and the state.
pub async fn approve_at_discord(
    rest: &RunningRest,
    public_url: &str,
    authorize: &str,
    user: u64,
) -> String {
    assert!(
        authorize.starts_with(&format!("{}/oauth2/authorize?", rest.web_url())),
        "the login goes to Discord's authorize page: {authorize}"
    );
    let url = url::Url::parse(authorize).expect("an authorize URL");
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("user".into(), user.to_string()));
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
        .post(format!("{}/oauth2/authorize", rest.web_url()))
        .form(&form)
        .send()
        .await
        .expect("the fake's authorize page");
    assert_eq!(res.status(), 302);
    let back = res.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(
        back.starts_with(&format!("{public_url}/dashboard/callback?")),
        "{back}"
    );
    back[public_url.len()..].to_owned()
}

/// The whole login as `user`; returns the session cookie (`name=value`).
pub async fn login(router: &Router, rest: &RunningRest, public_url: &str, user: u64) -> String {
    let start = call(router, get("/dashboard/login", None)).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let login_cookie = start.cookie("timmybot_login").expect("a login cookie");
    let callback = approve_at_discord(rest, public_url, start.location(), user).await;
    let done = call(router, get(&callback, Some(&login_cookie))).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/dashboard");
    done.cookie("timmybot_session").expect("a session cookie")
}

/// The CSRF token a page carries in its forms.
pub fn csrf_of(page: &str) -> String {
    let field = "name=\"csrf\" value=\"";
    let at = page.find(field).expect("a csrf field") + field.len();
    page[at..].split('"').next().unwrap_or_default().to_owned()
}
