//! The server side of Discord's DAVE end-to-end encryption protocol (protocol version 1), as a
//! fake Discord voice gateway needs it, plus [`Listener`], a simulated call member.
//!
//! Discord's voice gateway is the MLS *delivery service* and the group's single *external
//! sender*: it never holds group secrets. It hands every client its external-sender package
//! (op 25), turns validated key packages (op 26) into external Add proposals (op 27), turns
//! departures into external Remove proposals (op 27), picks the first valid commit of an epoch
//! (op 28), broadcasts it (op 29), forwards each added member its part of the welcome (op 30),
//! and sequences the transitions (ops 21–24). [`DaveServer`] does all of that with `openmls`
//! for one call; clients are real `davey` sessions (songbird's bot, or [`Listener`]).
//!
//! Wire format, as songbird 0.6.1 speaks it (voice gateway v4, via `serenity-voice-model`
//! 0.3.0): every binary WebSocket frame is `[opcode: u8][payload]`, in both directions, with
//! **no** `u16` sequence number (the DAVE spec's `sequence_number` exists only from gateway v8
//! on). [`BinaryFrame::to_ws_bytes`] produces exactly that; [`BinaryFrame::to_ws_bytes_v8`]
//! adds the v8 sequence number for a future client. JSON ops are `{"op": N, "d": {...}}`.
//!
//! What the server does *not* check: member signatures on commits. A member's commit is signed
//! over the group context (tree hash, transcript hash), which only members know; like Discord's
//! gateway, the server checks the structure instead (group, epoch, sender leaf, exactly the
//! outstanding proposal references, no identity change in the update path, a welcome for every
//! added member). Key packages and the server's own proposals are fully verified/signed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::num::NonZeroU16;

use davey::{DaveSession, MediaType, ProposalsOperationType};
use openmls::prelude::hash_ref::make_proposal_ref;
use openmls::prelude::tls_codec::{
    self, DeserializeBytes as TlsDeserializeBytes, Serialize as TlsSerialize, VLBytes,
};
use openmls::prelude::{
    BasicCredential, Ciphersuite, CredentialType, CryptoError, EncryptedGroupSecrets,
    ExternalProposal, ExternalSender, GroupEpoch, GroupId, KeyPackage, KeyPackageIn,
    KeyPackageVerifyError, LeafNodeIndex, MlsMessageBodyIn, MlsMessageIn, OpenMlsCrypto,
    OpenMlsProvider, ProtocolVersion, Sender, SenderExtensionIndex, Welcome,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::{OpenMlsRustCrypto, RustCrypto};
use serde_json::{json, Value};

/// The highest (and only) DAVE protocol version this module speaks; `davey` 0.1.5 and therefore
/// songbird 0.6.1 speak only version 1 too (`davey::DAVE_PROTOCOL_VERSION`).
pub const DAVE_PROTOCOL_VERSION: u16 = 1;

/// The last two bytes of every DAVE-protected frame (protocol "Frame check").
pub const DAVE_MAGIC_MARKER: [u8; 2] = [0xFA, 0xFA];

/// The MLS ciphersuite DAVE protocol version 1 mandates (MLS ciphersuite 2).
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256;

/// The identity in the server's (external sender's) basic credential. Discord does not document
/// its own; clients only check that the group's external sender equals the op 25 package.
pub const EXTERNAL_SENDER_IDENTITY: &[u8] = b"timmybot-fake-voice-gateway";

/// Voice gateway opcodes used by DAVE (plus 11 and 13, which DAVE relies on).
pub mod opcode {
    /// JSON, server→client: user ids now in the call (`{"user_ids": ["<id>", ...]}`).
    pub const CLIENTS_CONNECT: u8 = 11;
    /// JSON, server→client: one user left (`{"user_id": "<id>"}`).
    pub const CLIENT_DISCONNECT: u8 = 13;
    /// JSON, server→client: `{"protocol_version", "transition_id"}`.
    pub const PREPARE_TRANSITION: u8 = 21;
    /// JSON, server→client: `{"transition_id"}`.
    pub const EXECUTE_TRANSITION: u8 = 22;
    /// JSON, client→server: `{"transition_id", "protocol_version"}`.
    pub const READY_FOR_TRANSITION: u8 = 23;
    /// JSON, server→client: `{"protocol_version", "epoch"}`.
    pub const PREPARE_EPOCH: u8 = 24;
    /// Binary, server→client: the TLS-serialised `ExternalSender`.
    pub const MLS_EXTERNAL_SENDER: u8 = 25;
    /// Binary, client→server: a key package (davey: bare `KeyPackage`).
    pub const MLS_KEY_PACKAGE: u8 = 26;
    /// Binary, server→client: `[operation_type: u8][vector<V> of MLSMessage | ProposalRef]`.
    pub const MLS_PROPOSALS: u8 = 27;
    /// Binary, client→server: `[commit MLSMessage][Welcome, only if the commit adds members]`.
    pub const MLS_COMMIT_WELCOME: u8 = 28;
    /// Binary, server→client: `[transition_id: u16 BE][commit MLSMessage]`.
    pub const MLS_ANNOUNCE_COMMIT_TRANSITION: u8 = 29;
    /// Binary, server→client: `[transition_id: u16 BE][Welcome]`.
    pub const MLS_WELCOME: u8 = 30;
    /// JSON, client→server: `{"transition_id"}`.
    pub const MLS_INVALID_COMMIT_WELCOME: u8 = 31;
}

/// Everything that can go wrong on either side of the DAVE handshake.
#[derive(Debug, thiserror::Error)]
pub enum DaveError {
    /// A frame or MLS structure could not be parsed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The key package failed openmls validation (signatures, lifetime validity, keys).
    #[error("key package rejected by openmls: {0}")]
    KeyPackageInvalid(#[from] KeyPackageVerifyError),
    /// The key package is not for MLS_128_DHKEMP256_AES128GCM_SHA256_P256.
    #[error("key package uses ciphersuite {0:?}; DAVE v1 requires MLS_128_DHKEMP256_AES128GCM_SHA256_P256")]
    WrongCiphersuite(Ciphersuite),
    /// The key package's leaf node does not carry a basic credential.
    #[error("key package credential type is {0:?}; DAVE requires a basic credential")]
    WrongCredentialType(CredentialType),
    /// The basic credential identity is not the session's user id as a big-endian u64.
    #[error(
        "key package credential identity {found:02x?} is not user {expected} as a big-endian u64"
    )]
    CredentialMismatch {
        /// The authenticated user id of the connection.
        expected: u64,
        /// The identity bytes found in the credential.
        found: Vec<u8>,
    },
    /// The key package lifetime is not the maximal span DAVE requires.
    #[error("key package lifetime must be 0..=u64::MAX, got {not_before}..={not_after}")]
    Lifetime {
        /// `not_before` of the key package.
        not_before: u64,
        /// `not_after` of the key package.
        not_after: u64,
    },
    /// The user is not connected to this call.
    #[error("user {0} is not connected to this call")]
    UnknownClient(u64),
    /// The user is already connected to this call.
    #[error("user {0} is already connected to this call")]
    AlreadyConnected(u64),
    /// A commit for another MLS group.
    #[error("commit is for group {found:02x?}, this call's group is {expected:02x?}")]
    WrongGroup {
        /// This call's group id.
        expected: Vec<u8>,
        /// The commit's group id.
        found: Vec<u8>,
    },
    /// A commit for another epoch (typically the loser of a commit race).
    #[error("commit is for epoch {found}, the group is at epoch {expected}")]
    WrongEpoch {
        /// The server's epoch.
        expected: u64,
        /// The commit's epoch.
        found: u64,
    },
    /// The commit is not a public commit message.
    #[error("not a public commit message: {0}")]
    NotACommit(&'static str),
    /// The commit's sender is not the leaf of the user who sent it.
    #[error("commit sender {sender} does not match user {user}'s leaf")]
    CommitSender {
        /// The user whose connection carried the commit.
        user: u64,
        /// The commit's sender, as openmls prints it.
        sender: String,
    },
    /// The commit carries a proposal by value; DAVE allows only references.
    #[error("commit carries a proposal by value; DAVE allows only proposal references")]
    InlineProposal,
    /// The commit references no proposals.
    #[error("commit references no proposals")]
    EmptyCommit,
    /// The commit does not reference exactly the proposals outstanding for its sender.
    #[error("commit must reference exactly the {expected} outstanding proposals: {missing} missing, {unknown} unknown or repeated")]
    ProposalMismatch {
        /// How many proposals were outstanding for the committer.
        expected: usize,
        /// How many of those the commit left out.
        missing: usize,
        /// How many references were unknown or repeated.
        unknown: usize,
    },
    /// The commit's update path changes the committer's credential or signature key.
    #[error("commit's update path changes the committer's credential or signature key")]
    PathChangesIdentity,
    /// The commit adds members but op 28 carried no welcome.
    #[error("commit adds members but no welcome came with it")]
    MissingWelcome,
    /// Op 28 carried a welcome for a commit that adds nobody.
    #[error("a welcome came with a commit that adds nobody")]
    UnexpectedWelcome,
    /// The welcome has no group secrets for one of the added users.
    #[error("welcome has no group secrets for added user {0}")]
    WelcomeMissingMember(u64),
    /// The welcome has group secrets for a key package nobody is adding.
    #[error("welcome has group secrets for a key package that the commit does not add")]
    WelcomeUnknownMember,
    /// An op 23/22 for a transition the server does not know.
    #[error("unknown transition id {0}")]
    UnknownTransition(u16),
    /// An opcode this side does not handle.
    #[error("opcode {0} is not one this side of DAVE handles")]
    UnexpectedOpcode(u8),
    /// TLS (de)serialisation failed.
    #[error("TLS codec: {0}")]
    Tls(#[from] tls_codec::Error),
    /// A cryptographic primitive failed.
    #[error("crypto: {0:?}")]
    Crypto(CryptoError),
    /// openmls refused to build a proposal.
    #[error("openmls: {0}")]
    Mls(String),
    /// A davey session call failed (Listener side).
    #[error("davey {op}: {message}")]
    Davey {
        /// The davey call.
        op: &'static str,
        /// davey's error, printed.
        message: String,
    },
}

impl From<CryptoError> for DaveError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}

fn malformed(what: &'static str, reason: impl fmt::Display) -> DaveError {
    DaveError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

fn davey_err(op: &'static str, e: impl fmt::Debug) -> DaveError {
    DaveError::Davey {
        op,
        message: format!("{e:?}"),
    }
}

/// The MLS group id of a call: the channel id as a big-endian u64 (what davey uses).
pub fn group_id_for_channel(channel_id: u64) -> [u8; 8] {
    channel_id.to_be_bytes()
}

/// The `dave_protocol_version` to put in Session Description (op 4) for a client whose
/// Identify (op 0) carried `max_dave_protocol_version` (None when the field was absent).
/// songbird 0.6.1 always sends `Some(1)`.
pub fn negotiate_protocol_version(max_dave_protocol_version: Option<u16>) -> u16 {
    max_dave_protocol_version.map_or(0, |v| v.min(DAVE_PROTOCOL_VERSION))
}

/// One binary voice gateway frame: the opcode and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryFrame {
    /// The DAVE opcode (25–30).
    pub opcode: u8,
    /// The bytes after the opcode byte (and after the sequence number, on v8).
    pub payload: Vec<u8>,
}

impl BinaryFrame {
    /// The WebSocket binary message for voice gateway v4 (what songbird 0.6.1 dials):
    /// `[opcode][payload]`, no sequence number, in both directions.
    pub fn to_ws_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.payload.len());
        out.push(self.opcode);
        out.extend_from_slice(&self.payload);
        out
    }

    /// The server→client message for voice gateway v8, which prefixes a big-endian u16
    /// sequence number. Not what songbird 0.6.1 parses; here for a future client.
    pub fn to_ws_bytes_v8(&self, sequence_number: u16) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.payload.len());
        out.extend_from_slice(&sequence_number.to_be_bytes());
        out.extend_from_slice(&self.to_ws_bytes());
        out
    }

    /// Parses a v4 binary message (`[opcode][payload]`).
    pub fn from_ws_bytes(bytes: &[u8]) -> Result<Self, DaveError> {
        let (&opcode, payload) = bytes
            .split_first()
            .ok_or_else(|| malformed("binary frame", "empty"))?;
        Ok(Self {
            opcode,
            payload: payload.to_vec(),
        })
    }
}

