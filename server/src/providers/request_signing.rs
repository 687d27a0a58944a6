//! Signatures made for each request to a provider that wants every request signed: OAuth 1.0a's (RFC 5849,
//! HMAC-SHA1, by the `oauth1-request` crate), Duo's (HMAC-SHA1 over its canonical request), and AWS Signature
//! Version 4 (by AWS's own `aws-sigv4` crate), each over the method, URL and body exactly as they are sent.

use app::error::HubError;
use app::hub::RequestSigning;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use oauth1_request::Credentials;
use secrecy::ExposeSecret;
use std::time::SystemTime;

/// What an OAuth 1.0a request is signed with: the consumer's key and secret, the token and its secret (the
/// request token's while authorizing, the access token's after), and the protocol values of the token steps.
pub struct OAuth1Signer<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    pub token: Option<(&'a str, &'a str)>,
    /// `oauth_callback`, when asking for a request token.
    pub callback: Option<&'a str>,
    /// `oauth_verifier`, when exchanging the request token for an access token.
    pub verifier: Option<&'a str>,
}

impl OAuth1Signer<'_> {
    /// The `Authorization` header of a request: the URL's query and the fields of a form body are signed with it
    /// (RFC 5849 §3.4.1.3), the URL without its query is the base string URI.
    pub fn authorization(&self, method: &Method, url: &url::Url, form_body: Option<&[u8]>) -> String {
        self.authorization_with(method, url, form_body, None)
    }

    /// The same with a given nonce and timestamp instead of fresh ones, to compare with a known signature.
    fn authorization_with(
        &self,
        method: &Method,
        url: &url::Url,
        form_body: Option<&[u8]>,
        nonce_and_timestamp: Option<(&str, std::num::NonZeroU64)>,
    ) -> String {
        let parameters = EncodedParameters::of(signed_parameters(url, form_body));
        let mut builder = oauth1_request::Builder::<_, &str, &str>::new(
            Credentials::new(self.consumer_key, self.consumer_secret),
            oauth1_request::HMAC_SHA1,
        );
        if let Some((token, secret)) = self.token {
            builder.token(Credentials::new(token, secret));
        }
        // `oauth_version` is optional (RFC 5849 §3.1); some providers' documentation asks for it.
        builder.callback(self.callback).verifier(self.verifier).version(true);
        if let Some((nonce, timestamp)) = nonce_and_timestamp {
            builder.nonce(nonce).timestamp(timestamp);
        }
        builder.authorize(method.as_str(), &url[..url::Position::AfterPath], &parameters)
    }
}

/// A request's own parameters as RFC 5849 §3.4.1.3.2 orders them: names and values percent-encoded, then sorted
/// by the encoded bytes, which is not the order of the decoded text (`c%40` comes before `c2`). Parameters named
/// `oauth_…` are the protocol's, which Tether sets itself, so a caller's are not signed.
struct EncodedParameters(Vec<(String, String)>);

impl EncodedParameters {
    fn of(pairs: Vec<(String, String)>) -> EncodedParameters {
        EncodedParameters(encoded_in_order(pairs.into_iter().filter(|(name, _)| !name.starts_with("oauth_"))))
    }
}

/// The parameters a signature covers: the URL's query, then a form body's fields.
fn signed_parameters(url: &url::Url, form_body: Option<&[u8]>) -> Vec<(String, String)> {
    let mut parameters: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if let Some(body) = form_body {
        parameters.extend(url::form_urlencoded::parse(body).into_owned());
    }
    parameters
}

/// Names and values percent-encoded, sorted as pairs by their encoded bytes (RFC 5849 §3.4.1.3.2, which Duo
/// follows too): `a` comes before `a-b`, and `c%40` before `c2`.
fn encoded_in_order(pairs: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut encoded: Vec<(String, String)> =
        pairs.map(|(name, value)| (percent_encoded(&name), percent_encoded(&value))).collect();
    encoded.sort();
    encoded
}

/// `text` with every byte but RFC 3986's unreserved characters percent-encoded (RFC 5849 §3.6).
fn percent_encoded(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, RFC3986_RESERVED).to_string()
}

/// Every byte but RFC 3986's unreserved characters is percent-encoded (RFC 5849 §3.6).
const RFC3986_RESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

impl oauth1_request::Request for EncodedParameters {
    fn serialize<S: oauth1_request::serializer::Serializer>(&self, mut serializer: S) -> S::Output {
        use oauth1_request::serializer::SerializerExt as _;
        let (before, after): (Vec<_>, Vec<_>) = self.0.iter().partition(|(name, _)| name.as_str() < "oauth_");
        // The serializer encodes values for the base string, but takes names as they are: they go in encoded
        // twice, as the base string has them (which keeps their order).
        for (name, value) in before {
            serializer.serialize_parameter_encoded(&percent_encoded(name), value);
        }
        serializer.serialize_oauth_parameters();
        for (name, value) in after {
            serializer.serialize_parameter_encoded(&percent_encoded(name), value);
        }
        serializer.end()
    }
}

