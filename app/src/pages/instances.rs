//! The instances page: the authenticated connections of this account.

use super::PageHeader;
use leptos::prelude::*;

#[component]
pub fn InstancesPage() -> impl IntoView {
    view! {
        <PageHeader title="Instances" summary="Element instances: one user's authenticated connection to one provider."/>
        <section class="empty-state">
            <p>"No element instances yet."</p>
        </section>
    }
}
