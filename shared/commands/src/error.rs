//! Why a command failed, and how each failure reaches the user: their mistakes as the
//! sentence itself, ours as a generic sentence and a log line.

use twilight_model::http::interaction::InteractionResponse;

use timmybot_bus::BusError;
use timmybot_discord::command::ArgError;
use timmybot_discord::reply;
use timmybot_domain::QueueError;
use timmybot_store::StoreError;

use crate::ports::LookupError;

/// Why a command did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The user's request cannot be done as asked; the text says why and is shown to them.
    #[error("{0}")]
    User(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// Discord sent something it never should; logged, and the user hears we failed.
    #[error("the interaction is malformed: {0}")]
    Malformed(String),
}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        match err {
            e @ (StoreError::Queue(_)
            | StoreError::Contended { .. }
            | StoreError::ItemTooLarge { .. }) => Self::User(reply::sentence(&e.to_string())),
            e => Self::Store(e),
        }
    }
}

impl From<QueueError> for CommandError {
    fn from(err: QueueError) -> Self {
        StoreError::Queue(err).into()
    }
}

impl From<ArgError> for CommandError {
    fn from(err: ArgError) -> Self {
        Self::User(err.to_string())
    }
}

/// A command's result as the user sees it: their mistakes as a sentence, our failures as a
/// sentence and a log line (named by `id`, never by a token).
pub(crate) fn answer(
    result: Result<InteractionResponse, CommandError>,
    id: &dyn std::fmt::Display,
) -> (InteractionResponse, bool) {
    match result {
        Ok(response) => (response, false),
        Err(CommandError::User(message)) => (reply::ephemeral(message), false),
        Err(err) => {
            tracing::error!(interaction = %id, error = %err, "interaction failed");
            (reply::ephemeral(reply::INTERNAL_ERROR), true)
        }
    }
}
