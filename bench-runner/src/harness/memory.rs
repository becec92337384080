//! The server's peak resident memory (Linux): `VmHWM` of `/proc/PID/status`, reset before each
//! round by writing `5` to `/proc/PID/clear_refs` (which sets the high-water mark to the
//! current RSS), so that each round's figure is the peak of that round alone.

use std::io;

/// Resets `pid`'s peak RSS to its current RSS. Needs the right to write the process's
/// `clear_refs`: it is ours (bench-runner started it).
pub fn reset_peak(pid: u32) -> io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// `pid`'s peak RSS since start or the last [`reset_peak`], KiB; `None` if unreadable.
pub fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    vm_hwm_kib(&status)
}

/// The `VmHWM:` line of a `/proc/PID/status` text, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    field_kib(status, "VmHWM:")
}

/// The line `name` (`VmHWM:`) of a `/proc/PID/status` text, in KiB.
fn field_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    let mut words = line[name.len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_hwm() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t   5120 kB\nVmRSS:\t  4096 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(5120));
        assert_eq!(vm_hwm_kib("VmRSS:\t1 kB\n"), None);
        assert_eq!(vm_hwm_kib("VmHWM:\tlots kB\n"), None);
    }

    /// This process touches 256 MiB and frees it (a block that large goes back to the OS):
    /// its peak is then at least that above its current RSS, and after a reset close to it.
    /// (Other tests run beside this one in the process: hence the comparison with the RSS of
    /// the moment, and the wide margins.)
    #[test]
    #[cfg(target_os = "linux")]
    fn the_peak_is_reset_and_measured() {
        let pid = std::process::id();
        let rss = || {
            let status = std::fs::read_to_string("/proc/self/status").expect("status");
            field_kib(&status, "VmRSS:").expect("VmRSS")
        };
        let block = vec![1u8; 256 << 20];
        std::hint::black_box(&block);
        drop(block);
        let before = peak_kib(pid).expect("VmHWM");
        let now = rss();
        assert!(
            before >= now + 200 * 1024,
            "peak before reset {before} KiB, RSS {now} KiB"
        );
        reset_peak(pid).expect("reset");
        let after = peak_kib(pid).expect("VmHWM");
        let now = rss();
        assert!(
            after <= now + 64 * 1024,
            "peak after reset {after} KiB, RSS {now} KiB"
        );
    }
}
