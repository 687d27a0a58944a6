//! The real processes tests run beside Tether, each on a free loopback port and stopped when dropped: the
//! `tether` binary itself, an OAuth 2.0 provider (npm `oidc-provider`) and an SMTP sink (aiosmtpd).

/// The `tether` binary started as a separate process on a free port, its output going to files.
pub struct RunningBinary {
    pub child: std::process::Child,
    pub base_url: String,
    pub stdout_path: std::path::PathBuf,
    pub stderr_path: std::path::PathBuf,
}

impl RunningBinary {
    /// Starts `tether serve` with `data_dir` and extra environment, and waits until it listens.
    pub fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> RunningBinary {
        let stdout_path = data_dir.with_extension(format!("{}.stdout", uuid::Uuid::new_v4().simple()));
        let stderr_path = stdout_path.with_extension("stderr");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tether"));
        command
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env("TETHER_DATA_DIR", data_dir)
            .env("TETHER_LISTEN", "127.0.0.1:0")
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("tether starts");
        let mut running = RunningBinary { child, base_url: String::new(), stdout_path, stderr_path };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let stdout = running.stdout();
            if let Some(line) = stdout.lines().find(|line| line.starts_with("Tether is listening on ")) {
                running.base_url = line.trim_start_matches("Tether is listening on ").trim().to_owned();
                return running;
            }
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!("tether exited with {status} before listening: {stdout}{}", running.stderr());
            }
            assert!(std::time::Instant::now() < deadline, "tether did not listen within 30 s: {}", running.stderr());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// A value printed on first start, such as `user secret` or `password`.
    pub fn printed(&self, label: &str) -> String {
        let stdout = self.stdout();
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(&format!("{label}:")).map(|value| value.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {label:?} line in: {stdout}"))
    }

    /// Stops the server at once with SIGKILL, as a crash would, and waits for it to be gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL reaches tether");
        self.child.wait().expect("tether is gone");
    }

    /// Asks the server to stop with SIGTERM and waits for it to exit.
    pub fn stop(mut self) -> (String, String) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let status = self.child.wait().expect("tether exits");
        assert!(status.success(), "tether stopped cleanly on SIGTERM: {status}");
        let output = (self.stdout(), self.stderr());
        let _ = std::fs::remove_file(&self.stdout_path);
        let _ = std::fs::remove_file(&self.stderr_path);
        output
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A real OAuth 2.0 / OpenID Connect provider (npm `oidc-provider`, see `end2end/oauth-provider/server.mjs`) on a
/// free loopback port. Its clients are `tether-post` and `tether-basic`, with the secret [`OAUTH_CLIENT_SECRET`].
pub struct OAuthProvider {
    child: std::process::Child,
    pub issuer: String,
}

pub const OAUTH_CLIENT_SECRET: &str = "tether-test-secret";

impl OAuthProvider {
    pub fn start(redirect_uris: &[&str], pkce_required: bool) -> OAuthProvider {
        Self::start_with_access_ttl(redirect_uris, pkce_required, 3600)
    }

    /// The provider with access tokens from the authorization code that live `access_ttl_seconds`. Those its
    /// refresh grant issues live an hour, so that a refresh's result does not itself expire during a test.
    pub fn start_with_access_ttl(
        redirect_uris: &[&str],
        pkce_required: bool,
        access_ttl_seconds: u32,
    ) -> OAuthProvider {
        Self::start_with_env(&[
            ("OAUTH_REDIRECT_URIS", redirect_uris.join(",")),
            ("OAUTH_PKCE_REQUIRED", pkce_required.to_string()),
            ("OAUTH_ACCESS_TTL", access_ttl_seconds.to_string()),
            ("OAUTH_REFRESHED_ACCESS_TTL", "3600".into()),
        ])
    }

    /// The provider whose access tokens all live `ttl_seconds`, from the code and from the refresh grant alike.
    pub fn start_with_short_tokens(redirect_uris: &[&str], ttl_seconds: u32) -> OAuthProvider {
        Self::start_with_env(&[
            ("OAUTH_REDIRECT_URIS", redirect_uris.join(",")),
            ("OAUTH_ACCESS_TTL", ttl_seconds.to_string()),
            ("OAUTH_REFRESHED_ACCESS_TTL", ttl_seconds.to_string()),
        ])
    }

