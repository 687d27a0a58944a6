//! Fuzzes providers' webhook payloads: any JSON body, read with the default field names and with settings that
//! point into the payload's own fields. Each is read into changes or refused, never a panic.
#![no_main]

use app::catalog::WebhookSettings;
use libfuzzer_sys::fuzz_target;
use tether::hub::read_webhook;

fuzz_target!(|bytes: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(bytes) else { return };
    let default: WebhookSettings = serde_json::from_value(serde_json::json!({})).expect("defaults");
    let nested: WebhookSettings = serde_json::from_value(serde_json::json!({
        "changesField": "changes", "objectTypeField": "type", "objectIdField": "data.id",
        "eventTypeField": "action", "dateField": "at", "objectField": "data"
    }))
    .expect("valid settings");
    for settings in [&default, &nested] {
        if let Ok(changes) = read_webhook(settings, "crm", &payload) {
            for (notice, _) in changes {
                assert!(!notice.event_type.is_empty(), "a change without an event type was accepted");
            }
        }
    }
});
