//! The OAuth redirect landing page: completes the console's authorization once, then opens the instance; a denied
//! consent, an expired or a replayed `state` shows what happened and the way back. It only ever leads to the
//! console's own pages, never to an address taken from the URL.

use crate::instances::{InstanceId, OAuthCallback};
use crate::server_fns::complete_authorization;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

/// The console page that shows an instance.
pub fn instance_path(id: InstanceId) -> String {
    format!("/instances?instance={id}")
}

#[component]
pub fn OAuthCallbackPage() -> impl IntoView {
    let query = use_query_map();
    let callback = query.with_untracked(|query| {
        let pairs: Vec<(String, String)> =
            ["code", "state", "iss", "error", "error_description", "oauth_token", "oauth_verifier", "denied"]
                .into_iter()
                .filter_map(|name| Some((name.to_owned(), query.get(name)?)))
                .collect();
        OAuthCallback::from_pairs(pairs.iter().map(|(name, value)| (name.as_str(), value.as_str())))
    });
    let outcome = Resource::new(|| (), move |_| complete_authorization(callback.clone()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = outcome.get() {
            navigate(&instance_path(id), Default::default());
        }
    });
    view! {
        <super::PageTitle title="Authenticating"/>
        <section class="oauth-callback">
            <Suspense fallback=|| view! { <p>"Completing the authorization…"</p> }>
                {move || outcome.get().map(|result| match result {
                    Ok(id) => view! {
                        <h1>"Instance authenticated"</h1>
                        <p><a href=instance_path(id)>"Open the instance"</a></p>
                    }.into_any(),
                    Err(error) => view! {
                        <h1>"Authentication failed"</h1>
                        <p class="form-error" role="alert" data-testid="oauth-error">{error.explained()}</p>
                        <p><a href="/catalog">"Back to the catalog"</a> " · " <a href="/instances">"Instances"</a></p>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