/// Whether a request's body is form-encoded, so that OAuth 1.0a signs its fields.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Adds the headers that sign a request as `signing` says.
pub fn sign(
    signing: &RequestSigning,
    method: &Method,
    url: &url::Url,
    headers: &mut HeaderMap,
    body: &[u8],
) -> Result<(), HubError> {
    let signed = match signing {
        RequestSigning::OAuth1 { consumer_key, consumer_secret, token, token_secret } => {
            let signer = OAuth1Signer {
                consumer_key,
                consumer_secret: consumer_secret.expose_secret(),
                token: Some((token, token_secret.expose_secret())),
                callback: None,
                verifier: None,
            };
            let form_body = is_form(headers).then_some(body);
            vec![("authorization".to_owned(), signer.authorization(method, url, form_body))]
        }
        RequestSigning::Duo { integration_key, secret_key } => {
            let date = chrono::Utc::now().format(DUO_DATE).to_string();
            let form_body = is_form(headers).then_some(body);
            let authorization =
                duo_authorization(integration_key, secret_key.expose_secret(), method, url, form_body, &date);
            vec![("authorization".to_owned(), authorization), ("date".to_owned(), date)]
        }
        RequestSigning::AwsSigV4 { .. } => aws_sigv4_headers(signing, method, url, headers, body, SystemTime::now())?,
    };
    for (name, value) in signed {
        let name = HeaderName::try_from(name).map_err(|_| HubError::Internal)?;
        let mut value = HeaderValue::try_from(value).map_err(|_| HubError::Internal)?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(())
}

/// The `Date` Duo signs: RFC 2822, in UTC.
const DUO_DATE: &str = "%a, %d %b %Y %H:%M:%S -0000";

/// Duo's `Authorization` header: basic credentials of the integration key and the hex HMAC-SHA1, keyed with the
/// secret key, of the date, method, host, path and parameters (the query's, or a form body's fields), one a line.
/// Parameters are encoded and ordered as OAuth 1.0a orders them.
fn duo_authorization(
    integration_key: &str,
    secret_key: &str,
    method: &Method,
    url: &url::Url,
    form_body: Option<&[u8]>,
    date: &str,
) -> String {
    use base64::Engine;
    use hmac::Mac;
    let encoded: Vec<String> = encoded_in_order(signed_parameters(url, form_body).into_iter())
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let canonical = [date, method.as_str(), &host.to_ascii_lowercase(), url.path(), &encoded.join("&")].join("\n");
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key");
    mac.update(canonical.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let pair = format!("{integration_key}:{signature}");
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// The headers of an AWS Signature Version 4 at `time`: `authorization`, `x-amz-date`, and for S3 (which wants
/// it) `x-amz-content-sha256`; a session token goes in `x-amz-security-token`.
fn aws_sigv4_headers(
    signing: &RequestSigning,
    method: &Method,
    url: &url::Url,
    headers: &HeaderMap,
    body: &[u8],
    time: SystemTime,
) -> Result<Vec<(String, String)>, HubError> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode,
    };
    let RequestSigning::AwsSigV4 { access_key_id, secret_access_key, session_token, region, service } = signing else {
        return Err(HubError::Internal);
    };
    let identity = aws_credential_types::Credentials::new(
        access_key_id,
        secret_access_key.expose_secret(),
        session_token.as_ref().map(|token| token.expose_secret().to_owned()),
        None,
        "tether-instance",
    )
    .into();
    let mut settings = SigningSettings::default();
    if service == "s3" {
        // S3 signs the payload's digest in a header and takes the path as it is (AWS's S3 signing rules).
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let parameters = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|_| HubError::Internal)?
        .into();
    let header_pairs: Vec<(&str, &str)> =
        headers.iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))).collect();
    let signable =
        SignableRequest::new(method.as_str(), url.as_str(), header_pairs.into_iter(), SignableBody::Bytes(body))
            .map_err(|error| HubError::BadRequest(format!("path: cannot be signed for AWS ({error})")))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &parameters)
        .map_err(|error| HubError::BadRequest(format!("the request cannot be signed for AWS ({error})")))?
        .into_parts();
    Ok(instructions.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    /// AWS's published Signature Version 4 test suite, case `get-vanilla`: its credentials, date, region and
    /// service, and the signature the suite gives.
    #[test]
    fn aws_signatures_match_the_published_get_vanilla_case() {
        let signing = RequestSigning::AwsSigV4 {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: None,
            region: "us-east-1".into(),
            service: "service".into(),
        };
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160); // 20150830T123600Z
        let url = url::Url::parse("https://example.amazonaws.com/").unwrap();
        let headers = aws_sigv4_headers(&signing, &Method::GET, &url, &HeaderMap::new(), b"", time).unwrap();
        let find = |name: &str| headers.iter().find(|(header, _)| header == name).map(|(_, value)| value.as_str());
        assert_eq!(find("x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(
            find("authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            )
        );
    }

    /// The request of RFC 5849 §3.4.1.1's example (query, form body, and the secrets of §3.4.4), signed with the
    /// example's nonce and timestamp: the signature is the one Python's `oauthlib` 3.2.2 computes for it
    /// (`oauthlib.oauth1.Client(…, nonce="7d8f3e4a", timestamp="137131201").sign(…)`).
    #[test]
    fn oauth1_signs_the_query_and_the_form_body() {
        let signer = OAuth1Signer {
            consumer_key: "9djdj82h48djs9d2",
            consumer_secret: "j49sk3j29djd",
            token: Some(("kkk9d7dh3k39sjv7", "dh893hdasih9")),
            callback: None,
            verifier: None,
        };
        let url = url::Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let fixed = Some(("7d8f3e4a", std::num::NonZeroU64::new(137_131_201).unwrap()));
        let header = signer.authorization_with(&Method::POST, &url, Some(b"c2&a3=2+q"), fixed);
        assert!(header.contains("oauth_signature=\"OB33pYjWAnf%2BxtOHN4Gmbdil168%3D\""), "{header}");
        assert!(header.contains("oauth_token=\"kkk9d7dh3k39sjv7\""), "{header}");
        // Without the form body the signature differs: the body's fields are part of it.
        let without_body = signer.authorization_with(&Method::POST, &url, None, fixed);
        assert!(!without_body.contains("OB33pYjWAnf%2BxtOHN4Gmbdil168%3D"), "{without_body}");
    }
}
