//! Discord's OAuth2 authorization-code grant
//! (<https://discord.com/developers/docs/topics/oauth2>), as a web dashboard's "Log in with
//! Discord" uses it: the authorize page in the browser, the token exchange and revocation
//! from the server, and bearer tokens on the user endpoints ([`crate::guilds`]).
//!
//! A real Discord login is impossible offline: choosing a user on the authorize page stands
//! in for being logged in as them. The client id is the application id, as on Discord.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use url::form_urlencoded;

use crate::rest::{FakeRest, RunningRest};

/// The application's client secret the token endpoints accept.
pub const OAUTH_CLIENT_SECRET: &str = "fake-discord-client-secret";

/// How long Discord's access tokens last: a week.
const EXPIRES_IN_SECS: u64 = 604_800;
/// What a dashboard login needs: who the user is and which guilds they are in.
const REQUIRED_SCOPES: [&str; 2] = ["identify", "guilds"];

/// Codes and tokens in flight.
#[derive(Default)]
pub(crate) struct Grants {
    /// Code -> what it was issued for; gone once exchanged.
    codes: HashMap<String, Code>,
    codes_issued: usize,
    /// Access token -> its user.
    tokens: HashMap<String, u64>,
    /// Refresh token -> its access token, so that revoking either ends both.
    refresh: HashMap<String, String>,
}

struct Code {
    user: u64,
    client_id: String,
    redirect_uri: String,
    scope: String,
}

impl Grants {
    fn revoke(&mut self, token: &str) {
        if let Some(access) = self.refresh.remove(token) {
            self.tokens.remove(&access);
        }
        if self.tokens.remove(token).is_some() {
            self.refresh.retain(|_, access| access != token);
        }
    }
}

/// Whom a REST request speaks for.
pub(crate) enum Caller {
    Bot,
    User(u64),
    Nobody,
}

/// The bot by its token, a user by a live access token (`Authorization: Bearer ...`).
pub(crate) fn caller(fake: &FakeRest, headers: &HeaderMap) -> Caller {
    if crate::rest::authorized(headers) {
        return Caller::Bot;
    }
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| fake.lock().grants.tokens.get(token).copied());
    user.map_or(Caller::Nobody, Caller::User)
}

impl FakeRest {
    /// How many authorization codes the authorize page has handed out.
    pub fn oauth_codes_issued(&self) -> usize {
        self.lock().grants.codes_issued
    }

    /// How many user access tokens still work (revoking one ends it).
    pub fn live_user_tokens(&self) -> usize {
        self.lock().grants.tokens.len()
    }
}

impl RunningRest {
    /// Where a dashboard finds this Discord: `{web_url}/oauth2/authorize` in the browser,
    /// `{web_url}/api/v10/...` from its server, as with `https://discord.com`.
    pub fn web_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub(crate) fn routes() -> Router<FakeRest> {
    Router::new()
        .route("/oauth2/authorize", get(authorize_page).post(authorize))
        .route("/api/v10/oauth2/token", post(token))
        .route("/api/v10/oauth2/token/revoke", post(revoke))
}

/// Query or form parameters; a repeated one keeps its last value.
fn params(raw: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// An authorization request, as the authorize page is asked for and its forms resend it.
struct AuthRequest {
    client_id: String,
    scope: String,
    redirect_uri: String,
    state: Option<String>,
    prompt: Option<String>,
}

impl AuthRequest {
    fn parse(fake: &FakeRest, p: &HashMap<String, String>) -> Result<Self, String> {
        let get = |k: &str| p.get(k).map(String::as_str);
        // Discord's implicit grant (`token`) is not what a server-side dashboard uses.
        if get("response_type") != Some("code") {
            return Err("response_type must be code".into());
        }
        let client_id = get("client_id").unwrap_or_default();
        if client_id != fake.application_id().to_string() {
            return Err(format!("unknown client_id {client_id:?}"));
        }
        let scope = get("scope").unwrap_or_default();
        for needed in REQUIRED_SCOPES {
            if !scope.split_whitespace().any(|s| s == needed) {
                return Err(format!("scope must include {needed}"));
            }
        }
        let redirect_uri = get("redirect_uri").unwrap_or_default();
        // RFC 6749 3.1.2: an absolute URI without a fragment.
        let valid = url::Url::parse(redirect_uri)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none());
        if !valid {
            return Err(format!(
                "redirect_uri {redirect_uri:?} is not an http(s) URL"
            ));
        }
        Ok(Self {
            client_id: client_id.to_owned(),
            scope: scope.split_whitespace().collect::<Vec<_>>().join(" "),
            redirect_uri: redirect_uri.to_owned(),
            state: get("state").map(str::to_owned),
            prompt: get("prompt").map(str::to_owned),
        })
    }

    /// The request as hidden form inputs, for the page's forms to send back.
    fn hidden_inputs(&self) -> String {
        let fields = [
            ("response_type", Some("code")),
            ("client_id", Some(self.client_id.as_str())),
            ("scope", Some(self.scope.as_str())),
            ("redirect_uri", Some(self.redirect_uri.as_str())),
            ("state", self.state.as_deref()),
            ("prompt", self.prompt.as_deref()),
        ];
        fields
            .into_iter()
            .filter_map(|(name, value)| {
                let value = escape(value?);
                Some(format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{value}\">"
                ))
            })
            .collect()
    }

