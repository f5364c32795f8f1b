//! Spotify's Web API, as it answers a Development-Mode app since March 2026.

use super::*;

/// A refusal, made into Spotify's error body at the edge (a `Response` is too big to pass
/// around in a `Result`).
struct Refusal(StatusCode, &'static str);

fn refuse(status: StatusCode, message: &'static str) -> Refusal {
    Refusal(status, message)
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        api_error(self.0, self.1)
    }
}

fn api_error(status: StatusCode, message: &str) -> Response {
    reply(
        status,
        json!({"error": {"status": status.as_u16(), "message": message}}),
    )
}

fn track_json(t: &SpTrack) -> Value {
    if t.id.is_empty() {
        return Value::Null;
    }
    let mut v = simple_track_json(t);
    v["external_ids"] = t.isrc.as_ref().map_or(json!({}), |i| json!({"isrc": i}));
    v
}

/// An album's tracks are "simplified": no `external_ids`, so no ISRC.
fn simple_track_json(t: &SpTrack) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "duration_ms": t.duration_ms,
        "artists": [{"name": t.artist, "type": "artist"}],
        "is_local": false,
        "type": "track",
        "uri": format!("spotify:track:{}", t.id),
    })
}

/// `(offset, limit)`: `limit` 0..=50.
fn paging(q: &Form) -> Result<(usize, usize), Refusal> {
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= 50 => n,
            _ => return Err(refuse(StatusCode::BAD_REQUEST, "Invalid limit")),
        },
    };
    let offset = match q.get("offset") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "Invalid offset"))?,
    };
    Ok((offset, limit))
}

/// The items of one page, and the page's envelope (`next`, `total`, ...).
fn paged<T>(base: &str, path: &str, q: &Form, all: &[T], f: impl Fn(&T) -> Value) -> Response {
    let (offset, limit) = match paging(q) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let total = all.len();
    let start = offset.min(total);
    let end = (start + limit).min(total);
    let next =
        (limit > 0 && end < total).then(|| format!("{base}{path}?offset={end}&limit={limit}"));
    let previous = (start > 0).then(|| {
        format!(
            "{base}{path}?offset={}&limit={limit}",
            start.saturating_sub(limit)
        )
    });
    reply(
        StatusCode::OK,
        json!({
            "href": format!("{base}{path}?offset={offset}&limit={limit}"),
            "items": all[start..end].iter().map(f).collect::<Vec<_>>(),
            "limit": limit,
            "offset": offset,
            "total": total,
            "next": next,
            "previous": previous,
        }),
    )
}

/// The token's user, or the 401 Spotify gives an app token on a user route.
fn user_of(grant: &Access) -> Result<&str, Refusal> {
    grant.user.as_deref().ok_or_else(|| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "Valid user authentication required",
        )
    })
}

fn need_scope(grant: &Access, scope: &str) -> Result<(), Refusal> {
    if grant.scope.split(' ').any(|s| s == scope) {
        Ok(())
    } else {
        Err(refuse(StatusCode::FORBIDDEN, "Insufficient client scope"))
    }
}

/// Whether the caller owns the playlist or collaborates on it (the 2026 rule for items).
fn may_read(grant: &Access, p: &SpPlaylist) -> bool {
    grant
        .user
        .as_deref()
        .is_some_and(|u| u == p.owner || p.collaborative)
}

fn playlist_json(p: &SpPlaylist, base: &str, with_items: bool) -> Value {
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "owner": {"id": p.owner, "display_name": p.owner, "type": "user"},
        "collaborative": p.collaborative,
        "public": !p.collaborative,
        "type": "playlist",
        "uri": format!("spotify:playlist:{}", p.id),
    });
    if with_items {
        v["items"] =
            json!({"href": format!("{base}/v1/playlists/{}/items", p.id), "total": p.tracks.len()});
    }
    v
}

/// A stand-in timestamp, `minutes_ago` before 2026-03-31T23:59Z.
fn timestamp(minutes_ago: usize) -> String {
    let m = minutes_ago.min(30 * 24 * 60 - 1);
    let (day, rest) = (31 - m / (24 * 60), m % (24 * 60));
    format!(
        "2026-03-{day:02}T{:02}:{:02}:00Z",
        23 - rest / 60,
        59 - rest % 60
    )
}

