//! The parts `/queue` needs, started by the tests (and by bench-runner) themselves: a
//! `redis-server` from PATH on a free loopback port with no persistence, and `queue-worker`
//! processes. Both are killed when their handle is dropped, so a failing test leaves no
//! orphan; and both die with the thread that started them even if this process is killed
//! with SIGKILL (Linux's parent-death signal: the workers' `--exit-with-parent`, redis-server
//! through `setpriv --pdeathsig`, when util-linux's setpriv is installed).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Why `/queue` checks are skipped, when they are: `None` if `redis-server` is on PATH.
pub fn skip_reason() -> Option<String> {
    (!on_path("redis-server")).then(|| {
        "redis-server is not on PATH (apt-get install redis-server): /queue checks skipped".into()
    })
}

/// Whether `program` is a file in one of PATH's directories.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// `redis-server --version`'s first words (`Redis server v=7.0.15`), or why not.
pub fn redis_version() -> Result<String, String> {
    let out = Command::new("redis-server")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run redis-server: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    Ok(words.join(" "))
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
        // redis-server has no parent-death option of its own: setpriv sets the signal, then
        // executes it (the signal survives that exec).
        let mut command = if on_path("setpriv") {
            let mut c = Command::new("setpriv");
            c.args(["--pdeathsig", "KILL", "redis-server"]);
            c
        } else {
            Command::new("redis-server")
        };
        let child = command
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

    /// Its process id (setpriv's, which became redis-server's).
    pub fn pid(&self) -> u32 {
        self.child.id()
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

/// A `queue-worker` process. Its stderr is kept ([`Worker::stderr`]), not printed: a
/// measurement's console stays readable, and a test prints it when it needs to.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    /// Starts `binary --broker URL ARGS…` and waits for its `queue-worker ready` line.
    pub fn start<S: AsRef<std::ffi::OsStr>>(
        binary: &Path,
        broker: &str,
        args: &[S],
    ) -> Result<Worker, String> {
        let mut child = Command::new(binary)
            .args(["--broker", broker])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
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
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(pipe) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    kept.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(line);
                }
            });
        }
        let mut worker = Worker { child, stderr };
        match rx.recv_timeout(Duration::from_secs(20)).ok().flatten() {
            Some(line) if line.starts_with("queue-worker ready") => Ok(worker),
            other => {
                let _ = worker.child.kill();
                let _ = worker.child.wait();
                Err(format!(
                    "queue-worker did not get ready: {other:?}; its stderr: {:?}",
                    worker.stderr()
                ))
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote on stderr so far, a line each (the pipe is read by a thread of its own, so
    /// the last lines may come a moment after the process exited).
    pub fn stderr(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The jobs it took over from workers whose lease ran out, from the tally it prints when it
    /// stops (`… (K taken over from dead workers) …`); `None` before that line.
    pub fn taken_over(&self) -> Option<u64> {
        self.stderr().iter().rev().find_map(|line| {
            let (before, _) = line.split_once(" taken over from dead workers")?;
            before.rsplit('(').next()?.trim().parse().ok()
        })
    }

    /// SIGKILL, as a crash would: nothing is handed back.
    pub fn kill_hard(mut self) {
        self.kill_in_place();
    }

    /// SIGTERM, then its exit status (waiting up to `timeout`).
    pub fn stop(mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.stop_in_place(timeout)
    }

    /// [`Worker::stop`], keeping the handle (for [`Worker::stderr`] afterwards).
    pub fn stop_in_place(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let pid = i32::try_from(self.child.id()).ok()?;
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the reader thread the last lines.
                std::thread::sleep(Duration::from_millis(20));
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL, as a crash would, keeping the handle.
    pub fn kill_in_place(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
