//! The events fields of the Authenticate and Edit forms: the switch, event type, callback URL and signature key;
//! for polling, the interval slider with its number box, and the resources as checkboxes kept in step with a
//! JSON editor of `event.poller.configuration`. Everything is checked as the user types, by the server's checks.

use crate::catalog::EventMode;
use crate::events::{
    CALLBACK_URL, DEFAULT_REFRESH_INTERVAL_MINUTES, ENABLED, EventForm, POLLER_CONFIGURATION, REFRESH_INTERVAL,
    SIGNATURE_KEY, VENDOR_TYPE, VendorType, poller_configuration,
};
use leptos::prelude::*;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The slider's stops above the deployment's shortest interval, in minutes: a minute up to a day.
const INTERVAL_STOPS: [f64; 10] = [1.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 360.0, 720.0, 1440.0];

/// The slider's stops for a deployment whose shortest interval is `shortest` minutes.
fn interval_stops(shortest: f64) -> Vec<f64> {
    let lowest = (shortest > 0.0 && !INTERVAL_STOPS.contains(&shortest)).then_some(shortest);
    lowest.into_iter().chain(INTERVAL_STOPS.into_iter().filter(|stop| *stop >= shortest)).collect()
}

/// The slider position for `minutes`: the last stop at or below it.
fn stop_index(stops: &[f64], minutes: f64) -> usize {
    stops.iter().rposition(|stop| *stop <= minutes).unwrap_or(0)
}

/// "every 15 minutes", "every 3 seconds", "every 2 hours".
fn interval_label(minutes: f64) -> String {
    let (amount, unit) = if minutes < 1.0 {
        ((minutes * 60.0 * 100.0).round() / 100.0, "second")
    } else if minutes >= 60.0 && minutes % 60.0 == 0.0 {
        (minutes / 60.0, "hour")
    } else {
        (minutes, "minute")
    };
    if amount == 1.0 { format!("every {unit}") } else { format!("every {amount} {unit}s") }
}

/// The resources named in the editor's text, when it is a JSON object.
fn resources_in(text: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(resources)) => Some(resources),
        _ => None,
    }
}

