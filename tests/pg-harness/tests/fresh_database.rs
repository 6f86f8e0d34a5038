//! The harness hands out real, isolated, throwaway databases.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use adcp_pg_harness::{fresh_database, server_url};
use sqlx::{Connection as _, PgConnection};

#[tokio::test]
async fn each_test_gets_its_own_empty_database() {
    let a = fresh_database().await;
    let b = fresh_database().await;
    assert_ne!(a.name(), b.name());
    sqlx::query("CREATE TABLE t (x INT)")
        .execute(a.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO t VALUES (1)")
        .execute(a.pool())
        .await
        .unwrap();
    let missing = sqlx::query("SELECT * FROM t").execute(b.pool()).await;
    assert!(missing.is_err(), "b does not see a's table");
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(b.pool())
        .await
        .unwrap();
    assert!(!version.is_empty());
    let mut direct = PgConnection::connect(a.url()).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&mut direct)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_dropped_database_is_removed_from_the_server() {
    let database = fresh_database().await;
    let name = database.name().to_owned();
    drop(database);
    let mut admin = PgConnection::connect(&server_url().await.unwrap())
        .await
        .unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert!(!exists || std::env::var_os("ADCP_PG_HARNESS_KEEP").is_some());
}
