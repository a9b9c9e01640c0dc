//! Progress bars on stderr (drawn only on a terminal).

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// A bar counting `total` items of `unit`, shown among `bars`.
pub fn counter(total: u64, label: &str, unit: &str, bars: &MultiProgress) -> ProgressBar {
    let template = format!(
        "{{prefix:>10}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, {{elapsed}}, eta {{eta}})"
    );
    start(bars, ProgressBar::new(total), &template, label)
}

/// A bar over a fixed time, with a message (e.g. the running rate).
pub fn timer(duration: Duration, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(duration.as_millis() as u64);
    start(&MultiProgress::new(), bar, "{prefix:>10} [{bar:40}] {elapsed}/{duration} {msg}", label)
}

fn start(bars: &MultiProgress, bar: ProgressBar, template: &str, label: &str) -> ProgressBar {
    let bar = bars.add(bar);
    bar.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
    bar.set_prefix(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
