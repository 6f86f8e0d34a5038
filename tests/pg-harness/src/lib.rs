//! # adcp-pg-harness
//!
//! A real, throwaway PostgreSQL for the workspace's tests — never a mock.
//!
//! - When `DATABASE_URL` is set, that server is used (the role needs `CREATEDB`).
//! - Otherwise ONE cluster is shared by every test process (nextest runs each test in its own
//!   process): the first process to need it runs `initdb` and `pg_ctl start` from the newest
//!   `/usr/lib/postgresql/*/bin`, under `<target>/pg-harness/`, listening on a free
//!   `127.0.0.1` port with `fsync=off`. Start-up is guarded by an exclusive file lock and the
//!   port is recorded in a file, so later processes reuse the running cluster.
//! - [`fresh_database`] creates a new, uniquely named database per test and drops it (with
//!   `FORCE`) when the [`TestDatabase`] is dropped; set `ADCP_PG_HARNESS_KEEP=1` to keep it for
//!   inspection.
//!
//! As root, PostgreSQL refuses to run: the harness then runs `initdb`/`pg_ctl` through
//! `runuser -u postgres --` and hands the cluster directory to `postgres`.
//!
//! The `pg-harness` binary (`start`, `stop`, `url`) lets `cargo xtask ci` start the cluster once,
//! export `DATABASE_URL` and stop it afterwards.

mod cluster;
mod url;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};
use tokio::sync::OnceCell;

pub use cluster::{ClusterInfo, running_url, start_cluster, stop_cluster};

/// Everything that can stop the harness from providing a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// No PostgreSQL server binaries were found under `/usr/lib/postgresql/*/bin`.
    #[error(
        "no PostgreSQL installation under /usr/lib/postgresql/*/bin (install the `postgresql` package or set DATABASE_URL)"
    )]
    NoPostgres,
    /// A file or process operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What the harness was doing.
        action: String,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// `initdb`, `pg_ctl` or another tool exited unsuccessfully.
    #[error("{command} failed: {output}")]
    Command {
        /// The command that failed.
        command: String,
        /// Its combined output (or the server log's tail).
        output: String,
    },
    /// The cluster is not running (for `pg-harness url`).
    #[error("the harness cluster is not running; run `pg-harness start`")]
    NotRunning,
    /// A database operation failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// `DATABASE_URL` could not be understood.
    #[error("DATABASE_URL is not a postgres:// URL")]
    BadUrl,
}

/// One fresh database, created for one test and dropped with it.
///
/// Guarantees: the database is empty when handed out, and no other [`TestDatabase`] shares it.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    server_url: String,
    pool: PgPool,
}

impl TestDatabase {
    /// The connection URL of this database (give it to code that opens its own pool).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool on this database (up to 20 connections).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var_os("ADCP_PG_HARNESS_KEEP").is_some() {
            return;
        }
        // Dropping the database needs async I/O and the test's own runtime may be shutting
        // down, so it runs on a short-lived thread with its own runtime; best effort.
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let pool = self.pool.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                drop(pool);
                if let Ok(mut conn) = connect(&server_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

static SERVER_URL: OnceCell<String> = OnceCell::const_new();

/// A fresh database on the shared cluster (or on `DATABASE_URL`'s server).
///
/// # Panics
/// When no database can be provided — PostgreSQL is missing, the cluster fails to start, or the
/// server refuses `CREATE DATABASE`. The panic message says which; tests need no other handling.
pub async fn fresh_database() -> TestDatabase {
    match try_fresh_database().await {
        Ok(database) => database,
        Err(error) => panic!("adcp-pg-harness could not provide a database: {error}"),
    }
}

/// Like [`fresh_database`], but returns the failure instead of panicking.
pub async fn try_fresh_database() -> Result<TestDatabase, HarnessError> {
    let server_url = SERVER_URL.get_or_try_init(server_url).await?.clone();
    let name = format!("adcp_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = connect(&server_url).await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let url = url::with_database(&server_url, &name).ok_or(HarnessError::BadUrl)?;
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&url)
        .await?;
    Ok(TestDatabase {
        name,
        url,
        server_url,
        pool,
    })
}

/// The URL of the server's maintenance database: `DATABASE_URL` when set, otherwise the shared
/// cluster's (started when needed).
pub async fn server_url() -> Result<String, HarnessError> {
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    let info = tokio::task::spawn_blocking(start_cluster)
        .await
        .map_err(|join| HarnessError::Io {
            action: "starting the cluster".to_owned(),
            source: std::io::Error::other(join.to_string()),
        })??;
    Ok(info.url)
}

async fn connect(url: &str) -> Result<PgConnection, HarnessError> {
    let options: PgConnectOptions = url.parse()?;
    Ok(options.disable_statement_logging().connect().await?)
}
