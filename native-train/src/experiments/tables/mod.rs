//! The commands behind single EXPERIMENTS.md tables (`native-train experiment NAME ARGS...`):
//! each prints its table from a trained model and the shared MedSeg slices, through the same
//! labels, lung-region filter and metric code as `eval`.

mod common;
mod ensemble;
mod resolution_ceiling;
mod threshold_sweep;
mod tones;
mod tta_zoom;

use clap::{Args, ValueEnum};

#[derive(Args)]
pub struct TableArgs {
    /// Which table.
    pub table: Table,
    /// The table's own arguments (each table's usage says which).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Table {
    /// Two or more models' probabilities averaged against each alone: MODEL,MODEL[,...] z,z,...
    Ensemble,
    /// Dice a perfect model reaches on FFRNet's output grid: [DATA_DIR]
    ResolutionCeiling,
    /// Per-slice hits and misses at each infection threshold and minimum area: MODEL z,z,...
    ThresholdSweep,
    /// The model input's tones of air, lung and soft tissue, MedSeg against real HU: [SCAN ...]
    Tones,
    /// The test-time augmentation's zoom: MODEL z,z,... [SIDES ...] [upside-down]
    TtaZoom,
}

pub fn experiment(a: TableArgs) -> anyhow::Result<()> {
    match a.table {
        Table::Ensemble => ensemble::run(&a.args),
        Table::ResolutionCeiling => resolution_ceiling::run(&a.args),
        Table::ThresholdSweep => threshold_sweep::run(&a.args),
        Table::Tones => tones::run(&a.args),
        Table::TtaZoom => tta_zoom::run(&a.args),
    }
}
