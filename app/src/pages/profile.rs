//! The signed-in user's own profile: their name and phone, and two-step sign-in with an authenticator app or
//! text messages, with recovery codes shown once.

use super::{PageHeader, error_text};
use crate::error::HubError;
use crate::server_fns::{
    BeginPhoneEnrolment, ConfirmEnrolment, UpdateUser, begin_totp_enrolment, identity, two_factor_status,
};
use crate::two_factor::{RecoveryCodes, TwoFactorMethod, TwoFactorStatus};
use leptos::prelude::*;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let who = Resource::new(|| (), |_| identity());
    let update = ServerAction::<UpdateUser>::new();
    let confirm = ServerAction::<ConfirmEnrolment>::new();
    // The status is read again only once an enrolment is confirmed: a wrong code must not redraw the section and
    // throw away the key the user already scanned.
    let confirmed = Memo::new(move |_| confirm.value().with(|answer| answer.as_ref().is_some_and(Result::is_ok)));
    let status = Resource::new(move || (confirmed.get(), update.version().get()), |_| two_factor_status());

    view! {
        <PageHeader title="Your profile" summary="Your details, and how you prove it is you when you sign in."/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            <ErrorBoundary fallback=|errors| view! { <p class="form-error">{move || error_text(&errors.get())}</p> }>
                {move || Suspend::new(async move {
                    let user = who.await?.user;
                    Ok::<_, HubError>(view! {
                        <section aria-label="Details">
                            <h2>"Details"</h2>
                            <p>{user.email_address.clone()} " · " {user.role.as_str()}</p>
                            <ActionForm action=update attr:class="stacked-form">
                                <input type="hidden" name="account" value=user.account_id.0/>
                                <input type="hidden" name="user" value=user.id.0/>
                                <label>"First name" <input name="first_name" value=user.first_name.clone()/></label>
                                <label>"Last name" <input name="last_name" value=user.last_name.clone()/></label>
                                <label>
                                    "Phone"
                                    <input name="phone" type="tel" placeholder="+14155550123" value=user.phone.clone().unwrap_or_default()/>
                                </label>
                                <button type="submit">"Save"</button>
                            </ActionForm>
                            {move || update.value().get().map(|answer| match answer {
                                Ok(_) => view! { <p class="muted" role="status">"Saved."</p> }.into_any(),
                                Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                            })}
                        </section>
                    })
                })}
                {move || Suspend::new(async move {
                    let status = status.await?;
                    Ok::<_, HubError>(view! { <TwoFactorSection status confirm/> })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

/// How the user signs in now, the two ways to turn on a second step, and the recovery codes after either.
#[component]
fn TwoFactorSection(status: TwoFactorStatus, confirm: ServerAction<ConfirmEnrolment>) -> impl IntoView {
    let totp = Action::new(|_: &()| begin_totp_enrolment());
    let phone = ServerAction::<BeginPhoneEnrolment>::new();
    let current = match (status.method, &status.phone) {
        (None, _) => "Off: your password alone signs you in.".to_owned(),
        (Some(TwoFactorMethod::Totp), _) => "On, with an authenticator app.".to_owned(),
        (Some(TwoFactorMethod::Phone), Some(number)) if status.phone_confirmed => {
            format!("On, with text messages to {number}.")
        }
        (Some(TwoFactorMethod::Phone), Some(number)) => {
            format!("On, with text messages to {number}, which your next sign-in confirms.")
        }
        (Some(TwoFactorMethod::Phone), None) => "On, with text messages, but no phone number is set.".to_owned(),
    };
    let phone_now = status.phone.clone().unwrap_or_default();

    view! {
        <section class="two-factor" aria-label="Two-step sign-in">
            <h2>"Two-step sign-in"</h2>
            <p data-testid="two-factor-state">{current}</p>
            <Show when=move || status.method.is_some()>
                <p class="muted">{format!("{} unused recovery codes.", status.recovery_codes_left)}</p>
            </Show>

            <h3>"Authenticator app"</h3>
            <button type="button" on:click=move |_| { totp.dispatch(()); }>"Set up an authenticator app"</button>
            {move || totp.value().get().map(|answer| match answer {
                Ok(enrolment) => view! {
                    <div class="enrolment">
                        <p>"Scan this code with your authenticator app, or type the key in by hand."</p>
                        <img class="qr" src=enrolment.qr_code.as_str().to_owned() alt="QR code for your authenticator app" width="200" height="200"/>
                        <p>"Key: " <code data-testid="totp-secret">{enrolment.secret.as_str().to_owned()}</code></p>
                        <ConfirmForm confirm method=TwoFactorMethod::Totp/>
                    </div>
                }
                .into_any(),
                Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
            })}

            <h3>"Text messages"</h3>
            <ActionForm action=phone attr:class="inline-form">
                <label>"Phone" <input name="phone" type="tel" placeholder="+14155550123" value=phone_now required/></label>
                <button type="submit">"Text me a code"</button>
            </ActionForm>
            {move || phone.value().get().map(|answer| match answer {
                Ok(()) => view! {
                    <div class="enrolment">
                        <p role="status">"We texted a 6-digit code to that number."</p>
                        <ConfirmForm confirm method=TwoFactorMethod::Phone/>
                    </div>
                }
                .into_any(),
                Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
            <EnrolmentOutcome confirm/>
        </section>
    }
}

/// The form that confirms an enrolment with its first code.
#[component]
fn ConfirmForm(confirm: ServerAction<ConfirmEnrolment>, method: TwoFactorMethod) -> impl IntoView {
    view! {
        <ActionForm action=confirm attr:class="inline-form">
            <input type="hidden" name="method" value=method.as_str()/>
            <label>"Code" <input name="code" required autocomplete="one-time-code" inputmode="numeric"/></label>
            <button type="submit">"Turn on"</button>
        </ActionForm>
    }
}

/// The recovery codes after a confirmed enrolment, shown this once, or why the code was refused.
#[component]
fn EnrolmentOutcome(confirm: ServerAction<ConfirmEnrolment>) -> impl IntoView {
    let shown = move |codes: RecoveryCodes| {
        view! {
            <div class="recovery-codes" role="status">
                <p>
                    "Two-step sign-in is on. Keep these recovery codes somewhere safe: each signs you in once if you "
                    "lose your device, and they are shown only now."
                </p>
                <ul data-testid="recovery-codes">
                    {codes.codes.into_iter().map(|code| view! { <li><code>{code.as_str().to_owned()}</code></li> }).collect_view()}
                </ul>
            </div>
        }
    };
    move || {
        confirm.value().get().map(|answer| match answer {
            Ok(codes) => shown(codes).into_any(),
            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
        })
    }
}
