//! The shared cluster: found, started or stopped under an exclusive file lock.
//!
//! Layout under the harness directory (`<target>/pg-harness/`, or `ADCP_PG_HARNESS_DIR`):
//! `lock` (the start-up lock), `port` (the running cluster's port) and `cluster/` (owned by the
//! server's user: `data/`, `postgres.log`, `pg_ctl.out`).

use std::fs::{self, File, OpenOptions};
use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::HarnessError;

/// The running cluster, as [`start_cluster`] found or started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The URL of the `postgres` maintenance database, as user `postgres` over TCP.
    pub url: String,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// Whether this call started the cluster (false when it was already running).
    pub started: bool,
}

/// Starts the shared cluster, or finds it already running. Safe to call from many processes at
/// once: only one starts it, the rest wait on the lock and reuse it.
pub fn start_cluster() -> Result<ClusterInfo, HarnessError> {
    let paths = Paths::new()?;
    let _lock = paths.lock()?;
    if let Some(port) = paths.running_port() {
        return Ok(ClusterInfo {
            url: url_for(port),
            port,
            started: false,
        });
    }
    let bin = newest_bin_dir()?;
    paths.prepare(&bin)?;
    let mut last_error = None;
    // A free port can be taken between probing and binding; a few tries cover that race.
    for _ in 0..3 {
        let port = free_port()?;
        match paths.pg_ctl_start(&bin, port) {
            Ok(()) => {
                write(
                    &paths.port_file,
                    port.to_string().as_bytes(),
                    "recording the port",
                )?;
                return Ok(ClusterInfo {
                    url: url_for(port),
                    port,
                    started: true,
                });
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or(HarnessError::NotRunning))
}

/// Stops the shared cluster (if running) and removes its data, so the next start is fresh.
pub fn stop_cluster() -> Result<(), HarnessError> {
    let paths = Paths::new()?;
    let _lock = paths.lock()?;
    if paths.data.join("PG_VERSION").exists() {
        let bin = newest_bin_dir()?;
        // `stop` fails when the server is already down; either way it is down afterwards.
        let _ = paths.run_as_server(
            &bin.join("pg_ctl"),
            &[
                "stop".as_ref(),
                "-D".as_ref(),
                paths.data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
            ],
        );
    }
    let _ = fs::remove_file(&paths.port_file);
    match fs::remove_dir_all(&paths.cluster) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(HarnessError::Io {
            action: "removing the cluster".to_owned(),
            source,
        }),
    }
}

/// The URL of the running cluster; [`HarnessError::NotRunning`] when none is running.
pub fn running_url() -> Result<String, HarnessError> {
    let paths = Paths::new()?;
    paths
        .running_port()
        .map(url_for)
        .ok_or(HarnessError::NotRunning)
}

fn url_for(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

struct Paths {
    root: PathBuf,
    port_file: PathBuf,
    cluster: PathBuf,
    data: PathBuf,
}

impl Paths {
    fn new() -> Result<Self, HarnessError> {
        let root = harness_dir();
        fs::create_dir_all(&root).map_err(|source| HarnessError::Io {
            action: format!("creating {}", root.display()),
            source,
        })?;
        let cluster = root.join("cluster");
        Ok(Self {
            port_file: root.join("port"),
            data: cluster.join("data"),
            cluster,
            root,
        })
    }

    /// Holds the exclusive start-up lock until the returned file is dropped.
    fn lock(&self) -> Result<File, HarnessError> {
        let path = self.root.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| HarnessError::Io {
                action: "opening the lock".to_owned(),
                source,
            })?;
        file.lock().map_err(|source| HarnessError::Io {
            action: "taking the lock".to_owned(),
            source,
        })?;
        Ok(file)
    }

    /// The recorded port, when a server accepts connections on it.
    fn running_port(&self) -> Option<u16> {
        let port: u16 = fs::read_to_string(&self.port_file)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        Some(port)
    }

    /// Makes sure `data/` holds a cluster of `bin`'s major version, owned by the server's user.
    fn prepare(&self, bin: &Path) -> Result<(), HarnessError> {
        let wanted = bin
            .parent()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let existing = fs::read_to_string(self.data.join("PG_VERSION")).ok();
        if existing.as_deref().map(str::trim) == Some(wanted.as_str()) {
            return Ok(());
        }
        let _ = fs::remove_dir_all(&self.cluster);
        fs::create_dir_all(&self.cluster).map_err(|source| HarnessError::Io {
            action: "creating the cluster directory".to_owned(),
            source,
        })?;
        if running_as_root() {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&self.cluster))?;
        }
        self.run_as_server(
            &bin.join("initdb"),
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )
    }

    fn pg_ctl_start(&self, bin: &Path, port: u16) -> Result<(), HarnessError> {
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c max_connections=300"
        );
        let log = self.cluster.join("postgres.log");
        let result = self.run_as_server(
            &bin.join("pg_ctl"),
            &[
                "start".as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-D".as_ref(),
                self.data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
            ],
        );
        result.map_err(|error| match error {
            HarnessError::Command { command, output } => HarnessError::Command {
                command,
                output: format!("{output}\n{}", tail(&log)),
            },
            other => other,
        })
    }

    /// Runs a server tool as the current user, or as `postgres` through `runuser` when root.
    /// Output goes to a file, not a pipe: the daemonised server would otherwise hold the pipe
    /// open and the wait would never end.
    fn run_as_server(&self, tool: &Path, args: &[&std::ffi::OsStr]) -> Result<(), HarnessError> {
        let out_path = self.root.join("tool.out");
        let out = File::create(&out_path).map_err(|source| HarnessError::Io {
            action: "creating tool.out".to_owned(),
            source,
        })?;
        let err = out.try_clone().map_err(|source| HarnessError::Io {
            action: "cloning tool.out".to_owned(),
            source,
        })?;
        let mut command = if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(tool);
            command
        } else {
            Command::new(tool)
        };
        command
            .args(args)
            .current_dir(&self.cluster)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let description = format!(
            "{} {}",
            tool.display(),
            args.first()
                .map_or(String::new(), |a| a.to_string_lossy().into_owned())
        );
        let status = command.status().map_err(|source| HarnessError::Io {
            action: format!("running {description}"),
            source,
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(HarnessError::Command {
                command: description,
                output: tail(&out_path),
            })
        }
    }
}

