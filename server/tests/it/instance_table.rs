//! The console's listing of instances: searched by name, tag, end user and element, filtered by element and
//! health, ordered and paged by the database, with the count of every match.

use crate::on_both_backends;
use crate::utils::{Backend, TestApp, expect_json, open_session};
use app::hub::{Caller, InstanceTable};
use app::instance_table::{HealthFilter, InstanceSort, InstanceTablePage, InstanceTableQuery, TABLE_PAGE_SIZE};
use app::instances::InstanceId;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(the_listing_searches_filters_orders_and_pages);

async fn listing(app: &TestApp, caller: &Caller, query: InstanceTableQuery) -> InstanceTablePage {
    app.hub.instance_table(caller, query).await.unwrap()
}

fn names(page: &InstanceTablePage) -> Vec<&str> {
    page.cards.iter().map(|card| card.name.as_str()).collect()
}

async fn the_listing_searches_filters_orders_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_element(&crate::instances::basic_element()).await;
    let mut ids = Vec::new();
    for n in 1..=60 {
        let tags = if n % 10 == 0 { json!(["vip"]) } else { json!([]) };
        let body = json!({"name": format!("Account {n:02}"), "tags": tags,
            "configuration": {"account": "acme", "username": format!("user{n}"), "password": "pw"}});
        let made = app.as_admin(Method::POST, "/elements/test-basic/instances").json(&body).send().await.unwrap();
        ids.push(expect_json(made, StatusCode::OK).await["id"].as_i64().unwrap());
    }
    let disabled = app.as_admin(Method::DELETE, &format!("/instances/{}/enabled", ids[4])).send().await.unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);
    let session = open_session(&app.hub, &app.first.admin.email_address, &app.first.password).await;
    let caller = &session.caller;
    let secret_reads = || async {
        let count = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE action = 'secret.read'");
        count.fetch_one(app.hub.store().pool()).await.unwrap()
    };
    let reads_before = secret_reads().await;

    let first = listing(&app, caller, InstanceTableQuery::default()).await;
    assert_eq!((first.total, first.pages(), first.cards.len()), (60, 3, TABLE_PAGE_SIZE as usize));
    assert_eq!(names(&first)[..2], ["Account 60", "Account 59"], "newest first");
    let last = listing(&app, caller, InstanceTableQuery { page: 3, ..Default::default() }).await;
    assert_eq!((last.cards.len(), names(&last)[9]), (10, "Account 01"));
    let by_name = InstanceTableQuery { sort: InstanceSort::NameDescending, ..Default::default() };
    assert_eq!(names(&listing(&app, caller, by_name).await)[0], "Account 60");
    let by_name = InstanceTableQuery { sort: InstanceSort::Name, ..Default::default() };
    assert_eq!(names(&listing(&app, caller, by_name).await)[0], "Account 01");

    let search = |text: &str| InstanceTableQuery { search: text.into(), ..Default::default() };
    assert_eq!(names(&listing(&app, caller, search("account 3")).await).len(), 10, "names, in any case");
    assert_eq!(listing(&app, caller, search("VIP")).await.total, 6, "tags");
    assert_eq!(listing(&app, caller, search("basic serv")).await.total, 60, "the element's name");
    assert_eq!(listing(&app, caller, search("100%")).await.total, 0, "search text is literal");
    let healthy = InstanceTableQuery { health: Some(HealthFilter::Healthy), ..Default::default() };
    assert_eq!(listing(&app, caller, healthy).await.total, 59);
    let off = InstanceTableQuery { health: Some(HealthFilter::Disabled), ..Default::default() };
    assert_eq!(names(&listing(&app, caller, off).await), ["Account 05"]);
    let element = InstanceTableQuery { element: "test-basic".into(), search: "vip".into(), ..Default::default() };
    let page = listing(&app, caller, element).await;
    assert_eq!((page.total, page.elements.clone()), (6, vec![("test-basic".to_owned(), "Basic service".to_owned())]));
    let unknown = InstanceTableQuery { element: "hubspot".into(), ..Default::default() };
    assert_eq!(listing(&app, caller, unknown).await.total, 0, "an element with no instances matches none");
    let one = InstanceTableQuery { instance: Some(InstanceId(ids[20])), ..Default::default() };
    assert_eq!(names(&listing(&app, caller, one).await), ["Account 21"]);
    assert_eq!(secret_reads().await, reads_before, "listing writes no audit record");
}
