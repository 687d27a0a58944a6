//! The storage suite, run on SQLite and on PostgreSQL alike: migrations, tenants, sessions, vault and key rotation.

use crate::on_both_backends;
use crate::utils::{Backend, TestDb};
use app::instances::InstanceId;
use app::types::{Role, UserId};
use secrecy::{ExposeSecret, SecretString};
use tether::security::crypto::MasterKey;
use tether::security::vault::{Vault, VaultError};
use tether::store::audit::AuditEntry;
use tether::store::instances::DUE_FOR_REFRESH;
use tether::store::sign_in_failures::{FAILURES_BEFORE_LOCKOUT, FORGET_AFTER_MILLIS};
use tether::store::tenants::{ProfileChange, UserRecord, create};
use tether::store::{Store, StoreError, now_millis};

on_both_backends!(
    migrations_apply_once_and_again,
    tenants_round_trip_and_emails_are_unique,
    secret_lookups_need_both_hashes,
    sessions_expire_and_end,
    vault_round_trip_and_audited_reads,
    rotation_reencrypts_and_old_keys_still_decrypt,
    vault_refuses_a_different_master_key,
    nodes_opening_together_share_one_first_key,
    refresh_leases_are_taken_together_and_given_back,
    sign_in_failures_are_forgotten_after_a_quiet_week,
    transactions_that_read_then_write_wait_for_each_other,
);

/// The refresher's due query reads only the instances due, soonest first, from its index: no scan of every
/// instance and no sort. The plan is SQLite's; PostgreSQL's planner picks by table statistics.
#[tokio::test]
async fn the_due_query_walks_its_index_on_sqlite() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = store(&db).await;
    // Both parts are constants of this program.
    let explain = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {DUE_FOR_REFRESH}"));
    let plan: Vec<String> = sqlx::query(explain)
        .bind(0_i64)
        .bind(0_i64)
        .bind(0_i64)
        .bind(500_i64)
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
        .collect();
    assert!(plan.iter().any(|step| step.contains("USING INDEX instances_refresh_due")), "{plan:?}");
    assert!(!plan.iter().any(|step| step.contains("TEMP B-TREE")), "sorted instead of read in order: {plan:?}");
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