    /// The provider whose `tether-machine` client gets client-credentials tokens living `ttl_seconds`.
    pub fn start_with_client_credentials_ttl(ttl_seconds: u32) -> OAuthProvider {
        Self::start_with_env(&[("OAUTH_CC_TTL", ttl_seconds.to_string())])
    }

    fn start_with_env(env: &[(&str, String)]) -> OAuthProvider {
        use std::io::BufRead;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oauth-provider/server.mjs");
        let mut child = std::process::Command::new("node")
            .arg(script)
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node runs the OAuth provider (make test installs its npm packages)");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut first_line = String::new();
        stdout.read_line(&mut first_line).expect("the provider prints its issuer");
        // Keep reading what it prints later, such as warnings: a closed pipe would stop the provider.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = first_line
            .strip_prefix("OAUTH_PROVIDER_READY ")
            .unwrap_or_else(|| panic!("unexpected provider output: {first_line:?}"))
            .trim()
            .to_owned();
        OAuthProvider { child, issuer }
    }

    /// Follows `authorization_url` through the provider's own sign-in and consent pages as `login`, approving or
    /// denying, and returns the URL the provider finally redirects to (the client's callback).
    pub async fn authorize(&self, authorization_url: &str, login: &str, approve: bool) -> reqwest::Url {
        let browser =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut next = reqwest::Url::parse(authorization_url).expect("an absolute authorization URL");
        for _ in 0..10 {
            if !next.as_str().starts_with(&self.issuer) {
                return next;
            }
            let page = browser.get(next.clone()).send().await.unwrap();
            let response = if page.status().is_redirection() {
                page
            } else {
                let body = page.text().await.unwrap();
                let interaction = next.clone();
                if !approve && body.contains("name=\"prompt\" value=\"consent\"") {
                    browser.get(format!("{interaction}/abort")).send().await.unwrap()
                } else {
                    let prompt = if body.contains("name=\"login\"") { "login" } else { "consent" };
                    let form = [("prompt", prompt), ("login", login), ("password", "any password")];
                    browser.post(interaction).form(&form).send().await.unwrap()
                }
            };
            let location = response
                .headers()
                .get("location")
                .unwrap_or_else(|| panic!("the provider answered {} without a redirect", response.status()))
                .to_str()
                .unwrap()
                .to_owned();
            next = reqwest::Url::parse(&self.issuer).unwrap().join(&location).unwrap();
        }
        panic!("the provider did not send the browser back to the client");
    }
}

impl OAuthProvider {
    /// Exchanges a code at the provider directly, as the `tether-post` client sent back to `redirect_uri`.
    pub async fn exchange(&self, code: &str, redirect_uri: &str) -> reqwest::Response {
        self.token_request(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri)])
            .await
    }

    /// Uses a refresh token at the provider directly, as the `tether-post` client.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    /// How many token requests of each grant type reached the provider (`refresh_token`, `authorization_code`).
    pub async fn grants(&self, grant_type: &str) -> u64 {
        let counts: serde_json::Value =
            reqwest::get(format!("{}/test/grants", self.issuer)).await.unwrap().json().await.unwrap();
        counts[grant_type].as_u64().unwrap_or(0)
    }

    /// Whether the provider still accepts a token (RFC 7662 introspection).
    pub async fn is_active(&self, token: &str) -> bool {
        let form = [("token", token), ("client_id", "tether-post"), ("client_secret", OAUTH_CLIENT_SECRET)];
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/token/introspection", self.issuer))
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["active"] == true
    }

    /// Revokes a token at the provider (RFC 7009), as the `tether-post` client.
    pub async fn revoke(&self, token: &str) {
        let form = [("token", token), ("client_id", "tether-post"), ("client_secret", OAUTH_CLIENT_SECRET)];
        let response =
            reqwest::Client::new().post(format!("{}/token/revocation", self.issuer)).form(&form).send().await.unwrap();
        assert!(response.status().is_success(), "revocation answered {}", response.status());
    }

    /// Makes the token endpoint answer `status` (with `Retry-After: retry_after` seconds when given) until
    /// [`OAuthProvider::end_outage`].
    pub async fn stage_outage(&self, status: u16, retry_after: Option<u32>) {
        self.stage_token_answer(serde_json::json!({"status": status, "retryAfter": retry_after})).await;
    }

    /// Makes the token endpoint refuse every request with `status` and the OAuth `error` (`invalid_client`, say)
    /// until [`OAuthProvider::end_outage`].
    pub async fn stage_refusal(&self, status: u16, error: &str) {
        self.stage_token_answer(serde_json::json!({"status": status, "error": error})).await;
    }

    async fn stage_token_answer(&self, body: serde_json::Value) {
        let url = format!("{}/test/token-outage", self.issuer);
        let response = reqwest::Client::new().put(url).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "the outage was not staged: {}", response.status());
    }

    pub async fn end_outage(&self) {
        let url = format!("{}/test/token-outage", self.issuer);
        assert!(reqwest::Client::new().delete(url).send().await.unwrap().status().is_success());
    }

    /// Holds token requests in flight, unanswered, until [`OAuthProvider::release_token_requests`].
    pub async fn hold_token_requests(&self) {
        let url = format!("{}/test/token-hold", self.issuer);
        assert!(reqwest::Client::new().put(url).send().await.unwrap().status().is_success());
    }

    /// Passes the held token requests on to the provider, and stops holding.
    pub async fn release_token_requests(&self) {
        let url = format!("{}/test/token-hold", self.issuer);
        assert!(reqwest::Client::new().delete(url).send().await.unwrap().status().is_success());
    }

    /// How many token requests are held now, and how many were dropped because their client went away.
    pub async fn held_token_requests(&self) -> (u64, u64) {
        let answer: serde_json::Value =
            reqwest::get(format!("{}/test/token-hold", self.issuer)).await.unwrap().json().await.unwrap();
        (answer["held"].as_u64().unwrap(), answer["dropped"].as_u64().unwrap())
    }

    /// When each token request refused by a staged outage arrived, in Unix milliseconds.
    pub async fn refused_at(&self) -> Vec<i64> {
        let answer: serde_json::Value =
            reqwest::get(format!("{}/test/token-outage", self.issuer)).await.unwrap().json().await.unwrap();
        answer["refusedAt"].as_array().unwrap().iter().map(|at| at.as_i64().unwrap()).collect()
    }

    async fn token_request(&self, grant: &[(&str, &str)]) -> reqwest::Response {
        let mut form = grant.to_vec();
        form.extend([("client_id", "tether-post"), ("client_secret", OAUTH_CLIENT_SECRET)]);
        reqwest::Client::new().post(format!("{}/token", self.issuer)).form(&form).send().await.unwrap()
    }
}

