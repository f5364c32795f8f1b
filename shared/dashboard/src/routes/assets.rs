//! The dashboard's three files, built into the binary: no frontend build step, and the
//! Lambda stays one file. Their names change with their content, so they are cached a year.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const HTMX: &str = include_str!("../../assets/htmx-2.0.11.min.js");
const APP_JS: &str = include_str!("../../assets/app.js");
const APP_CSS: &str = include_str!("../../assets/app.css");

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind, cache) = match file.as_str() {
        "htmx-2.0.11.min.js" => (
            HTMX,
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        // Ours change without a new name: an hour, then revalidated.
        "app.js" => (
            APP_JS,
            "text/javascript; charset=utf-8",
            "public, max-age=3600",
        ),
        "app.css" => (APP_CSS, "text/css; charset=utf-8", "public, max-age=3600"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, cache)],
        body,
    )
        .into_response()
}
