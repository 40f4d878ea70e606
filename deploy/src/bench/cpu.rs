//! Where the machine's CPU went during a timed run, read from `/proc`: how busy the cores
//! were, and the CPU seconds of each program (anvil per port, the relayer, the attesters,
//! the bench). A backlog's rate on this shared machine is only read right beside it: a run
//! at the cores' limit is limited by the machine, not by the waiting of its parts.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

/// Linux reports process and machine times in clock ticks of `USER_HZ`, 100 on every
/// architecture the kernel ships (it is part of the ABI, not the kernel's HZ).
const TICKS_A_SECOND: f64 = 100.0;

/// A reading of the machine's and each program's CPU time.
pub struct CpuSample {
    at: Instant,
    cores: usize,
    busy: u64,
    total: u64,
    /// pid → (program, ticks): a process is followed by its pid, since a kernel worker's
    /// name changes with the work it does.
    by_pid: BTreeMap<u32, (String, u64)>,
}

/// What was used between two samples.
pub struct CpuUse {
    /// The cores' busy share over the interval, 0–1 (all cores together).
    pub busy: f64,
    pub cores: usize,
    pub seconds: f64,
    /// CPU seconds by program, largest first; programs that ended in between are missing.
    pub by_program: Vec<(String, f64)>,
}

impl CpuSample {
    /// None where `/proc` cannot be read (not Linux): the bench then prints no CPU line.
    pub fn take() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let (busy, total) = machine_ticks(&stat)?;
        let cores = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .count();
        let mut by_pid = BTreeMap::new();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            // A process can end between the listing and these reads: it is skipped.
            if let Some(read) = process_ticks(&entry.path()) {
                by_pid.insert(pid, read);
            }
        }
        Some(Self {
            at: Instant::now(),
            cores,
            busy,
            total,
            by_pid,
        })
    }

    /// The use from `earlier` to this sample.
    pub fn since(&self, earlier: &CpuSample) -> CpuUse {
        let total = self.total.saturating_sub(earlier.total).max(1);
        let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
        for (pid, (program, ticks)) in &self.by_pid {
            let before = earlier.by_pid.get(pid).map_or(0, |(_, t)| *t);
            // A kernel worker is named by its current work: counted under its kind.
            let program = match program.split_once('-') {
                Some((kind, _)) if kind.starts_with("kworker") => "kworker",
                _ => program.as_str(),
            };
            *sums.entry(program).or_insert(0) += ticks.saturating_sub(before);
        }
        let mut by_program: Vec<(String, f64)> = sums
            .into_iter()
            .map(|(program, ticks)| (program.to_string(), ticks as f64 / TICKS_A_SECOND))
            .filter(|(_, s)| *s > 0.0)
            .collect();
        by_program.sort_by(|a, b| b.1.total_cmp(&a.1));
        CpuUse {
            busy: self.busy.saturating_sub(earlier.busy) as f64 / total as f64,
            cores: self.cores,
            seconds: self.at.duration_since(earlier.at).as_secs_f64(),
            by_program,
        }
    }
}

impl CpuUse {
    /// Renames programs (e.g. an anvil's port to its chain) with `names`.
    pub fn named(mut self, names: &[(String, String)]) -> Self {
        for (program, _) in &mut self.by_program {
            if let Some((_, name)) = names.iter().find(|(from, _)| from == program) {
                *program = name.clone();
            }
        }
        self
    }
}

impl fmt::Display for CpuUse {
    /// `cpu: 2 cores 97 % busy over 6.1 s; anvil base 7.1 s, usd1-relayer 2.9 s, …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cpu: {} cores {:.0} % busy over {:.1} s",
            self.cores,
            self.busy * 100.0,
            self.seconds
        )?;
        let mut sep = ";";
        for (program, seconds) in self.by_program.iter().filter(|(_, s)| *s >= 0.05) {
            write!(f, "{sep} {program} {seconds:.1} s")?;
            sep = ",";
        }
        Ok(())
    }
}

/// (busy, total) ticks of all cores from `/proc/stat`'s first line; idle and iowait are
/// idle.
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// (program, user + system ticks) of one process. anvil is named by its port (`anvil
/// :8545`), since a devnet runs one per chain.
fn process_ticks(dir: &std::path::Path) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The name is in parentheses and may hold spaces: the fields are after the last ')'.
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let program = if comm == "anvil" {
        let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let port = args
            .windows(2)
            .find(|w| w[0] == b"--port")
            .map(|w| String::from_utf8_lossy(w[1]).into_owned());
        format!("anvil :{}", port.unwrap_or_default())
    } else {
        comm
    };
    Some((program, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_line_counts_idle_and_iowait_as_idle() {
        let stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n";
        assert_eq!(machine_ticks(stat), Some((160, 980)));
    }

    #[test]
    fn a_process_is_followed_by_pid_through_a_change_of_name() {
        let at = Instant::now();
        let sample = |pids: &[(u32, &str, u64)], busy| CpuSample {
            at,
            cores: 2,
            busy,
            total: busy * 2,
            by_pid: pids
                .iter()
                .map(|(pid, name, ticks)| (*pid, (name.to_string(), *ticks)))
                .collect(),
        };
        let before = sample(
            &[(7, "kworker/u8:1-writeback", 500), (9, "anvil :8545", 40)],
            100,
        );
        let after = sample(
            &[
                (7, "kworker/u8:1-events_unbound", 510),
                (9, "anvil :8545", 140),
                (11, "usd1-relayer", 30),
            ],
            300,
        );
        let used = after.since(&before);
        assert_eq!(
            used.by_program,
            vec![
                ("anvil :8545".to_string(), 1.0),
                ("usd1-relayer".to_string(), 0.3),
                ("kworker".to_string(), 0.1),
            ]
        );
        assert_eq!(used.busy, 0.5);
    }

    #[test]
    fn this_process_is_read_with_its_name_and_the_time_it_spends() {
        let me = std::fs::read_to_string("/proc/self/comm").unwrap();
        let sample = CpuSample::take().expect("/proc is readable on Linux");
        // Spends CPU until the kernel has counted a tick of it, both in this process's times
        // and in the machine's (the two are counted apart: one can show a tick the other
        // has not yet; bounded).
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let mut x = 0u64;
        let used = loop {
            for _ in 0..1_000_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
            let used = CpuSample::take().unwrap().since(&sample);
            let counted = used.busy > 0.0 && used.by_program.iter().any(|(p, _)| p == me.trim());
            if counted || Instant::now() > deadline {
                break used;
            }
        };
        assert!(used.cores >= 1);
        assert!(used.busy > 0.0 && used.busy <= 1.0, "{}", used.busy);
        assert!(
            used.by_program
                .iter()
                .any(|(p, s)| p == me.trim() && *s > 0.0),
            "{:?}",
            used.by_program
        );
    }
}
