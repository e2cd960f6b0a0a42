//! `native-train`: train, evaluate, predict with and export lungseg's FFRNet.

mod augment;
mod backend;
mod bench;
mod checkpoint;
mod commands;
mod data;
mod ema;
mod parallel;
mod parity;
mod poly_lr;
mod pretrain;
mod pseudo;
mod rng;
mod scans;
mod train;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The model the web page ships, used when no --model is given.
pub const DEFAULT_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../www/model/lite.lungseg");

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
    Train(commands::TrainArgs),
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
    Pretrain(pretrain::PretrainArgs),
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
        Command::Train(a) => commands::train(a),
        Command::Eval(a) => commands::eval(a),
        Command::Predict(a) => commands::predict(a),
        Command::Scans(a) => scans::scans(a),
        Command::Export(a) => commands::export(a),
        Command::Pretrain(a) => pretrain::pretrain(a),
        Command::Parity(a) => parity::parity(a),
        Command::Bench(a) => bench::bench(a),
        Command::Info {
            preset,
            classes,
            fine_step,
        } => commands::info(&preset, classes, fine_step),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

pub fn default_model() -> PathBuf {
    PathBuf::from(DEFAULT_MODEL)
}

/// `shared/data/medseg/train`, where the build found the shared data (see the root build.rs).
pub fn default_data() -> PathBuf {
    PathBuf::from(lungseg::SHARED_DATA).join("medseg/train")
}
