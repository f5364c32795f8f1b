//! Google's OAuth 2.0 endpoints for a "TVs and Limited Input devices" client: the device
//! authorization grant (RFC 8628 as Google documents it), the refresh grant and revocation.
//!
//! The answers to device-token polls follow a script (per device code, or one for every
//! device code without its own); once a script is exhausted its last answer repeats. A device
//! code that was approved is spent: polling it again is `invalid_grant`, as at Google, so a
//! client that keeps polling after success is caught.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use rand::Rng as _;
use serde_json::json;

use super::{lock, reply, secret, Form, Server};

pub const CLIENT_ID: &str = "standin-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "GOCSPX-standin-google-secret";
pub const SCOPE_YOUTUBE_READONLY: &str = "https://www.googleapis.com/auth/youtube.readonly";
pub const VERIFICATION_URL: &str = "https://www.google.com/device";
pub const DEVICE_EXPIRES_IN: u64 = 1800;
pub const INTERVAL: u64 = 5;
pub const ACCESS_EXPIRES_IN: u64 = 3599;

/// What the token endpoint answers to one device-code poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAnswer {
    /// 428 `authorization_pending`: the user has not acted yet.
    Pending,
    /// 403 `slow_down`: the client polls too often.
    SlowDown,
    /// 200 with an access and a refresh token; the device code is then spent.
    Approve,
    /// 403 `access_denied`: the user refused.
    Denied,
    /// 400 `expired_token`: the device code outlived `expires_in`.
    Expired,
    /// 400 `invalid_grant`.
    InvalidGrant,
}

struct Device {
    user_code: String,
    scope: String,
    script: Option<Vec<DeviceAnswer>>,
    polls: usize,
    spent: bool,
}

struct Access {
    refresh: Option<String>,
    scope: String,
    valid: bool,
}

struct Refresh {
    scope: String,
    valid: bool,
}

/// Google's side of every grant; YouTube reads `access` to check bearer tokens.
pub(crate) struct GoogleState {
    script: Vec<DeviceAnswer>,
    devices: HashMap<String, Device>,
    device_order: Vec<String>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    revoked: Vec<String>,
    token_requests: usize,
    forms: Vec<Form>,
    issued: Vec<String>,
}

impl GoogleState {
    /// The scope of `token` if Google issued it and it is still good.
    pub(crate) fn access_scope(&self, token: &str) -> Option<&str> {
        self.access
            .get(token)
            .filter(|a| a.valid)
            .map(|a| a.scope.as_str())
    }

    fn issue_access(&mut self, refresh: Option<&str>, scope: &str) -> String {
        let token = secret("ya29.", 64);
        self.access.insert(
            token.clone(),
            Access {
                refresh: refresh.map(str::to_owned),
                scope: scope.to_owned(),
                valid: true,
            },
        );
        self.issued.push(token.clone());
        token
    }

    fn issue_pair(&mut self, scope: &str) -> (String, String) {
        let refresh = secret("1//0g", 60);
        self.refresh.insert(
            refresh.clone(),
            Refresh {
                scope: scope.to_owned(),
                valid: true,
            },
        );
        self.issued.push(refresh.clone());
        (self.issue_access(Some(&refresh), scope), refresh)
    }

    /// Invalidates a refresh token and every access token minted from it.
    fn kill_refresh(&mut self, refresh: &str) {
        if let Some(r) = self.refresh.get_mut(refresh) {
            r.valid = false;
        }
        for a in self.access.values_mut() {
            if a.refresh.as_deref() == Some(refresh) {
                a.valid = false;
            }
        }
    }
}

/// Google's OAuth endpoints: `POST /device/code`, `POST /token`, `POST /revoke`.
pub struct Google {
    pub(crate) state: Arc<Mutex<GoogleState>>,
    server: Server,
}

