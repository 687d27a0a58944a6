//! Second-factor codes: checking a TOTP, texted or recovery code against a challenge, sending a code by text, and
//! making recovery codes. Sign-in and enrolment both check codes here.

use super::errors::OrInternal;
use super::service::HubService;
use crate::messages::sms::TextMessage;
use crate::security::secrets;
use crate::store::two_factor::Challenge;
use app::error::HubError;
use app::hub::Caller;
use app::revealed::RevealedSecret;
use app::two_factor::{CodePrompt, TwoFactorMethod};
use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use totp_rs::{Algorithm, TOTP};

/// How long a code, a half-done sign-in or an enrolment stays open.
pub(super) const CHALLENGE_MILLIS: i64 = 10 * 60 * 1000;

/// How many recovery codes an enrolment makes.
const RECOVERY_CODE_COUNT: usize = 10;

/// TOTP as authenticator apps expect it: SHA-1, 6 digits, 30-second steps.
pub(super) const TOTP_STEP_SECONDS: u64 = 30;

pub(super) const TOTP_DIGITS: usize = 6;

/// The name authenticator apps list the entry under.
pub(super) const TOTP_ISSUER: &str = "Tether";

/// What a code turned out to be.
pub(super) enum CodeCheck {
    /// The method's own code; for TOTP, with the time step it matched.
    Code {
        totp_step: Option<i64>,
    },
    /// One of the user's unused recovery codes, now used up.
    RecoveryCode,
    Wrong,
}

/// The step (counted from the Unix epoch) within one step of `now` whose code is `typed`, if any.
fn matching_totp_step(secret: &SecretString, typed: &str, now: u64) -> Result<Option<u64>, HubError> {
    let bytes = totp_rs::Secret::Encoded(secret.expose_secret().to_owned()).to_bytes().or_internal()?;
    let totp = TOTP::new_unchecked(Algorithm::SHA1, TOTP_DIGITS, 0, TOTP_STEP_SECONDS, bytes, None, String::new());
    let current = now / TOTP_STEP_SECONDS;
    Ok((current.saturating_sub(1)..=current + 1).find(|step| totp.check(typed, step * TOTP_STEP_SECONDS)))
}

/// Compares two short strings in time that does not depend on where they differ.
fn constant_time_eq(left: &str, right: &str) -> bool {
    use subtle::ConstantTimeEq;
    left.len() == right.len() && bool::from(left.as_bytes().ct_eq(right.as_bytes()))
}

/// Ten new recovery codes, as `xxxxx-xxxxx` from an alphabet without look-alikes, and their digests.
pub(super) fn recovery_codes() -> (Vec<RevealedSecret>, Vec<String>) {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let mut code: String = (0..10).map(|_| ALPHABET[OsRng.gen_range(0..ALPHABET.len())] as char).collect();
            code.insert(5, '-');
            let hash = recovery_code_hash(&code);
            (RevealedSecret::new(code), hash)
        })
        .unzip()
}

/// The digest a recovery code is kept as: of its letters only, so case and dashes do not matter.
fn recovery_code_hash(typed: &str) -> String {
    let letters: String = typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    secrets::digest(&SecretString::from(letters))
}

/// What the second step shows: the method, the masked number a code went to, and whether entering it confirms a
/// changed number.
pub(super) fn code_prompt(method: TwoFactorMethod, texted_to: Option<&str>, phone_confirmed: bool) -> CodePrompt {
    CodePrompt {
        method,
        sent_to: texted_to.map(masked_phone),
        confirms_new_phone: texted_to.is_some() && !phone_confirmed,
    }
}

/// A phone number with all but its last four digits hidden.
fn masked_phone(phone: &str) -> String {
    let digits = phone.chars().count();
    phone.chars().enumerate().map(|(index, c)| if index + 4 < digits && c.is_ascii_digit() { '•' } else { c }).collect()
}