/// A voice gateway WebSocket message, either direction: binary (DAVE ops 25–30) or JSON text.
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayMessage {
    /// A binary message.
    Binary(BinaryFrame),
    /// A text message, `{"op": N, "d": {...}}`.
    Json(Value),
}

impl GatewayMessage {
    /// The opcode, for either kind (None for JSON without a numeric `op`).
    pub fn opcode(&self) -> Option<u8> {
        match self {
            Self::Binary(frame) => Some(frame.opcode),
            Self::Json(value) => value
                .get("op")
                .and_then(Value::as_u64)
                .and_then(|op| u8::try_from(op).ok()),
        }
    }
}

/// A message the server must send to one user's voice WebSocket, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// The recipient's user id.
    pub to: u64,
    /// What to send.
    pub message: GatewayMessage,
}

fn json_op(op: u8, d: Value) -> GatewayMessage {
    GatewayMessage::Json(json!({ "op": op, "d": d }))
}

/// Op 11 `clients_connect`: `{"op":11,"d":{"user_ids":["<id>",...]}}` (ids as strings).
/// Must reach a member before any op 27 that adds one of these users: songbird refuses Add
/// proposals for users it has not seen here.
pub fn clients_connect(user_ids: &[u64]) -> GatewayMessage {
    let ids: Vec<String> = user_ids.iter().map(u64::to_string).collect();
    json_op(opcode::CLIENTS_CONNECT, json!({ "user_ids": ids }))
}

/// Op 13 `client_disconnect`: `{"op":13,"d":{"user_id":"<id>"}}`.
pub fn client_disconnect(user_id: u64) -> GatewayMessage {
    json_op(
        opcode::CLIENT_DISCONNECT,
        json!({ "user_id": user_id.to_string() }),
    )
}

/// Op 21 `dave_protocol_prepare_transition`: `{"protocol_version":V,"transition_id":T}`.
/// `transition_id` 0 means "execute now" (used after a sole-member reset).
pub fn prepare_transition(transition_id: u16, protocol_version: u16) -> GatewayMessage {
    json_op(
        opcode::PREPARE_TRANSITION,
        json!({ "protocol_version": protocol_version, "transition_id": transition_id }),
    )
}

/// Op 22 `dave_protocol_execute_transition`: `{"transition_id":T}`.
pub fn execute_transition(transition_id: u16) -> GatewayMessage {
    json_op(
        opcode::EXECUTE_TRANSITION,
        json!({ "transition_id": transition_id }),
    )
}

/// Op 24 `dave_protocol_prepare_epoch`: `{"protocol_version":V,"epoch":E}`; epoch 1 makes
/// clients drop their group and send a new key package.
pub fn prepare_epoch(epoch: u64, protocol_version: u16) -> GatewayMessage {
    json_op(
        opcode::PREPARE_EPOCH,
        json!({ "protocol_version": protocol_version, "epoch": epoch }),
    )
}

/// Op 23 `dave_protocol_ready_for_transition`, as a client sends it:
/// `{"transition_id":T,"protocol_version":V}` (songbird includes `protocol_version`).
pub fn ready_for_transition(transition_id: u16, protocol_version: u16) -> GatewayMessage {
    json_op(
        opcode::READY_FOR_TRANSITION,
        json!({ "transition_id": transition_id, "protocol_version": protocol_version }),
    )
}

/// Op 31 `dave_mls_invalid_commit_welcome`, as a client sends it: `{"transition_id":T}`.
pub fn invalid_commit_welcome(transition_id: u16) -> GatewayMessage {
    json_op(
        opcode::MLS_INVALID_COMMIT_WELCOME,
        json!({ "transition_id": transition_id }),
    )
}

fn json_u16(value: &Value, key: &'static str) -> Result<u16, DaveError> {
    value
        .get("d")
        .and_then(|d| d.get(key))
        .and_then(Value::as_u64)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| malformed("JSON op", format!("missing or bad d.{key}")))
}

fn json_u64_loose(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        other => other.as_u64(),
    }
}

