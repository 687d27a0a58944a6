//! Where an element's proxied calls carry an instance's credentials: headers, the query, the body, a secret
//! segment of the path, or a signature made for each request (OAuth 1.0a, Duo's, AWS Signature Version 4).

use super::template::Template;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One place the credentials go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "in", rename_all = "lowercase", deny_unknown_fields)]
pub enum CredentialPlacement {
    /// `Authorization: Bearer <access token>`.
    Bearer,
    /// HTTP basic authentication: the `username` and `password` parameters, unless templates say how the two
    /// halves are made (Zendesk's `{username}/token` and `{password}`).
    Basic {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<Template>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Template>,
    },
    /// A header, such as `x-api-key: {apiKey}`; with `"encoding": "base64"` the filled value is sent
    /// base64-encoded.
    Header {
        name: String,
        value: Template,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encoding: Option<ValueEncoding>,
    },
    /// A query parameter, such as `?api_key={apiKey}`; with `methods`, only on calls with one of them (Fiber AI
    /// takes its key in the query of a `GET`, in the body of a `POST`).
    Query {
        name: String,
        value: Template,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        methods: Vec<String>,
    },
    /// A field added to the form-encoded request body, such as `api_key={apiKey}`; `methods` as for a query.
    Form {
        name: String,
        value: Template,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        methods: Vec<String>,
    },
    /// A member added to the JSON object of the request body, such as Mandrill's `"key": "{apiKey}"`. A dotted
    /// name places it in nested objects (`auth.key`); `methods` as for a query.
    Json {
        name: String,
        value: Template,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        methods: Vec<String>,
    },
    /// A path segment between the API base URL and each call's path, such as Telegram's `bot{apiKey}`: kept
    /// secret like any credential, never part of the base URL or of a call's logged path.
    Path { value: Template },
    /// An OAuth 1.0a signature (RFC 5849, HMAC-SHA1) in the `Authorization` header, made for each request from
    /// the consumer key and secret and the instance's access token and token secret.
    #[serde(rename = "oauth1")]
    OAuth1,
    /// Duo's signature on each request (HMAC-SHA1 over the date, method, host, path and sorted parameters, its
    /// canonical form version 2), from the `username` (integration key) and `password` (secret key) parameters,
    /// with the `Date` header it signs.
    Duo,
    /// An AWS Signature Version 4 on each request, from the `accessKeyId` and `secretAccessKey` parameters (and
    /// `sessionToken` when given), for the service and region its templates name (`iam`, or `{region}`).
    #[serde(rename = "awsSigV4")]
    AwsSigV4 { service: Template, region: Template },
}

/// How a filled value is encoded before it is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ValueEncoding {
    /// Standard base64 with padding (RFC 4648 §4).
    Base64,
}

/// The places an element's credentials go: written as one placement, or as a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialPlacements(Vec<CredentialPlacement>);

impl CredentialPlacements {
    pub fn one(placement: CredentialPlacement) -> CredentialPlacements {
        CredentialPlacements(vec![placement])
    }

    pub fn iter(&self) -> std::slice::Iter<'_, CredentialPlacement> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a CredentialPlacements {
    type Item = &'a CredentialPlacement;
    type IntoIter = std::slice::Iter<'a, CredentialPlacement>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for CredentialPlacements {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for CredentialPlacements {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CredentialPlacements, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let placements = match value {
            serde_json::Value::Array(list) => {
                list.into_iter().map(serde_json::from_value).collect::<Result<Vec<_>, _>>()
            }
            one => serde_json::from_value(one).map(|placement| vec![placement]),
        }
        .map_err(serde::de::Error::custom)?;
        if placements.is_empty() {
            return Err(serde::de::Error::custom("credentials need at least one placement"));
        }
        Ok(CredentialPlacements(placements))
    }
}

/// Written as one placement, or as a list of them.
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for CredentialPlacements {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Ref};
        OneOfBuilder::new()
            .item(Ref::from_schema_name("CredentialPlacement"))
            .item(ArrayBuilder::new().items(Ref::from_schema_name("CredentialPlacement")).min_items(Some(1)))
            .description(Some("One placement, or a list when the credentials go in several places"))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for CredentialPlacements {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push(("CredentialPlacement".into(), <CredentialPlacement as utoipa::PartialSchema>::schema()));
        <CredentialPlacement as utoipa::ToSchema>::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_one_placement_or_a_list() {
        let one: CredentialPlacements = serde_json::from_str(r#"{"in": "basic"}"#).unwrap();
        assert_eq!(one, CredentialPlacements::one(CredentialPlacement::Basic { username: None, password: None }));
        assert_eq!(serde_json::to_string(&one).unwrap(), r#"{"in":"basic"}"#);
        let text = r#"[{"in":"query","name":"api_key","value":"{apiKey}"},{"in":"query","name":"app_key","value":"{appKey}"}]"#;
        let many: CredentialPlacements = serde_json::from_str(text).unwrap();
        assert_eq!(many.iter().count(), 2);
        assert_eq!(serde_json::to_string(&many).unwrap(), text);
        assert!(serde_json::from_str::<CredentialPlacements>("[]").is_err());
        let unknown = serde_json::from_str::<CredentialPlacements>(
            r#"[{"in": "header", "name": "x", "value": "y", "colour": 1}]"#,
        );
        assert!(unknown.unwrap_err().to_string().contains("colour"));
    }
}
