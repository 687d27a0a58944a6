//! The TwoFactor capability: enrolling an authenticator app or a phone, confirming it, and an admin's reset.

use super::codes::CHALLENGE_MILLIS;
use super::codes::CodeCheck;
use super::codes::TOTP_DIGITS;
use super::codes::TOTP_ISSUER;
use super::codes::TOTP_STEP_SECONDS;
use super::codes::recovery_codes;
use super::errors::OrInternal;
use super::identity::WRONG_CODES_PER_CHALLENGE;
use super::service::HubService;
use crate::store::audit::Actor;
use crate::store::now_millis;
use crate::store::two_factor::{ChallengePurpose, Enrolment, NewChallenge};
use crate::validate;
use app::error::HubError;
use app::hub::{Caller, TwoFactor};
use app::revealed::RevealedSecret;
use app::two_factor::{RecoveryCodes, TotpEnrolment, TwoFactorMethod, TwoFactorStatus};
use app::types::User;
use base64::Engine as _;
use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use totp_rs::{Algorithm, TOTP};

/// The least time between two texts that enrol a phone, so the form cannot be used to flood a number.
const TEXT_INTERVAL_MILLIS: i64 = 30 * 1000;

impl HubService {
    /// Turns a user's second factor off, as an admin does for someone who lost their device.
    pub(super) async fn remove_second_factor(&self, caller: &Caller, user: &User) -> Result<(), HubError> {
        if let Some(old) = self.store.reset_two_factor(user.id).await.or_internal()? {
            self.vault.remove(old).await.or_internal()?;
        }
        self.audit(caller.organization_id, Actor::of(caller), "two_factor.reset", format!("user:{}", user.id)).await
    }
}

#[async_trait::async_trait]
impl TwoFactor for HubService {
    async fn two_factor_status(&self, caller: &Caller) -> Result<TwoFactorStatus, HubError> {
        let factor = self.store.second_factor(caller.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        Ok(TwoFactorStatus {
            method: factor.method,
            phone: factor.phone,
            phone_confirmed: factor.phone_confirmed,
            recovery_codes_left: self.store.recovery_codes_left(caller.user_id).await.or_internal()?,
        })
    }

    /// A new TOTP secret, kept sealed with the enrolment until a code from it confirms it.
    async fn begin_totp_enrolment(&self, caller: &Caller) -> Result<TotpEnrolment, HubError> {
        let user = self.store.user(caller.user_id).await.or_internal()?.ok_or(HubError::Internal)?;
        let mut secret = [0u8; 20];
        OsRng.fill(&mut secret);
        let totp = TOTP::new(
            Algorithm::SHA1,
            TOTP_DIGITS,
            0,
            TOTP_STEP_SECONDS,
            secret.to_vec(),
            Some(TOTP_ISSUER.to_owned()),
            user.email_address,
        )
        .or_internal()?;
        let encoded = SecretString::from(totp.get_secret_base32());
        let qr = qrcode::QrCode::new(totp.get_url().as_bytes()).or_internal()?;
        let svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
        let qr_code = format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg));
        self.store
            .insert_challenge(&NewChallenge {
                token_hash: None,
                user: caller.user_id,
                purpose: ChallengePurpose::Enrol,
                method: TwoFactorMethod::Totp,
                sealed_secret: Some(self.vault.seal(&encoded).or_internal()?),
                phone: None,
                expires_at: now_millis() + CHALLENGE_MILLIS,
            })
            .await
            .or_internal()?;
        Ok(TotpEnrolment {
            secret: RevealedSecret::new(encoded.expose_secret().to_owned()),
            qr_code: RevealedSecret::new(qr_code),
        })
    }

    /// Sends a code to the phone to enrol; confirming it makes that number the caller's.
    async fn begin_phone_enrolment(&self, caller: &Caller, phone: &str) -> Result<(), HubError> {
        let phone = validate::phone("phone", phone)?;
        let earlier = self.store.enrol_challenge(caller.user_id, TwoFactorMethod::Phone).await.or_internal()?;
        if let Some(wait) = earlier.map(|earlier| earlier.created_at + TEXT_INTERVAL_MILLIS - now_millis())
            && wait > 0
        {
            return Err(HubError::TooManyRequests {
                message: "A code was texted moments ago; wait a little before asking for another".into(),
                retry_after_seconds: (wait as u64).div_ceil(1000),
            });
        }
        let sealed_code = self.send_code(caller, &phone, "confirmation").await?;
        self.store
            .insert_challenge(&NewChallenge {
                token_hash: None,
                user: caller.user_id,
                purpose: ChallengePurpose::Enrol,
                method: TwoFactorMethod::Phone,
                sealed_secret: Some(sealed_code),
                phone: Some(&phone),
                expires_at: now_millis() + CHALLENGE_MILLIS,
            })
            .await
            .or_internal()
    }

    /// Confirms the pending enrolment of `method` with a code, turns it on, and makes new recovery codes.
    async fn confirm_enrolment(
        &self,
        caller: &Caller,
        method: TwoFactorMethod,
        code: &SecretString,
    ) -> Result<RecoveryCodes, HubError> {
        let challenge = self.store.enrol_challenge(caller.user_id, method).await.or_internal()?.ok_or_else(|| {
            HubError::BadRequest(format!("code: no {} enrolment is waiting; start again", method.label()))
        })?;
        let CodeCheck::Code { totp_step } = self.check_code(&challenge, code, false).await? else {
            if self.store.count_wrong_code(challenge.id).await.or_internal()? >= WRONG_CODES_PER_CHALLENGE {
                self.store.delete_challenge(challenge.id).await.or_internal()?;
                return Err(HubError::BadRequest("code: too many wrong codes; start the enrolment again".into()));
            }
            return Err(HubError::BadRequest("code: that code is not right".into()));
        };
        let totp = match (method, &challenge.sealed_secret, totp_step) {
            (TwoFactorMethod::Totp, Some(sealed), Some(step)) => {
                let secret = self.vault.unseal(sealed).await.or_internal()?;
                let stored =
                    self.vault.put(Some(caller.organization_id), "two_factor.totp", &secret).await.or_internal()?;
                Some((stored, step))
            }
            _ => None,
        };
        let (codes, hashes) = recovery_codes();
        let replaced = self
            .store
            .turn_on_two_factor(&Enrolment {
                user: caller.user_id,
                method,
                totp,
                phone: challenge.phone.as_deref(),
                recovery_code_hashes: &hashes,
            })
            .await
            .or_internal()?;
        if let Some(old) = replaced {
            self.vault.remove(old).await.or_internal()?;
        }
        let actor = Actor::of(caller);
        self.audit(
            caller.organization_id,
            actor.clone(),
            &format!("two_factor.enrolled.{}", method.as_str()),
            actor.to_string(),
        )
        .await?;
        Ok(RecoveryCodes { codes })
    }
}
