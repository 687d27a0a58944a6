//! Tether Sandbox: a small provider served under `/sandbox` (an OAuth 2.0 server, a CRM API that sends signed
//! webhooks, and a control page), so every flow can be tried offline. Nothing here uses the rest of Tether: Tether
//! reaches it only over HTTP, as it reaches any provider, through the `sandbox` element (`catalog::sandbox_element`).

mod authorization;
mod control;
mod crm;
pub mod data;
mod oauth;
mod page;
mod state;

use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

pub use authorization::{CLIENT_ID, SCOPE};
pub use state::{BASE_PATH, Delivered, SIGNATURE_HEADER, Sandbox, SandboxSettings};

/// The sandbox's routes, to be nested under [`BASE_PATH`].
pub fn router(sandbox: &Arc<Sandbox>) -> Router {
    Router::new()
        .route("/", get(control::page))
        .route("/control/revoke", post(control::revoke_all))
        .route("/control/outage", post(control::stage_outage))
        .route("/control/contacts", post(control::save_contact))
        .route("/inbox", post(control::take_delivery))
        .route("/oauth/authorize", get(oauth::authorize).post(oauth::authorize))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .merge(crm::router())
        .with_state(sandbox.clone())
}

/// With the sandbox off, its paths answer 404 rather than falling through to the console.
pub fn not_served() -> Router {
    let gone =
        || async { (axum::http::StatusCode::NOT_FOUND, "Tether Sandbox is off; TETHER_SANDBOX=true turns it on.") };
    Router::new()
        .route(BASE_PATH, axum::routing::any(gone))
        .route(&format!("{BASE_PATH}/{{*rest}}"), axum::routing::any(gone))
}