impl Drop for OAuthProvider {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// A real SMTP server (aiosmtpd, see `end2end/smtp-sink/sink.py`) on a free loopback port, keeping every message
/// it accepts in a folder of its own.
pub struct SmtpSink {
    child: std::process::Child,
    pub port: u16,
    mail_dir: tempfile::TempDir,
}

/// One message the sink accepted.
#[derive(Debug)]
pub struct SunkMail {
    pub recipients: Vec<String>,
    pub text: String,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        use std::io::BufRead;
        let mail_dir = tempfile::tempdir().expect("a mail folder");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/smtp-sink/sink.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(mail_dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the SMTP sink (make test installs aiosmtpd)");
        let mut first_line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first_line)
            .expect("the sink prints its port");
        let port = first_line
            .strip_prefix("SMTP_SINK_READY ")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected SMTP sink output: {first_line:?}"));
        SmtpSink { child, port, mail_dir }
    }

    /// The `smtp_url` that reaches the sink.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<SunkMail> {
        (1..)
            .map_while(|n| {
                let stem = self.mail_dir.path().join(n.to_string());
                let text = std::fs::read_to_string(stem.with_extension("eml")).ok()?;
                let recipients = std::fs::read_to_string(stem.with_extension("rcpt")).ok()?;
                Some(SunkMail { recipients: recipients.lines().map(str::to_owned).collect(), text })
            })
            .collect()
    }

    /// Waits until at least `count` messages have arrived, and answers all of them.
    pub async fn wait_for(&self, count: usize) -> Vec<SunkMail> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(std::time::Instant::now() < deadline, "{count} messages expected, {} arrived", messages.len());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// A Python test server from `end2end/` on a free loopback port, which prints `<READY> <its URL>` when it listens;
