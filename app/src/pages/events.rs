//! The events page: changes seen at providers and their delivery to the callback URL.

use super::PageHeader;
use leptos::prelude::*;

#[component]
pub fn EventsPage() -> impl IntoView {
    view! {
        <PageHeader title="Events" summary="Changes reported by providers, and their delivery to your callback URL."/>
        <section class="empty-state">
            <p>"No events yet."</p>
        </section>
    }
}
