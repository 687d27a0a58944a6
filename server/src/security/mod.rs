//! Keeping secrets: encryption with versioned keys, the vault of encrypted secrets, and hashed secrets and
//! passwords.

pub mod crypto;
pub mod secrets;
pub mod vault;