impl Google {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(GoogleState {
            script: vec![DeviceAnswer::Approve],
            devices: HashMap::new(),
            device_order: Vec::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            revoked: Vec::new(),
            token_requests: 0,
            forms: Vec::new(),
            issued: Vec::new(),
        }));
        let app = Router::new().fallback(handle).with_state(state.clone());
        let (listener, _) = Server::bind().await;
        Self {
            state,
            server: Server::serve(listener, app),
        }
    }

    /// The base URL, for `GOOGLE_OAUTH_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The answers every device code without its own script gives, poll by poll (from each
    /// device code's next poll on). The default is `[Approve]`.
    pub fn script(&self, answers: Vec<DeviceAnswer>) {
        let mut s = lock(&self.state);
        for d in s.devices.values_mut().filter(|d| d.script.is_none()) {
            d.polls = 0;
        }
        s.script = answers;
    }

    /// The answers one device code gives, from its next poll on.
    pub fn script_for(&self, device_code: &str, answers: Vec<DeviceAnswer>) {
        if let Some(d) = lock(&self.state).devices.get_mut(device_code) {
            d.script = Some(answers);
            d.polls = 0;
        }
    }

    /// `(device_code, user_code)` for every device code issued, oldest first.
    pub fn devices(&self) -> Vec<(String, String)> {
        let s = lock(&self.state);
        s.device_order
            .iter()
            .filter_map(|c| s.devices.get(c).map(|d| (c.clone(), d.user_code.clone())))
            .collect()
    }

    /// The scope each device code was asked for, oldest first.
    pub fn device_scopes(&self) -> Vec<String> {
        let s = lock(&self.state);
        s.device_order
            .iter()
            .filter_map(|c| s.devices.get(c).map(|d| d.scope.clone()))
            .collect()
    }

    /// Issues a linked account's tokens without the device flow: `(access, refresh)`.
    pub fn mint(&self) -> (String, String) {
        lock(&self.state).issue_pair(SCOPE_YOUTUBE_READONLY)
    }

    /// The refresh token now answers `invalid_grant` (a "Testing" app's 7 days, or the user
    /// removed the app); its access tokens stop working too.
    pub fn expire_refresh(&self, refresh_token: &str) {
        lock(&self.state).kill_refresh(refresh_token);
    }

    /// The access token now gets 401 at YouTube, as one past its hour does.
    pub fn expire_access(&self, access_token: &str) {
        if let Some(a) = lock(&self.state).access.get_mut(access_token) {
            a.valid = false;
        }
    }

    /// Whether an access or refresh token Google issued still works.
    pub fn is_valid(&self, token: &str) -> bool {
        let s = lock(&self.state);
        s.access.get(token).is_some_and(|a| a.valid)
            || s.refresh.get(token).is_some_and(|r| r.valid)
    }

    /// Tokens revoked through `POST /revoke`, in order.
    pub fn revoked(&self) -> Vec<String> {
        lock(&self.state).revoked.clone()
    }

    /// `POST /token` requests so far, of every grant.
    pub fn token_requests(&self) -> usize {
        lock(&self.state).token_requests
    }

    /// Every form posted to any endpoint, in order.
    pub fn forms(&self) -> Vec<Form> {
        lock(&self.state).forms.clone()
    }

    /// Every access token, refresh token and device code handed out (not user codes: those
    /// are shown to the user on purpose).
    pub fn issued_secrets(&self) -> Vec<String> {
        lock(&self.state).issued.clone()
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    reply(
        status,
        json!({ "error": error, "error_description": error }),
    )
}

fn user_code() -> String {
    let mut rng = rand::rng();
    let mut half = || -> String {
        (0..4)
            .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
            .collect()
    };
    let a = half();
    format!("{a}-{}", half())
}

async fn handle(
    State(state): State<Arc<Mutex<GoogleState>>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if method != Method::POST {
        return oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    }
    let mut form = Form::parse(&path, &String::from_utf8_lossy(&body));
    if form.fields().is_empty() {
        // `/revoke` also takes its token in the query string.
        form = Form::parse(&path, uri.query().unwrap_or_default());
    }
    let mut s = lock(&state);
    s.forms.push(form.clone());
    match path.as_str() {
        "/device/code" => device_code(&mut s, &form),
        "/token" => {
            s.token_requests += 1;
            token(&mut s, &form)
        }
        "/revoke" => revoke(&mut s, &form),
        _ => oauth_error(StatusCode::NOT_FOUND, "not_found"),
    }
}

