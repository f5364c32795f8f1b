//! What every AWS adapter shares: the SDK configuration, and SDK errors turned into something a
//! log line can carry.

pub use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;

/// An AWS call failed; the text holds the whole error chain (codes, messages), never
/// credentials, which the SDK does not put into errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AwsError(String);

impl AwsError {
    pub fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        Self(DisplayErrorContext(err).to_string())
    }
}

/// The SDK configuration from the standard sources: environment (including
/// `AWS_ENDPOINT_URL`, which the tests point at the emulator), profile, and the task or
/// function role.
pub async fn load_config() -> SdkConfig {
    crate::tls::install_crypto_provider();
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
