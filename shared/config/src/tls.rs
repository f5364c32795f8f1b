//! One TLS crypto provider for the process. The dependency tree enables both of rustls's
//! providers (the AWS SDK brings aws-lc-rs, the Discord crates ring), and rustls then
//! refuses to guess; every binary picks aws-lc-rs at start.

/// Installs aws-lc-rs as the process's rustls provider. Idempotent.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
