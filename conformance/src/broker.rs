//! The parts `/queue` needs, started by the tests themselves: a `redis-server` from PATH on a
//! free loopback port with no persistence, and `queue-worker` processes. Both are killed when
//! their handle is dropped, so a failing test leaves no orphan.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Why `/queue` checks are skipped, when they are: `None` if `redis-server` is on PATH.
pub fn skip_reason() -> Option<String> {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| dir.join("redis-server").is_file())
    });
    (!found).then(|| {
        "redis-server is not on PATH (apt-get install redis-server): /queue checks skipped".into()
    })
}

/// A `redis-server` of our own.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free loopback port (`--save "" --appendonly no`: nothing written to
    /// disk) and waits until it accepts connections.
    pub fn start() -> Result<RedisServer, String> {
        Self::start_on(free_port()?)
    }

    /// Starts one on `port` (to bring a stopped broker back where the servers expect it).
    pub fn start_on(port: u16) -> Result<RedisServer, String> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        let server = RedisServer { child, port };
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > until {
                return Err(format!(
                    "redis-server did not listen on port {port} within 10 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port: bound, read, released. Another process could take it in between;
/// redis-server then fails to start and the test says so.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A `queue-worker` process.
#[derive(Debug)]
pub struct Worker {
    child: Child,
}

impl Worker {
    /// Starts `binary --broker URL ARGS…` and waits for its `queue-worker ready` line.
    pub fn start(binary: &Path, broker: &str, args: &[&str]) -> Result<Worker, String> {
        let mut child = Command::new(binary)
            .args(["--broker", broker])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut lines = BufReader::new(pipe).lines();
                let _ = tx.send(lines.next().and_then(Result::ok));
                for _ in lines {}
            });
        }
        let mut worker = Worker { child };
        match rx.recv_timeout(Duration::from_secs(20)).ok().flatten() {
            Some(line) if line.starts_with("queue-worker ready") => Ok(worker),
            other => {
                let _ = worker.child.kill();
                Err(format!("queue-worker did not get ready: {other:?}"))
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash would: nothing is handed back.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then its exit status (waiting up to `timeout`).
    pub fn stop(mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let pid = i32::try_from(self.child.id()).ok()?;
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `queue-worker` binary beside `server` (cargo puts a workspace's binaries in one
/// directory); built with `$CARGO build -p queue-worker` first if it is not there (a test run
/// of one server crate builds that crate's binaries only).
pub fn worker_binary(server: &Path) -> Result<PathBuf, String> {
    let dir = server
        .parent()
        .ok_or_else(|| format!("{} has no directory", server.display()))?;
    let path = dir.join("queue-worker");
    if !path.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile = dir.file_name().and_then(|p| p.to_str()) == Some("release");
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "queue-worker"]);
        if profile {
            build.arg("--release");
        }
        let status = build
            .status()
            .map_err(|e| format!("cannot run cargo build -p queue-worker: {e}"))?;
        if !status.success() || !path.is_file() {
            return Err(format!(
                "no queue-worker binary at {} (cargo build -p queue-worker: {status})",
                path.display()
            ));
        }
    }
    Ok(path)
}
