//! The sandbox's registered OAuth client and what its authorization server keeps for as long as it runs.

use hmac::{Hmac, Mac};
use oxide_auth::primitives::authorizer::AuthMap;
use oxide_auth::primitives::generator::RandomGenerator;
use oxide_auth::primitives::registrar::{Client, ClientMap, RegisteredUrl};
use rand::RngCore;
use sha2::Sha256;
use std::sync::Mutex;

/// The one scope of the sandbox: its CRM.
pub const SCOPE: &str = "crm";

/// The sandbox's registered client, whose id the control page shows with its secret.
pub const CLIENT_ID: &str = "tether-sandbox";

/// The parts of the server that live as long as the sandbox: the client registry, the pending authorization
/// codes and the key that ties a consent form to its request.
pub struct AuthorizationServer {
    pub(super) registrar: ClientMap,
    pub(super) codes: Mutex<AuthMap<RandomGenerator>>,
    form_key: [u8; 32],
}

impl AuthorizationServer {
    pub fn new(client_secret: &str, redirect_uris: &[url::Url]) -> anyhow::Result<AuthorizationServer> {
        let (first, others) =
            redirect_uris.split_first().ok_or_else(|| anyhow::anyhow!("the sandbox needs a redirect URI"))?;
        let client = Client::confidential(
            CLIENT_ID,
            RegisteredUrl::Semantic(first.clone()),
            SCOPE.parse().expect("a valid scope"),
            client_secret.as_bytes(),
        )
        .with_additional_redirect_uris(others.iter().cloned().map(RegisteredUrl::Semantic).collect());
        let mut registrar = ClientMap::new();
        registrar.register_client(client);
        let mut form_key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut form_key);
        Ok(AuthorizationServer { registrar, codes: Mutex::new(AuthMap::new(RandomGenerator::new(24))), form_key })
    }

    /// Whether `secret` is the registered client's, for the revocation endpoint.
    pub(super) fn client_is(&self, client_id: &str, secret: &str) -> bool {
        use oxide_auth::primitives::registrar::Registrar;
        self.registrar.check(client_id, Some(secret.as_bytes())).is_ok()
    }

    /// The hidden value that proves a consent form was served for this very request.
    pub(super) fn form_token(&self, query: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.form_key).expect("any key length");
        mac.update(query.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}
