//! Webhook signatures both ways: the headers that sign Tether's deliveries (Cloud Elements' and Standard
//! Webhooks'), and the check of a provider's signature on the webhooks it sends Tether.

use app::catalog::SignatureEncoding;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// HMAC-SHA256 of the concatenated `parts`, keyed with the UTF-8 bytes of `key`.
fn hmac_sha256(key: &SecretString, parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes()).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// The headers of one delivery attempt: the event id under both names, the Standard Webhooks timestamp and,
/// when the instance has a signature key, both signatures of the body.
pub fn delivery_headers(
    event_id: &str,
    body: &str,
    timestamp: i64,
    key: Option<&SecretString>,
) -> Vec<(&'static str, String)> {
    let timestamp = timestamp.to_string();
    let mut headers = vec![
        ("elements-webhook-id", event_id.to_owned()),
        ("webhook-id", event_id.to_owned()),
        ("webhook-timestamp", timestamp.clone()),
    ];
    if let Some(key) = key {
        let elements = hmac_sha256(key, &[body.as_bytes()]).finalize().into_bytes();
        headers.push(("elements-webhook-signature", format!("sha256={}", STANDARD.encode(elements))));
        let signed = [event_id.as_bytes(), b".", timestamp.as_bytes(), b".", body.as_bytes()];
        let standard = hmac_sha256(key, &signed).finalize().into_bytes();
        headers.push(("webhook-signature", format!("v1,{}", STANDARD.encode(standard))));
    }
    headers
}

/// Whether `signature` (after `prefix`) is the HMAC-SHA256 of `body` under `key`, compared in constant time.
/// An empty key matches nothing: anyone can sign with it.
pub fn provider_signature_matches(
    key: &SecretString,
    body: &[u8],
    signature: &str,
    prefix: &str,
    encoding: SignatureEncoding,
) -> bool {
    if key.expose_secret().is_empty() {
        return false;
    }
    let Some(encoded) = signature.trim().strip_prefix(prefix) else { return false };
    let decoded = match encoding {
        SignatureEncoding::Hex => hex::decode(encoded.trim()).ok(),
        SignatureEncoding::Base64 => STANDARD.decode(encoded.trim()).ok(),
    };
    decoded.is_some_and(|expected| hmac_sha256(key, &[body]).verify_slice(&expected).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_carry_both_signatures_over_the_same_body() {
        let key = SecretString::from("s3cret");
        let headers = delivery_headers("evt-1", "{\"a\":1}", 1_700_000_000, Some(&key));
        let find = |name: &str| headers.iter().find(|(header, _)| *header == name).map(|(_, value)| value.clone());
        let elements = find("elements-webhook-signature").unwrap();
        let expected = hmac_sha256(&key, &[b"{\"a\":1}"]).finalize().into_bytes();
        assert_eq!(elements, format!("sha256={}", STANDARD.encode(expected)));
        let standard = find("webhook-signature").unwrap();
        let expected = hmac_sha256(&key, &[b"evt-1.1700000000.{\"a\":1}"]).finalize().into_bytes();
        assert_eq!(standard, format!("v1,{}", STANDARD.encode(expected)));
        assert_eq!(find("webhook-timestamp").as_deref(), Some("1700000000"));
        let unsigned = delivery_headers("evt-1", "{}", 1, None);
        assert!(unsigned.iter().all(|(name, _)| !name.ends_with("signature")));
    }

    #[test]
    fn a_provider_signature_is_checked_in_either_encoding() {
        let key = SecretString::from("k");
        let mac = hmac_sha256(&key, &[b"payload"]).finalize().into_bytes();
        let hex_signature = format!("sha256={}", hex::encode(mac));
        assert!(provider_signature_matches(&key, b"payload", &hex_signature, "sha256=", SignatureEncoding::Hex));
        assert!(!provider_signature_matches(&key, b"payload!", &hex_signature, "sha256=", SignatureEncoding::Hex));
        assert!(!provider_signature_matches(&key, b"payload", &hex_signature, "v1=", SignatureEncoding::Hex));
        let base64_signature = STANDARD.encode(mac);
        assert!(provider_signature_matches(&key, b"payload", &base64_signature, "", SignatureEncoding::Base64));
        assert!(!provider_signature_matches(&key, b"payload", "garbage", "", SignatureEncoding::Base64));
    }

    #[test]
    fn a_signature_made_with_the_empty_key_is_refused() {
        let empty = SecretString::from("");
        let signed = format!("sha256={}", hex::encode(hmac_sha256(&empty, &[b"payload"]).finalize().into_bytes()));
        assert!(!provider_signature_matches(&empty, b"payload", &signed, "sha256=", SignatureEncoding::Hex));
    }
}
