//! The browser harness end to end: a page on loopback whose button's script (a separate
//! `/app.js`, under a strict Content-Security-Policy, as the dashboard's will be) changes a
//! text, driven by `tests/browser/smoke.mjs` in Chromium. A script that fails must fail the
//! test with what it printed.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use timmybot_tests::browser;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Harness smoke</title><script src="/app.js" defer></script></head>
<body><button id="go">Click</button> <span id="status">not clicked</span></body>
</html>
"#;

const APP_JS: &str = r#"document.getElementById('go').addEventListener('click', () => {
  document.getElementById('status').textContent = 'clicked';
});
"#;

/// No inline script may run: only /app.js from this origin.
const CSP: &str = "default-src 'none'; script-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Serves the page on a free loopback port; returns its URL.
async fn serve() -> String {
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CONTENT_SECURITY_POLICY, CSP),
                    ],
                    PAGE,
                )
                    .into_response()
            }),
        )
        .route(
            "/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    APP_JS,
                )
                    .into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the listener's address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_changes_the_text_and_a_screenshot_is_saved() {
    let url = serve().await;
    let shots = browser::screenshot_dir("browser_harness");
    let stdout = browser::run(
        &browser::script_path("smoke.mjs"),
        &[
            ("URL", url.as_str()),
            ("SCREENSHOT_DIR", shots.to_str().unwrap()),
        ],
    )
    .await;
    let lines = browser::json_lines(&stdout);
    let [result] = lines.as_slice() else {
        panic!("smoke.mjs should print one JSON line, it printed:\n{stdout}");
    };
    assert_eq!(result["text"], "clicked", "{result}");
    let shot = shots.join("clicked.png");
    assert_eq!(result["screenshot"], shot.to_str().unwrap(), "{result}");
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("reading {}: {e}", shot.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "{} is not a PNG ({} bytes)",
        shot.display(),
        png.len()
    );
    eprintln!(
        "Chromium started in {} ms; screenshot {}",
        result["launch_ms"],
        shot.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_script_fails_the_test_with_what_it_printed() {
    let url = serve().await;
    let shots = browser::screenshot_dir("browser_harness_failing");
    let script = browser::script_path("smoke.mjs");
    let env = [
        ("URL", url),
        ("SCREENSHOT_DIR", shots.to_str().unwrap().to_owned()),
        ("EXPECT", "something else".to_owned()),
    ];
    let err = tokio::spawn(async move { browser::run(&script, &env).await })
        .await
        .expect_err("a script whose check fails must fail the test");
    let panic = err.into_panic();
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| "<a panic without a message>".to_owned());
    for want in [
        "smoke.mjs failed",
        r#"expected #status to have the text "something else""#,
        r#"it has "clicked""#,
        "Click clicked",
        "smoke-failure.png",
    ] {
        assert!(message.contains(want), "no {want:?} in:\n{message}");
    }
    assert!(shots.join("smoke-failure.png").is_file());
}
