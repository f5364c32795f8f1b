//! A tiny HTTP file server on loopback that counts every request, so a test can prove that
//! something was fetched, or that nothing was. Supports `Range` (songbird seeks with it)
//! and a redirect route.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

#[derive(Default)]
struct Files {
    files: HashMap<String, (Vec<u8>, &'static str)>,
    redirects: HashMap<String, String>,
    hits: AtomicUsize,
}

pub struct FileServer {
    pub addr: SocketAddr,
    state: Arc<Files>,
    _task: tokio::task::JoinHandle<()>,
}

pub struct FileServerBuilder {
    files: Files,
}

impl FileServer {
    pub fn builder() -> FileServerBuilder {
        FileServerBuilder {
            files: Files::default(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Requests served so far, of any kind.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }
}

impl FileServerBuilder {
    pub fn file(mut self, name: &str, bytes: Vec<u8>, content_type: &'static str) -> Self {
        self.files
            .files
            .insert(name.to_owned(), (bytes, content_type));
        self
    }

    /// `GET /name` answers 302 to `to`.
    pub fn redirect(mut self, name: &str, to: &str) -> Self {
        self.files.redirects.insert(name.to_owned(), to.to_owned());
        self
    }

    pub async fn serve_on(self, bind: &str) -> FileServer {
        let state = Arc::new(self.files);
        let app = Router::new()
            .route("/{*path}", get(serve))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .expect("bind the test file server");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FileServer {
            addr,
            state,
            _task: task,
        }
    }

    pub async fn serve(self) -> FileServer {
        self.serve_on("127.0.0.1:0").await
    }
}

async fn serve(
    State(s): State<Arc<Files>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    if let Some(to) = s.redirects.get(&path) {
        return (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response();
    }
    let Some((bytes, ctype)) = s.files.get(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let total = bytes.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .and_then(|(a, b)| {
            let start: usize = a.parse().ok()?;
            let end: usize = if b.is_empty() {
                total.checked_sub(1)?
            } else {
                b.parse().ok()?
            };
            (start <= end && end < total).then_some((start, end))
        });
    match range {
        Some((start, end)) => Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_TYPE, *ctype)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{total}"),
            )
            .header(header::CONTENT_LENGTH, end - start + 1)
            .body(Body::from(bytes[start..=end].to_vec()))
            .unwrap_or_default(),
        None => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, *ctype)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CONTENT_LENGTH, total)
            .body(Body::from(bytes.clone()))
            .unwrap_or_default(),
    }
}
