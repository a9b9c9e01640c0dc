//! What the benchmarks print and write: tables, latency percentiles, the machine, JSON.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

/// Latencies, sorted, for percentiles.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    pub fn new(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        Self { sorted: latencies }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// The nearest-rank percentile (`p` in 0..=1), in milliseconds; none when empty.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        let rank = ((self.sorted.len() as f64 * p).ceil() as usize).clamp(1, self.sorted.len());
        Some(self.sorted[rank - 1].as_secs_f64() * 1e3)
    }

    pub fn p50_ms(&self) -> Option<f64> {
        self.percentile_ms(0.50)
    }

    pub fn p99_ms(&self) -> Option<f64> {
        self.percentile_ms(0.99)
    }
}

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A Markdown table, padded so it also reads well in a terminal.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self { columns: columns.iter().map(|(name, align)| ((*name).to_owned(), *align)).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.columns.len(), "a row has one cell per column");
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                self.rows.iter().map(|row| row[i].chars().count()).chain([name.chars().count(), 3]).max().unwrap_or(3)
            })
            .collect();
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&self.columns)
                .zip(&widths)
                .map(|((cell, (_, align)), width)| match align {
                    Align::Left => format!("{cell:<width$}"),
                    Align::Right => format!("{cell:>width$}"),
                })
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut out = line(self.columns.iter().map(|(name, _)| name.clone()).collect());
        let rule: Vec<String> = self
            .columns
            .iter()
            .zip(&widths)
            .map(|((_, align), width)| match align {
                Align::Left => format!(":{}", "-".repeat(width + 1)),
                Align::Right => format!("{}:", "-".repeat(width + 1)),
            })
            .collect();
        out.push_str(&format!("|{}|\n", rule.join("|")));
        for row in &self.rows {
            out.push_str(&line(row.clone()));
        }
        out
    }
}

/// A duration in milliseconds with three decimals, or `-`.
pub fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

/// A count with thousands separators: 1 234 567 reads as `1,234,567`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in the largest binary unit that keeps the number at least 1: `1.5 MiB`.
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut scaled = value as f64;
    let mut unit = 0;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value} B") } else { format!("{scaled:.1} {}", UNITS[unit]) }
}

/// `a / b`, or none when `b` is zero.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

/// The machine a run happened on, and how busy it was.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_gib: Option<f64>,
    pub cpu: Option<String>,
    /// The 1-, 5- and 15-minute load averages when the run started.
    pub load_at_start: Option<[f64; 3]>,
}

impl Machine {
    pub fn describe() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_gib = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kib| kib / (1024.0 * 1024.0));
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned());
        Self { cores, memory_gib, cpu, load_at_start: load_average() }
    }

    pub fn summary(&self) -> String {
        let memory = self.memory_gib.map_or_else(String::new, |gib| format!(", {gib:.0} GiB"));
        let cpu = self.cpu.as_deref().map_or_else(String::new, |cpu| format!(" ({cpu})"));
        let load = self.load_at_start.map_or_else(String::new, |[one, five, fifteen]| {
            format!("; load average at start {one:.2} {five:.2} {fifteen:.2}")
        });
        format!("{} cores{cpu}{memory}{load}", self.cores)
    }
}

/// The 1-, 5- and 15-minute load averages (Linux), if known.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The 1-minute load average, for a table cell.
pub fn load_now() -> Option<f64> {
    load_average().map(|[one, _, _]| one)
}

/// The command line this process was started with, for reports.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Writes `value` as pretty JSON to `path` (`-` is stdout).
pub fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    if path == Path::new("-") {
        println!("{text}");
        return Ok(());
    }
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    eprintln!("JSON written to {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let latencies = Latencies::new((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(latencies.p50_ms(), Some(50.0));
        assert_eq!(latencies.p99_ms(), Some(99.0));
        assert_eq!(latencies.percentile_ms(1.0), Some(100.0));
        assert_eq!(Latencies::default().p50_ms(), None);
    }

    #[test]
    fn tables_are_markdown_with_aligned_columns() {
        let mut table = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        table.row(vec!["a".into(), "1,000".into()]);
        assert_eq!(table.render(), "| name |     n |\n|:-----|------:|\n| a    | 1,000 |\n");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
