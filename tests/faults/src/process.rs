//! The demo seller as a real process: started with the suite's flags, killed with SIGKILL,
//! stopped with SIGTERM, watched for crashes and measured (RSS).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::time::Instant;

use crate::error::{Error, Result};

/// What a demo process is started with.
#[derive(Debug, Clone)]
pub(crate) struct DemoOptions {
    /// PostgreSQL database URL; in-memory stores when `None`.
    pub(crate) database_url: Option<String>,
    /// Stateless MCP (the suite's calls) or sessions (the session flood).
    pub(crate) stateless: bool,
    /// How long a handed-off brief takes.
    pub(crate) curation: Duration,
    /// Further flags.
    pub(crate) extra: Vec<String>,
    /// The demo's `RUST_LOG`.
    pub(crate) rust_log: String,
}

impl DemoOptions {
    /// The suite's defaults: stateless, timings short enough that a killed process's tasks and
    /// webhook claims are taken over within seconds.
    pub(crate) fn new(database_url: Option<&str>, curation: Duration) -> Self {
        Self {
            database_url: database_url.map(str::to_owned),
            stateless: true,
            curation,
            extra: Vec::new(),
            rust_log: "info".to_owned(),
        }
    }

    /// Adds `flag value`.
    pub(crate) fn with(mut self, flag: &str, value: &str) -> Self {
        self.extra.push(flag.to_owned());
        self.extra.push(value.to_owned());
        self
    }
}

/// The timings every scenario runs the demo with (see `DemoOptions::new`).
const TUNING: [(&str, &str); 7] = [
    ("--task-lease-ms", "3000"),
    ("--webhook-timeout-ms", "4000"),
    ("--outbox-lease-ms", "6000"),
    ("--webhook-retry-base-ms", "200"),
    ("--webhook-retry-max-ms", "2000"),
    ("--webhook-breaker-open-ms", "2000"),
    ("--task-deadline-ms", "10000"),
];

/// A running (or exited) demo seller. Dropping it kills the process if it still runs.
#[derive(Debug)]
pub(crate) struct Demo {
    name: String,
    child: Child,
    url: String,
    addr: String,
    stdout: Arc<Mutex<Vec<String>>>,
    exit: Option<ExitStatus>,
}

