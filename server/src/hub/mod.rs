//! The hub: each capability of `app::hub` implemented once over storage, the vault and the outbound client.
//!
//! Wiring only. The layers, bottom up (a module uses only those below it):
//! - the state and its failures: `service`, `errors`, `call_cache`, `call_recorder`, `refresh_locks`;
//! - instance data and rules: `configuration`, `credentials`, `templates`, `token_endpoints`, `codes`;
//! - what every capability reads: `elements` (the element a call names), `records` (stored instances), `health`,
//!   `history` (each instance's story), `notices`, `webhooks` (lifecycle events for the team's endpoints),
//!   `audit`;
//! - the provider-facing work: `tokens` (refresh), `oauth` and `exchange` (the code and client credentials
//!   grants), `verification` (checking new credentials), `event_setup`, `events`, `polling`;
//! - the doors' use cases: `instances`, `instance_table` (the console's listing), `call_logs` (the proxy's record of calls), `console_connect`, `connect`
//!   (sessions for end users), `hosted_connect` (the end user's page), `proxy`, `identity`, `accounts`,
//!   `two_factor`.

mod accounts;
mod audit;
mod call_cache;
mod call_logs;
mod call_rates;
mod call_recorder;
mod codes;
mod configuration;
mod connect;
mod console_connect;
mod credentials;
mod elements;
mod errors;
mod event_setup;
mod events;
mod exchange;
mod flows;
mod health;
mod history;
mod hosted_connect;
mod identity;
mod instance_table;
mod instances;
mod notices;
mod oauth;
mod oauth1;
mod polling;
mod proxy;
mod records;
mod refresh_locks;
mod service;
mod templates;
mod token_endpoints;
mod tokens;
mod two_factor;
mod verification;
mod webhooks;

pub use accounts::NewOrganization;
pub use call_logs::begin_trace;
pub use call_recorder::CallLogSettings;
pub use connect::CONNECT_PAGE_PATH;
pub use console_connect::CONSOLE_CALLBACK_PATH;
pub use errors::{OrInternal, internal_error};
pub use events::{Destination, read_webhook};
pub use flows::CONNECT_STATE_PREFIX;
pub use oauth::pkce_challenge;
pub use service::{HubService, HubSettings};
pub use tokens::{RefreshReason, WaveTally};