/// The resources the checkboxes offer: the element's defaults, then any others the editor's text names.
fn offered_resources(defaults: &Map<String, Value>, text: &str) -> Vec<String> {
    let mut names: Vec<String> = defaults.keys().cloned().collect();
    for name in resources_in(text).unwrap_or_default().keys() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// Turns resource `name` on or off in the editor's text, answering the new text, or `None` while the text is not
/// an object. A resource turned off waits in `aside`, so that turning it on again brings back its settings;
/// one never edited comes from the element's `defaults`.
fn toggle_resource(
    text: &str,
    name: &str,
    on: bool,
    defaults: &Map<String, Value>,
    aside: &mut Map<String, Value>,
) -> Option<String> {
    let mut resources = resources_in(text)?;
    if on {
        let settings = aside.remove(name).or_else(|| defaults.get(name).cloned())?;
        resources.insert(name.to_owned(), settings);
    } else if let Some(settings) = resources.remove(name) {
        aside.insert(name.to_owned(), settings);
    }
    serde_json::to_string_pretty(&Value::Object(resources)).ok()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The events fields. They write the `event.*` keys into `values`, which the form sends as configuration.
#[component]
pub fn EventFields(form: EventForm, values: RwSignal<BTreeMap<String, String>>) -> impl IntoView {
    if form.support == EventMode::None {
        return ().into_any();
    }
    let defaults = match &form.default_poller {
        Some(Value::Object(resources)) => resources.clone(),
        _ => Map::new(),
    };
    let initial_text =
        form.values.get(POLLER_CONFIGURATION).cloned().unwrap_or_else(|| pretty(&Value::Object(defaults.clone())));
    values.update(|values| values.extend(form.values.clone()));
    let poller_text = RwSignal::new(initial_text);
    let aside = StoredValue::new(Map::new());
    let stops = StoredValue::new(interval_stops(form.shortest_interval_minutes));
    let form = StoredValue::new(form);
    let defaults = StoredValue::new(defaults);

    let value_of = move |key: &'static str| move || values.read().get(key).cloned().unwrap_or_default();
    // An emptied field is left out, so that saving keeps what the instance has.
    let set = move |key: &'static str, value: String| {
        values.update(|values| {
            if value.trim().is_empty() {
                values.remove(key);
            } else {
                values.insert(key.to_owned(), value);
            }
        })
    };
    let set_from = move |key: &'static str| move |event: leptos::ev::Event| set(key, event_target_value(&event));
    let enabled = move || values.read().get(ENABLED).is_some_and(|value| value == "true");
    let vendor =
        move || match (form.with_value(|form| form.support), values.read().get(VENDOR_TYPE).map(String::as_str)) {
            (EventMode::Webhooks, _) | (EventMode::Both, Some("webhooks")) => VendorType::Webhooks,
            _ => VendorType::Polling,
        };
    let minutes = move || {
        values
            .read()
            .get(REFRESH_INTERVAL)
            .and_then(|text| text.trim().parse::<f64>().ok())
            .unwrap_or(DEFAULT_REFRESH_INTERVAL_MINUTES)
    };
    let write_poller = move |text: String| {
        set(POLLER_CONFIGURATION, text.clone());
        poller_text.set(text);
    };
    let toggle = move |name: String, on: bool| {
        let text = poller_text.get_untracked();
        let changed = aside.try_update_value(|aside| {
            defaults.with_value(|defaults| toggle_resource(&text, &name, on, defaults, aside))
        });
        if let Some(Some(text)) = changed {
            write_poller(text);
        }
    };
    let problem = move || {
        let values = values.read();
        form.with_value(|form| form.check(&values)).err().map(|problem| format!("{}: {}", problem.key, problem.problem))
    };
    let editor_problem = move || {
        let hub = form.with_value(|form| form.hub.clone());
        poller_configuration(&poller_text.read(), &hub)
            .err()
            .map(|problem| format!("{}: {}", problem.key, problem.problem))
    };
    let signature_placeholder =
        if form.with_value(|form| form.signature_key_set) { "Set; leave empty to keep it" } else { "" };

    view! {
        <fieldset class="event-fields">
            <legend>"Events"</legend>
            <label class="checkbox switch">
                <input
                    type="checkbox"
                    role="switch"
                    name=ENABLED
                    prop:checked=enabled
                    on:change=move |event| set(ENABLED, event_target_checked(&event).to_string())
                />
                "Events enabled"
            </label>
            {(form.with_value(|form| form.support) == EventMode::Both).then(|| view! {
                <label>
                    "Event type"
                    <select name=VENDOR_TYPE on:change=set_from(VENDOR_TYPE) prop:value=move || vendor().as_str()>
                        <option value="polling">"Polling"</option>
                        <option value="webhooks">"Webhooks"</option>
                    </select>
                </label>
            })}
            <label>
                "Callback URL"
                <input type="url" name=CALLBACK_URL autocomplete="off" prop:value=value_of(CALLBACK_URL) on:input=set_from(CALLBACK_URL)/>
                <small class="muted">"Tether delivers this instance's events here, signed with the key below."</small>
            </label>
            <label>
                "Signature key"
                <input type="password" name=SIGNATURE_KEY autocomplete="off" placeholder=signature_placeholder on:input=set_from(SIGNATURE_KEY)/>
            </label>
            <Show when=move || vendor() == VendorType::Polling>
                <div class="poll-interval">
                    <label>
                        "Refresh interval"
                        <input
                            type="range"
                            name="event-interval-slider"
                            min="0"
                            max=move || stops.with_value(|stops| stops.len() - 1)
                            step="1"
                            prop:value=move || stops.with_value(|stops| stop_index(stops, minutes())).to_string()
                            on:input=move |event| {
                                let index = event_target_value(&event).parse::<usize>().unwrap_or(0);
                                if let Some(stop) = stops.with_value(|stops| stops.get(index).copied()) {
                                    set(REFRESH_INTERVAL, stop.to_string());
                                }
                            }
                        />
                    </label>
                    <label>
                        "Minutes"
                        <input
                            type="number"
                            name=REFRESH_INTERVAL
                            step="any"
                            min=move || form.with_value(|form| form.shortest_interval_minutes.to_string())
                            prop:value=move || minutes().to_string()
                            on:input=set_from(REFRESH_INTERVAL)
                        />
                    </label>
                    <span class="muted" data-testid="interval-label">{move || interval_label(minutes())}</span>
                </div>
                <fieldset class="poll-resources">
                    <legend>"Resources to poll"</legend>
                    {move || {
                        let text = poller_text.get();
                        let chosen = resources_in(&text);
                        defaults.with_value(|defaults| offered_resources(defaults, &text)).into_iter().map(|name| {
                            let checked = chosen.as_ref().is_some_and(|chosen| chosen.contains_key(&name));
                            let toggled = name.clone();
                            view! {
                                <label class="checkbox">
                                    <input
                                        type="checkbox"
                                        name="event-resource"
                                        value=name.clone()
                                        prop:checked=checked
                                        disabled=chosen.is_none()
                                        on:change=move |event| toggle(toggled.clone(), event_target_checked(&event))
                                    />
                                    {name}
                                </label>
                            }
                        }).collect_view()
                    }}
                </fieldset>
                <details class="advanced">
                    <summary>"Advanced"</summary>
                    <label>
                        "Poller configuration (JSON)"
                        <textarea
                            name=POLLER_CONFIGURATION
                            rows="12"
                            spellcheck="false"
                            prop:value=move || poller_text.get()
                            on:input=move |event| write_poller(event_target_value(&event))
                        ></textarea>
                    </label>
                    <Show when=move || editor_problem().is_some()>
                        <p class="form-error" data-testid="poller-problem">{editor_problem}</p>
                    </Show>
                </details>
            </Show>
            <Show when=move || problem().is_some()>
                <p class="form-error" role="alert" data-testid="events-problem">{problem}</p>
            </Show>
        </fieldset>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> Map<String, Value> {
        json!({
            "contacts": {"url": "/hubs/crm/contacts", "idField": "id"},
            "companies": {"url": "/hubs/crm/companies", "idField": "id"}
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn the_slider_starts_at_the_shortest_interval_and_finds_the_stop_below() {
        assert_eq!(interval_stops(60.0)[0], 60.0);
        assert_eq!(interval_stops(0.05)[..3], [0.05, 1.0, 5.0]);
        assert_eq!(interval_stops(0.0)[0], 1.0);
        let stops = interval_stops(1.0);
        assert_eq!(stops[stop_index(&stops, 15.0)], 15.0);
        assert_eq!(stops[stop_index(&stops, 20.0)], 15.0);
        assert_eq!(stop_index(&stops, 0.5), 0);
        assert_eq!(interval_label(0.05), "every 3 seconds");
        assert_eq!(interval_label(1.0), "every minute");
        assert_eq!(interval_label(15.0), "every 15 minutes");
        assert_eq!(interval_label(120.0), "every 2 hours");
    }

    #[test]
    fn resources_turn_off_and_come_back_as_they_were() {
        let defaults = defaults();
        let mut aside = Map::new();
        let edited = r#"{"contacts": {"url": "/hubs/crm/contacts?x=1", "idField": "id"}, "deals": {"url": "/hubs/crm/deals", "idField": "id"}}"#;
        assert_eq!(offered_resources(&defaults, edited), ["companies", "contacts", "deals"]);
        let without = toggle_resource(edited, "contacts", false, &defaults, &mut aside).unwrap();
        assert!(!resources_in(&without).unwrap().contains_key("contacts"));
        let back = toggle_resource(&without, "contacts", true, &defaults, &mut aside).unwrap();
        assert_eq!(resources_in(&back).unwrap()["contacts"]["url"], "/hubs/crm/contacts?x=1", "the edit survives");
        let more = toggle_resource(&back, "companies", true, &defaults, &mut aside).unwrap();
        assert_eq!(resources_in(&more).unwrap()["companies"], defaults["companies"]);
        assert_eq!(toggle_resource("{not json", "contacts", true, &defaults, &mut aside), None);
        assert_eq!(toggle_resource("{}", "unknown", true, &defaults, &mut aside), None);
    }
}
