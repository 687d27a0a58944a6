//! The test kit, shared by the integration tests, the benches and the fuzz targets: a fresh database on either
//! backend, Tether served in this process on a free loopback port with its first organization, requests as its
//! users, helpers that run due work now (refresh, poll, deliver, mail) on the hub's clock, and checks of
//! its answers. The other processes tests run beside it are in `processes.rs`.

use app::hub::Identity;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::sync::Arc;
use tether::config::Config;
use tether::hub::{HubService, NewOrganization};
use tether::{Tether, bootstrap};
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn(Backend)` as two tests, `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::utils::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::utils::Backend::Postgres).await
                }
            )*
        }
    };
}

/// A database of its own for one test: a SQLite file in a temporary folder, or a new PostgreSQL database.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}?mode=rwc", dir.path().join("tether.db").display()),
                dir,
                postgres: None,
            },
            Backend::Postgres => {
                let admin_url = std::env::var("TETHER_TEST_POSTGRES_URL").expect(
                    "TETHER_TEST_POSTGRES_URL must name a PostgreSQL server for the PostgreSQL tests; `make test` starts one",
                );
                let name = format!("tether_test_{}", uuid::Uuid::new_v4().simple());
                run_postgres_admin(&admin_url, &format!("CREATE DATABASE {name}")).await;
                let (base, _) = admin_url.rsplit_once('/').expect("URL ends with a database name");
                TestDb { url: format!("{base}/{name}"), dir, postgres: Some((admin_url, name)) }
            }
        }
    }

    pub fn config(&self) -> Config {
        Config::for_tests(self.dir.path(), Some(self.url.clone()))
    }
}

async fn run_postgres_admin(admin_url: &str, statement: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(admin_url).await.expect("connect to PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned())).execute(&mut connection).await.expect(statement);
    let _ = connection.close().await;
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside async code; a short-lived runtime on another thread removes the database.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Runtime::new()
                    .expect("runtime")
                    .block_on(run_postgres_admin(&admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
            })
            .join();
        }
    }
}

/// The server running in this process on a free loopback port, with its first organization.
pub struct TestApp {
    pub base_url: String,
    pub hub: Arc<HubService>,
    pub first: NewOrganization,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    pub db: TestDb,
    /// The configuration this node runs with, which the passes run by hand follow too.
    pub config: Config,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new(backend).await;
        let mut config = db.config();
        // Listen first, so the configuration knows the real address (the sandbox's URLs are built from it).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("free port");
        config.server.listen = listener.local_addr().unwrap();
        adjust(&mut config);
        let tether = Tether::open(config.clone()).await.expect("tether opens");
        let first = bootstrap::first_start(&tether.hub, &tether.config)
            .await
            .expect("first start")
            .expect("a new database has no organization");
        let hub = tether.hub.clone();
        let (base_url, shutdown) = serve(tether, listener).await;
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { base_url, hub, first, http, shutdown: Some(shutdown), db, config }
    }

    /// Runs the event deliverer now, as a node's worker would, until no delivery is due: when this returns, every
    /// due event has been sent and its outcome stored. Tests that are not about the workers' timing use this
    /// instead of waiting for a worker.
    pub async fn deliver_due_now(&self) {
        let plan = tether::jobs::deliver::DeliveryPlan::from_config(&self.config, &self.hub);
        while tether::jobs::deliver::deliver_due(self.hub.clone(), plan.clone()).await.expect("a delivery pass") {}
    }

    /// Runs the refresher now until no refresh is due: every token expiring within the margin, and every retry
    /// due, has been tried and its outcome stored when this returns.
    pub async fn refresh_due_now(&self) {
        let plan = tether::jobs::refresh::RefreshPlan::from_config(&self.config);
        while tether::jobs::refresh::refresh_due(self.hub.clone(), plan.clone()).await.expect("a refresh pass") {}
    }

    /// Runs the poller now: every poll due has run and queued its changes when this returns. A poll is due once
    /// its interval has passed on the hub's clock; [`TestApp::advance`] makes the next one due at once.
    pub async fn poll_due_now(&self) {
        let plan = tether::jobs::poll::PollPlan::from_config(&self.config);
        tether::jobs::poll::poll_due(self.hub.clone(), plan).await.expect("a poll pass");
    }

    /// Sends every notice due now to the configured SMTP server, as the mailer worker would.
    pub async fn mail_due_now(&self) {
        let url = self.config.mail.smtp_url.as_ref().expect("mail_due_now needs mail.smtp_url set");
        let mailer = tether::messages::notify::Mailer::new(url, &self.config.mail.from).expect("a mailer");
        tether::jobs::mail::send_due(self.hub.store().clone(), mailer).await.expect("a mail pass");
    }

    /// Moves the hub's clock ahead by `by`: tokens expiring up to that much later count as expiring, and refresh
    /// retries, polls and delivery retries scheduled up to then are due, for the `*_due_now` helpers.
    pub fn advance(&self, by: std::time::Duration) {
        self.hub.clock().advance(by);
    }

    /// A second Tether on the same database and master key, as another node of one deployment would be.
    pub async fn another_node(&self, adjust: impl FnOnce(&mut Config)) -> OtherNode {
        let mut config = self.db.config();
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("free port");
        config.server.listen = listener.local_addr().unwrap();
        let tether = Tether::open(config).await.expect("the second node opens");
        let hub = tether.hub.clone();
        let (base_url, shutdown) = serve(tether, listener).await;
        OtherNode { base_url, hub, shutdown: Some(shutdown) }
    }

    /// A request to the REST API of the node at `base_url`, as the first organization's admin, through an
    /// instance's `Element` token.
    pub fn as_instance_at(&self, base_url: &str, token: &str, method: Method, path: &str) -> RequestBuilder {
        let tenant = &self.first;
        let header = authorization(tenant.user_secret.expose_secret(), tenant.organization_secret.expose_secret());
        self.http
            .request(method, format!("{base_url}/elements/api-v2{path}"))
            .header("Authorization", format!("{header}, Element {token}"))
    }

    /// A request to the REST API, without credentials.
    pub fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}/elements/api-v2{path}", self.base_url))
    }

    /// A request to the REST API as the first organization's admin.
    pub fn as_admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.as_tenant(&self.first, method, path)
    }

    pub fn as_tenant(&self, tenant: &NewOrganization, method: Method, path: &str) -> RequestBuilder {
        self.api(method, path).header(
            "Authorization",
            authorization(tenant.user_secret.expose_secret(), tenant.organization_secret.expose_secret()),
        )
    }

    /// A request to the REST API as the first organization's admin, through an instance's `Element` token.
    pub fn as_instance(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.as_instance_at(&self.base_url, token, method, path)
    }

    /// Registers a custom element as the first organization's admin, and answers it as the API shows it.
    pub async fn create_element(&self, definition: &Value) -> app::catalog::Element {
        let created = self.as_admin(Method::POST, "/elements").json(definition).send().await.unwrap();
        serde_json::from_value(expect_json(created, StatusCode::OK).await).expect("an element, as the API shows one")
    }

    /// Creates an instance as the first organization's admin, and answers it as the API shows it.
    pub async fn create_instance(&self, body: &Value) -> app::instances::Instance {
        let created = self.as_admin(Method::POST, "/instances").json(body).send().await.unwrap();
        serde_json::from_value(expect_json(created, StatusCode::OK).await).expect("an instance, as the API shows one")
    }

    /// Creates a member of the first organization's account with `email`, and answers the `Authorization` header
    /// that calls as them.
    pub async fn member_authorization(&self, email: &str) -> String {
        let created = self
            .as_admin(Method::POST, &format!("/accounts/{}/users", self.account_id()))
            .json(&serde_json::json!({"emailAddress": email}))
            .send()
            .await
            .unwrap();
        let member = expect_json(created, StatusCode::OK).await;
        authorization(member["secret"].as_str().unwrap(), self.first.organization_secret.expose_secret())
    }

    pub fn account_id(&self) -> i64 {
        self.first.account.id.0
    }
}

