//! The console's door over HTTP: sign-in through the server function, the session cookie, the page guard, sign-out.

use crate::utils::{Backend, TestApp};
use reqwest::StatusCode;
use secrecy::ExposeSecret;

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/api/sign_in", app.base_url))
        .header("Accept", "text/html")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers().get("location").and_then(|value| value.to_str().ok()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let page = |path: &str, cookie: Option<&str>| {
        let mut request = app.http.get(format!("{}{path}", app.base_url));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send()
    };

    let anonymous = page("/account", None).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&anonymous), "/signin?next=%2Faccount");
    assert_eq!(location(&page("/", None).await.unwrap()), "/signin", "home needs no reminder");
    assert_eq!(page("/signin", None).await.unwrap().status(), StatusCode::OK);

    let response = sign_in(&app, "ADMIN@tether.local", app.first.password.expose_secret()).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/");
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("tether_session="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain http on loopback: {set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let shell = page("/account", Some(&cookie)).await.unwrap();
    assert_eq!(shell.status(), StatusCode::OK);
    let html = shell.text().await.unwrap();
    assert!(html.contains("Instances") && html.contains("/pkg/tether.js"), "the shell with its hydration script");
    let back_to_console = page("/signin", Some(&cookie)).await.unwrap();
    assert_eq!(location(&back_to_console), "/");

    let identity =
        app.http.post(format!("{}/api/identity", app.base_url)).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(identity.status(), StatusCode::OK);
    assert!(identity.text().await.unwrap().contains("admin@tether.local"));

    // A client's mistakes get the status of what went wrong, not 500.
    for (function, form, status) in [
        ("element_details", [("key_or_id", "no-such-element")], StatusCode::NOT_FOUND),
        ("begin_phone_enrolment", [("phone", "555")], StatusCode::BAD_REQUEST),
    ] {
        let answer = app
            .http
            .post(format!("{}/api/{function}", app.base_url))
            .header("Cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{function}: {}", answer.text().await.unwrap());
    }

    let out = app
        .http
        .post(format!("{}/api/sign_out", app.base_url))
        .header("Accept", "text/html")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(location(&out), "/signin");
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let after = page("/account", Some(&cookie)).await.unwrap();
    assert_eq!(location(&after), "/signin?next=%2Faccount", "the old cookie no longer opens the console");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_open_no_session() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (email, password) in
        [("admin@tether.local", "wrong password here"), ("nobody@tether.local", app.first.password.expose_secret())]
    {
        let response = app
            .http
            .post(format!("{}/api/sign_in", app.base_url))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert!(response.headers().get("set-cookie").is_none());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "a client's mistake is not a server error");
        let body = response.text().await.unwrap();
        assert!(body.contains("Wrong email or password"), "{body}");
    }
    let identity = app.http.post(format!("{}/api/identity", app.base_url)).send().await.unwrap();
    assert_eq!(identity.status(), StatusCode::UNAUTHORIZED);
    assert!(identity.text().await.unwrap().contains("Sign in first"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_is_secure_behind_https() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.server.public_url = Some("https://tether.example.com".into());
    })
    .await;
    let response = sign_in(&app, "admin@tether.local", app.first.password.expose_secret()).await;
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_answer() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let health = app.http.get(format!("{}/healthz", app.base_url)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    app.http.get(format!("{}/elements/api-v2/accounts", app.base_url)).send().await.unwrap();
    let metrics = app.http.get(format!("{}/metrics", app.base_url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tether_http_requests_total"), "{metrics}");
    assert!(metrics.contains("status=\"401\""), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_functions_refuse_posts_from_other_sites() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let password = app.first.password.expose_secret().to_owned();
    let post = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut request = app
            .http
            .post(format!("{}/api/sign_in", app.base_url))
            .header("Accept", "text/html")
            .form(&[("email", "admin@tether.local"), ("password", password.as_str())]);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("Sec-Fetch-Site", site);
        }
        request.send()
    };
    for (origin, site) in [(Some("https://evil.example"), None), (None, Some("cross-site")), (Some("null"), None)] {
        let refused = post(origin, site).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{origin:?} {site:?}");
        assert!(refused.headers().get("set-cookie").is_none(), "no session for a cross-site post");
    }
    // The console's own pages post with its origin; clients without one (no browser) are not cross-site.
    let own = post(Some(&app.base_url), Some("same-origin")).await.unwrap();
    assert_eq!(own.status(), StatusCode::FOUND);
    assert_eq!(post(None, None).await.unwrap().status(), StatusCode::FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_wrong_passwords_lock_sign_in_with_429_and_retry_after() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let attempt = |email: &'static str, password: String| {
        app.http.post(format!("{}/api/sign_in", app.base_url)).form(&[("email", email), ("password", &password)]).send()
    };
    for tried in 1..20 {
        let wrong = attempt("admin@tether.local", format!("wrong password {tried}")).await.unwrap();
        assert_ne!(wrong.status(), StatusCode::TOO_MANY_REQUESTS, "attempt {tried} is not locked yet");
        assert!(wrong.text().await.unwrap().contains("Wrong email or password"));
    }
    let twentieth = attempt("admin@tether.local", "wrong password 20".into()).await.unwrap();
    assert_eq!(twentieth.status(), StatusCode::TOO_MANY_REQUESTS);
    // While locked, even the right password is refused, with when to come back.
    let right = attempt("admin@tether.local", app.first.password.expose_secret().to_owned()).await.unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(right.headers().get("set-cookie").is_none());
    let retry_after: u64 = right.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((14 * 60..=15 * 60).contains(&retry_after), "about 15 minutes: {retry_after}");
    assert!(right.text().await.unwrap().contains("locked"));
    // Another email is not locked by these failures.
    let other = attempt("nobody@tether.local", "whatever".into()).await.unwrap();
    assert_ne!(other.status(), StatusCode::TOO_MANY_REQUESTS);

    // The operator's password reset (`tether admin reset-password`) ends the lockout.
    let password = app.hub.reset_password("admin@tether.local", &tether::store::audit::Actor::Cli).await.unwrap();
    let signed_in = attempt("admin@tether.local", password.expose_secret().to_owned()).await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK, "the reset unlocked sign-in");
    assert!(signed_in.headers().get("set-cookie").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_nonce_policy_and_refuse_framing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let page = app.http.get(format!("{}/signin", app.base_url)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let header = |name: &str| page.headers().get(name).map(|value| value.to_str().unwrap().to_owned());
        let policy = header("content-security-policy").expect("a page has a Content-Security-Policy");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("object-src 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(header("referrer-policy").as_deref(), Some("same-origin"));
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"));
        let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap().to_owned();
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the policy's nonce");
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "each page gets its own nonce");
}

/// Each page names the browser tab after itself, so tabs and history tell pages apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_names_its_tab() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let session = crate::utils::open_session(&app.hub, &app.first.admin.email_address, &app.first.password).await;
    let cookie = format!("tether_session={}", session.token.expose_secret());
    let title_of = |path: &'static str, cookie: Option<String>| {
        let mut request = app.http.get(format!("{}{path}", app.base_url));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        async move {
            let page = request.send().await.unwrap();
            assert_eq!(page.status(), StatusCode::OK, "{path}");
            let html = page.text().await.unwrap();
            let start = html.find("<title>").unwrap_or_else(|| panic!("{path} has a title")) + "<title>".len();
            html[start..].split("</title>").next().unwrap().to_owned()
        }
    };
    let pages = [
        ("/catalog", "Catalog · Tether"),
        ("/instances", "Instances · Tether"),
        ("/events", "Events · Tether"),
        ("/notices", "Notices · Tether"),
        ("/audit", "Audit log · Tether"),
        ("/account", "Account · Tether"),
        ("/profile", "Your profile · Tether"),
        ("/api", "API · Tether"),
        ("/catalog/hubspot", "HubSpot · Tether"),
    ];
    for (path, title) in pages {
        assert_eq!(title_of(path, Some(cookie.clone())).await, title, "{path}");
    }
    assert_eq!(title_of("/signin", None).await, "Sign in · Tether");
}

/// A sign-in started from a page the guard sent away ends on that page; an address elsewhere ends at home.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_returns_to_the_page_asked_for_and_nowhere_else() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let password = app.first.password.expose_secret().to_owned();
    let sign_in_to = |next: &'static str| {
        app.http
            .post(format!("{}/api/sign_in", app.base_url))
            .header("Accept", "text/html")
            .form(&[("email", app.first.admin.email_address.as_str()), ("password", &password), ("next", next)])
            .send()
    };
    let asked = sign_in_to("/events?status=FAILED").await.unwrap();
    assert!(asked.status().is_redirection(), "{}", asked.status());
    assert_eq!(location(&asked), "/events?status=FAILED");
    for elsewhere in ["//evil.example/phish", "https://evil.example/", "/signin/code"] {
        assert_eq!(location(&sign_in_to(elsewhere).await.unwrap()), "/", "{elsewhere}");
    }
}
