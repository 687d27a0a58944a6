//! Fuzzes `POST /elements/{key}/instances` bodies through the real path: the API's JSON reader, then the hub's
//! checks and storage on a SQLite database of its own. The element takes basic credentials and events of both
//! kinds, so no input reaches the network. Bad bodies are refused with the field named, never a panic.
#![no_main]

use app::hub::{Caller, ElementCatalog, Identity, Instances};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tether::api::extract::parse_json;
use tether::hub::HubService;

#[path = "../../tests/it/utils.rs"]
#[allow(dead_code, unused_macros)]
mod utils;

/// The test kit's hub on SQLite, with the fuzz element, and its first organization's admin.
struct Setup {
    runtime: tokio::runtime::Runtime,
    hub: std::sync::Arc<HubService>,
    caller: Caller,
    _app: utils::TestApp,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (app, caller) = runtime.block_on(async {
            let app = utils::TestApp::spawn_with(utils::Backend::Sqlite, |config| {
                config.outbound.allow_private_network = false;
            })
            .await;
            let credentials = app::hub::ApiCredentials {
                user: app.first.user_secret.clone(),
                organization: app.first.organization_secret.clone(),
                element: None,
            };
            let caller = app.hub.authenticate(&credentials).await.unwrap();
            let definition = tether::catalog::parse_definition(element()).unwrap();
            app.hub.create_element(&caller, definition).await.expect("the fuzz element is valid");
            (app, caller)
        });
        Setup { runtime, hub: app.hub.clone(), caller, _app: app }
    })
}

fn element() -> serde_json::Value {
    serde_json::json!({
        "key": "fuzz-basic", "name": "Fuzz", "hub": "crm", "auth": "basic",
        "api": {"baseUrl": "https://{account}.example.com/api", "credentials": {"in": "basic"}},
        "parameters": [
            {"key": "account", "label": "Account", "pattern": "^[a-z]+$"},
            {"key": "username", "label": "User name"},
            {"key": "password", "label": "Password", "type": "password", "secret": true}
        ],
        "events": {"support": "both"}
    })
}

fuzz_target!(|bytes: &[u8]| {
    let setup = setup();
    let Ok(body) = parse_json::<app::instances::NewInstance>(bytes) else { return };
    setup.runtime.block_on(async {
        let created = setup.hub.create_instance(&setup.caller, Some("fuzz-basic"), body).await;
        if let Err(app::error::HubError::Internal) = created {
            panic!("a body caused an internal error");
        }
    });
});
