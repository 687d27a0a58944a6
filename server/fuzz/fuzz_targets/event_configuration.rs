//! Fuzzes event configurations: any `event.*` keys and values, for elements of every event mode, with or
//! without a default poller. They are checked or refused with the key named, never a panic; poll URLs of
//! accepted settings fill in.
#![no_main]

use app::catalog::EventMode;
use app::events::{event_settings, fill_poll_url};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|bytes: &[u8]| {
    let Ok(values) = serde_json::from_slice::<BTreeMap<String, String>>(bytes) else { return };
    let default_poller = serde_json::json!({"contacts": {"url": "/hubs/crm/contacts", "idField": "id"}});
    for support in [EventMode::None, EventMode::Polling, EventMode::Webhooks, EventMode::Both] {
        for poller in [None, Some(&default_poller)] {
            if let Ok(Some(settings)) = event_settings(&values, "crm", support, poller) {
                for resource in settings.poller.values() {
                    let _ = fill_poll_url(&resource.url, "crm", chrono::Utc::now());
                }
            }
        }
    }
});