/// A displayable code as Discord's clients show the voice privacy code (protocol "Displayable
/// Codes"): each group of `group` digits is the next `group` bytes of `data` read as a
/// big-endian integer, modulo 10^`group`, zero-padded. The privacy code is the epoch
/// authenticator as 30 digits in groups of 5. `None` if `data` is too short or the sizes do
/// not fit the algorithm (a group of 1 to 7 digits that divides `digits`).
pub fn displayable_code(data: &[u8], digits: usize, group: usize) -> Option<String> {
    if !(1..8).contains(&group) || digits % group != 0 || data.len() < digits {
        return None;
    }
    let modulus = 10u64.pow(u32::try_from(group).ok()?);
    let mut code = String::with_capacity(digits);
    for chunk in data[..digits].chunks(group) {
        let value = chunk.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        code.push_str(&format!("{:0width$}", value % modulus, width = group));
    }
    Some(code)
}

/// A key package that passed [`validate_key_package`].
#[derive(Debug, Clone)]
pub struct ValidatedKeyPackage {
    /// The user the key package belongs to.
    pub user_id: u64,
    /// The verified key package.
    pub key_package: KeyPackage,
    /// Its `KeyPackageRef` hash (what a welcome's group secrets are addressed to).
    pub reference: Vec<u8>,
}

/// Validates an op 26 payload for the connection authenticated as `user_id`, as DAVE's gateway
/// must before proposing it: openmls verification (key package and leaf signatures, lifetime
/// currently valid, init key ≠ encryption key, MLS 1.0), ciphersuite
/// MLS_128_DHKEMP256_AES128GCM_SHA256_P256, a basic credential whose identity is `user_id` as a
/// big-endian u64, and lifetime exactly `0..=u64::MAX`. Accepts a bare `KeyPackage` (what davey
/// and songbird send) or one wrapped in an `MLSMessage` (what the spec text says).
pub fn validate_key_package(
    user_id: u64,
    payload: &[u8],
) -> Result<ValidatedKeyPackage, DaveError> {
    validate_key_package_with(&RustCrypto::default(), user_id, payload)
}

fn validate_key_package_with(
    crypto: &impl OpenMlsCrypto,
    user_id: u64,
    payload: &[u8],
) -> Result<ValidatedKeyPackage, DaveError> {
    // A bare KeyPackage starts version(0x0001) ciphersuite(u16); an MLSMessage starts
    // version(0x0001) wire_format(0x0005 = mls_key_package).
    let key_package_in = if payload.get(2..4) == Some(&[0x00, 0x05][..]) {
        let message = MlsMessageIn::tls_deserialize_exact_bytes(payload)?;
        match message.extract() {
            MlsMessageBodyIn::KeyPackage(kp) => kp,
            _ => return Err(malformed("key package", "MLSMessage is not a key package")),
        }
    } else {
        KeyPackageIn::tls_deserialize_exact_bytes(payload)?
    };
    let key_package = key_package_in.validate(crypto, ProtocolVersion::Mls10)?;
    if key_package.ciphersuite() != CIPHERSUITE {
        return Err(DaveError::WrongCiphersuite(key_package.ciphersuite()));
    }
    let credential = key_package.leaf_node().credential();
    if credential.credential_type() != CredentialType::Basic {
        return Err(DaveError::WrongCredentialType(credential.credential_type()));
    }
    if credential.serialized_content() != user_id.to_be_bytes() {
        return Err(DaveError::CredentialMismatch {
            expected: user_id,
            found: credential.serialized_content().to_vec(),
        });
    }
    let lifetime = key_package.life_time();
    if lifetime.not_before() != 0 || lifetime.not_after() != u64::MAX {
        return Err(DaveError::Lifetime {
            not_before: lifetime.not_before(),
            not_after: lifetime.not_after(),
        });
    }
    let reference = key_package
        .hash_ref(crypto)
        .map_err(|e| DaveError::Mls(e.to_string()))?
        .as_slice()
        .to_vec();
    Ok(ValidatedKeyPackage {
        user_id,
        key_package,
        reference,
    })
}

// ---------------------------------------------------------------------------------------------
// Parsing of the MLS structures the gateway must look into. openmls keeps a commit's body
// private, so the few fields DAVE's gateway needs are read with tls_codec here (RFC 9420 §6).

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn read<T: TlsDeserializeBytes>(&mut self, what: &'static str) -> Result<T, DaveError> {
        let (value, rest) = T::tls_deserialize_bytes(self.0).map_err(|e| malformed(what, e))?;
        self.0 = rest;
        Ok(value)
    }

    fn vl(&mut self, what: &'static str) -> Result<Vec<u8>, DaveError> {
        Ok(self.read::<VLBytes>(what)?.as_slice().to_vec())
    }
}

/// The first fields of a LeafNode in an UpdatePath.
struct PathLeaf {
    signature_key: Vec<u8>,
    credential_type: u16,
    identity: Vec<u8>,
}

struct ParsedCommit {
    group_id: Vec<u8>,
    epoch: u64,
    sender: Sender,
    proposal_refs: Vec<Vec<u8>>,
    has_inline_proposal: bool,
    path_leaf: Option<PathLeaf>,
}

const WIRE_FORMAT_PUBLIC: u16 = 1;
const CONTENT_TYPE_COMMIT: u8 = 3;
const PROPOSAL_OR_REF_PROPOSAL: u8 = 1;
const PROPOSAL_OR_REF_REFERENCE: u8 = 2;
const CREDENTIAL_TYPE_BASIC: u16 = 1;

fn parse_commit(bytes: &[u8]) -> Result<ParsedCommit, DaveError> {
    // Full well-formedness check by openmls first; the walk below then cannot go astray.
    MlsMessageIn::tls_deserialize_exact_bytes(bytes).map_err(|e| malformed("commit", e))?;
    let mut c = Cursor(bytes);
    let version: u16 = c.read("commit version")?;
    if version != 1 {
        return Err(DaveError::NotACommit("MLS version is not 1.0"));
    }
    let wire_format: u16 = c.read("commit wire format")?;
    if wire_format != WIRE_FORMAT_PUBLIC {
        return Err(DaveError::NotACommit("not a PublicMessage"));
    }
    let group_id = c.vl("commit group id")?;
    let epoch: u64 = c.read("commit epoch")?;
    let sender: Sender = c.read("commit sender")?;
    let _authenticated_data = c.vl("commit authenticated data")?;
    let content_type: u8 = c.read("commit content type")?;
    if content_type != CONTENT_TYPE_COMMIT {
        return Err(DaveError::NotACommit("content type is not commit"));
    }
    let proposals = c.vl("commit proposals")?;
    let mut proposal_refs = Vec::new();
    let mut has_inline_proposal = false;
    let mut p = Cursor(&proposals);
    while !p.0.is_empty() {
        match p.read::<u8>("proposal-or-ref type")? {
            PROPOSAL_OR_REF_REFERENCE => proposal_refs.push(p.vl("proposal ref")?),
            PROPOSAL_OR_REF_PROPOSAL => {
                has_inline_proposal = true;
                break;
            }
            other => return Err(malformed("commit", format!("ProposalOrRef type {other}"))),
        }
    }
    let path_present: u8 = c.read("commit path presence")?;
    let path_leaf = match path_present {
        0 => None,
        1 => {
            let _encryption_key = c.vl("path leaf encryption key")?;
            let signature_key = c.vl("path leaf signature key")?;
            let credential_type: u16 = c.read("path leaf credential type")?;
            let identity = if credential_type == CREDENTIAL_TYPE_BASIC {
                c.vl("path leaf identity")?
            } else {
                Vec::new()
            };
            Some(PathLeaf {
                signature_key,
                credential_type,
                identity,
            })
        }
        other => {
            return Err(malformed(
                "commit",
                format!("optional<UpdatePath> tag {other}"),
            ))
        }
    };
    Ok(ParsedCommit {
        group_id,
        epoch,
        sender,
        proposal_refs,
        has_inline_proposal,
        path_leaf,
    })
}