fn run(command: &mut Command) -> Result<(), HarnessError> {
    let description = format!("{command:?}");
    let output = command.output().map_err(|source| HarnessError::Io {
        action: format!("running {description}"),
        source,
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(HarnessError::Command {
            command: description,
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// `ADCP_PG_HARNESS_DIR`, else `$CARGO_TARGET_DIR/pg-harness`, else the workspace's
/// `target/pg-harness`. As root, the server runs as `postgres`, which must be able to reach
/// the directory: when an ancestor (say `/root`) is closed to other users, a directory under
/// the system temp dir, named after the target path, is used instead.
fn harness_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADCP_PG_HARNESS_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("pg-harness");
    if running_as_root() && !reachable_by_others(&target) {
        return std::env::temp_dir().join(format!(
            "adcp-pg-harness-{:016x}",
            fnv1a(dir.as_os_str().as_encoded_bytes())
        ));
    }
    dir
}

/// Whether every existing ancestor of `path` lets other users traverse it.
fn reachable_by_others(path: &Path) -> bool {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .ancestors()
        .filter_map(|dir| fs::metadata(dir).ok())
        .all(|meta| meta.mode() & 0o001 != 0)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The `bin` directory of the newest installed major version.
fn newest_bin_dir() -> Result<PathBuf, HarnessError> {
    let entries = fs::read_dir("/usr/lib/postgresql").map_err(|_| HarnessError::NoPostgres)?;
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version: f64 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, bin)| bin)
        .ok_or(HarnessError::NoPostgres)
}

fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

fn free_port() -> Result<u16, HarnessError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|source| HarnessError::Io {
            action: "finding a free port".to_owned(),
            source,
        })?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|source| HarnessError::Io {
            action: "finding a free port".to_owned(),
            source,
        })
}

fn write(path: &Path, contents: &[u8], action: &str) -> Result<(), HarnessError> {
    fs::write(path, contents).map_err(|source| HarnessError::Io {
        action: action.to_owned(),
        source,
    })
}

/// The last 2,000 bytes of a file, for error messages.
fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    let start = text.len().saturating_sub(2000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_directory_behind_a_closed_ancestor_is_unreachable() {
        let closed =
            std::env::temp_dir().join(format!("adcp-pg-harness-test-{}", std::process::id()));
        fs::create_dir_all(closed.join("target")).unwrap();
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(!reachable_by_others(&closed.join("target")));
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(reachable_by_others(&closed.join("target")));
        fs::remove_dir_all(&closed).unwrap();
    }

    #[test]
    fn the_newest_installed_server_is_found() {
        if let Ok(bin) = newest_bin_dir() {
            assert!(bin.join("initdb").exists() && bin.join("pg_ctl").exists());
        } else {
            assert!(
                !Path::new("/usr/lib/postgresql").exists()
                    || std::env::var_os("DATABASE_URL").is_some()
            );
        }
    }
}
