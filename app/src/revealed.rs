//! A secret shown once: the only secret-bearing type that serializes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest an old API secret may keep working after a rotation: a week.
pub const MAX_GRACE_MINUTES: u32 = 7 * 24 * 60;

/// A secret revealed exactly once, in the response that created it.
///
/// This is the only secret-bearing type that serializes; it is built only where a secret is born.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct RevealedSecret(String);

impl RevealedSecret {
    pub fn new(secret: String) -> Self {
        RevealedSecret(secret)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RevealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RevealedSecret(********)")
    }
}
