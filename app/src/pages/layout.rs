//! The console's frame: the header with navigation and the user menu, and the content area.

use crate::error::HubError;
use crate::server_fns::{SignOut, identity};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let who = Resource::new(|| (), |_| identity());
    let menu_open = RwSignal::new(false);
    let sign_out = ServerAction::<SignOut>::new();

    let email = move || who.get().and_then(|found| found.ok()).map(|identity| identity.user.email_address);
    let organization = move || who.get().and_then(|found| found.ok()).map(|identity| identity.organization.name);
    let signed_out = move || matches!(who.get(), Some(Err(HubError::Unauthorized(_))));
    // The menu closes once the user goes to another page (a click on any link of the header), and on Escape.
    let escape = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape" {
            menu_open.set(false);
        }
    });
    on_cleanup(move || escape.remove());

    view! {
        <div class="console">
            <header class="topbar" on:click=move |event| {
                let on_link = event
                    .target()
                    .and_then(|target| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(target).ok())
                    .and_then(|element| element.closest("a").ok().flatten())
                    .is_some();
                if on_link {
                    menu_open.set(false);
                }
            }>
                <A href="/" attr:class="brand">"Tether"</A>
                <nav class="mainnav" aria-label="Main">
                    <A href="/catalog">"Catalog"</A>
                    <A href="/instances">"Instances"</A>
                    <A href="/events">"Events"</A>
                    <A href="/notices">"Notices"</A>
                    <A href="/audit">"Audit"</A>
                    <A href="/account">"Account"</A>
                    <A href="/api">"API"</A>
                </nav>
                <div class="usermenu">
                    <Suspense fallback=|| ()>
                        <Show when=signed_out>
                            <Redirect path="/signin"/>
                        </Show>
                        <button
                            class="usermenu-toggle"
                            aria-haspopup="menu"
                            aria-expanded=move || menu_open.get().to_string()
                            on:click=move |_| menu_open.update(|open| *open = !*open)
                        >
                            {email}
                        </button>
                    </Suspense>
                    <Show when=move || menu_open.get()>
                        <div class="usermenu-panel" role="menu">
                            <p class="usermenu-org">{organization}</p>
                            <A href="/profile" attr:role="menuitem">"Your profile"</A>
                            <ActionForm action=sign_out>
                                <button type="submit" role="menuitem">"Sign out"</button>
                            </ActionForm>
                        </div>
                    </Show>
                </div>
            </header>
            <main class="content">
                <Outlet/>
            </main>
        </div>
    }
}