fn device_code(s: &mut GoogleState, form: &Form) -> Response {
    if form.get("client_id") != Some(CLIENT_ID) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let Some(scope) = form.get("scope").filter(|v| !v.is_empty()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    };
    let code = secret("AH-1Ng", 48);
    let user_code = user_code();
    s.devices.insert(
        code.clone(),
        Device {
            user_code: user_code.clone(),
            scope: scope.to_owned(),
            script: None,
            polls: 0,
            spent: false,
        },
    );
    s.device_order.push(code.clone());
    s.issued.push(code.clone());
    reply(
        StatusCode::OK,
        json!({
            "device_code": code,
            "user_code": user_code,
            "verification_url": VERIFICATION_URL,
            "expires_in": DEVICE_EXPIRES_IN,
            "interval": INTERVAL,
        }),
    )
}

fn token(s: &mut GoogleState, form: &Form) -> Response {
    if form.get("client_id") != Some(CLIENT_ID) || form.get("client_secret") != Some(CLIENT_SECRET)
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match form.get("grant_type") {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let Some(code) = form.get("device_code") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            let global = s.script.clone();
            let Some(device) = s.devices.get_mut(code) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            if device.spent {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            let script = device.script.as_ref().unwrap_or(&global);
            let answer = script
                .get(device.polls.min(script.len().saturating_sub(1)))
                .copied()
                .unwrap_or(DeviceAnswer::Approve);
            device.polls += 1;
            device.spent = answer == DeviceAnswer::Approve;
            let scope = device.scope.clone();
            match answer {
                DeviceAnswer::Pending => {
                    oauth_error(StatusCode::PRECONDITION_REQUIRED, "authorization_pending")
                }
                DeviceAnswer::SlowDown => oauth_error(StatusCode::FORBIDDEN, "slow_down"),
                DeviceAnswer::Denied => oauth_error(StatusCode::FORBIDDEN, "access_denied"),
                DeviceAnswer::Expired => oauth_error(StatusCode::BAD_REQUEST, "expired_token"),
                DeviceAnswer::InvalidGrant => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant"),
                DeviceAnswer::Approve => {
                    let (access, refresh) = s.issue_pair(&scope);
                    reply(
                        StatusCode::OK,
                        json!({
                            "access_token": access,
                            "expires_in": ACCESS_EXPIRES_IN,
                            "refresh_token": refresh,
                            "scope": scope,
                            "token_type": "Bearer",
                        }),
                    )
                }
            }
        }
        Some("refresh_token") => {
            let Some(refresh) = form.get("refresh_token") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            let Some(scope) = s
                .refresh
                .get(refresh)
                .filter(|r| r.valid)
                .map(|r| r.scope.clone())
            else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let access = s.issue_access(Some(refresh), &scope);
            reply(
                StatusCode::OK,
                json!({
                    "access_token": access,
                    "expires_in": ACCESS_EXPIRES_IN,
                    "scope": scope,
                    "token_type": "Bearer",
                }),
            )
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

/// Revoking either token of a grant revokes the grant, as Google documents.
fn revoke(s: &mut GoogleState, form: &Form) -> Response {
    let Some(token) = form.get("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let refresh = if let Some(a) = s.access.get(token).filter(|a| a.valid) {
        a.refresh.clone()
    } else if s.refresh.get(token).is_some_and(|r| r.valid) {
        Some(token.to_owned())
    } else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_token");
    };
    if let Some(a) = s.access.get_mut(token) {
        a.valid = false;
    }
    if let Some(r) = refresh {
        s.kill_refresh(&r);
    }
    s.revoked.push(token.to_owned());
    reply(StatusCode::OK, json!({}))
}
