//! A test certificate authority for the fake Discord's TLS endpoints.
//!
//! songbird always dials its voice endpoint as `wss://`, and verifies the server against the
//! platform's roots (tokio-websockets with rustls-native-certs). rustls-native-certs reads
//! `SSL_CERT_FILE` instead of the system store when it is set, so the test process points it
//! at this CA: one CA per process, and one server certificate for `localhost` and the
//! loopback addresses.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

struct TestCa {
    ca_pem_path: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

static CA: OnceLock<TestCa> = OnceLock::new();
static TRUSTED: OnceLock<()> = OnceLock::new();

fn ca() -> &'static TestCa {
    CA.get_or_init(|| {
        timmybot_config::tls::install_crypto_provider();

        let mut ca_params = CertificateParams::new(Vec::<String>::new())
            .expect("no subject alternative names is valid");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "TimmyBot test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("generating an ECDSA P-256 key");
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .expect("self-signing the test CA");
        let issuer = Issuer::new(ca_params, ca_key);

        let mut leaf_params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])
        .expect("localhost and loopback addresses are valid names");
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf_params.use_authority_key_identifier_extension = true;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate().expect("generating an ECDSA P-256 key");
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("signing the server certificate with the test CA");

        // The pid keeps concurrent test binaries from overwriting each other's CA; the file
        // outlives the process, which is harmless (a public certificate, no key).
        let ca_pem_path =
            std::env::temp_dir().join(format!("timmybot-test-ca-{}.pem", std::process::id()));
        std::fs::write(&ca_pem_path, ca_cert.pem()).expect("writing the test CA's PEM file");

        let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let server = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("rustls accepts the rcgen certificate and key");

        TestCa {
            ca_pem_path,
            server: Arc::new(server),
        }
    })
}

/// Makes TLS clients in this process that use the platform's roots (songbird's voice
/// WebSocket) trust the test CA, and only it. Idempotent.
pub fn trust_test_ca() {
    TRUSTED.get_or_init(|| {
        // Set once, before the first connection that reads it. Another thread reading the
        // environment at this instant is the usual set_var hazard; test processes accept it.
        std::env::set_var("SSL_CERT_FILE", &ca().ca_pem_path);
    });
}

/// The test CA's certificate, PEM-encoded, for clients that take roots explicitly.
pub fn ca_pem_path() -> &'static Path {
    &ca().ca_pem_path
}

/// A rustls server configuration presenting the `localhost` certificate signed by the test CA.
pub fn server_config() -> Arc<rustls::ServerConfig> {
    ca().server.clone()
}
