//! The account page: the signed-in user, their organization, its accounts and the users of their account.

use super::PageHeader;
use crate::server_fns::{identity, list_accounts, list_users};
use crate::types::{Account, User};
use leptos::prelude::*;

#[component]
pub fn AccountPage() -> impl IntoView {
    let who = Resource::new(|| (), |_| identity());
    let accounts = Resource::new(|| (), |_| list_accounts());
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
                <h2>"Accounts"</h2>
                {move || Suspend::new(async move {
                    let accounts = accounts.await?;
                    Ok::<_, crate::error::HubError>(view! { <AccountTable accounts/> })
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
