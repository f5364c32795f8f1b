//! Logs for the server binaries: JSON lines on stdout, filtered by `RUST_LOG` (default
//! `info`). What gets logged never carries a secret; see the redacting `Debug` impls.

pub fn init_json_logs() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}
