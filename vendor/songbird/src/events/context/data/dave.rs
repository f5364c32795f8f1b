use std::{
    fmt,
    hash::{Hash, Hasher},
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc,
        RwLock,
    },
};

/// A read-only view of a voice connection's DAVE (end-to-end encryption) state.
///
/// TimmyBot patch: songbird 0.6.1 keeps its `davey` session private, so a bot cannot tell
/// whether its audio is end-to-end encrypted, and a handshake that never completes goes
/// unnoticed (the mixer then sends transport-encrypted Opus, which DAVE clients drop).
/// This view shares the connection's session and negotiated version; reading it takes the
/// session's lock for a moment, as the mixer does each packet.
#[derive(Clone)]
pub struct DaveStatus {
    session: Arc<RwLock<Option<davey::DaveSession>>>,
    protocol_version: Arc<AtomicU16>,
}

impl DaveStatus {
    pub(crate) fn new(
        session: Arc<RwLock<Option<davey::DaveSession>>>,
        protocol_version: Arc<AtomicU16>,
    ) -> Self {
        Self {
            session,
            protocol_version,
        }
    }

    /// The DAVE protocol version in force: 0 when the voice server declined DAVE.
    #[must_use]
    pub fn protocol_version(&self) -> u16 {
        self.protocol_version.load(Ordering::Relaxed)
    }

    /// Whether the mixer end-to-end encrypts what it sends now: exactly its own condition
    /// (a non-zero version and a session whose group keys are ready).
    #[must_use]
    pub fn is_encrypting(&self) -> bool {
        self.protocol_version() != 0 && self.read(davey::DaveSession::is_ready).unwrap_or(false)
    }

    /// The MLS epoch of the group, once there is one.
    #[must_use]
    pub fn epoch(&self) -> Option<u64> {
        self.read(|s| s.epoch().map(|e| e.as_u64())).flatten()
    }

    /// The voice privacy code Discord's clients show for this call's current epoch.
    #[must_use]
    pub fn voice_privacy_code(&self) -> Option<String> {
        self.read(|s| s.voice_privacy_code().map(str::to_owned))
            .flatten()
    }

    fn read<T>(&self, f: impl FnOnce(&davey::DaveSession) -> T) -> Option<T> {
        // A poisoned lock still holds the session's last state, which is what we report.
        let guard = self
            .session
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().map(f)
    }
}

impl fmt::Debug for DaveStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaveStatus")
            .field("protocol_version", &self.protocol_version())
            .field("encrypting", &self.is_encrypting())
            .field("epoch", &self.epoch())
            .finish()
    }
}

/// Two views are equal when they watch the same connection.
impl PartialEq for DaveStatus {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.session, &other.session)
    }
}

impl Eq for DaveStatus {}

impl Hash for DaveStatus {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.session).hash(state);
    }
}
