//! Storage: one sqlx pool over SQLite (the default) or PostgreSQL, migrated at start, and each domain's queries.
//!
//! Queries are written once, in the dialect both databases share (`$1` parameters, `RETURNING`, integer flags and
//! Unix-millisecond times), and run through sqlx's `Any` driver. Migrations differ per backend and live in
//! `migrations/sqlite` and `migrations/postgres`.

pub mod audit;
pub mod call_logs;
pub mod connect;
pub mod elements;
pub mod events;
pub mod history;
pub mod instance_table;
pub mod instances;
pub mod keys;
pub mod notifications;
pub mod oauth_apps;
pub mod oauth_flows;
pub mod refresh_leases;
pub mod schedules;
pub mod sessions;
pub mod sign_in_failures;
pub mod tenants;
pub mod two_factor;
pub mod vault;
pub mod webhooks;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::AnyPool;
use sqlx::any::{AnyPoolOptions, install_default_drivers};

/// Which database the store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken, such as a second user with the same email.
    #[error("already exists")]
    Conflict,
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        let unique = error.as_database_error().is_some_and(|database| database.is_unique_violation());
        if unique { StoreError::Conflict } else { StoreError::Database(error) }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle every part of Tether shares. Cloning it is cheap.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// A statement with its values bound, to run on the pool or inside a transaction.
pub(crate) type AnyQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// `$first, $first+1, …`: `count` numbered placeholders for an `IN (…)` list.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|number| format!("${number}")).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// Placeholders for a statement whose every parameter comes from these lists, bound in order: `?` on SQLite,
    /// where an unnamed parameter is bound in constant time (a numbered one is found by a scan of the
    /// statement's names, so a statement of a thousand parameters costs a million steps to bind), and
    /// [`placeholders`] on PostgreSQL.
    fn ordered_placeholders(&self, first: usize, count: usize) -> String {
        match self.backend {
            Backend::Sqlite => vec!["?"; count].join(", "),
            Backend::Postgres => placeholders(first, count),
        }
    }
}

impl Store {
    /// Connects to `sqlite:…` or `postgres://…`, creating the SQLite file and its folder when missing.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        if backend == Backend::Sqlite
            && let Some(parent) =
                sqlite_path(url).and_then(|path| std::path::Path::new(path).parent().map(|p| p.to_path_buf()))
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&parent).map_err(|error| StoreError::Database(sqlx::Error::Io(error)))?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            // A PostgreSQL connection can drop while idle, so it is checked before use; an SQLite connection is
            // a file handle in this process, and the check would only cost a round trip to its worker thread.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers and one writer work at once; a busy wait beats an instant "locked" error.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *connection).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *connection).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *connection).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Store { pool, backend })
    }

    /// Applies the migrations this build carries and has not applied yet.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock at its start (`BEGIN IMMEDIATE`),
    /// waiting for another writer as the busy timeout allows: a transaction begun plainly reads first, and when
    /// another connection writes between its read and its first write, SQLite refuses that write at once with
    /// "database is locked" instead of waiting.
    pub async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Answers whether the database responds, for `/healthz`.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Removes all but the newest `keep` rows of each instance from `table`, a table of this module whose ids
    /// grow with time and whose rows name an `instance_id`; answers how many went.
    pub(crate) async fn keep_newest_per_instance(
        connection: &mut sqlx::AnyConnection,
        table: &'static str,
        keep: i64,
    ) -> StoreResult<u64> {
        let crowded = format!("SELECT instance_id FROM {table} GROUP BY instance_id HAVING COUNT(*) > $1");
        let crowded: Vec<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(crowded)).bind(keep).fetch_all(&mut *connection).await?;
        let newest_dropped =
            format!("SELECT id FROM {table} WHERE instance_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2");
        let delete = format!("DELETE FROM {table} WHERE instance_id = $1 AND id <= $2");
        let mut removed = 0;
        for instance in crowded {
            let newest: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(newest_dropped.clone()))
                .bind(instance)
                .bind(keep)
                .fetch_optional(&mut *connection)
                .await?;
            if let Some(id) = newest {
                let query = sqlx::query(sqlx::AssertSqlSafe(delete.clone())).bind(instance).bind(id);
                removed += query.execute(&mut *connection).await?.rows_affected();
            }
        }
        Ok(removed)
    }

    /// Hands an SQLite connection's page cache back to the allocator. A prune reads and deletes far more pages than
    /// everyday queries touch, and its connection would otherwise keep them cached for as long as it lives.
    pub(crate) async fn shrink_memory(&self, connection: &mut sqlx::AnyConnection) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA shrink_memory").execute(connection).await?;
        }
        Ok(())
    }

    /// Closes every connection, flushing SQLite's write-ahead log into the main file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file path inside a `sqlite://path?options` URL.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// The current time as stored: Unix milliseconds.
pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// Reads a stored Unix-millisecond time.
pub fn from_millis(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis).single().unwrap_or_default()
}

/// Reads a stored 0/1 flag.
pub fn flag(value: i64) -> bool {
    value != 0
}
