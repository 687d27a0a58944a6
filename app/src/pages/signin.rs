//! The sign-in pages: email and password, then the second factor for users who have one. They are the only
//! pages open without a session.

use crate::server_fns::{FinishSignIn, SignIn, sign_in_prompt};
use crate::two_factor::{CodePrompt, TwoFactorMethod};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The page a sign-in was started from, as the guard names it (`?next=`), carried through the forms.
fn next_field() -> impl IntoView {
    let next = use_query_map().with_untracked(|query| query.get("next")).filter(|next| !next.is_empty());
    next.map(|next| view! { <input type="hidden" name="next" value=next/> })
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let failure = move || sign_in.value().get().and_then(|result| result.err()).map(|error| error.to_string());

    view! {
        <main class="signin">
            <div class="signin-card">
                <div class="brand brand-large">"Tether"</div>
                <super::PageTitle title="Sign in"/>
                <h1>"Sign in"</h1>
                <ActionForm action=sign_in attr:class="signin-form">
                    {next_field()}
                    <label>
                        "Email"
                        <input type="email" name="email" required autocomplete="username"/>
                    </label>
                    <label>
                        "Password"
                        <input type="password" name="password" required autocomplete="current-password"/>
                    </label>
                    <button type="submit" disabled=move || sign_in.pending().get()>"Sign in"</button>
                </ActionForm>
                <Show when=move || failure().is_some()>
                    <p class="form-error" role="alert">{failure}</p>
                </Show>
            </div>
        </main>
    }
}

/// The second sign-in step: the code from the authenticator app or the text message, or a recovery code.
#[component]
pub fn SecondStepPage() -> impl IntoView {
    let prompt = Resource::new(|| (), |_| sign_in_prompt());
    let finish = ServerAction::<FinishSignIn>::new();
    let failure = move || finish.value().get().and_then(|result| result.err()).map(|error| error.to_string());

    view! {
        <main class="signin">
            <div class="signin-card">
                <div class="brand brand-large">"Tether"</div>
                <super::PageTitle title="Two-step sign-in"/>
                <h1>"Two-step sign-in"</h1>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match prompt.await {
                            Ok(prompt) => view! { <p class="muted" data-testid="code-prompt">{prompt_text(&prompt)}</p> }.into_any(),
                            Err(error) => view! {
                                <p class="form-error" role="alert">{error.to_string()}</p>
                                <p><a href="/signin">"Sign in again"</a></p>
                            }
                            .into_any(),
                        }
                    })}
                </Suspense>
                <ActionForm action=finish attr:class="signin-form">
                    {next_field()}
                    <label>
                        "Code"
                        <input type="text" name="code" required autocomplete="one-time-code" autofocus/>
                    </label>
                    <button type="submit" disabled=move || finish.pending().get()>"Continue"</button>
                </ActionForm>
                <Show when=move || failure().is_some()>
                    <p class="form-error" role="alert">{failure}</p>
                    <p><a href="/signin">"Start again"</a></p>
                </Show>
            </div>
        </main>
    }
}

/// What the second step tells the user to enter.
fn prompt_text(prompt: &CodePrompt) -> String {
    let recovery = " Lost it? Enter one of your recovery codes instead.";
    match (prompt.method, &prompt.sent_to) {
        (TwoFactorMethod::Totp, _) => format!("Enter the 6-digit code from your authenticator app.{recovery}"),
        (TwoFactorMethod::Phone, Some(to)) if prompt.confirms_new_phone => format!(
            "Your phone number changed. Confirm the new number {to}: enter the 6-digit code we just texted to it.{recovery}"
        ),
        (TwoFactorMethod::Phone, Some(to)) => format!("Enter the 6-digit code we just texted to {to}.{recovery}"),
        (TwoFactorMethod::Phone, None) => "Your account has no phone number to text; enter a recovery code.".to_owned(),
    }
}
