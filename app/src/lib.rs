//! Tether's console: the pages and components, the domain types both doors share, the hub service interface
//! (`hub`, server side only) and the server functions the pages call.

/// Declares a numeric id newtype. Ids are numbers, as in Cloud Elements' API, so existing clients keep parsing them.
macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

pub mod call_logs;
pub mod catalog;
pub mod connect;
pub mod error;
pub mod events;
pub mod history;
#[cfg(feature = "ssr")]
pub mod hub;
pub mod instance_table;
pub mod instances;
pub mod oauth;
pub mod pages;
pub mod paging;
pub mod revealed;
pub mod search;
pub mod server_fns;
pub mod two_factor;
pub mod types;
pub mod webhooks;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{ParentRoute, Route, Router, Routes},
};

/// The HTML document around the console, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Both name the build's content-hashed files when it has them (server/src/site.rs).
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The console's root: title and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();

    view! {
        <Title text="Tether"/>
        <Router>
            <Routes fallback=pages::NotFoundPage>
                <Route path=StaticSegment("signin") view=pages::signin::SignInPage/>
                <Route path=(StaticSegment("signin"), StaticSegment("code")) view=pages::signin::SecondStepPage/>
                // The hosted connect page renders whole before it is sent, so it works with JavaScript off.
                <Route path=(StaticSegment("connect"), ParamSegment("token")) view=pages::connect::ConnectPage ssr=SsrMode::Async/>
                <Route
                    path=(StaticSegment("connect"), ParamSegment("token"), ParamSegment("element"))
                    view=pages::connect::ConnectFormPage
                    ssr=SsrMode::Async
                />
                <ParentRoute path=StaticSegment("") view=pages::layout::ConsoleLayout>
                    <Route path=StaticSegment("") view=pages::catalog::CatalogPage/>
                    <Route path=StaticSegment("catalog") view=pages::catalog::CatalogPage/>
                    <Route path=(StaticSegment("catalog"), ParamSegment("key")) view=pages::element::ElementPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("instances") view=pages::instances::InstancesPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("instances"), ParamSegment("id")) view=pages::instance::InstancePage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("oauth"), StaticSegment("callback")) view=pages::oauth_callback::OAuthCallbackPage/>
                    <Route path=StaticSegment("events") view=pages::events::EventsPage/>
                    <Route path=StaticSegment("notices") view=pages::notices::NoticesPage/>
                    <Route path=StaticSegment("audit") view=pages::audit::AuditPage/>
                    <Route path=StaticSegment("account") view=pages::account::AccountPage/>
                    <Route path=StaticSegment("profile") view=pages::profile::ProfilePage/>
                    <Route path=StaticSegment("api") view=pages::api_docs::ApiDocsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Sets `data-hydrated` on `<body>` once the WebAssembly has taken over the page.
///
/// Effects run only in the browser, so the attribute tells tests and scripts that clicks are now handled.
fn mark_hydrated() {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
