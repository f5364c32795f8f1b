//! The HTTP edge: one axum Router, served by Lambda or by `--listen`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use twilight_model::application::interaction::Interaction;

use timmybot_commands::Core;
use timmybot_config::names::routes;

use crate::verify::{Verifier, VerifyError};

/// Discord's interaction payloads are a few KiB; anything far larger is not one.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct App {
    pub verifier: Verifier,
    /// Shared: embedded mode also answers gateway interactions with it.
    pub core: Arc<Core>,
    pub telemetry: Arc<dyn crate::telemetry::Telemetry>,
    /// The web dashboard, under `/dashboard`, when it is configured.
    pub dashboard: Option<Arc<timmybot_dashboard::Dashboard>>,
}

pub fn router(app: Arc<App>) -> Router {
    let dashboard = app.dashboard.clone().map(timmybot_dashboard::router);
    let edge = Router::new()
        .route(routes::INTERACTIONS, post(interactions))
        .route(routes::HEALTH, get(health))
        .route(
            routes::SPOTIFY_CALLBACK,
            get(crate::oauth::spotify_callback),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app);
    match dashboard {
        Some(dashboard) => edge.merge(dashboard.layer(DefaultBodyLimit::max(BODY_LIMIT))),
        None => edge,
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Why a request was turned away at the edge, before any command logic ran.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// 401: Discord probes endpoints with bad signatures.
    Unverified(VerifyError),
    /// 400: signed, but not an interaction.
    NotAnInteraction,
}

/// The edge's whole check, free of HTTP types: the signature over the raw body, then
/// twilight-model's parse. Fuzzed (`fuzz/`).
pub fn admit(
    verifier: &Verifier,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now_secs: u64,
) -> Result<Interaction, Rejection> {
    verifier
        .verify(signature, timestamp, body, now_secs)
        .map_err(Rejection::Unverified)?;
    serde_json::from_slice(body).map_err(|_| Rejection::NotAnInteraction)
}

async fn interactions(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now_secs = app.core.clock().now_ms() / 1000;
    let signature = header("x-signature-ed25519");
    let timestamp = header("x-signature-timestamp");
    match admit(&app.verifier, signature, timestamp, &body, now_secs) {
        Ok(interaction) => {
            let started = std::time::Instant::now();
            let (response, handled) = app.core.handle_observed(&interaction).await;
            app.telemetry
                .interaction(handled, started.elapsed(), app.core.clock().now_ms());
            Json(response).into_response()
        }
        Err(Rejection::Unverified(err)) => {
            tracing::info!(reason = %err, "refused an unverified request");
            (StatusCode::UNAUTHORIZED, "invalid request signature").into_response()
        }
        Err(Rejection::NotAnInteraction) => {
            tracing::info!("signed body is not an interaction");
            (StatusCode::BAD_REQUEST, "not an interaction").into_response()
        }
    }
}
