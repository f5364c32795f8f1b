//! The HTTP edge: one axum Router, served by Lambda or by `--listen`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use twilight_model::application::interaction::Interaction;

use crate::core::Core;
use crate::verify::Verifier;

/// Discord's interaction payloads are a few KiB; anything far larger is not one.
pub const BODY_LIMIT: usize = 64 * 1024;

pub const INTERACTIONS_PATH: &str = "/interactions";
pub const HEALTH_PATH: &str = "/health";

pub struct App {
    pub verifier: Verifier,
    pub core: Core,
    pub clock: Arc<dyn timmybot_shared::clock::Clock>,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(INTERACTIONS_PATH, post(interactions))
        .route(HEALTH_PATH, get(health))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn interactions(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now_secs = app.clock.now_ms() / 1000;
    if let Err(err) = app.verifier.verify(
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
        &body,
        now_secs,
    ) {
        tracing::info!(reason = %err, "refused an unverified request");
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(err) => {
            tracing::info!(error = %err, "signed body is not an interaction");
            return (StatusCode::BAD_REQUEST, "not an interaction").into_response();
        }
    };
    Json(app.core.handle(&interaction).await).into_response()
}
