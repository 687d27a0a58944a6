//! The API page: how to call the REST API, a link to its OpenAPI 3.1 document, and its operations.

use super::{PageHeader, error_text};
use crate::server_fns::api_operations;
use leptos::prelude::*;

/// Where the OpenAPI document is served.
pub const OPENAPI_URL: &str = "/elements/api-v2/openapi.json";

#[component]
pub fn ApiDocsPage() -> impl IntoView {
    let operations = Resource::new(|| (), |_| api_operations());
    view! {
        <PageHeader title="API" summary="The REST API under /elements/api-v2, compatible with Cloud Elements' instances API."/>
        <section class="api-intro">
            <p>
                "Every call carries " <code>"Authorization: User <user secret>, Organization <organization secret>"</code>
                ", plus " <code>", Element <instance token>"</code> " for the calls that act through one instance. "
                "Your secrets are on the " <a href="/account">"Account"</a> " page."
            </p>
            <p>
                <a href=OPENAPI_URL data-testid="openapi-link">"The OpenAPI 3.1 document"</a>
                " describes every operation, its parameters and its answers, for code generators and API tools."
            </p>
        </section>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="form-error">{move || error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let operations = operations.await?;
                    Ok::<_, crate::error::HubError>(view! {
                        <table class="table" aria-label="Operations">
                            <thead><tr><th>"Method"</th><th>"Path"</th><th>"What it does"</th><th>"Group"</th></tr></thead>
                            <tbody>
                                {operations.0.into_iter().map(|operation| view! {
                                    <tr data-testid="api-operation">
                                        <td><code>{operation.method}</code></td>
                                        <td><code>{operation.path}</code></td>
                                        <td>{operation.summary}</td>
                                        <td>{operation.tag}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}