pub(super) async fn web_api(
    State(state): State<Arc<Mutex<SpState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_owned();
    let token = bearer(&headers);
    let delay = {
        let mut s = lock(&state);
        s.calls.push(ApiCall {
            path: path.clone(),
            query: uri.query().unwrap_or_default().to_owned(),
            bearer: token.clone(),
        });
        s.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let s = lock(&state);
    let Some(grant) = token.as_deref().and_then(|t| s.access.get(t)) else {
        return api_error(StatusCode::UNAUTHORIZED, "No token provided");
    };
    if !grant.valid {
        return api_error(StatusCode::UNAUTHORIZED, "The access token expired");
    }
    if s.quota {
        let body = json!({"error": {
            "status": 429,
            "message": "This app has exceeded its quota",
            "reason": "QUOTA_EXCEEDED",
        }});
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, QUOTA_RETRY_AFTER_S.to_string())],
            axum::Json(body),
        )
            .into_response();
    }
    if method != Method::GET {
        return api_error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    }
    let q = Form::parse(&path, uri.query().unwrap_or_default());
    match route(&s, grant, &path, &q) {
        Ok(r) => r,
        Err(r) => r.into_response(),
    }
}

fn route(s: &SpState, grant: &Access, path: &str, q: &Form) -> Result<Response, Refusal> {
    let base = s.api_base.as_str();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let playlist = |id: &str| {
        s.playlists
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Resource not found"))
    };
    Ok(match segments.as_slice() {
        ["v1", "me"] => {
            let user = user_of(grant)?;
            reply(
                StatusCode::OK,
                json!({"id": user, "display_name": user, "type": "user", "product": "premium"}),
            )
        }
        ["v1", "me", "playlists"] => {
            user_of(grant)?;
            need_scope(grant, "playlist-read-private")?;
            paged(base, path, q, s.playlists.as_slice(), |p| {
                playlist_json(p, base, true)
            })
        }
        ["v1", "me", "tracks"] => {
            user_of(grant)?;
            need_scope(grant, "user-library-read")?;
            let liked: Vec<(usize, &SpTrack)> = s.liked.iter().enumerate().collect();
            paged(
                base,
                path,
                q,
                liked.as_slice(),
                |(i, t)| json!({"added_at": timestamp(i * 60), "track": track_json(t)}),
            )
        }
        ["v1", "me", "player", "recently-played"] => {
            user_of(grant)?;
            need_scope(grant, "user-read-recently-played")?;
            let (_, limit) = paging(q)?;
            let items: Vec<Value> = s
                .recent
                .iter()
                .filter(|t| !t.id.is_empty())
                .take(limit)
                .enumerate()
                .map(|(i, t)| json!({"track": track_json(t), "played_at": timestamp(i * 4)}))
                .collect();
            reply(
                StatusCode::OK,
                json!({"items": items, "next": null, "cursors": null, "limit": limit}),
            )
        }
        ["v1", "me", "top", "tracks"] => {
            user_of(grant)?;
            need_scope(grant, "user-top-read")?;
            let top: Vec<&SpTrack> = s.top.iter().filter(|t| !t.id.is_empty()).collect();
            paged(base, path, q, top.as_slice(), |t| track_json(t))
        }
        ["v1", "playlists", id] => {
            let p = playlist(id)?;
            reply(StatusCode::OK, playlist_json(p, base, may_read(grant, p)))
        }
        ["v1", "playlists", id, "items"] => {
            let p = playlist(id)?;
            if !may_read(grant, p) {
                return Err(refuse(StatusCode::FORBIDDEN, "Forbidden"));
            }
            paged(base, path, q, p.tracks.as_slice(), |t| {
                json!({
                    "added_at": "2026-01-01T00:00:00Z",
                    "added_by": {"id": p.owner, "type": "user"},
                    "is_local": false,
                    "item": track_json(t),
                })
            })
        }
        // Closed to Development-Mode apps since 9 March 2026.
        ["v1", "playlists", _, "tracks"] | ["v1", "tracks"] => {
            api_error(StatusCode::FORBIDDEN, "Forbidden")
        }
        ["v1", "tracks", id] => {
            let t = s
                .track(id)
                .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Resource not found"))?;
            reply(StatusCode::OK, track_json(t))
        }
        ["v1", "albums", id, "tracks"] => {
            let (_, tracks) = s
                .albums
                .iter()
                .find(|(a, _)| a == id)
                .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Resource not found"))?;
            paged(base, path, q, tracks.as_slice(), simple_track_json)
        }
        _ => api_error(StatusCode::NOT_FOUND, "Service not found"),
    })
}
