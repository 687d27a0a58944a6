//! Fuzzes element definitions as `POST /elements` reads them: JSON to a definition, the checks, and the views and
//! search built from it. Bad input is refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether::catalog::{CatalogEntry, HostPolicy, parse_definition, validate};

fuzz_target!(|bytes: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else { return };
    let Ok(definition) = parse_definition(value) else { return };
    for policy in [HostPolicy::PublicOnly, HostPolicy::AllowPrivate] {
        if validate(&definition, policy).is_ok() {
            let entry = CatalogEntry::new(app::catalog::ElementId(1), definition.clone(), true);
            let _ = (entry.to_element(), entry.to_card());
            let query = app::catalog::ElementQuery { search: Some(definition.name.clone()), ..Default::default() };
            let page = app::paging::Page::of(None, None).expect("the default page");
            let _ = tether::catalog::search(std::iter::once(&entry), &query, page);
        }
    }
});
