//! `pg-harness start|stop|url`: manage the shared test cluster from scripts.
//!
//! - `start` starts the cluster (or finds it running) and prints its URL, ready for
//!   `export DATABASE_URL=$(pg-harness start)`.
//! - `url` prints the running cluster's URL, or fails when none runs.
//! - `stop` stops the cluster and removes its data.

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_default();
    let result = match command.as_str() {
        "start" => adcp_pg_harness::start_cluster().map(|info| Some(info.url)),
        "url" => adcp_pg_harness::running_url().map(Some),
        "stop" => adcp_pg_harness::stop_cluster().map(|()| None),
        _ => {
            eprintln!("usage: pg-harness start|stop|url");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(Some(url)) => {
            println!("{url}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pg-harness {command}: {error}");
            ExitCode::FAILURE
        }
    }
}