/// Splits an op 28 payload into the commit `MLSMessage` and the optional `Welcome`.
/// songbird (serenity-voice-model) appends the bare Welcome with no presence byte, as the DAVE
/// spec's `select (commit_adds_members)` says; an RFC-style `optional<Welcome>` (0x00 / 0x01
/// prefix) is accepted too. A bare Welcome starts with ciphersuite 0x0002, so no ambiguity.
fn split_commit_welcome(payload: &[u8]) -> Result<(&[u8], Option<&[u8]>), DaveError> {
    let (_, rest) =
        MlsMessageIn::tls_deserialize_bytes(payload).map_err(|e| malformed("op 28 commit", e))?;
    let commit = &payload[..payload.len() - rest.len()];
    let welcome = match rest {
        [] | [0x00] => None,
        [0x01, welcome @ ..] => Some(welcome),
        welcome => Some(welcome),
    };
    Ok((commit, welcome))
}

/// A welcome split into its group secrets and the shared encrypted group info.
struct SplitWelcome {
    ciphersuite: u16,
    secrets: Vec<EncryptedGroupSecrets>,
    encrypted_group_info: Vec<u8>,
}

fn split_welcome(bytes: &[u8]) -> Result<SplitWelcome, DaveError> {
    Welcome::tls_deserialize_exact_bytes(bytes).map_err(|e| malformed("welcome", e))?;
    let mut c = Cursor(bytes);
    let ciphersuite: u16 = c.read("welcome ciphersuite")?;
    let secrets_bytes = c.vl("welcome secrets")?;
    let encrypted_group_info = c.vl("welcome group info")?;
    let mut secrets = Vec::new();
    let mut s = Cursor(&secrets_bytes);
    while !s.0.is_empty() {
        secrets.push(s.read::<EncryptedGroupSecrets>("welcome group secrets")?);
    }
    Ok(SplitWelcome {
        ciphersuite,
        secrets,
        encrypted_group_info,
    })
}

impl SplitWelcome {
    /// The welcome addressed to one new member: the shared group info plus only its secrets,
    /// as Discord's gateway forwards it.
    fn for_member(&self, secret: &EncryptedGroupSecrets) -> Result<Vec<u8>, DaveError> {
        let mut out = self.ciphersuite.tls_serialize_detached()?;
        out.extend(VLBytes::new(secret.tls_serialize_detached()?).tls_serialize_detached()?);
        out.extend(VLBytes::new(self.encrypted_group_info.clone()).tls_serialize_detached()?);
        Welcome::tls_deserialize_exact_bytes(&out).map_err(|e| malformed("targeted welcome", e))?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// The server.

#[derive(Debug, Clone)]
struct LeafEntry {
    user_id: u64,
    signature_key: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProposalKind {
    Add { user_id: u64 },
    Remove { leaf: u32 },
}

#[derive(Debug, Clone)]
struct Outstanding {
    reference: Vec<u8>,
    message: Vec<u8>,
    kind: ProposalKind,
    sent_to: BTreeSet<u64>,
}

#[derive(Debug, Clone)]
struct Transition {
    awaiting: BTreeSet<u64>,
}

/// The voice gateway's side of DAVE for one call (one guild voice channel): the external
/// sender's key and credential, the group's epoch, who sits at which leaf, the outstanding
/// proposals, and the pending transitions.
///
/// Drive it with the call's events; every method returns the messages to send, per recipient,
/// in order. The expected order for a client is: op 4 with `dave_protocol_version` 1, then
/// [`client_connected`](Self::client_connected) (op 11 + op 25), then the client's op 26 into
/// [`handle_key_package`](Self::handle_key_package), its op 28 into
/// [`handle_commit_welcome`](Self::handle_commit_welcome), its op 23 into
/// [`handle_ready_for_transition`](Self::handle_ready_for_transition) — or everything through
/// [`handle_binary`](Self::handle_binary) / [`handle_json`](Self::handle_json).
pub struct DaveServer {
    channel_id: u64,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    external_sender_bytes: Vec<u8>,
    clients: BTreeSet<u64>,
    epoch: u64,
    leaves: Vec<Option<LeafEntry>>,
    key_packages: BTreeMap<u64, ValidatedKeyPackage>,
    proposals: Vec<Outstanding>,
    transitions: BTreeMap<u16, Transition>,
    next_transition_id: u16,
}

impl fmt::Debug for DaveServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaveServer")
            .field("channel_id", &self.channel_id)
            .field("epoch", &self.epoch)
            .field("members", &self.members())
            .field("clients", &self.clients)
            .field("outstanding_proposals", &self.proposals.len())
            .finish_non_exhaustive()
    }
}

impl DaveServer {
    /// A server for the call in `channel_id`, with a fresh P-256 external-sender key.
    pub fn new(channel_id: u64) -> Result<Self, DaveError> {
        let signer = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm())?;
        let credential = BasicCredential::new(EXTERNAL_SENDER_IDENTITY.to_vec());
        let external_sender = ExternalSender::new(signer.public().into(), credential.into());
        let external_sender_bytes = external_sender.tls_serialize_detached()?;
        Ok(Self {
            channel_id,
            provider: OpenMlsRustCrypto::default(),
            signer,
            external_sender_bytes,
            clients: BTreeSet::new(),
            epoch: 0,
            leaves: Vec::new(),
            key_packages: BTreeMap::new(),
            proposals: Vec::new(),
            transitions: BTreeMap::new(),
            next_transition_id: 1,
        })
    }

    /// The call's channel id.
    pub fn channel_id(&self) -> u64 {
        self.channel_id
    }

    /// The MLS group id: the channel id as a big-endian u64.
    pub fn group_id(&self) -> [u8; 8] {
        group_id_for_channel(self.channel_id)
    }

    /// The protocol version this server runs (1).
    pub fn protocol_version(&self) -> u16 {
        DAVE_PROTOCOL_VERSION
    }

    /// The group's current epoch as the server sees it; 0 while no group is established.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether a group has been established (a first commit was announced).
    pub fn is_established(&self) -> bool {
        !self.leaves.is_empty()
    }

    /// The group members as `(leaf index, user id)`, by leaf index.
    pub fn members(&self) -> Vec<(u32, u64)> {
        self.leaves
            .iter()
            .enumerate()
            .filter_map(|(i, leaf)| {
                let i = u32::try_from(i).ok()?;
                leaf.as_ref().map(|l| (i, l.user_id))
            })
            .collect()
    }

    /// The connected clients (DAVE-capable users in the call).
    pub fn clients(&self) -> Vec<u64> {
        self.clients.iter().copied().collect()
    }

    /// Transition ids announced (op 29/30) but not yet executed (op 22).
    pub fn pending_transitions(&self) -> Vec<u16> {
        self.transitions.keys().copied().collect()
    }

    /// The external sender package: the TLS-serialised `ExternalSender` (signature key +
    /// basic credential), i.e. the op 25 payload.
    pub fn external_sender_bytes(&self) -> &[u8] {
        &self.external_sender_bytes
    }

    /// Op 25 `dave_mls_external_sender_package` as a binary frame.
    pub fn external_sender_package(&self) -> BinaryFrame {
        BinaryFrame {
            opcode: opcode::MLS_EXTERNAL_SENDER,
            payload: self.external_sender_bytes.clone(),
        }
    }

    /// Validates a key package for `user_id` (see [`validate_key_package`]).
    pub fn validate_key_package(
        &self,
        user_id: u64,
        payload: &[u8],
    ) -> Result<ValidatedKeyPackage, DaveError> {
        validate_key_package_with(self.provider.crypto(), user_id, payload)
    }

    /// A client joined the call (after its op 4 said `dave_protocol_version: 1`). Returns op 11
    /// to everyone else naming it, op 11 to it naming everyone else, and op 25 to it.
    pub fn client_connected(&mut self, user_id: u64) -> Result<Vec<Outbound>, DaveError> {
        if self.clients.contains(&user_id) {
            return Err(DaveError::AlreadyConnected(user_id));
        }
        let others: Vec<u64> = self.clients.iter().copied().collect();
        self.clients.insert(user_id);
        let mut out: Vec<Outbound> = others
            .iter()
            .map(|&o| Outbound {
                to: o,
                message: clients_connect(&[user_id]),
            })
            .collect();
        if !others.is_empty() {
            out.push(Outbound {
                to: user_id,
                message: clients_connect(&others),
            });
        }
        out.push(Outbound {
            to: user_id,
            message: GatewayMessage::Binary(self.external_sender_package()),
        });
        Ok(out)
    }

