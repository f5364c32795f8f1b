//! TimmyBot's linked accounts.
//!
//! - [`vault`]: each user's OAuth tokens, sealed with XChaCha20-Poly1305 under
//!   `token_vault_key`, bound to the user, the platform and the key.

pub mod vault;

pub use vault::{Vault, VaultError};