    /// Back to the client with `pairs` and the state, as Discord's `302 Found`.
    fn redirect(&self, pairs: &[(&str, &str)]) -> Response {
        let Ok(mut to) = url::Url::parse(&self.redirect_uri) else {
            return bad_request("redirect_uri is not a URL");
        };
        {
            // Appends with `&` when the redirect URI has a query already.
            let mut query = to.query_pairs_mut();
            query.extend_pairs(pairs);
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
    }
}

/// Text made safe inside HTML, attribute values included.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `body` is HTML already escaped.
fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{body}</body>\n</html>\n"
    ))
}

fn bad_request(why: &str) -> Response {
    let body = format!("<h1>Invalid OAuth2 request</h1>\n<p>{}</p>\n", escape(why));
    (
        StatusCode::BAD_REQUEST,
        page("Invalid OAuth2 request", &body),
    )
        .into_response()
}

/// Discord's consent screen: one button per known user, each as if logged in as them.
async fn authorize_page(State(fake): State<FakeRest>, RawQuery(query): RawQuery) -> Response {
    let request = match AuthRequest::parse(&fake, &params(query.unwrap_or_default().as_bytes())) {
        Ok(request) => request,
        Err(why) => return bad_request(&why),
    };
    let hidden = request.hidden_inputs();
    let mut body = format!(
        "<h1>Authorize TimmyBot</h1>\n<p>TimmyBot wants: {}. You will be sent to {}.</p>\n",
        escape(&request.scope),
        escape(&request.redirect_uri),
    );
    let inner = fake.lock();
    for (id, username) in inner.directory.users() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/oauth2/authorize\">{hidden}<input type=\"hidden\" name=\"user\" value=\"{id}\"><button type=\"submit\">Authorize as {}</button></form>\n",
            escape(username),
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/oauth2/authorize\">{hidden}<button type=\"submit\" name=\"cancel\" value=\"1\">Cancel</button></form>\n"
    ));
    page("Authorize TimmyBot", &body).into_response()
}

/// A choice on the consent screen: a single-use code for that user, or `access_denied`.
async fn authorize(State(fake): State<FakeRest>, body: Bytes) -> Response {
    let p = params(&body);
    let request = match AuthRequest::parse(&fake, &p) {
        Ok(request) => request,
        Err(why) => return bad_request(&why),
    };
    if p.contains_key("cancel") {
        return request.redirect(&[
            ("error", "access_denied"),
            (
                "error_description",
                "The resource owner or authorization server denied the request",
            ),
        ]);
    }
    let mut inner = fake.lock();
    let user = p.get("user").and_then(|u| u.parse::<u64>().ok());
    let Some(user) = user.filter(|u| inner.directory.username(*u).is_some()) else {
        return bad_request("choose one of the users listed");
    };
    let code = secret();
    inner.grants.codes.insert(
        code.clone(),
        Code {
            user,
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
        },
    );
    inner.grants.codes_issued += 1;
    request.redirect(&[("code", &code)])
}

fn secret() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// An OAuth2 error (RFC 6749 5.2); `invalid_client` comes with the challenge RFC 6749 asks
/// for.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"discord\""),
        );
    }
    response
}

fn invalid_client() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed",
    )
}

/// The client the request authenticates as: HTTP Basic auth (the `oauth2` crate's default)
/// or `client_id` and `client_secret` in the body, both of which Discord takes. `None` for
/// missing or wrong credentials.
fn client(fake: &FakeRest, headers: &HeaderMap, p: &HashMap<String, String>) -> Option<String> {
    let (id, secret) = match basic(headers) {
        Some(pair) => pair,
        None => (p.get("client_id")?.clone(), p.get("client_secret")?.clone()),
    };
    (id == fake.application_id().to_string() && secret == OAUTH_CLIENT_SECRET).then_some(id)
}

/// `Authorization: Basic` credentials; RFC 6749 2.3.1 form-encodes each before joining.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unform = |s: &str| {
        form_urlencoded::parse(s.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default()
    };
    Some((unform(id), unform(secret)))
}

/// Exchanges an authorization code for an access token, once.
async fn token(State(fake): State<FakeRest>, headers: HeaderMap, body: Bytes) -> Response {
    let p = params(&body);
    let Some(client_id) = client(&fake, &headers, &p) else {
        return invalid_client();
    };
    if p.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only authorization_code is supported",
        );
    }
    let (Some(code), Some(redirect_uri)) = (p.get("code"), p.get("redirect_uri")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code and redirect_uri are required",
        );
    };
    let mut inner = fake.lock();
    let grants = &mut inner.grants;
    let std::collections::hash_map::Entry::Occupied(issued) = grants.codes.entry(code.clone())
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid \"code\" in request.",
        );
    };
    // A mismatch leaves the code usable: only a successful exchange spends it.
    if issued.get().redirect_uri != *redirect_uri || issued.get().client_id != client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid \"redirect_uri\" in request.",
        );
    }
    let issued = issued.remove();
    let (access, refresh) = (secret(), secret());
    grants.tokens.insert(access.clone(), issued.user);
    grants.refresh.insert(refresh.clone(), access.clone());
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": EXPIRES_IN_SECS,
            "refresh_token": refresh,
            "scope": issued.scope,
        })),
    )
        .into_response()
}

/// Forgets an access or refresh token (and its pair). RFC 7009: an unknown token is no error.
async fn revoke(State(fake): State<FakeRest>, headers: HeaderMap, body: Bytes) -> Response {
    let p = params(&body);
    if client(&fake, &headers, &p).is_none() {
        return invalid_client();
    }
    let Some(token) = p.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    fake.lock().grants.revoke(token);
    StatusCode::OK.into_response()
}
