//! The OpenAPI document: generated from the routes, served at `/elements/api-v2/openapi.json`, and kept as a
//! snapshot (`server/openapi.json`) so that no route changes without the document showing it.

use crate::utils::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

fn generated() -> String {
    serde_json::to_string_pretty(&tether::api::openapi_document()).unwrap() + "\n"
}

/// Set `UPDATE_OPENAPI=1` to rewrite the snapshot after a deliberate change, and commit it with the change.
#[test]
fn the_document_matches_its_snapshot() {
    let document = generated();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(SNAPSHOT, &document).unwrap();
    }
    let snapshot = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if snapshot != document {
        let first_difference = snapshot
            .lines()
            .zip(document.lines())
            .position(|(old, new)| old != new)
            .unwrap_or_else(|| snapshot.lines().count().min(document.lines().count()));
        panic!(
            "the REST API no longer matches server/openapi.json (first difference at line {}): if the change is \
             meant, run `UPDATE_OPENAPI=1 cargo test -p tether --test it openapi` and commit the new document",
            first_difference + 1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_openapi_3_1_and_every_operation_is_routed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served = app.api(Method::GET, "/openapi.json").send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let served: Value = served.json().await.unwrap();
    assert_eq!(served, serde_json::to_value(tether::api::openapi_document()).unwrap());
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served["servers"][0]["url"], "/elements/api-v2");
    assert!(served["components"]["securitySchemes"]["tether"].is_object());

    // Every documented operation reaches a route: it is refused for want of credentials (or, for the webhook
    // receiver, for the unknown instance), never answered "no route" or "method not allowed".
    let mut operations = 0;
    for (path, item) in served["paths"].as_object().unwrap() {
        let concrete = path.replace("{hub}", "crm").replace("{path}", "contacts").replace("{element_key}", "sfdc");
        let concrete = concrete
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let response =
                app.api(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), &concrete).send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            assert!(
                !body.contains("No route for") && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed: {status} {body}"
            );
            assert!(matches!(status.as_u16(), 400 | 401 | 404), "{method} {path}: {status} {body}");
        }
    }
    assert!(operations >= 40, "{operations} operations documented");
}

/// Routes are added only through `routes!` on documented handlers, so none can exist outside the document; the
/// two added by hand are the proxy (documented in `api/openapi.rs`) and the document itself.
#[test]
fn routes_are_added_only_with_their_documentation() {
    let api = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api");
    for module in ["accounts", "audit", "elements", "instances", "events"] {
        let source = std::fs::read_to_string(format!("{api}/{module}.rs")).unwrap().replace("OpenApiRouter::new()", "");
        for by_hand in [".route(", ".route_service(", ".nest(", "Router::new()"] {
            assert!(!source.contains(by_hand), "api/{module}.rs adds a route with {by_hand}, outside the document");
        }
    }
    let router = std::fs::read_to_string(format!("{api}/mod.rs")).unwrap();
    assert_eq!(router.matches(".route(").count(), 1, "api/mod.rs adds only /openapi.json by hand");
    let proxy = std::fs::read_to_string(format!("{api}/proxy.rs")).unwrap();
    assert_eq!(proxy.matches(".route(").count(), 1, "the proxy has its one documented route");
}
