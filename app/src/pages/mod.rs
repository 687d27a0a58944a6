//! The console's pages, one module each, and the layout that frames them.

pub mod account;
pub mod api_docs;
pub mod audit;
pub mod catalog;
pub mod connect;
pub mod element;
pub mod event_fields;
pub mod events;
pub mod instance;
pub mod instances;
pub mod layout;
pub mod notices;
pub mod oauth_callback;
pub mod profile;
pub mod signin;
pub mod tags;
pub mod webhooks;

use leptos::prelude::*;

/// Shown for a console path that matches no page.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <main class="notfound">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the console"</a></p>
        </main>
    }
}

/// The frame every content page uses: a title and a short description above the page's body; the title also
/// names the browser tab.
#[component]
pub fn PageHeader(title: &'static str, summary: &'static str) -> impl IntoView {
    view! {
        <PageTitle title/>
        <header class="page-header">
            <h1>{title}</h1>
            <p class="page-summary">{summary}</p>
        </header>
    }
}

/// The browser tab's title for a page: what it shows, then Tether.
#[component]
pub fn PageTitle(#[prop(into)] title: String) -> impl IntoView {
    view! { <leptos_meta::Title text=format!("{title} · Tether")/> }
}

/// The messages of the errors an `ErrorBoundary` caught, for its fallback.
pub fn error_text(errors: &Errors) -> String {
    errors.iter().map(|(_, error)| error.to_string()).collect::<Vec<_>>().join("; ")
}

/// Keeps what the user typed into the server-rendered text field `selector` before the WebAssembly took the page
/// over: hydration renders `text`'s first value (empty, as the server did), then `text` gets the typed words back.
/// Call it in the component, before its view: the field is read before hydration empties it.
pub fn keep_text_typed_before_hydration(selector: &str, text: RwSignal<String>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let typed = document()
            .query_selector(selector)
            .ok()
            .flatten()
            .and_then(|element| element.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|field| field.value())
            .filter(|typed| !typed.is_empty());
        if let Some(typed) = typed {
            // Effects run once hydration is done, so the page first matches what the server sent.
            Effect::new(move |_| text.set(typed.clone()));
        }
    }
    let _ = (selector, text);
}

/// Sends the browser to another site, such as a provider's sign-in page.
pub fn go_to(url: &str) {
    if let Err(error) = window().location().set_href(url) {
        leptos::logging::error!("could not leave for {url}: {error:?}");
    }
}

/// A time as the console writes it.
pub fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
