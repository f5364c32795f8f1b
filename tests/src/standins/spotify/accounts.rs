//! Spotify's accounts service: `/authorize` and `/api/token`.

use super::*;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    reply(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// Spotify shows a page, not a redirect, for a client or redirect it cannot trust.
fn page(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, message.to_owned()).into_response()
}

pub(super) async fn accounts(
    State(state): State<Arc<Mutex<SpState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let mut s = lock(&state);
    match (method, path.as_str()) {
        (Method::GET, "/authorize") => {
            authorize(&mut s, &Form::parse(&path, uri.query().unwrap_or_default()))
        }
        (Method::POST, "/api/token") => {
            s.token_requests += 1;
            let form = Form::parse(&path, &String::from_utf8_lossy(&body));
            s.forms.push(form.clone());
            token(&mut s, &headers, &form)
        }
        _ => (StatusCode::NOT_FOUND, "Not found").into_response(),
    }
}

/// Spotify allows plain `http` only to a loopback IP literal.
fn redirect_allowed(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "[::1]")),
        "https" => url.host_str().is_some_and(|h| !h.is_empty()),
        _ => false,
    }
}

fn authorize(s: &mut SpState, q: &Form) -> Response {
    let field = |k: &str| q.get(k).unwrap_or_default().to_owned();
    let auth = Authorization {
        client_id: field("client_id"),
        response_type: field("response_type"),
        redirect_uri: field("redirect_uri"),
        state: field("state"),
        scope: field("scope"),
        code_challenge: field("code_challenge"),
        code_challenge_method: field("code_challenge_method"),
    };
    s.authorizations.push(auth.clone());
    if auth.client_id != CLIENT_ID {
        return page("INVALID_CLIENT: Invalid client");
    }
    let Ok(mut to) = reqwest::Url::parse(&auth.redirect_uri) else {
        return page("INVALID_CLIENT: Invalid redirect URI");
    };
    if !redirect_allowed(&to) {
        return page("INVALID_CLIENT: Insecure redirect URI");
    }
    if auth.response_type != "code" {
        return page("unsupported_response_type");
    }
    // Only PKCE: a client that forgets the challenge would be sending a secret-less code.
    if auth.code_challenge_method != "S256" || auth.code_challenge.is_empty() {
        return page("INVALID_REQUEST: code_challenge_method must be S256 with a code_challenge");
    }
    if s.deny {
        to.query_pairs_mut().append_pair("error", "access_denied");
    } else {
        let code = secret("AQD", 140);
        s.codes.insert(
            code.clone(),
            Code {
                client_id: auth.client_id.clone(),
                redirect_uri: auth.redirect_uri.clone(),
                challenge: auth.code_challenge.clone(),
                scope: auth.scope.clone(),
                user: s.me.clone(),
                used: false,
            },
        );
        s.issued.push(code.clone());
        to.query_pairs_mut().append_pair("code", &code);
    }
    if !auth.state.is_empty() {
        to.query_pairs_mut().append_pair("state", &auth.state);
    }
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

/// RFC 7636: 43 to 128 unreserved characters.
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn token(s: &mut SpState, headers: &HeaderMap, form: &Form) -> Response {
    let basic = basic(headers);
    let client = match &basic {
        Some((id, secret)) if id == CLIENT_ID && secret == CLIENT_SECRET => Some(id.clone()),
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client"),
        None => form
            .get("client_id")
            .filter(|id| *id == CLIENT_ID)
            .map(str::to_owned),
    };
    match form.get("grant_type") {
        Some("authorization_code") => {
            let Some(client) = client else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
            };
            let Some(code) = form.get("code").and_then(|c| s.codes.get_mut(c)) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid authorization code",
                );
            };
            // Single use: even a failed attempt spends it.
            if std::mem::replace(&mut code.used, true) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid authorization code",
                );
            }
            if code.client_id != client {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
            }
            if form.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid redirect URI",
                );
            }
            let verifier = form.get("code_verifier").unwrap_or_default();
            if !verifier_well_formed(verifier) || challenge_of(verifier) != code.challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code_verifier was incorrect",
                );
            }
            let (user, scope) = (code.user.clone(), code.scope.clone());
            let access = s.issue_access(Some(&user), &scope);
            let refresh = s.issue_refresh(&user, &scope);
            reply(
                StatusCode::OK,
                json!({
                    "access_token": access,
                    "token_type": "Bearer",
                    "scope": scope,
                    "expires_in": ACCESS_EXPIRES_IN,
                    "refresh_token": refresh,
                }),
            )
        }
        Some("refresh_token") => {
            if client.is_none() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
            }
            let old = form.get("refresh_token").unwrap_or_default().to_owned();
            let Some((user, scope)) = s
                .refresh
                .get(&old)
                .filter(|r| r.valid)
                .map(|r| (r.user.clone(), r.scope.clone()))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid refresh token",
                );
            };
            let access = s.issue_access(Some(&user), &scope);
            let mut body = json!({
                "access_token": access,
                "token_type": "Bearer",
                "scope": scope,
                "expires_in": ACCESS_EXPIRES_IN,
            });
            if s.rotate {
                if let Some(r) = s.refresh.get_mut(&old) {
                    r.valid = false;
                }
                body["refresh_token"] = json!(s.issue_refresh(&user, &scope));
            }
            reply(StatusCode::OK, body)
        }
        Some("client_credentials") => {
            if basic.is_none() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
            }
            let access = s.issue_access(None, "");
            reply(
                StatusCode::OK,
                json!({"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_EXPIRES_IN}),
            )
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be one Spotify knows",
        ),
    }
}
