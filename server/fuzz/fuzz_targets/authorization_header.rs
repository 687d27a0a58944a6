//! Fuzzes the REST API's `Authorization` header parser: any text gets credentials or a clear refusal, never a
//! panic, and what it accepts is well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;

fuzz_target!(|header: &str| {
    if let Ok(credentials) = tether::api::auth::parse_authorization(header) {
        let secrets = [Some(&credentials.user), Some(&credentials.organization), credentials.element.as_ref()];
        for secret in secrets.into_iter().flatten() {
            let text = secret.expose_secret();
            assert!(!text.is_empty() && !text.contains(char::is_whitespace), "accepted a malformed secret");
        }
    }
});