async fn store(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// Makes an organization, its account and one user; returns the user's id.
async fn seed(store: &Store, email: &str, org_hash: &str, user_hash: &str) -> UserId {
    let mut transaction = store.begin_write().await.unwrap();
    let organization = create::organization(&mut transaction, "Acme", org_hash).await.unwrap();
    let account = create::account(&mut transaction, organization, "Default", true).await.unwrap();
    let user = create::user(
        &mut transaction,
        &UserRecord {
            organization_id: organization,
            account_id: account,
            email,
            first_name: "Ada",
            last_name: "Lovelace",
            phone: None,
            role: Role::Admin,
            secret_hash: user_hash,
            password_hash: Some("hash"),
        },
    )
    .await
    .unwrap();
    transaction.commit().await.unwrap();
    user.id
}

async fn migrations_apply_once_and_again(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    store.migrate().await.expect("a second run finds nothing to do");
    assert_eq!(store.count_organizations().await.unwrap(), 0);
    store.ping().await.unwrap();
}

async fn tenants_round_trip_and_emails_are_unique(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let user_id = seed(&store, "ada@example.com", "org-hash", "user-hash").await;
    let user = store.user(user_id).await.unwrap().expect("stored");
    assert_eq!(user.email_address, "ada@example.com");
    assert_eq!(user.role, Role::Admin);
    assert!(user.active);
    let organization = store.organization_of_user(user_id).await.unwrap().unwrap();
    let accounts = store.accounts(organization, None).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert!(accounts[0].default_account);
    assert_eq!(store.users(accounts[0].id).await.unwrap(), vec![user.clone()]);

    let changed = store
        .update_profile(user_id, &ProfileChange { phone: Some(Some("+14155550123")), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.phone.as_deref(), Some("+14155550123"));
    assert_eq!(changed.first_name, "Ada");
    let cleared = store
        .update_profile(user_id, &ProfileChange { phone: Some(None), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.phone, None);

    let mut connection = store.pool().acquire().await.unwrap();
    let duplicate = create::user(
        &mut connection,
        &UserRecord {
            organization_id: organization,
            account_id: accounts[0].id,
            email: "ada@example.com",
            first_name: "",
            last_name: "",
            phone: None,
            role: Role::Member,
            secret_hash: "another-hash",
            password_hash: None,
        },
    )
    .await;
    assert!(matches!(duplicate, Err(StoreError::Conflict)), "{duplicate:?}");
    drop(connection);
    assert_eq!(store.users(accounts[0].id).await.unwrap().len(), 1);

    // A failed transaction leaves nothing behind.
    let mut transaction = store.begin_write().await.unwrap();
    create::organization(&mut transaction, "Half", "half-hash").await.unwrap();
    transaction.rollback().await.unwrap();
    assert_eq!(store.count_organizations().await.unwrap(), 1);
}

async fn secret_lookups_need_both_hashes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let ada = seed(&store, "ada@example.com", "org-a", "user-a").await;
    seed(&store, "bob@example.com", "org-b", "user-b").await;
    let caller = store.caller_by_secret_hashes("user-a", "org-a", now_millis()).await.unwrap().expect("matching pair");
    assert_eq!(caller.user_id, ada);
    assert!(store.caller_by_secret_hashes("user-a", "org-b", now_millis()).await.unwrap().is_none());
    assert!(store.caller_by_secret_hashes("user-b", "org-a", now_millis()).await.unwrap().is_none());
    assert!(store.caller_by_secret_hashes("nobody", "org-a", now_millis()).await.unwrap().is_none());
}

async fn sessions_expire_and_end(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let user = seed(&store, "ada@example.com", "o", "u").await;
    let later = chrono::Utc::now().timestamp_millis() + 60_000;
    let earlier = chrono::Utc::now().timestamp_millis() - 1;
    store.insert_session("live", user, later).await.unwrap();
    store.insert_session("stale", user, earlier).await.unwrap();
    assert_eq!(store.session_caller("live").await.unwrap().unwrap().user_id, user);
    assert!(store.session_caller("stale").await.unwrap().is_none());
    assert!(store.session_caller("unknown").await.unwrap().is_none());
    store.delete_session("live").await.unwrap();
    assert!(store.session_caller("live").await.unwrap().is_none());
    store.insert_session("again", user, later).await.unwrap();
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM console_sessions").fetch_all(store.pool()).await.unwrap();
    assert_eq!(kept, ["again"], "a new session removes the expired ones");
    store.delete_user_sessions(user).await.unwrap();
    assert!(store.session_caller("again").await.unwrap().is_none());
}

async fn sign_in_failures_are_forgotten_after_a_quiet_week(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let now = now_millis();
    store.record_sign_in_failure("quiet@example.com", now - FORGET_AFTER_MILLIS - 1_000).await.unwrap();
    store.record_sign_in_failure("recent@example.com", now - FORGET_AFTER_MILLIS + 60_000).await.unwrap();
    let mut locked_until = None;
    for _ in 0..FAILURES_BEFORE_LOCKOUT {
        locked_until = store.record_sign_in_failure("locked@example.com", now).await.unwrap();
    }
    assert!(locked_until.is_some_and(|until| until > now));
    let mut remembered: Vec<String> =
        sqlx::query_scalar("SELECT email FROM sign_in_failures").fetch_all(store.pool()).await.unwrap();
    remembered.sort();
    assert_eq!(remembered, ["locked@example.com", "recent@example.com"], "a week without failures is forgotten");
    assert_eq!(store.sign_in_locked_until("locked@example.com", now).await.unwrap(), locked_until);
}

async fn vault_round_trip_and_audited_reads(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let user = seed(&store, "ada@example.com", "o", "u").await;
    let organization = store.organization_of_user(user).await.unwrap();
    let vault = Vault::open(store.clone(), MasterKey::generate()).await.unwrap();

    let id = vault.put(organization, "oauth.user.refresh_token", &secret("refresh-1")).await.unwrap();
    assert_eq!(
        vault.read(id, &tether::store::audit::Actor::User(app::types::UserId(1))).await.unwrap().expose_secret(),
        "refresh-1"
    );
    vault.replace(id, &secret("refresh-2")).await.unwrap();
    assert_eq!(
        vault.read(id, &tether::store::audit::Actor::User(app::types::UserId(1))).await.unwrap().expose_secret(),
        "refresh-2"
    );

    let stored: Vec<u8> = sqlx::query_scalar("SELECT ciphertext FROM vault").fetch_one(store.pool()).await.unwrap();
    assert!(!stored.windows(9).any(|window| window == b"refresh-2"), "stored encrypted");

    let reads = store.audit_records(organization.unwrap(), 10).await.unwrap();
    let secret_reads: Vec<&AuditEntry> =
        reads.iter().map(|record| &record.entry).filter(|entry| entry.action == "secret.read").collect();
    assert_eq!(secret_reads.len(), 2);
    assert!(secret_reads[0].target.contains("oauth.user.refresh_token"));
    assert_eq!(secret_reads[0].actor, "user:1");

    vault.remove(id).await.unwrap();
    assert!(matches!(
        vault.read(id, &tether::store::audit::Actor::User(app::types::UserId(1))).await,
        Err(VaultError::NotFound(_))
    ));
    assert!(matches!(vault.replace(id, &secret("x")).await, Err(VaultError::NotFound(_))));
}

async fn rotation_reencrypts_and_old_keys_still_decrypt(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let master = SecretString::from(base64_key([7u8; 32]));
    let vault = Vault::open(store.clone(), MasterKey::from_base64(&master).unwrap()).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..250 {
        ids.push(vault.put(None, "test", &secret(&format!("secret-{n}"))).await.unwrap());
    }
    assert_eq!(store.vault_entries_per_key_version().await.unwrap(), vec![(1, 250)]);

    // A second node, opened before the rotation, still holds only version 1.
    let other_node = Vault::open(store.clone(), MasterKey::from_base64(&master).unwrap()).await.unwrap();

    let report = vault.rotate(&tether::store::audit::Actor::Cli).await.unwrap();
    assert_eq!(report.new_version, 2);
    assert_eq!(report.reencrypted, 250);
    assert_eq!(store.vault_entries_per_key_version().await.unwrap(), vec![(2, 250)]);

    for (n, id) in ids.iter().enumerate() {
        assert_eq!(
            vault.read(*id, &tether::store::audit::Actor::System).await.unwrap().expose_secret(),
            format!("secret-{n}")
        );
    }
    // The other node meets version 2 ciphertexts and fetches the new key itself.
    assert_eq!(
        other_node.read(ids[0], &tether::store::audit::Actor::System).await.unwrap().expose_secret(),
        "secret-0"
    );

    // A rotation started from another node continues the numbering and rewrites everything again.
    let second = other_node.rotate(&tether::store::audit::Actor::Cli).await.unwrap();
    assert_eq!((second.new_version, second.reencrypted), (3, 250));
    assert_eq!(vault.read(ids[249], &tether::store::audit::Actor::System).await.unwrap().expose_secret(), "secret-249");
}

fn base64_key(bytes: [u8; 32]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn vault_refuses_a_different_master_key(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    Vault::open(store.clone(), MasterKey::generate()).await.unwrap();
    let error = Vault::open(store.clone(), MasterKey::generate()).await.err().expect("wrong master key");
    assert!(error.to_string().contains("not the master key"), "{error}");
}

async fn nodes_opening_together_share_one_first_key(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let master = SecretString::from(base64_key([9u8; 32]));
    let opens = (0..4).map(|_| {
        let store = store.clone();
        let master = master.clone();
        tokio::spawn(async move { Vault::open(store, MasterKey::from_base64(&master).unwrap()).await })
    });
    let vaults: Vec<Vault> = futures_join(opens).await;
    let id = vaults[0].put(None, "test", &secret("shared")).await.unwrap();
    for vault in &vaults {
        assert_eq!(vault.read(id, &tether::store::audit::Actor::System).await.unwrap().expose_secret(), "shared");
    }
    assert_eq!(store.list_data_keys().await.unwrap().len(), 1);
}

async fn futures_join(handles: impl Iterator<Item = tokio::task::JoinHandle<Result<Vault, VaultError>>>) -> Vec<Vault> {
    let mut vaults = Vec::new();
    for handle in handles {
        vaults.push(handle.await.unwrap().expect("vault opens"));
    }
    vaults
}

async fn refresh_leases_are_taken_together_and_given_back(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let (later, earlier) = (now_millis() + 60_000, now_millis() - 1);
    assert!(store.take_refresh_lease(InstanceId(2), "node-b", later).await.unwrap());
    assert!(store.take_refresh_lease(InstanceId(3), "node-b", earlier).await.unwrap());
    let wave = [InstanceId(1), InstanceId(2), InstanceId(3)];
    let mut taken = store.take_refresh_leases(&wave, "node-a", later).await.unwrap();
    taken.sort_by_key(|id| id.0);
    assert_eq!(taken, [InstanceId(1), InstanceId(3)], "2 is node-b's until later; 3's lease has run out");
    assert!(store.take_refresh_leases(&[], "node-a", later).await.unwrap().is_empty());
    assert!(!store.take_refresh_lease(InstanceId(1), "node-b", later).await.unwrap());

    // A wave's commit gives back only its holder's leases.
    assert!(store.save_refresh_wave(&[], &wave, "node-a").await.unwrap().is_empty());
    assert!(store.take_refresh_lease(InstanceId(1), "node-b", later).await.unwrap());
    assert!(!store.take_refresh_lease(InstanceId(2), "node-a", later).await.unwrap(), "node-b's lease stays");
}

/// Transactions that read and then write, run at once on one pool, all commit: none is refused because another
/// wrote after its read (SQLite answers that with an immediate "database is locked" unless a writing transaction
/// takes the write lock at its start).
async fn transactions_that_read_then_write_wait_for_each_other(backend: Backend) {
    use tether::store::webhooks::{EndpointRecord, NewLifecycleEvent};
    let db = TestDb::new(backend).await;
    let store = store(&db).await;
    let user = seed(&store, "ada@example.com", "o", "u").await;
    let organization = store.organization_of_user(user).await.unwrap().unwrap();
    let vault = Vault::open(store.clone(), MasterKey::generate()).await.unwrap();
    let key = vault.put(Some(organization), "webhook.signature", &secret("key")).await.unwrap();
    let endpoint = EndpointRecord {
        id: "whe_1".into(),
        organization_id: organization,
        url: "https://app.example/hooks".into(),
        signature_vault_id: key,
        events: Vec::new(),
        created_at: now_millis(),
    };
    store.insert_webhook_endpoint(&endpoint).await.unwrap();
    const WRITERS: usize = 8;
    const EVENTS_EACH: usize = 25;
    let writers = (0..WRITERS).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            for n in 0..EVENTS_EACH {
                let event = NewLifecycleEvent {
                    id: format!("evt_{writer}_{n}"),
                    organization_id: organization,
                    event_type: "instance.created".into(),
                    instance_id: None,
                    body: "{}".into(),
                };
                store.queue_lifecycle_event(&event, None).await?;
            }
            Ok::<_, StoreError>(())
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.unwrap().expect("every transaction commits");
    }
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries").fetch_one(store.pool()).await.unwrap();
    assert_eq!(queued, (WRITERS * EVENTS_EACH) as i64);
}
