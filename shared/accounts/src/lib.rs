//! TimmyBot's linked accounts: bring your own library.
//!
//! - [`vault`]: each user's OAuth tokens, sealed with XChaCha20-Poly1305 under
//!   `token_vault_key`, bound to the user, the platform and the key.
//! - [`http`]: the bounded JSON client every platform client here shares.
//! - [`tokens`]: what the vault seals (a linked account, a link in progress).
//! - [`oauth`]: Google's device flow and Spotify's authorization code with PKCE.
//! - [`library`]: the user's playlists and liked music on YouTube and Spotify.
//! - [`link`]: linking, checking, refreshing and unlinking, on the user item.
//! - [`service`]: [`Accounts`], the one handle the command core and the worker use.
//! - [`lyrics`]: LRCLIB's open API, synced lines parsed.
//! - [`recommend`]: suggestions from our own history, MusicBrainz and ListenBrainz.

pub mod http;
pub mod library;
pub mod link;
pub mod lyrics;
pub mod oauth;
pub mod recommend;
pub mod service;
pub mod tokens;
pub mod vault;

pub use link::{AccountError, Linker, Redirect};
pub use service::Accounts;
pub use vault::{Vault, VaultError};
