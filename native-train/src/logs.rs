//! Training logs: the progress bar of an epoch and JSON-lines files.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// The progress bar of one epoch: iterations, running loss, speed and time left.
pub(crate) fn epoch_bar(what: &str, epoch: usize, epochs: usize, iterations: usize) -> ProgressBar {
    let bar = ProgressBar::new(iterations as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{prefix}} [{{bar:30}}] {{pos}}/{{len}} {{msg}} ({{per_sec}}, eta {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("{epoch}/{epochs}"));
    bar
}

/// The rows of a JSON-lines log (none when it is missing; unreadable lines are skipped).
pub(crate) fn read_log<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `rows` as JSON lines, one object per line.
pub(crate) fn jsonl<T: Serialize>(rows: &[T]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut out, r)?;
        out.push(b'\n');
    }
    Ok(out)
}