    /// Dispatches a binary message from `from` (op 26 or 28, v4 framing `[opcode][payload]`).
    pub fn handle_binary(&mut self, from: u64, frame: &[u8]) -> Result<Vec<Outbound>, DaveError> {
        let frame = BinaryFrame::from_ws_bytes(frame)?;
        match frame.opcode {
            opcode::MLS_KEY_PACKAGE => self.handle_key_package(from, &frame.payload),
            opcode::MLS_COMMIT_WELCOME => self.handle_commit_welcome(from, &frame.payload),
            other => Err(DaveError::UnexpectedOpcode(other)),
        }
    }

    /// Dispatches a JSON message from `from` (op 23 or 31).
    pub fn handle_json(&mut self, from: u64, message: &Value) -> Result<Vec<Outbound>, DaveError> {
        let op = message
            .get("op")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("JSON op", "missing op"))?;
        let op = u8::try_from(op).map_err(|e| malformed("JSON op", e))?;
        match op {
            opcode::READY_FOR_TRANSITION => {
                let transition_id = json_u16(message, "transition_id")?;
                self.handle_ready_for_transition(from, transition_id)
            }
            opcode::MLS_INVALID_COMMIT_WELCOME => {
                let transition_id = json_u16(message, "transition_id")?;
                self.handle_invalid_commit_welcome(from, transition_id)
            }
            other => Err(DaveError::UnexpectedOpcode(other)),
        }
    }

    fn leaf_of(&self, user_id: u64) -> Option<u32> {
        self.members()
            .into_iter()
            .find(|&(_, u)| u == user_id)
            .map(|(leaf, _)| leaf)
    }

    fn member_users(&self) -> BTreeSet<u64> {
        self.members().into_iter().map(|(_, u)| u).collect()
    }

    fn proposal_ref(&self, message: &[u8]) -> Result<Vec<u8>, DaveError> {
        // ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent); for an
        // external sender's PublicMessage (no membership tag) the AuthenticatedContent is the
        // MLSMessage minus its leading 2-byte protocol version.
        let content = message
            .get(2..)
            .ok_or_else(|| malformed("proposal", "too short"))?;
        Ok(
            make_proposal_ref(content, CIPHERSUITE, self.provider.crypto())?
                .as_slice()
                .to_vec(),
        )
    }

    fn new_add(&mut self, user_id: u64) -> Result<usize, DaveError> {
        let key_package = self
            .key_packages
            .get(&user_id)
            .ok_or(DaveError::UnknownClient(user_id))?
            .key_package
            .clone();
        let message = ExternalProposal::new_add::<OpenMlsRustCrypto>(
            key_package,
            GroupId::from_slice(&self.group_id()),
            GroupEpoch::from(self.epoch),
            &self.signer,
            SenderExtensionIndex::new(0),
        )
        .map_err(|e| DaveError::Mls(e.to_string()))?
        .to_bytes()
        .map_err(|e| DaveError::Mls(e.to_string()))?;
        self.push_proposal(message, ProposalKind::Add { user_id })
    }

    fn new_remove(&mut self, leaf: u32) -> Result<usize, DaveError> {
        let message = ExternalProposal::new_remove::<OpenMlsRustCrypto>(
            LeafNodeIndex::new(leaf),
            GroupId::from_slice(&self.group_id()),
            GroupEpoch::from(self.epoch),
            &self.signer,
            SenderExtensionIndex::new(0),
        )
        .map_err(|e| DaveError::Mls(e.to_string()))?
        .to_bytes()
        .map_err(|e| DaveError::Mls(e.to_string()))?;
        self.push_proposal(message, ProposalKind::Remove { leaf })
    }

    fn push_proposal(&mut self, message: Vec<u8>, kind: ProposalKind) -> Result<usize, DaveError> {
        let reference = self.proposal_ref(&message)?;
        self.proposals.push(Outstanding {
            reference,
            message,
            kind,
            sent_to: BTreeSet::new(),
        });
        Ok(self.proposals.len() - 1)
    }

    /// Op 27 append frame carrying the given outstanding proposals.
    fn append_frame(&self, indices: &[usize]) -> Result<GatewayMessage, DaveError> {
        let mut messages = Vec::new();
        for &i in indices {
            if let Some(p) = self.proposals.get(i) {
                messages.extend_from_slice(&p.message);
            }
        }
        let mut payload = vec![ProposalsOperationType::APPEND as u8];
        payload.extend(VLBytes::new(messages).tls_serialize_detached()?);
        Ok(GatewayMessage::Binary(BinaryFrame {
            opcode: opcode::MLS_PROPOSALS,
            payload,
        }))
    }

    /// Op 27 revoke frame for the given proposal references.
    fn revoke_frame(references: &[&[u8]]) -> Result<GatewayMessage, DaveError> {
        let mut refs = Vec::new();
        for r in references {
            refs.extend(VLBytes::new(r.to_vec()).tls_serialize_detached()?);
        }
        let mut payload = vec![ProposalsOperationType::REVOKE as u8];
        payload.extend(VLBytes::new(refs).tls_serialize_detached()?);
        Ok(GatewayMessage::Binary(BinaryFrame {
            opcode: opcode::MLS_PROPOSALS,
            payload,
        }))
    }

    /// Sends the given proposals to `to` (one op 27) and records that it has them.
    fn send_proposals(
        &mut self,
        to: u64,
        indices: &[usize],
        out: &mut Vec<Outbound>,
    ) -> Result<(), DaveError> {
        if indices.is_empty() {
            return Ok(());
        }
        out.push(Outbound {
            to,
            message: self.append_frame(indices)?,
        });
        for &i in indices {
            if let Some(p) = self.proposals.get_mut(i) {
                p.sent_to.insert(to);
            }
        }
        Ok(())
    }

    /// Withdraws an outstanding proposal, revoking it (op 27 revoke) from whoever got it.
    fn revoke(&mut self, index: usize, out: &mut Vec<Outbound>) -> Result<(), DaveError> {
        let p = self.proposals.remove(index);
        let frame = Self::revoke_frame(&[&p.reference])?;
        for &to in &p.sent_to {
            if self.clients.contains(&to) {
                out.push(Outbound {
                    to,
                    message: frame.clone(),
                });
            }
        }
        Ok(())
    }

    /// Proposes adding `user_id` to the not-yet-established group: its Add goes to every other
    /// pending member, and it gets the Adds already in flight for the others.
    fn propose_initial_add(
        &mut self,
        user_id: u64,
        out: &mut Vec<Outbound>,
    ) -> Result<(), DaveError> {
        let index = self.new_add(user_id)?;
        let others: Vec<u64> = self
            .key_packages
            .keys()
            .copied()
            .filter(|&u| u != user_id)
            .collect();
        for other in others {
            self.send_proposals(other, &[index], out)?;
        }
        let in_flight: Vec<usize> = self
            .proposals
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.kind, ProposalKind::Add { user_id: u } if u != user_id))
            .map(|(i, _)| i)
            .collect();
        self.send_proposals(user_id, &in_flight, out)
    }

    /// Op 26 from `user_id`: validates the key package and proposes adding the user. On an
    /// established group the Add (op 27) goes to every member; before that, to the other pending
    /// members, and the sender gets the Adds in flight for them. A key package replacing one
    /// not yet committed revokes the old Add; one from a current member (a client that reset
    /// itself) also proposes removing its old leaf.
    pub fn handle_key_package(
        &mut self,
        user_id: u64,
        payload: &[u8],
    ) -> Result<Vec<Outbound>, DaveError> {
        if !self.clients.contains(&user_id) {
            return Err(DaveError::UnknownClient(user_id));
        }
        let validated = self.validate_key_package(user_id, payload)?;
        let mut out = Vec::new();
        if let Some(i) = self
            .proposals
            .iter()
            .position(|p| p.kind == ProposalKind::Add { user_id })
        {
            self.revoke(i, &mut out)?;
        }
        let own_leaf = self.leaf_of(user_id);
        if own_leaf.is_some() && self.member_users().len() == 1 {
            // The sole member reset itself: start over with an unestablished group.
            self.reset_group();
        }
        self.key_packages.insert(user_id, validated);
        if !self.is_established() {
            self.propose_initial_add(user_id, &mut out)?;
            return Ok(out);
        }
        let mut batch = Vec::new();
        if let Some(leaf) = self.leaf_of(user_id) {
            let already = self
                .proposals
                .iter()
                .any(|p| p.kind == ProposalKind::Remove { leaf });
            if !already {
                batch.push(self.new_remove(leaf)?);
            }
        }
        batch.push(self.new_add(user_id)?);
        let recipients: Vec<u64> = self
            .member_users()
            .into_iter()
            .filter(|&u| u != user_id && self.clients.contains(&u))
            .collect();
        for to in recipients {
            self.send_proposals(to, &batch, &mut out)?;
        }
        Ok(out)
    }

    /// Op 28 from `user_id`: validates the commit (public message, this group, current epoch,
    /// sender = the user's leaf — leaf 0 of its own one-member group before establishment —,
    /// only references, exactly the proposals outstanding for the sender, no credential or
    /// signature-key change in the update path) and the welcome (present iff members are
    /// added, with secrets for each added key package and no other). On success the group
    /// moves to the next epoch and the result holds op 29 for the members that stay (the
    /// committer included) and op 30, with only its own secrets, for each added member. The
    /// first valid commit of an epoch wins; later ones fail with [`DaveError::WrongEpoch`] or
    /// [`DaveError::ProposalMismatch`] and must simply be dropped.
    pub fn handle_commit_welcome(
        &mut self,
        user_id: u64,
        payload: &[u8],
    ) -> Result<Vec<Outbound>, DaveError> {
        if !self.clients.contains(&user_id) {
            return Err(DaveError::UnknownClient(user_id));
        }
        let (commit_bytes, welcome_bytes) = split_commit_welcome(payload)?;
        let commit = parse_commit(commit_bytes)?;
        if commit.group_id != self.group_id() {
            return Err(DaveError::WrongGroup {
                expected: self.group_id().to_vec(),
                found: commit.group_id,
            });
        }
        if commit.epoch != self.epoch {
            return Err(DaveError::WrongEpoch {
                expected: self.epoch,
                found: commit.epoch,
            });
        }
        let established = self.is_established();
        let sender_leaf = match commit.sender {
            Sender::Member(leaf) => leaf.u32(),
            ref other => {
                return Err(DaveError::CommitSender {
                    user: user_id,
                    sender: format!("{other:?}"),
                })
            }
        };
        let committer_signature_key = if established {
            match self.leaves.get(sender_leaf as usize) {
                Some(Some(entry)) if entry.user_id == user_id => entry.signature_key.clone(),
                _ => {
                    return Err(DaveError::CommitSender {
                        user: user_id,
                        sender: format!("member leaf {sender_leaf}"),
                    })
                }
            }
        } else {
            match self.key_packages.get(&user_id) {
                Some(kp) if sender_leaf == 0 => kp
                    .key_package
                    .leaf_node()
                    .signature_key()
                    .as_slice()
                    .to_vec(),
                _ => {
                    return Err(DaveError::CommitSender {
                        user: user_id,
                        sender: format!("member leaf {sender_leaf} of an unestablished group"),
                    })
                }
            }
        };
        if commit.has_inline_proposal {
            return Err(DaveError::InlineProposal);
        }
        if commit.proposal_refs.is_empty() {
            return Err(DaveError::EmptyCommit);
        }

        // Exactly the proposals this committer was sent, each once.
        let expected: Vec<usize> = self
            .proposals
            .iter()
            .enumerate()
            .filter(|(_, p)| p.sent_to.contains(&user_id))
            .map(|(i, _)| i)
            .collect();
        let mut ordered = Vec::new();
        let mut unknown = 0;
        for r in &commit.proposal_refs {
            match expected
                .iter()
                .copied()
                .find(|&i| self.proposals[i].reference == *r)
            {
                Some(i) if !ordered.contains(&i) => ordered.push(i),
                _ => unknown += 1,
            }
        }
        let missing = expected.len() - ordered.len();
        if missing > 0 || unknown > 0 {
            return Err(DaveError::ProposalMismatch {
                expected: expected.len(),
                missing,
                unknown,
            });
        }

        if let Some(leaf) = &commit.path_leaf {
            if leaf.credential_type != CREDENTIAL_TYPE_BASIC
                || leaf.identity != user_id.to_be_bytes()
                || leaf.signature_key != committer_signature_key
            {
                return Err(DaveError::PathChangesIdentity);
            }
        }

        let adds: Vec<u64> = ordered
            .iter()
            .filter_map(|&i| match self.proposals[i].kind {
                ProposalKind::Add { user_id } => Some(user_id),
                ProposalKind::Remove { .. } => None,
            })
            .collect();
        let removes: Vec<u32> = ordered
            .iter()
            .filter_map(|&i| match self.proposals[i].kind {
                ProposalKind::Remove { leaf } => Some(leaf),
                ProposalKind::Add { .. } => None,
            })
            .collect();

        // Welcome: one set of group secrets per added key package, nothing else.
        let mut welcomes = Vec::new();
        match (adds.is_empty(), welcome_bytes) {
            (true, None) => {}
            (true, Some(_)) => return Err(DaveError::UnexpectedWelcome),
            (false, None) => return Err(DaveError::MissingWelcome),
            (false, Some(bytes)) => {
                let welcome = split_welcome(bytes)?;
                for secret in &welcome.secrets {
                    let target = secret.new_member();
                    let known = adds.iter().any(|u| {
                        self.key_packages
                            .get(u)
                            .is_some_and(|kp| kp.reference == target.as_slice())
                    });
                    if !known {
                        return Err(DaveError::WelcomeUnknownMember);
                    }
                }
                for &added in &adds {
                    let kp_ref = self
                        .key_packages
                        .get(&added)
                        .map(|kp| kp.reference.clone())
                        .ok_or(DaveError::WelcomeMissingMember(added))?;
                    let secret = welcome
                        .secrets
                        .iter()
                        .find(|s| s.new_member().as_slice() == kp_ref.as_slice())
                        .ok_or(DaveError::WelcomeMissingMember(added))?;
                    welcomes.push((added, welcome.for_member(secret)?));
                }
            }
        }

        // Valid: apply it. Removes blank leaves; adds take the leftmost blank leaf, else extend
        // the tree (RFC 9420 §12.1.1), in the commit's order — as openmls does.
        // Who already holds the group and stays: they get op 29. A user removed and re-added
        // in this commit (after op 31) gets op 30 like any new member.
        let previous_members: BTreeSet<u64> = if established {
            self.members()
                .into_iter()
                .filter(|(leaf, _)| !removes.contains(leaf))
                .map(|(_, u)| u)
                .collect()
        } else {
            let mut committer = BTreeSet::new();
            committer.insert(user_id);
            self.key_packages.remove(&user_id);
            self.leaves = vec![Some(LeafEntry {
                user_id,
                signature_key: committer_signature_key,
            })];
            committer
        };
        for leaf in removes {
            if let Some(slot) = self.leaves.get_mut(leaf as usize) {
                *slot = None;
            }
        }
        for &added in &adds {
            let signature_key = self
                .key_packages
                .remove(&added)
                .map(|kp| {
                    kp.key_package
                        .leaf_node()
                        .signature_key()
                        .as_slice()
                        .to_vec()
                })
                .ok_or(DaveError::WelcomeMissingMember(added))?;
            let entry = Some(LeafEntry {
                user_id: added,
                signature_key,
            });
            match self.leaves.iter().position(Option::is_none) {
                Some(i) => self.leaves[i] = entry,
                None => self.leaves.push(entry),
            }
        }
        while matches!(self.leaves.last(), Some(None)) {
            self.leaves.pop();
        }
        self.epoch += 1;
        self.proposals.clear();

        let transition_id = self.allocate_transition_id();
        let members = self.member_users();
        self.transitions.insert(
            transition_id,
            Transition {
                awaiting: members
                    .iter()
                    .copied()
                    .filter(|u| self.clients.contains(u))
                    .collect(),
            },
        );

        let mut announce = transition_id.to_be_bytes().to_vec();
        announce.extend_from_slice(commit_bytes);
        let announce = GatewayMessage::Binary(BinaryFrame {
            opcode: opcode::MLS_ANNOUNCE_COMMIT_TRANSITION,
            payload: announce,
        });
        let mut out: Vec<Outbound> = members
            .intersection(&previous_members)
            .filter(|u| self.clients.contains(u))
            .map(|&to| Outbound {
                to,
                message: announce.clone(),
            })
            .collect();
        for (to, welcome) in welcomes {
            let mut payload = transition_id.to_be_bytes().to_vec();
            payload.extend(welcome);
            out.push(Outbound {
                to,
                message: GatewayMessage::Binary(BinaryFrame {
                    opcode: opcode::MLS_WELCOME,
                    payload,
                }),
            });
        }
        Ok(out)
    }

    fn allocate_transition_id(&mut self) -> u16 {
        let id = self.next_transition_id;
        self.next_transition_id = self.next_transition_id.checked_add(1).unwrap_or(1);
        id
    }

    /// Op 23 from `user_id`. When every member of the transition is ready, returns op 22 for
    /// all members; otherwise nothing.
    pub fn handle_ready_for_transition(
        &mut self,
        user_id: u64,
        transition_id: u16,
    ) -> Result<Vec<Outbound>, DaveError> {
        let transition = self
            .transitions
            .get_mut(&transition_id)
            .ok_or(DaveError::UnknownTransition(transition_id))?;
        transition.awaiting.remove(&user_id);
        if transition.awaiting.is_empty() {
            self.execute_transition(transition_id)
        } else {
            Ok(Vec::new())
        }
    }

    /// Executes a transition now (op 22 to every member) whether or not all are ready: what
    /// the gateway does when its transition timeout expires.
    pub fn execute_transition(&mut self, transition_id: u16) -> Result<Vec<Outbound>, DaveError> {
        self.transitions
            .remove(&transition_id)
            .ok_or(DaveError::UnknownTransition(transition_id))?;
        let message = execute_transition(transition_id);
        Ok(self
            .member_users()
            .into_iter()
            .filter(|u| self.clients.contains(u))
            .map(|to| Outbound {
                to,
                message: message.clone(),
            })
            .collect())
    }

    /// Drops `user_id` from every pending transition; executes those that thereby complete.
    fn forget_in_transitions(&mut self, user_id: u64) -> Result<Vec<Outbound>, DaveError> {
        let mut completed = Vec::new();
        for (&id, t) in self.transitions.iter_mut() {
            if t.awaiting.remove(&user_id) && t.awaiting.is_empty() {
                completed.push(id);
            }
        }
        let mut out = Vec::new();
        for id in completed {
            out.extend(self.execute_transition(id)?);
        }
        Ok(out)
    }

    /// Op 31 from `user_id`: it could not process a commit or welcome and has reset itself
    /// (songbird sends a new key package right after). Proposes removing its stale leaf to the
    /// other members; its next key package is proposed as usual, possibly in the same epoch.
    pub fn handle_invalid_commit_welcome(
        &mut self,
        user_id: u64,
        _transition_id: u16,
    ) -> Result<Vec<Outbound>, DaveError> {
        if !self.clients.contains(&user_id) {
            return Err(DaveError::UnknownClient(user_id));
        }
        let mut out = self.forget_in_transitions(user_id)?;
        if let Some(leaf) = self.leaf_of(user_id) {
            let others: Vec<u64> = self
                .member_users()
                .into_iter()
                .filter(|&u| u != user_id && self.clients.contains(&u))
                .collect();
            if others.is_empty() {
                self.reset_group();
            } else if !self
                .proposals
                .iter()
                .any(|p| p.kind == ProposalKind::Remove { leaf })
            {
                let index = self.new_remove(leaf)?;
                for to in others {
                    self.send_proposals(to, &[index], &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// `user_id` left the call. Returns op 13 to the others, revokes its Add if it was pending,
    /// and if it was a member either proposes its removal (op 27 Remove to the remaining
    /// members) or, when one member would remain, performs the sole-member reset: op 24
    /// `{epoch: 1}` then op 21 `{transition_id: 0}` to that member, and the server starts a new
    /// unestablished group (pending users' Adds are re-proposed among themselves).
    pub fn client_disconnected(&mut self, user_id: u64) -> Result<Vec<Outbound>, DaveError> {
        if !self.clients.remove(&user_id) {
            return Err(DaveError::UnknownClient(user_id));
        }
        let mut out: Vec<Outbound> = self
            .clients
            .iter()
            .map(|&to| Outbound {
                to,
                message: client_disconnect(user_id),
            })
            .collect();
        self.key_packages.remove(&user_id);
        for p in &mut self.proposals {
            p.sent_to.remove(&user_id);
        }
        if let Some(i) = self
            .proposals
            .iter()
            .position(|p| p.kind == ProposalKind::Add { user_id })
        {
            self.revoke(i, &mut out)?;
        }
        out.extend(self.forget_in_transitions(user_id)?);

        let Some(leaf) = self.leaf_of(user_id) else {
            return Ok(out);
        };
        let remaining: Vec<u64> = self
            .member_users()
            .into_iter()
            .filter(|&u| u != user_id && self.clients.contains(&u))
            .collect();
        match remaining.as_slice() {
            [] => self.reset_group(),
            [sole] => {
                let sole = *sole;
                out.push(Outbound {
                    to: sole,
                    message: prepare_epoch(1, DAVE_PROTOCOL_VERSION),
                });
                out.push(Outbound {
                    to: sole,
                    message: prepare_transition(0, DAVE_PROTOCOL_VERSION),
                });
                self.reset_group();
                // Pending users keep their key packages; re-propose them for the new group.
                let pending: Vec<u64> = self.key_packages.keys().copied().collect();
                for u in pending {
                    self.propose_initial_add(u, &mut out)?;
                }
            }
            _ => {
                if !self
                    .proposals
                    .iter()
                    .any(|p| p.kind == ProposalKind::Remove { leaf })
                {
                    let index = self.new_remove(leaf)?;
                    for to in remaining {
                        self.send_proposals(to, &[index], &mut out)?;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Forgets the group: epoch 0, no members, no proposals, no transitions. Pending key
    /// packages are kept. Members must be told separately (op 24 epoch 1).
    fn reset_group(&mut self) {
        self.leaves.clear();
        self.epoch = 0;
        self.proposals.clear();
        self.transitions.clear();
    }
}

// ---------------------------------------------------------------------------------------------
// The simulated member.

/// A simulated call member: a real [`davey::DaveSession`] for `(user_id, channel_id)` that reacts
/// to the gateway's DAVE messages exactly as songbird 0.6.1's voice task does (same davey calls,
/// same replies), so a fake Discord can put "people" in a call who decrypt what the bot sends.
pub struct Listener {
    session: DaveSession,
    user_id: u64,
    channel_id: u64,
    protocol_version: u16,
    recognized_user_ids: BTreeSet<u64>,
    pending_transitions: BTreeMap<u16, u16>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("user_id", &self.user_id)
            .field("channel_id", &self.channel_id)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// A member for `user_id` in the call on `channel_id`, speaking DAVE protocol version 1.
    pub fn new(user_id: u64, channel_id: u64) -> Result<Self, DaveError> {
        let version = NonZeroU16::new(DAVE_PROTOCOL_VERSION)
            .ok_or_else(|| malformed("protocol version", "zero"))?;
        let session = DaveSession::new(version, user_id, channel_id, None)
            .map_err(|e| davey_err("DaveSession::new", e))?;
        let mut recognized_user_ids = BTreeSet::new();
        recognized_user_ids.insert(user_id);
        Ok(Self {
            session,
            user_id,
            channel_id,
            protocol_version: DAVE_PROTOCOL_VERSION,
            recognized_user_ids,
            pending_transitions: BTreeMap::new(),
        })
    }

    /// This member's user id.
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// The channel (group) this member is in.
    pub fn channel_id(&self) -> u64 {
        self.channel_id
    }

    /// A fresh op 26 (key package) to send, as songbird sends it right after op 4.
    pub fn key_package(&mut self) -> Result<GatewayMessage, DaveError> {
        let key_package = self
            .session
            .create_key_package()
            .map_err(|e| davey_err("create_key_package", e))?;
        Ok(GatewayMessage::Binary(BinaryFrame {
            opcode: opcode::MLS_KEY_PACKAGE,
            payload: key_package,
        }))
    }

    /// Handles one gateway message and returns this member's replies, in order (op 26, 28,
    /// 23 or 31). Non-DAVE messages other than 11/13 are ignored. Failures that songbird
    /// answers with op 31 (bad commit or welcome) are answered the same way, not returned.
    pub fn handle(&mut self, message: &GatewayMessage) -> Result<Vec<GatewayMessage>, DaveError> {
        match message {
            GatewayMessage::Binary(frame) => self.handle_binary(frame),
            GatewayMessage::Json(value) => self.handle_json(value),
        }
    }

    fn handle_json(&mut self, value: &Value) -> Result<Vec<GatewayMessage>, DaveError> {
        let op = value.get("op").and_then(Value::as_u64).unwrap_or(u64::MAX);
        let d = value.get("d").cloned().unwrap_or(Value::Null);
        match u8::try_from(op) {
            Ok(opcode::CLIENTS_CONNECT) => {
                if let Some(ids) = d.get("user_ids").and_then(Value::as_array) {
                    self.recognized_user_ids
                        .extend(ids.iter().filter_map(json_u64_loose));
                }
                Ok(Vec::new())
            }
            Ok(opcode::CLIENT_DISCONNECT) => {
                if let Some(id) = d.get("user_id").and_then(json_u64_loose) {
                    self.recognized_user_ids.remove(&id);
                }
                Ok(Vec::new())
            }
            Ok(opcode::PREPARE_TRANSITION) => {
                let transition_id = json_u16(value, "transition_id")?;
                let protocol_version = json_u16(value, "protocol_version")?;
                self.pending_transitions
                    .insert(transition_id, protocol_version);
                if transition_id == 0 {
                    self.execute(transition_id);
                    Ok(Vec::new())
                } else if protocol_version == 0 {
                    self.session.set_passthrough_mode(true, Some(120));
                    Ok(vec![ready_for_transition(transition_id, protocol_version)])
                } else {
                    Ok(Vec::new())
                }
            }
            Ok(opcode::EXECUTE_TRANSITION) => {
                let transition_id = json_u16(value, "transition_id")?;
                self.execute(transition_id);
                Ok(Vec::new())
            }
            Ok(opcode::PREPARE_EPOCH) => {
                let epoch = d.get("epoch").and_then(Value::as_u64);
                if epoch == Some(1) {
                    self.protocol_version = json_u16(value, "protocol_version")?;
                    self.reinit()
                } else {
                    Ok(Vec::new())
                }
            }
            _ => Ok(Vec::new()),
        }
    }

    fn handle_binary(&mut self, frame: &BinaryFrame) -> Result<Vec<GatewayMessage>, DaveError> {
        let transition_id = || -> Result<u16, DaveError> {
            frame
                .payload
                .get(..2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| malformed("op 29/30", "no transition id"))
        };
        match frame.opcode {
            opcode::MLS_EXTERNAL_SENDER => {
                self.session
                    .set_external_sender(&frame.payload)
                    .map_err(|e| davey_err("set_external_sender", e))?;
                Ok(Vec::new())
            }
            opcode::MLS_PROPOSALS => {
                let (&op_type, proposals) = frame
                    .payload
                    .split_first()
                    .ok_or_else(|| malformed("op 27", "empty"))?;
                let op_type = match op_type {
                    0 => ProposalsOperationType::APPEND,
                    1 => ProposalsOperationType::REVOKE,
                    other => return Err(malformed("op 27", format!("operation type {other}"))),
                };
                let expected: Vec<u64> = self.recognized_user_ids.iter().copied().collect();
                let result = self
                    .session
                    .process_proposals(op_type, proposals, Some(&expected))
                    .map_err(|e| davey_err("process_proposals", e))?;
                Ok(match result {
                    Some(cw) => {
                        let mut payload = cw.commit;
                        if let Some(welcome) = cw.welcome {
                            payload.extend(welcome);
                        }
                        vec![GatewayMessage::Binary(BinaryFrame {
                            opcode: opcode::MLS_COMMIT_WELCOME,
                            payload,
                        })]
                    }
                    None => Vec::new(),
                })
            }
            opcode::MLS_ANNOUNCE_COMMIT_TRANSITION => {
                let transition_id = transition_id()?;
                let result = self.session.process_commit(&frame.payload[2..]);
                self.after_commit_or_welcome(transition_id, result.map_err(|e| format!("{e:?}")))
            }
            opcode::MLS_WELCOME => {
                let transition_id = transition_id()?;
                let result = self.session.process_welcome(&frame.payload[2..]);
                self.after_commit_or_welcome(transition_id, result.map_err(|e| format!("{e:?}")))
            }
            other => Err(DaveError::UnexpectedOpcode(other)),
        }
    }

    fn after_commit_or_welcome(
        &mut self,
        transition_id: u16,
        result: Result<(), String>,
    ) -> Result<Vec<GatewayMessage>, DaveError> {
        match result {
            Ok(()) if transition_id != 0 => {
                self.pending_transitions
                    .insert(transition_id, self.protocol_version);
                Ok(vec![ready_for_transition(
                    transition_id,
                    self.protocol_version,
                )])
            }
            Ok(()) => Ok(Vec::new()),
            Err(_) => {
                let mut out = vec![invalid_commit_welcome(transition_id)];
                out.extend(self.reinit()?);
                Ok(out)
            }
        }
    }

    fn reinit(&mut self) -> Result<Vec<GatewayMessage>, DaveError> {
        match NonZeroU16::new(self.protocol_version) {
            Some(version) => {
                self.session
                    .reinit(version, self.user_id, self.channel_id, None)
                    .map_err(|e| davey_err("reinit", e))?;
                Ok(vec![self.key_package()?])
            }
            None => {
                self.session.reset().map_err(|e| davey_err("reset", e))?;
                self.session.set_passthrough_mode(true, Some(10));
                Ok(Vec::new())
            }
        }
    }

    fn execute(&mut self, transition_id: u16) {
        if let Some(new_version) = self.pending_transitions.remove(&transition_id) {
            let old_version = self.protocol_version;
            self.protocol_version = new_version;
            if transition_id > 0 && old_version == 0 && new_version != 0 {
                self.session.set_passthrough_mode(true, Some(10));
            }
        }
    }

    /// Decrypts one DAVE-protected Opus frame (ciphertext, 8-byte tag, ULEB128 nonce and ranges,
    /// supplemental size, `0xFAFA`) sent by `sender_user_id`. The Opus silence frame `F8 FF FE`
    /// comes back unchanged (davey passes it through by design), provided the sender is a member.
    pub fn decrypt_opus(
        &mut self,
        sender_user_id: u64,
        frame: &[u8],
    ) -> Result<Vec<u8>, DaveError> {
        self.session
            .decrypt(sender_user_id, MediaType::AUDIO, frame)
            .map_err(|e| davey_err("decrypt", e))
    }

    /// Encrypts one Opus frame as this member (for tests of the bot's receive side).
    pub fn encrypt_opus(&mut self, frame: &[u8]) -> Result<Vec<u8>, DaveError> {
        self.session
            .encrypt_opus(frame)
            .map(|c| c.into_owned())
            .map_err(|e| davey_err("encrypt", e))
    }

    /// Whether the session has group keys (davey's `is_ready`).
    pub fn is_ready(&self) -> bool {
        self.session.is_ready()
    }

    /// The MLS epoch of this member's group, if it has one.
    pub fn epoch(&self) -> Option<u64> {
        self.session.epoch().map(|e| e.as_u64())
    }

    /// The 30-digit voice privacy code (epoch authenticator, groups of 5) davey computed for
    /// the current epoch; equal across members who share the epoch.
    pub fn privacy_code(&self) -> Option<String> {
        self.session.voice_privacy_code().map(str::to_owned)
    }

    /// The group's epoch authenticator (an MLS exported secret), if there is a group.
    pub fn epoch_authenticator(&self) -> Option<Vec<u8>> {
        self.session
            .get_epoch_authenticator()
            .map(|a| a.as_slice().to_vec())
    }

    /// The user ids davey sees in the group.
    pub fn group_user_ids(&self) -> Vec<u64> {
        self.session.get_user_ids().unwrap_or_default()
    }

    /// The underlying davey session.
    pub fn session(&self) -> &DaveSession {
        &self.session
    }

    /// The underlying davey session, mutably.
    pub fn session_mut(&mut self) -> &mut DaveSession {
        &mut self.session
    }
}
