//! The catalog page: the elements a user can connect to.

use super::PageHeader;
use leptos::prelude::*;

#[component]
pub fn CatalogPage() -> impl IntoView {
    view! {
        <PageHeader title="Catalog" summary="Elements: the providers your users can connect."/>
        <section class="empty-state">
            <p>"The catalog holds no elements yet."</p>
        </section>
    }
}
