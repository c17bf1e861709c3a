//! What `/proc` says about a process under benchmark: CPU time and memory.

use tokio::process::Child;

/// CPU seconds (user + system) process `pid` used so far; NaN when it cannot be read.
pub fn cpu_seconds_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name is parenthesised and may hold spaces; utime and stime are fields 14 and
    // 15 of the line, so 12 and 13 after the name.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(Vec::new(), |(_, rest)| rest.split(' ').collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / USER_HZ
}

/// CPU seconds `child` used so far.
pub fn cpu_seconds(child: &Child) -> f64 {
    child.id().map_or(f64::NAN, cpu_seconds_of)
}

/// Linux reports CPU time in clock ticks of `USER_HZ`, 100 on every architecture it runs on.
const USER_HZ: f64 = 100.0;

/// Peak resident memory (VmHWM), in MiB.
pub fn peak_rss_mib(child: &Child) -> f64 {
    memory_mib(child, "VmHWM:")
}

/// Resident memory now, in MiB.
pub fn rss_mib(child: &Child) -> f64 {
    memory_mib(child, "VmRSS:")
}

fn memory_mib(child: &Child, field: &str) -> f64 {
    let Some(pid) = child.id() else {
        return f64::NAN;
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
