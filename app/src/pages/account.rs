//! The account page: the signed-in user, their organization, its accounts and the users of their account.

use super::PageHeader;
use crate::server_fns::{
    identity, list_accounts, list_users, rotate_organization_secret, rotate_user_secret, saved_oauth_apps,
};
use crate::types::{Account, User};
use leptos::prelude::*;

#[component]
pub fn AccountPage() -> impl IntoView {
    let who = Resource::new(|| (), |_| identity());
    let accounts = Resource::new(|| (), |_| list_accounts());
    let apps = Resource::new(|| (), |_| saved_oauth_apps());
    let users = Resource::new(
        move || who.get().and_then(|found| found.ok()).map(|identity| identity.user.account_id),
        |account| async move {
            match account {
                Some(account) => list_users(account).await,
                None => Ok(Vec::new()),
            }
        },
    );

    view! {
        <PageHeader title="Account" summary="Your organization, its accounts and their users."/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="form-error">{move || super::error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let identity = who.await?;
                    Ok::<_, crate::error::HubError>(view! {
                        <dl class="facts">
                            <dt>"Organization"</dt>
                            <dd>{identity.organization.name} " (id " {identity.organization.id.0} ")"</dd>
                            <dt>"Signed in as"</dt>
                            <dd>{identity.user.email_address} " · " {identity.user.role.as_str()}</dd>
                        </dl>
                    })
                })}
                <SecretRotation/>
                <h2>"Accounts"</h2>
                {move || Suspend::new(async move {
                    let accounts = accounts.await?;
                    Ok::<_, crate::error::HubError>(view! { <AccountTable accounts/> })
                })}
                <h2>"Saved OAuth apps"</h2>
                {move || Suspend::new(async move {
                    let apps = apps.await?;
                    Ok::<_, crate::error::HubError>(view! { <OAuthAppTable apps/> })
                })}
                <h2>"Users of your account"</h2>
                {move || Suspend::new(async move {
                    let users = users.await?;
                    Ok::<_, crate::error::HubError>(view! { <UserTable users/> })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

#[component]
fn AccountTable(accounts: Vec<Account>) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th>"Id"</th><th>"Name"</th><th>"Default"</th></tr></thead>
            <tbody>
                {accounts.into_iter().map(|account| view! {
                    <tr>
                        <td>{account.id.0}</td>
                        <td>{account.name}</td>
                        <td>{if account.default_account { "yes" } else { "" }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn UserTable(users: Vec<User>) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th>"Id"</th><th>"Email"</th><th>"Name"</th><th>"Role"</th></tr></thead>
            <tbody>
                {users.into_iter().map(|user| view! {
                    <tr>
                        <td>{user.id.0}</td>
                        <td>{user.email_address}</td>
                        <td>{format!("{} {}", user.first_name, user.last_name)}</td>
                        <td>{user.role.as_str()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Rotating the API secrets: the new value is shown once, here, and the old one stops working at once.
#[component]
fn SecretRotation() -> impl IntoView {
    let rotate_user = Action::new(|_: &()| rotate_user_secret());
    let rotate_organization = Action::new(|_: &()| rotate_organization_secret());
    let shown = move |action: Action<(), Result<crate::types::RevealedSecret, crate::error::HubError>>,
                      testid: &'static str| {
        move || {
            action.value().get().map(|answer| match answer {
                Ok(secret) => view! {
                    <p class="new-secret">
                        "New secret, shown only now: " <code data-testid=testid>{secret.as_str().to_owned()}</code>
                    </p>
                }
                .into_any(),
                Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
            })
        }
    };
    view! {
        <section class="secrets" aria-label="API secrets">
            <h2>"API secrets"</h2>
            <p class="muted">
                "Rotating gives a new secret and retires the old one at once: update your API clients right after."
            </p>
            <button type="button" on:click=move |_| { rotate_user.dispatch(()); }>"Rotate my user secret"</button>
            {shown(rotate_user, "new-user-secret")}
            <button type="button" on:click=move |_| { rotate_organization.dispatch(()); }>"Rotate the organization secret"</button>
            {shown(rotate_organization, "new-organization-secret")}
        </section>
    }
}

/// The organization's saved OAuth apps: per element, the client id, the secret (masked) and the callback URL.
#[component]
fn OAuthAppTable(apps: Vec<crate::instances::OAuthApp>) -> impl IntoView {
    if apps.is_empty() {
        return view! { <p class="muted">"None saved. The Authenticate form can save one for its element."</p> }
            .into_any();
    }
    view! {
        <table aria-label="Saved OAuth apps">
            <thead><tr><th>"Element"</th><th>"Client id"</th><th>"Client secret"</th><th>"Callback URL"</th></tr></thead>
            <tbody>
                {apps.into_iter().map(|app| view! {
                    <tr data-testid="oauth-app">
                        <td>{app.element}</td>
                        <td><code>{app.api_key}</code></td>
                        <td>{app.api_secret}</td>
                        <td><code>{app.callback_url}</code></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
