//! `native-train`: train, evaluate, predict with and export lungseg's FFRNet.

// Each module imports only those below it on ARCHITECTURE.md's path (tests/layers.rs keeps
// the order and checks it).
mod augment;
mod backend;
mod bench;
mod checkpoint;
mod commands;
mod data;
mod error;
mod experiments;
mod inputs;
mod logs;
mod parallel;
mod parity;
mod paths;
mod poly_lr;
mod recipe;
mod rng;
mod scans;
mod train;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "native-train",
    about = "Train, evaluate, predict with and export lungseg's FFRNet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on a labelled folder (image.nii.gz, mask_binary.nii.gz, mask_classes.nii.gz, slices.csv).
    Train(Box<commands::TrainArgs>),
    /// Dice, IoU, sensitivity, specificity and precision of a model on a labelled folder.
    Eval(commands::EvalArgs),
    /// Segment a whole scan and write the mask (and statistics).
    Predict(commands::PredictArgs),
    /// Every real scan at hand (and any given), one table: lung field against reference lungs,
    /// infection flagged, per-volume Dice where an infection reference exists.
    Scans(scans::ScansArgs),
    /// Write the compact model file the browser loads, with its model card.
    Export(commands::ExportArgs),
    /// Self-supervised pretraining on unlabeled slices (restoration), for `train --init`.
    Pretrain(experiments::pretrain::PretrainArgs),
    /// One EXPERIMENTS.md table that no training option computes (ensembles, TTA zoom,
    /// thresholds, the output grid's ceiling).
    Experiment(experiments::tables::TableArgs),
    /// Dump weights, inputs, logits and one step's gradients for the PyTorch parity check (py/).
    Parity(parity::ParityArgs),
    /// burn flex against PyTorch CPU: forward and training-step times and peak memory.
    Bench(bench::BenchArgs),
    /// Parameters and GFLOP per slice of a preset.
    Info {
        #[arg(long, default_value = "lite")]
        preset: String,
        #[arg(long, default_value_t = 2)]
        classes: usize,
        /// With `train --fine-step`'s extra decoder step of this width.
        #[arg(long)]
        fine_step: Option<usize>,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => commands::train(*a),
        Command::Eval(a) => commands::eval(a),
        Command::Predict(a) => commands::predict(a),
        Command::Scans(a) => scans::scans(a),
        Command::Export(a) => commands::export(a),
        Command::Pretrain(a) => experiments::pretrain::pretrain(a),
        Command::Experiment(a) => experiments::tables::experiment(a),
        Command::Parity(a) => parity::parity(a),
        Command::Bench(a) => bench::bench(a),
        Command::Info {
            preset,
            classes,
            fine_step,
        } => commands::info(&preset, classes, fine_step),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
