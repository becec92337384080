//! A server binary run as a child process on `127.0.0.1:0`, the way the tests and bench-runner
//! see it: the address comes from its first stdout line, it stops with SIGTERM (then SIGKILL),
//! and it is killed if the handle is dropped, so a panicking test leaves no orphan. And
//! [`run_to_exit`], for a start that must fail: its exit status and whole stderr.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Lines of the server's stderr kept for error messages.
const STDERR_TAIL_LINES: usize = 20;

/// Why a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The binary could not be run at all (missing, not executable).
    #[error("cannot run {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The process ended before printing its address (bad flag, port in use...).
    #[error("{binary} exited ({status}) before listening; its stderr ends with:\n{stderr}")]
    Exited {
        /// The binary.
        binary: PathBuf,
        /// How it ended.
        status: ExitStatus,
        /// The end of its stderr.
        stderr: String,
    },
    /// No `listening on http://ADDR` line in time, or a first line of another shape.
    #[error(
        "{binary} did not print `listening on http://ADDR` within {timeout:?} (first line: {line:?}); stderr:\n{stderr}"
    )]
    NoAddress {
        /// The binary.
        binary: PathBuf,
        /// How long we waited.
        timeout: Duration,
        /// What it printed instead, if anything.
        line: Option<String>,
        /// The end of its stderr.
        stderr: String,
    },
}

/// A running server process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Reads stderr until the process closes it; joined once the process has exited, so the
    /// tail then holds its last words.
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `binary --bind 127.0.0.1:0 ARGS…` (no `--bind` of ours if ARGS has one) and waits
    /// up to `startup_timeout` for its `listening on http://ADDR` line.
    pub fn start(
        binary: &Path,
        args: &[String],
        startup_timeout: Duration,
    ) -> Result<ServerProcess, StartError> {
        let bind: &[&str] = if args.iter().any(|a| a == "--bind") {
            &[]
        } else {
            &["--bind", "127.0.0.1:0"]
        };
        let mut child = Command::new(binary)
            .args(bind)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| StartError::Spawn {
                binary: binary.to_owned(),
                source,
            })?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_reader = child.stderr.take().map(|pipe| {
            let tail = Arc::clone(&stderr);
            std::thread::spawn(move || keep_tail(pipe, &tail))
        });
        let (tx, rx) = mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut lines = BufReader::new(pipe).lines();
                let _ = tx.send(lines.next().and_then(Result::ok));
                // Keep draining so the server never blocks on a full pipe.
                for _ in lines {}
            });
        }
        let mut server = ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
            stderr_reader,
        };
        let line = rx.recv_timeout(startup_timeout).ok().flatten();
        let addr = line
            .as_deref()
            .and_then(|l| l.strip_prefix("listening on http://"))
            .and_then(|a| a.trim().parse().ok());
        match addr {
            Some(addr) => {
                server.addr = addr;
                Ok(server)
            }
            None => {
                // Give a dying process a moment so we report its exit status and stderr.
                let deadline = Instant::now() + Duration::from_millis(500);
                while Instant::now() < deadline {
                    if let Some(status) = server.try_exited() {
                        return Err(StartError::Exited {
                            binary: binary.to_owned(),
                            status,
                            stderr: server.stderr_tail(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(StartError::NoAddress {
                    binary: binary.to_owned(),
                    timeout: startup_timeout,
                    line,
                    stderr: server.stderr_tail(),
                })
            }
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines it wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// `Some(status)` if the process has ended (crashed, or stopped by someone else).
    pub fn try_exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().ok().flatten()?;
        self.finish_stderr();
        Some(status)
    }

    fn finish_stderr(&mut self) {
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) -> std::io::Result<()> {
        let pid = i32::try_from(self.child.id()).map_err(std::io::Error::other)?;
        kill(Pid::from_raw(pid), Signal::SIGTERM).map_err(std::io::Error::from)
    }

    /// Waits up to `timeout` for the process to end; `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.finish_stderr();
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, up to `grace` for a graceful exit, then SIGKILL. Returns how it ended.
    pub fn stop(mut self, grace: Duration) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        self.terminate()?;
        if let Some(status) = self.wait_timeout(grace)? {
            return Ok(status);
        }
        self.child.kill()?;
        let status = self.child.wait()?;
        self.finish_stderr();
        Ok(status)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a process that ends by itself ended: [`run_to_exit`].
#[derive(Debug)]
pub struct Exited {
    /// Its exit status.
    pub status: ExitStatus,
    /// All it wrote to stderr.
    pub stderr: String,
}

/// Runs `binary ARGS…` with `env` added to its environment, for a start that must fail (a port
/// in use, a broker not there): waits up to `timeout` for it to exit by itself and returns its
/// status and whole stderr. Still running at `timeout`, it is killed and that is the error.
/// No `--bind` of ours: the caller's arguments are all it gets.
pub fn run_to_exit(
    binary: &Path,
    args: &[String],
    env: &[(&str, &str)],
    timeout: Duration,
) -> std::io::Result<Exited> {
    let mut child = Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read while it runs, so a process that writes more than a pipe holds still gets to exit.
    let reader = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{} still running after {timeout:?}", binary.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    Ok(Exited { status, stderr })
}

fn keep_tail(pipe: impl Read, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}
