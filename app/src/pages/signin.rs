//! The sign-in page: email and password, the only page open without a session.

use crate::server_fns::SignIn;
use leptos::prelude::*;

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let failure = move || sign_in.value().get().and_then(|result| result.err()).map(|error| error.to_string());

    view! {
        <main class="signin">
            <div class="signin-card">
                <div class="brand brand-large">"Tether"</div>
                <h1>"Sign in"</h1>
                <ActionForm action=sign_in attr:class="signin-form">
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