/// stopped when dropped.
pub struct ScriptServer {
    child: std::process::Child,
    pub url: String,
}

impl ScriptServer {
    pub(crate) fn start_script(script: &str, ready: &str, needs: &str) -> ScriptServer {
        use std::io::BufRead;
        let path = format!("{}/../end2end/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = std::process::Command::new("python3")
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("python3 runs {script} ({needs}): {error}"));
        let mut first_line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first_line)
            .expect("the server prints its URL");
        let url = first_line
            .strip_prefix(ready)
            .and_then(|rest| rest.strip_prefix(' '))
            .unwrap_or_else(|| panic!("unexpected output of {script}: {first_line:?}"))
            .trim()
            .to_owned();
        ScriptServer { child, url }
    }

    /// An upstream that checks AWS Signature Version 4 signatures with `botocore` (see
    /// `end2end/aws-verifier/server.py`): 200 with what it checked, or 403 with why not. Its one access key is
    /// [`AWS_ACCESS_KEY_ID`] with [`AWS_SECRET_ACCESS_KEY`].
    pub fn aws_verifier() -> ScriptServer {
        Self::start_script("aws-verifier/server.py", "AWS_VERIFIER_READY", "make test installs botocore")
    }

    /// An upstream that checks Duo's request signatures with Duo's own `duo_client` (see
    /// `end2end/duo-verifier/server.py`): 200 with what it checked, or 401 with why not. Its one integration key
    /// is [`DUO_INTEGRATION_KEY`] with [`DUO_SECRET_KEY`].
    pub fn duo_verifier() -> ScriptServer {
        Self::start_script("duo-verifier/server.py", "DUO_VERIFIER_READY", "make test installs duo_client")
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

pub const DUO_INTEGRATION_KEY: &str = "DITETHERTEST00000001";
pub const DUO_SECRET_KEY: &str = "tetherDuoSecretKey0123456789abcdefghijkl";
pub const AWS_ACCESS_KEY_ID: &str = "AKIDTETHERTEST";
pub const AWS_SECRET_ACCESS_KEY: &str = "tether/test+Secret/Key0123456789abcdefghij";

/// A real OAuth 1.0a provider (PyPI `oauthlib`'s server endpoints, see `end2end/oauth1-provider/server.py`) on a
/// free loopback port, whose consumer is [`OAUTH1_CONSUMER_KEY`] and [`OAUTH1_CONSUMER_SECRET`].
pub struct OAuth1Provider {
    server: ScriptServer,
    pub url: String,
}

pub const OAUTH1_CONSUMER_KEY: &str = "tetherOAuth1Consumer01";
pub const OAUTH1_CONSUMER_SECRET: &str = "tetherOAuth1ConsumerSecret01";

impl OAuth1Provider {
    pub fn start() -> OAuth1Provider {
        let server = ScriptServer::start_script(
            "oauth1-provider/server.py",
            "OAUTH1_PROVIDER_READY",
            "make test installs oauthlib",
        );
        let url = server.url.clone();
        OAuth1Provider { server, url }
    }

    /// Opens `authorization_url` as the user would and approves (or denies): the URL the provider redirects to.
    pub async fn authorize(&self, authorization_url: &str, approve: bool) -> reqwest::Url {
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let url = if approve { authorization_url.to_owned() } else { format!("{authorization_url}&deny=1") };
        let answer = browser.get(&url).send().await.unwrap();
        assert_eq!(
            answer.status(),
            reqwest::StatusCode::FOUND,
            "{} ({})",
            answer.text().await.unwrap_or_default(),
            self.server.url
        );
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        reqwest::Url::parse(&location).unwrap()
    }
}
