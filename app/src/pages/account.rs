//! The account page: the signed-in user, their organization, its accounts and their users, the API secrets, the
//! saved OAuth apps, the redirect URLs connect sessions may name, and the lifecycle webhook endpoints.

use super::PageHeader;
use crate::server_fns::{
    CreateUser, ResetTwoFactor, SaveConnectRedirectUrls, SetUserActive, UpdateUser, connect_redirect_urls, identity,
    list_accounts, list_users, rotate_organization_secret, rotate_user_secret, saved_oauth_apps,
};
use crate::types::{Account, User};
use leptos::prelude::*;

#[component]
pub fn AccountPage() -> impl IntoView {
    let who = Resource::new(|| (), |_| identity());
    let accounts = Resource::new(|| (), |_| list_accounts());
    let apps = Resource::new(|| (), |_| saved_oauth_apps());
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
                <ConnectRedirects/>
                <super::webhooks::WebhookEndpoints/>
                {move || Suspend::new(async move {
                    let is_admin = who.await?.user.role == crate::types::Role::Admin;
                    let accounts = accounts.await?;
                    Ok::<_, crate::error::HubError>(
                        accounts
                            .into_iter()
                            .map(|account| view! { <AccountUsers account is_admin/> })
                            .collect_view(),
                    )
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

/// The users of one account; an admin also adds users, disables or enables them, resets their two-step sign-in
/// and changes their phone.
#[component]
fn AccountUsers(account: Account, is_admin: bool) -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let set_active = ServerAction::<SetUserActive>::new();
    let reset = ServerAction::<ResetTwoFactor>::new();
    let change = ServerAction::<UpdateUser>::new();
    let account_id = account.id;
    let users = Resource::new(
        move || (create.version().get(), set_active.version().get(), reset.version().get(), change.version().get()),
        move |_| list_users(account_id),
    );
    let failure = move || {
        [
            set_active.value().get().and_then(Result::err),
            reset.value().get().and_then(Result::err),
            change.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .map(|error| error.to_string())
        .next()
    };
    view! {
        <section class="account-users" aria-label=format!("Users of {}", account.name)>
            <h2>{format!("Users of {}", account.name)}</h2>
            <Suspense fallback=|| view! { <p>"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    let users = users.await?;
                    Ok::<_, crate::error::HubError>(view! {
                        <table class="table">
                            <thead>
                                <tr>
                                    <th>"Email"</th><th>"Name"</th><th>"Role"</th><th>"Phone"</th>
                                    <th>"Two-step sign-in"</th><th>"Status"</th>
                                    <Show when=move || is_admin><th>"Manage"</th></Show>
                                </tr>
                            </thead>
                            <tbody>
                                {users.into_iter().map(|user| view! {
                                    <UserRow user is_admin set_active reset change/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    })
                })}
            </Suspense>
            <Show when=move || failure().is_some()>
                <p class="form-error" role="alert">{failure}</p>
            </Show>
            <Show when=move || is_admin>
                <details class="add-user">
                    <summary>"Add a user"</summary>
                    <ActionForm action=create attr:class="stacked-form">
                        <input type="hidden" name="account" value=account_id.0/>
                        <label>"Email" <input name="email" type="email" required/></label>
                        <label>"First name" <input name="first_name"/></label>
                        <label>"Last name" <input name="last_name"/></label>
                        <label>"Phone" <input name="phone" type="tel" placeholder="+14155550123"/></label>
                        <label class="checkbox"><input name="admin" type="checkbox"/>" Organization admin"</label>
                        <button type="submit">"Add user"</button>
                    </ActionForm>
                    {move || create.value().get().map(|answer| match answer {
                        Ok(created) => view! {
                            <p class="new-secret" role="status">
                                {format!("Added {}. Shown only now: password ", created.user.email_address)}
                                <code data-testid="new-user-password">
                                    {created.password.map(|password| password.as_str().to_owned()).unwrap_or_default()}
                                </code>
                                " and user secret "
                                <code>{created.secret.as_str().to_owned()}</code>
                            </p>
                        }
                        .into_any(),
                        Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    })}
                </details>
            </Show>
        </section>
    }
}

/// One user's row; admins get the buttons and the phone form.
#[component]
fn UserRow(
    user: User,
    is_admin: bool,
    set_active: ServerAction<SetUserActive>,
    reset: ServerAction<ResetTwoFactor>,
    change: ServerAction<UpdateUser>,
) -> impl IntoView {
    let (account, id, active) = (user.account_id, user.id, user.active);
    let phone = match (&user.phone, user.phone_confirmed) {
        (Some(phone), true) => phone.clone(),
        (Some(phone), false) => format!("{phone} (unconfirmed)"),
        (None, _) => String::new(),
    };
    let two_factor = user.two_factor.map(|method| method.label()).unwrap_or("Off");
    view! {
        <tr data-testid="user-row" data-email=user.email_address.clone()>
            <td>{user.email_address.clone()}</td>
            <td>{format!("{} {}", user.first_name, user.last_name)}</td>
            <td>{user.role.as_str()}</td>
            <td>{phone}</td>
            <td>{two_factor}</td>
            <td>{if active { "Active" } else { "Disabled" }}</td>
            <Show when=move || is_admin>
                <td class="row-actions">
                    <button type="button" on:click=move |_| {
                        set_active.dispatch(SetUserActive { account, user: id, active: !active });
                    }>{if active { "Disable" } else { "Enable" }}</button>
                    <button type="button" disabled=user.two_factor.is_none() on:click=move |_| {
                        reset.dispatch(ResetTwoFactor { account, user: id });
                    }>"Reset two-step"</button>
                    <ActionForm action=change attr:class="inline-form">
                        <input type="hidden" name="account" value=account.0/>
                        <input type="hidden" name="user" value=id.0/>
                        <input name="phone" type="tel" placeholder="New phone" aria-label="New phone" required/>
                        <button type="submit">"Change phone"</button>
                    </ActionForm>
                </td>
            </Show>
        </tr>
    }
}

/// How long an old secret may keep working after a rotation, as the confirmation offers it.
const GRACE_CHOICES: [(u32, &str); 4] = [
    (0, "Stops working at once"),
    (60, "Works one more hour"),
    (1440, "Works one more day"),
    (10080, "Works one more week"),
];

/// Rotating the API secrets: each asks for confirmation with a grace period for the old secret, then shows the new
/// value once, with a copy button.
#[component]
fn SecretRotation() -> impl IntoView {
    view! {
        <section class="secrets" aria-label="API secrets">
            <h2>"API secrets"</h2>
            <p class="muted">
                "Rotating gives a new secret, shown only once. The old one stops working at once, or after the grace period you choose, so your API clients can move over."
            </p>
            <Rotation label="Rotate my user secret" what="your user secret" testid="new-user-secret" organization=false/>
            <Rotation label="Rotate the organization secret" what="the organization secret" testid="new-organization-secret" organization=true/>
        </section>
    }
    // Erased, so the Account page's view type stays shallow enough for every build (the fuzz build's included).
    .into_any()
}

/// One secret's rotation: the button, the confirmation, and the new value.
#[component]
fn Rotation(label: &'static str, what: &'static str, testid: &'static str, organization: bool) -> impl IntoView {
    let rotate = Action::new(move |grace: &u32| {
        let grace = *grace;
        async move { if organization { rotate_organization_secret(grace).await } else { rotate_user_secret(grace).await } }
    });
    let confirming = RwSignal::new(false);
    let grace = RwSignal::new(0u32);
    let copied = RwSignal::new(None::<&'static str>);
    let copy = move |secret: String| {
        let promise = window().navigator().clipboard().write_text(&secret);
        leptos::task::spawn_local(async move {
            let outcome = wasm_bindgen_futures::JsFuture::from(promise).await;
            copied.set(Some(if outcome.is_ok() { "Copied" } else { "Copy failed" }));
        });
    };
    let confirm = move |_| {
        confirming.set(false);
        copied.set(None);
        rotate.dispatch(grace.get_untracked());
    };
    view! {
        <div class="rotation">
            <button type="button" on:click=move |_| confirming.set(true) aria-expanded=move || confirming.get().to_string()>{label}</button>
            <Show when=move || confirming.get()>
                <div class="confirm" role="alertdialog" aria-label=format!("Rotate {what}")
                    on:keydown=move |event: leptos::ev::KeyboardEvent| if event.key() == "Escape" { confirming.set(false) }>
                    <p>{format!("Rotate {what}? API clients using the old one must be updated.")}</p>
                    <label>
                        "The old secret "
                        <select aria-label="Grace period" on:change=move |event| grace.set(event_target_value(&event).parse().unwrap_or(0))>
                            {GRACE_CHOICES.into_iter().map(|(minutes, text)| view! {
                                <option value=minutes.to_string() selected=move || grace.get() == minutes>{text}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <button type="button" class="danger" on:click=confirm>"Rotate now"</button>
                    <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </div>
            </Show>
            {move || rotate.value().get().map(|answer| match answer {
                Ok(secret) => {
                    let value = secret.as_str().to_owned();
                    let shown = value.clone();
                    view! {
                        <p class="new-secret">
                            "New secret, shown only now: " <code data-testid=testid>{shown}</code>
                            <button type="button" on:click=move |_| copy(value.clone())>"Copy"</button>
                            <span class="muted" aria-live="polite">{move || copied.get()}</span>
                        </p>
                    }
                    .into_any()
                }
                Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </div>
    }
    .into_any()
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

/// Where connect sessions may send an end user back: the list, and for admins a box to change it.
#[component]
fn ConnectRedirects() -> impl IntoView {
    let save = ServerAction::<SaveConnectRedirectUrls>::new();
    let saved = Resource::new(move || save.version().get(), |_| connect_redirect_urls());
    view! {
        <section class="connect-redirects" aria-label="Connect redirect URLs">
            <h2>"Connect redirect URLs"</h2>
            <p class="muted">
                "A connect session may send your user back only to one of these, matched exactly: https, or http on localhost."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let urls = saved.await?.urls;
                    Ok::<_, crate::error::HubError>(view! {
                        <ActionForm action=save attr:class="stacked-form">
                            <label>
                                "One URL a line"
                                <textarea name="urls" rows="4" data-testid="connect-redirect-urls">{urls.join("\n")}</textarea>
                            </label>
                            <button type="submit">"Save redirect URLs"</button>
                        </ActionForm>
                    })
                })}
            </Suspense>
            {move || save.value().get().map(|answer| match answer {
                Ok(_) => view! { <p role="status">"Saved."</p> }.into_any(),
                Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