/// Serves an opened Tether on `listener` until the returned sender is used or dropped.
async fn serve(tether: Tether, listener: tokio::net::TcpListener) -> (String, oneshot::Sender<()>) {
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        tether
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
    });
    (base_url, shutdown)
}

/// Another node serving the same database; it stops when dropped.
pub struct OtherNode {
    pub base_url: String,
    pub hub: Arc<HubService>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for OtherNode {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Signs in a user without two-factor sign-in, straight to a console session.
pub async fn open_session(hub: &HubService, email: &str, password: &secrecy::SecretString) -> app::hub::ConsoleSession {
    match hub.sign_in(email, password).await.expect("the password is right") {
        app::hub::SignInStep::Done(session) => session,
        app::hub::SignInStep::CodeNeeded { .. } => panic!("{email} has two-factor sign-in"),
    }
}

pub fn authorization(user_secret: &str, organization_secret: &str) -> String {
    format!("User {user_secret}, Organization {organization_secret}")
}

/// Reads a JSON answer after checking its status; the body is printed when the status is not the expected one.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let request_id = response.headers().get("x-request-id").cloned();
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {body}");
    assert!(request_id.is_some(), "every response carries x-request-id");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON body expected, got: {body}"))
}

/// Checks an error answer: the status, a request id matching the header, and a message containing `needle`.
pub async fn expect_error(response: Response, status: StatusCode, needle: &str) -> String {
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id header");
    let body = expect_json(response, status).await;
    assert_eq!(body["requestId"].as_str(), Some(header_id.as_str()), "{body}");
    let message = body["message"].as_str().expect("message").to_owned();
    assert!(message.contains(needle), "message {message:?} should contain {needle:?}");
    message
}

/// Polls `probe` until it answers `Some`, failing after `seconds`: for conditions another process brings about, or
/// the workers' own timing when that is what a test is about. A test that only needs due work done runs it with
/// [`TestApp::deliver_due_now`] or [`TestApp::refresh_due_now`] instead.
pub async fn eventually<T, F, Fut>(seconds: u64, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "not within {seconds} s: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}