impl HubService {
    /// Checks a code against a challenge: the method's code, or, when `recovery` allows it, a recovery code.
    pub(super) async fn check_code(
        &self,
        challenge: &Challenge,
        code: &SecretString,
        recovery: bool,
    ) -> Result<CodeCheck, HubError> {
        let typed: String = code.expose_secret().chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() == TOTP_DIGITS && typed.chars().all(|c| c.is_ascii_digit()) {
            return match challenge.method {
                TwoFactorMethod::Totp => self.check_totp(challenge, &typed).await,
                TwoFactorMethod::Phone => {
                    let Some(sealed) = &challenge.sealed_secret else { return Ok(CodeCheck::Wrong) };
                    let sent = self.vault.unseal(sealed).await.or_internal()?;
                    Ok(if constant_time_eq(sent.expose_secret(), &typed) {
                        CodeCheck::Code { totp_step: None }
                    } else {
                        CodeCheck::Wrong
                    })
                }
            };
        }
        let used = recovery
            && self
                .store
                .use_recovery_code(challenge.caller.user_id, &recovery_code_hash(&typed))
                .await
                .or_internal()?;
        Ok(if used { CodeCheck::RecoveryCode } else { CodeCheck::Wrong })
    }

    /// A TOTP code from the enrolment's sealed secret or the user's stored one, within a step either way of
    /// now. At sign-in each step is accepted once.
    async fn check_totp(&self, challenge: &Challenge, typed: &str) -> Result<CodeCheck, HubError> {
        let (secret, enrolling) = match &challenge.sealed_secret {
            Some(sealed) => (self.vault.unseal(sealed).await.or_internal()?, true),
            None => {
                let factor = self.store.second_factor(challenge.caller.user_id).await.or_internal()?;
                let Some(vault_id) = factor.and_then(|factor| factor.totp_vault_id) else {
                    return Ok(CodeCheck::Wrong);
                };
                (self.vault.use_secret(vault_id).await.or_internal()?, false)
            }
        };
        let Some(step) = matching_totp_step(&secret, typed, chrono::Utc::now().timestamp() as u64)? else {
            return Ok(CodeCheck::Wrong);
        };
        let step = step as i64;
        if !enrolling && !self.store.accept_totp_step(challenge.caller.user_id, step).await.or_internal()? {
            return Ok(CodeCheck::Wrong);
        }
        Ok(CodeCheck::Code { totp_step: Some(step) })
    }

    /// Sends a new six-digit code by text message; answers it sealed, for the challenge to keep.
    pub(super) async fn send_code(&self, caller: &Caller, phone: &str, purpose: &str) -> Result<Vec<u8>, HubError> {
        let code = SecretString::from(format!("{:06}", OsRng.gen_range(0..1_000_000u32)));
        let message = TextMessage {
            organization: caller.organization_id,
            to: phone.to_owned(),
            body: SecretString::from(format!(
                "Your Tether {purpose} code is {}. It expires in {} minutes.",
                code.expose_secret(),
                CHALLENGE_MILLIS / 60_000
            )),
        };
        self.sms.send(&message).await.map_err(|error| {
            tracing::warn!(%error, "a text message with a code could not be sent");
            HubError::Provider {
                status: 502,
                message: "The text message with your code could not be sent; try again shortly".into(),
                provider_message: error,
            }
        })?;
        self.vault.seal(&code).or_internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_the_rfc_6238_vector_within_one_step() {
        // RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" gives 94287082 at T = 59 (8 digits);
        // its last six digits are the 6-digit code.
        let secret = SecretString::from(base32_of(b"12345678901234567890"));
        assert_eq!(matching_totp_step(&secret, "287082", 59).unwrap(), Some(1));
        assert_eq!(matching_totp_step(&secret, "287082", 59 + 30).unwrap(), Some(1), "one step late still counts");
        assert_eq!(matching_totp_step(&secret, "287082", 59 + 90).unwrap(), None, "three steps late does not");
        assert_eq!(matching_totp_step(&secret, "287083", 59).unwrap(), None);
    }

    fn base32_of(bytes: &[u8]) -> String {
        totp_rs::Secret::Raw(bytes.to_vec()).to_encoded().to_string()
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_without_case_or_dashes() {
        let (codes, hashes) = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let distinct: std::collections::HashSet<_> = hashes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
        let first = codes[0].as_str();
        assert_eq!(recovery_code_hash(&first.to_uppercase().replace('-', " ")), hashes[0]);
    }

    #[test]
    fn a_masked_phone_keeps_its_last_four_digits() {
        assert_eq!(masked_phone("+14155550123"), "+•••••••0123");
    }
}
