//! Two-factor sign-in as both doors see it: the methods, the second sign-in step, enrolment and recovery codes.

use crate::revealed::RevealedSecret;
use serde::{Deserialize, Serialize};

/// How a user proves the second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TwoFactorMethod {
    /// A code from an authenticator app (TOTP, RFC 6238).
    Totp,
    /// A code sent by text message to the user's phone.
    Phone,
}

impl TwoFactorMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TwoFactorMethod::Totp => "totp",
            TwoFactorMethod::Phone => "phone",
        }
    }

    pub fn parse(text: &str) -> Option<TwoFactorMethod> {
        match text {
            "totp" => Some(TwoFactorMethod::Totp),
            "phone" => Some(TwoFactorMethod::Phone),
            _ => None,
        }
    }

    /// How the console names the method.
    pub fn label(self) -> &'static str {
        match self {
            TwoFactorMethod::Totp => "Authenticator app",
            TwoFactorMethod::Phone => "Text message",
        }
    }
}

/// What the second sign-in step asks for, after a right password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CodePrompt {
    pub method: TwoFactorMethod,
    /// For a text message: the number it went to, masked but for its last digits.
    pub sent_to: Option<String>,
    /// The code goes to a phone number that was changed and is not confirmed yet; entering it confirms it.
    pub confirms_new_phone: bool,
}

/// A user's two-factor settings, for their profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorStatus {
    pub method: Option<TwoFactorMethod>,
    pub phone: Option<String>,
    pub phone_confirmed: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

/// A new authenticator secret to scan or type in, shown until the first code confirms it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// The secret in base32, for typing into the app by hand.
    pub secret: RevealedSecret,
    /// The same secret as an `otpauth://` QR code: an SVG image as a `data:` URL.
    pub qr_code: RevealedSecret,
}

/// Single-use codes that stand in for the second factor, shown once when made; only their hashes are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    pub codes: Vec<RevealedSecret>,
}