impl Demo {
    /// Starts `binary` and waits (up to 30 s) until it serves; its stderr goes to
    /// `<log_dir>/<name>.log`.
    pub(crate) async fn start(
        binary: &Path,
        log_dir: &Path,
        name: &str,
        options: &DemoOptions,
    ) -> Result<Self> {
        let log_path = log_dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)
            .map_err(|e| Error::io(format!("creating {}", log_path.display()), e))?;
        let mut command = Command::new(binary);
        command
            .args(["--addr", "127.0.0.1:0"])
            .args(["--curation-ms", &options.curation.as_millis().to_string()])
            // The suite's DATABASE_URL must not leak into an in-memory demo (clap reads it).
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", &options.rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        for (flag, value) in TUNING {
            if !options.extra.iter().any(|f| f == flag) {
                command.args([flag, value]);
            }
        }
        if let Some(url) = &options.database_url {
            command.args(["--database-url", url]);
        }
        if options.stateless {
            command.arg("--stateless");
        }
        command.args(&options.extra);
        let mut child = command
            .spawn()
            .map_err(|e| Error::io(format!("starting {}", binary.display()), e))?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        if let Some(pipe) = child.stdout.take() {
            let lines = Arc::clone(&stdout);
            let out_path = log_dir.join(format!("{name}.stdout"));
            std::thread::spawn(move || copy_stdout(pipe, &lines, &out_path, &ready_tx));
        }
        let mut demo = Self {
            name: name.to_owned(),
            child,
            url: String::new(),
            addr: String::new(),
            stdout,
            exit: None,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(Some(line)) = tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            if let Some(url) = line.strip_prefix("adcp-rs demo seller serving MCP at ") {
                url.trim().clone_into(&mut demo.url);
                demo.addr = demo
                    .url
                    .trim_start_matches("http://")
                    .trim_end_matches("/mcp")
                    .to_owned();
                return Ok(demo);
            }
        }
        let status = demo.try_exit();
        Err(Error::Unexpected(format!(
            "{name} did not start serving ({}); see {}",
            status.map_or_else(|| "no address within 30 s".to_owned(), |s| s.to_string()),
            log_path.display()
        )))
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reaps the process.
    pub(crate) fn kill9(&mut self) -> Result<()> {
        if self.try_exit().is_none() {
            self.child
                .kill()
                .map_err(|e| Error::io(format!("killing {}", self.name), e))?;
            let status = self
                .child
                .wait()
                .map_err(|e| Error::io(format!("reaping {}", self.name), e))?;
            self.exit = Some(status);
        }
        Ok(())
    }

    /// Sends SIGTERM (a graceful stop).
    pub(crate) fn sigterm(&self) -> Result<()> {
        let pid = i32::try_from(self.child.id())
            .map_err(|_| Error::Unexpected("process id out of range".into()))?;
        kill(Pid::from_raw(pid), Signal::SIGTERM)
            .map_err(|e| Error::io(format!("SIGTERM to {}", self.name), e.into()))
    }

    /// The exit status, if the process has exited (never blocks).
    pub(crate) fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exit = Some(status);
        }
        self.exit
    }

    /// Waits until the process exits or `deadline` passes.
    pub(crate) async fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `Ok` while the process runs; a crash report when it exited on its own.
    pub(crate) fn check_alive(&mut self) -> std::result::Result<(), String> {
        match self.try_exit() {
            None => Ok(()),
            Some(status) => Err(format!(
                "{} exited unexpectedly ({status}); see its log",
                self.name
            )),
        }
    }

    /// Every line it printed on stdout so far.
    pub(crate) fn stdout(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many files (sockets included) the process holds open, read from /proc.
    pub(crate) fn open_files(&self) -> Option<usize> {
        Some(
            std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
                .ok()?
                .count(),
        )
    }

    /// CPU time the process has used so far (user and system, every thread, exited ones
    /// included), in nanoseconds, from `/proc/<pid>/stat` (clock-tick resolution, 10 ms on
    /// Linux: measure over seconds).
    pub(crate) fn cpu_ns(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // The fields after the command name (which may hold spaces) start at the state, the
        // third field; utime and stime are the 14th and 15th.
        let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        let ticks_per_sec = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .and_then(|ticks| u64::try_from(ticks).ok())
            .filter(|&ticks| ticks > 0)?;
        Some((utime + stime) * (1_000_000_000 / ticks_per_sec))
    }

    /// Resident memory (VmRSS) in KiB, read from /proc.
    pub(crate) fn rss_kib(&self) -> Option<u64> {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory the process has had (VmHWM) in KiB, read from /proc.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.kill9();
    }
}

fn copy_stdout(
    pipe: std::process::ChildStdout,
    lines: &Mutex<Vec<String>>,
    out_path: &PathBuf,
    ready: &tokio::sync::mpsc::UnboundedSender<String>,
) {
    let mut file = std::fs::File::create(out_path).ok();
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        if let Some(file) = file.as_mut() {
            let _ = writeln!(file, "{line}");
        }
        lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.clone());
        let _ = ready.send(line);
    }
}

/// Parses the demo's closing line, `stopped: N tasks finished, M failed on shutdown, K webhooks
/// undelivered`, into (N, M, K).
pub(crate) fn stop_report(lines: &[String]) -> Option<(u64, u64, u64)> {
    let line = lines.iter().find_map(|l| l.strip_prefix("stopped: "))?;
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    match numbers.as_slice() {
        [finished, failed, undelivered] => Some((*finished, *failed, *undelivered)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::stop_report;

    #[test]
    fn the_stop_line_is_read_into_its_three_counts() {
        let lines = vec![
            "adcp-rs demo seller serving MCP at http://127.0.0.1:1/mcp".to_owned(),
            "stopped: 20 tasks finished, 1 failed on shutdown, 0 webhooks undelivered".to_owned(),
        ];
        assert_eq!(stop_report(&lines), Some((20, 1, 0)));
        assert_eq!(stop_report(&lines[..1]), None);
    }
}
