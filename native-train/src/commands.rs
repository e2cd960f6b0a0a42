//! The subcommands, as plain functions over parsed arguments.

use crate::error::TrainError;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use clap::Args;
use lungseg::intensity::{Window, detect, lung_window};
use lungseg::loss::LossWeights;
use lungseg::lung_field::LungField;
use lungseg::metrics::{Report, Scores};
use lungseg::pipeline::{SegmentOptions, StageTimes, TTA_NAME, mask_description, segment_slices};
use lungseg::quantify::{Statistics, statistics};
use lungseg::volume::{read_nifti, write_mask_nifti};
use lungseg::weights::{ModelCard, save_model};

use crate::augment::Augment;
use crate::backend;
use crate::checkpoint::write_atomic;
use crate::data::{LabelledData, fold_split, sha256_hex};
use crate::experiments::Experiments;
use crate::experiments::dense_lung::{DenseLung, DenseLungOptions};
use crate::experiments::negatives::Negatives;
use crate::experiments::pretrain::InitOptions;
use crate::experiments::pseudo::{Pseudo, Teacher, UnlabeledPool};
use crate::inputs::{load, load_inference, read_input};
use crate::recipe::network;
use crate::train::{TrainOptions, fold_dir, train_run, validate};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Labelled folder; defaults to the project's shared MedSeg training data.
    #[arg(long, default_value_os_t = crate::paths::default_data())]
    pub data: PathBuf,
    #[arg(long, default_value = "lite")]
    pub preset: String,
    #[arg(long, default_value_t = 2)]
    pub classes: usize,
    /// Square input size the slices are resampled to (the preset's 256 unless given; 512 is
    /// MedSeg's own resolution, at 4× the cost).
    #[arg(long)]
    pub input_size: Option<usize>,
    /// Add a decoder step of this many channels onto the stem's H/2 grid (not in the paper): the
    /// logits then live on a grid twice as fine as FFRNet's H/4, e.g. `--fine-step 32`.
    #[arg(long)]
    pub fine_step: Option<usize>,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Devices for data-parallel training: GPUs 0 to N − 1 of the backend, each taking a share of
    /// every batch (the batch size stays the global one).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    #[arg(long, default_value_t = 150)]
    pub epochs: usize,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 666)]
    pub seed: u64,
    /// Seed that deals the similarity groups into folds, when it should differ from `--seed`:
    /// runs with other `--seed`s (initialisation, augmentation, order) then share one split, so
    /// their spread is the run-to-run noise alone.
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// Run k-fold cross-validation over similarity groups (every fold), instead of one split.
    #[arg(long)]
    pub folds: Option<usize>,
    /// With a single split: which fifth of the groups is held out for validation.
    #[arg(long, default_value_t = 0)]
    pub fold: usize,
    /// Weight of the differentiable SCR term (0 = the paper's CE + Dice).
    #[arg(long, default_value_t = 0.0)]
    pub scr: f32,
    #[arg(long)]
    pub no_geometric_aug: bool,
    #[arg(long)]
    pub no_intensity_aug: bool,
    /// Train on random N × N windows of the input-size slices (a third of them centred on
    /// infection), e.g. `--input-size 512 --crop 256`: a 256² step that learns at 512²;
    /// validation, `eval` and `predict` see whole slices at the input size.
    #[arg(long)]
    pub crop: Option<usize>,
    #[arg(long)]
    pub max_iterations: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub valid_every: usize,
    #[arg(long)]
    pub resume: bool,
    /// Unlabeled JPEG slices (shared/data/unlabeled/images) to pseudo-label with --teacher.
    #[arg(long, requires = "teacher")]
    pub unlabeled: Option<PathBuf>,
    /// Model file that labels the unlabeled slices; it must have been trained on this split.
    #[arg(long, requires = "unlabeled")]
    pub teacher: Option<PathBuf>,
    /// Pseudo-labelled slices added to each epoch.
    #[arg(long, default_value_t = 16)]
    pub pseudo_per_epoch: usize,
    /// The teacher labels with test-time augmentation (mirror and zoom), as `predict --tta`.
    #[arg(long, requires = "teacher")]
    pub teacher_tta: bool,
    /// Keep an exponential moving average of the weights with this decay per iteration (e.g.
    /// 0.99); validation scores it, the best epoch is chosen on it, and it is what the run saves.
    #[arg(long)]
    pub ema: Option<f64>,
    /// Start from these pretrained weights (a `pretrain` output, or any model file of the same
    /// network) instead of random ones; the classifier starts fresh.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// With --init: take the classifier too, fine-tuning a model of the same classes.
    #[arg(long, requires = "init")]
    pub init_whole: bool,
    /// An infection-free CT in Hounsfield units whose slices with lung join training as
    /// negatives (all background); report the model's figures on other scans.
    #[arg(long)]
    pub negatives: Option<PathBuf>,
    /// Negative slices added to each epoch.
    #[arg(long, default_value_t = 8)]
    pub negatives_per_epoch: usize,
    /// Add this many copies of training slices to each epoch with their uninfected lung made
    /// denser (more at the back), as normal lung is on real HU scans; labels unchanged.
    #[arg(long)]
    pub dense_lung: Option<usize>,
    /// With --dense-lung: the largest rise at the lung's back, in levels of the 0–255 lung
    /// window (each copy draws ¼ to all of it).
    #[arg(long, default_value_t = 40.0, requires = "dense_lung")]
    pub dense_lung_rise: f32,
}

pub fn train(a: TrainArgs) -> anyhow::Result<()> {
    let config = network(&a.preset, a.classes, a.input_size, a.fine_step)?;
    if let Some(c) = a.crop {
        // A window is an input the network must take, so the input size's rule applies to it.
        if c >= config.input_size {
            return Err(TrainError::Options(format!(
                "--crop {c}: a window must be smaller than the input size ({})",
                config.input_size
            ))
            .into());
        }
        (config.clone().with_input_size(c).validate())
            .map_err(|e| TrainError::Options(format!("--crop {c}: {e}")))?;
    }
    if a.unlabeled.is_some() && a.pseudo_per_epoch == 0 {
        return Err(TrainError::Options(
            "--pseudo-per-epoch must be positive with --unlabeled".into(),
        )
        .into());
    }
    if a.ema.is_some_and(|d| !(0.0..1.0).contains(&d)) {
        return Err(TrainError::Options("--ema is a decay in [0, 1), e.g. 0.99".into()).into());
    }
    if a.batch_size == 0 || a.epochs == 0 {
        return Err(
            TrainError::Options("--batch-size and --epochs must be positive".into()).into(),
        );
    }
    if a.max_iterations == Some(0) {
        // It would train nothing, save no model and report a best epoch of 0.
        return Err(TrainError::Options("--max-iterations must be positive".into()).into());
    }
    if a.batch_size < a.devices {
        return Err(TrainError::Options(format!(
            "--batch-size {} cannot be split over --devices {}: each device needs a slice",
            a.batch_size, a.devices
        ))
        .into());
    }
    let devices: Vec<Device> = backend::devices(&a.backend, a.devices)?
        .into_iter()
        .map(Device::autodiff)
        .collect();
    let device = devices[0].clone();
    let data = LabelledData::load(&a.data)?;
    let folds = a.folds.unwrap_or(5);
    let fold_list: Vec<usize> = if a.folds.is_some() {
        (0..folds).collect()
    } else {
        vec![a.fold]
    };
    let init = (a.init.as_deref())
        .map(|p| InitOptions::of(p, a.init_whole))
        .transpose()?;
    if a.negatives.is_some() && a.negatives_per_epoch == 0 {
        return Err(TrainError::Options(
            "--negatives-per-epoch must be positive with --negatives".into(),
        )
        .into());
    }
    if a.dense_lung == Some(0) || !(0.0..=255.0).contains(&a.dense_lung_rise) {
        return Err(TrainError::Options(
            "--dense-lung takes a positive count, --dense-lung-rise levels in 0–255".into(),
        )
        .into());
    }
    let negatives = a
        .negatives
        .as_deref()
        .map(|p| Negatives::load(p, a.negatives_per_epoch, &config))
        .transpose()?;
    let mut summary = Vec::new();
    for &fold in &fold_list {
        if fold >= folds {
            return Err(TrainError::Options(format!(
                "--fold {fold} is out of range for {folds} folds"
            ))
            .into());
        }
        let split = fold_split(&data.groups, folds, fold, a.split_seed.unwrap_or(a.seed));
        let pseudo = match (&a.unlabeled, &a.teacher) {
            (Some(dir), Some(teacher)) => Some(Pseudo::new(
                UnlabeledPool::load(dir)?,
                Teacher::load(
                    teacher,
                    &config,
                    &split.valid,
                    a.teacher_tta,
                    &device.clone().without_autodiff(),
                )?,
                a.pseudo_per_epoch,
            )),
            _ => None,
        };
        let opts = TrainOptions {
            config: config.clone(),
            epochs: a.epochs,
            batch_size: a.batch_size.min(split.train.len()),
            lr: a.lr,
            seed: a.seed,
            split_seed: a.split_seed,
            loss: LossWeights {
                scr: a.scr,
                ..LossWeights::default()
            },
            augment: Augment {
                geometric: !a.no_geometric_aug,
                intensity: !a.no_intensity_aug,
                crop: a.crop,
            },
            folds,
            fold,
            max_iterations: a.max_iterations,
            valid_every: a.valid_every,
            experiments: Experiments {
                pseudo,
                ema: a.ema,
                init: init.clone(),
                negatives: negatives.clone(),
                dense_lung: a.dense_lung.map(|per_epoch| {
                    let options = DenseLungOptions {
                        per_epoch,
                        max_rise: a.dense_lung_rise,
                    };
                    DenseLung::new(&data, &split.train, &config, options)
                }),
            },
        };
        let dir = fold_dir(&a.out, if a.folds.is_some() { folds } else { 1 }, fold);
        eprintln!(
            "fold {fold}/{folds}: {} training slices, {} validation slices {:?} → {}",
            split.train.len(),
            split.valid.len(),
            split.valid,
            dir.display()
        );
        let r = train_run(&data, &split, &opts, &dir, a.resume, &devices)?;
        eprintln!(
            "fold {fold}: best validation Dice {:.4} (per slice) at epoch {}",
            r.best_dice, r.best_epoch
        );
        summary.push(serde_json::json!({
            "fold": fold,
            "valid_slices": split.valid,
            "best_epoch": r.best_epoch,
            "best": r.best_report.as_ref().map(summary_scores),
            "last": r.last_report.as_ref().map(summary_scores),
        }));
    }
    if a.folds.is_some() {
        let field = |key: &str, which: &str| -> Vec<f64> {
            summary
                .iter()
                .filter_map(|s| s[which][key].as_f64())
                .collect()
        };
        let stats = |v: Vec<f64>| {
            let n = v.len().max(1) as f64;
            let mean = v.iter().sum::<f64>() / n;
            let sd =
                (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
            serde_json::json!({ "mean": mean, "sd": sd, "values": v })
        };
        let cv = serde_json::json!({
            "folds": summary,
            "last_epoch": {
                "dice_per_slice": stats(field("dice_per_slice", "last")),
                "dice_pooled": stats(field("dice_pooled", "last")),
            },
            "best_epoch": {
                "dice_per_slice": stats(field("dice_per_slice", "best")),
                "dice_pooled": stats(field("dice_pooled", "best")),
            },
        });
        let text = serde_json::to_string_pretty(&cv)?;
        write_atomic(&a.out.join("cv.json"), text.as_bytes())?;
        println!("{text}");
    }
    Ok(())
}

fn summary_scores(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "dice_per_slice": r.binary.per_slice_mean.dice,
        "dice_pooled": r.binary.pooled.dice,
        "iou_per_slice": r.binary.per_slice_mean.iou,
    })
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[arg(long, default_value_os_t = crate::paths::default_model())]
    pub model: PathBuf,
    /// Score this label volume (e.g. a `predict` output) instead of running a model.
    #[arg(long, conflicts_with = "model")]
    pub prediction: Option<PathBuf>,
    /// Classes of `--prediction` (2 = binary, 4 = per class).
    #[arg(long, default_value_t = 2)]
    pub classes: usize,
    /// Labelled folder; defaults to the project's shared MedSeg training data.
    #[arg(long, default_value_os_t = crate::paths::default_data())]
    pub data: PathBuf,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Only these slices (comma-separated z), e.g. a validation split.
    #[arg(long, value_delimiter = ',')]
    pub slices: Option<Vec<usize>>,
    /// Test-time augmentation: average four views of each slice, mirrored left to right and
    /// zoomed by 4/3.
    #[arg(long, conflicts_with = "prediction")]
    pub tta: bool,
}

fn row(name: &str, kind: &str, s: &Scores) -> String {
    format!(
        "| {name:<14} | {kind:<9} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
        s.dice, s.iou, s.sensitivity, s.specificity, s.precision
    )
}

pub fn eval(a: EvalArgs) -> anyhow::Result<()> {
    let data = LabelledData::load(&a.data)?;
    let slices: Vec<usize> = a
        .slices
        .clone()
        .unwrap_or_else(|| (0..data.slices()).collect());
    if let Some(bad) = slices.iter().find(|&&z| z >= data.slices()) {
        return Err(TrainError::Options(format!(
            "slice {bad} is out of range ({} slices)",
            data.slices()
        ))
        .into());
    }
    let (report, what) = match &a.prediction {
        Some(path) => (
            score_prediction(path, &data, &slices, a.classes)?,
            path.display().to_string(),
        ),
        None => {
            let device = backend::device(&a.backend)?;
            let (model, card) = load_inference(&a.model, &device)?;
            let what = format!(
                "model {} ({} classes){}",
                card.config.name,
                card.config.classes,
                if a.tta {
                    format!(", {TTA_NAME}")
                } else {
                    String::new()
                }
            );
            (
                validate(&model, &card.config, &data, &slices, a.tta, &device),
                what,
            )
        }
    };
    println!("{} slices, {what}", report.slices);
    println!("| class          | average   | Dice   | IoU    | Sens.  | Spec.  | Prec.  |");
    println!("|----------------|-----------|--------|--------|--------|--------|--------|");
    for c in std::iter::once(&report.binary).chain(&report.classes) {
        println!("{}", row(&c.name, "per slice", &c.per_slice_mean));
        println!("{}", row(&c.name, "pooled", &c.pooled));
    }
    if let Some(path) = a.json {
        let mut json = serde_json::to_value(&report)?;
        json["tta"] = a.tta.into();
        if a.tta {
            // Which views: `--tta` was the mirror pair alone before the zoomed views came.
            json["tta_views"] = TTA_NAME.into();
        }
        let text = serde_json::to_string_pretty(&json)?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Scores a label volume against the folder's ground truth.
fn score_prediction(
    path: &Path,
    data: &LabelledData,
    slices: &[usize],
    classes: usize,
) -> anyhow::Result<Report> {
    if ![2, 4].contains(&classes) {
        return Err(TrainError::Options("--classes must be 2 or 4".into()).into());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let pred = read_nifti(&bytes).with_context(|| format!("reading {}", path.display()))?;
    if pred.dims() != data.image.dims() {
        return Err(TrainError::mismatch(
            path,
            format!(
                "dimensions {:?} differ from the data's {:?}",
                pred.dims(),
                data.image.dims()
            ),
        )
        .into());
    }
    let labels: Vec<u8> = pred
        .data
        .iter()
        .map(|v| v.clamp(0.0, 255.0) as u8)
        .collect();
    let plane = pred.dims()[0] * pred.dims()[1];
    let pairs: Vec<(&[u8], &[u8])> = slices
        .iter()
        .map(|&k| (&labels[k * plane..(k + 1) * plane], data.truth(k, classes)))
        .collect();
    Ok(lungseg::metrics::evaluate(pairs, classes))
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[arg(long, default_value_os_t = crate::paths::default_model())]
    pub model: PathBuf,
    /// A NIfTI file (`.nii`, `.nii.gz`), a DICOM file, or a folder of DICOM files (searched
    /// recursively).
    #[arg(long)]
    pub input: PathBuf,
    /// The SeriesInstanceUID to open when a DICOM folder holds several series (they are
    /// listed when it is not given).
    #[arg(long)]
    pub series: Option<String>,
    #[arg(long)]
    pub output: PathBuf,
    #[arg(long)]
    pub stats: Option<PathBuf>,
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Window for HU scans as LEVEL,WIDTH (default the lung window -600,1500).
    #[arg(long, value_delimiter = ',', num_args = 2, allow_hyphen_values = true)]
    pub window: Option<Vec<f32>>,
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    /// Test-time augmentation: average four views of each slice, mirrored left to right and
    /// zoomed by 4/3 (EXPERIMENTS.md: +0.011 Dice on the validation folds, about 5.5 times the work).
    #[arg(long)]
    pub tta: bool,
    /// Print the time of each stage (read, lung field, model input, network, labels,
    /// statistics, mask) and its share of the whole.
    #[arg(long)]
    pub timings: bool,
}

pub fn predict(a: PredictArgs) -> anyhow::Result<()> {
    let device = backend::device(&a.backend)?;
    let (model, card) = load_inference(&a.model, &device)?;
    let started = Instant::now();
    let volume = read_input(&a.input, a.series.as_deref())?;
    let read = started.elapsed();
    let window = match a.window.as_deref() {
        Some([level, width]) if *width > 0.0 => Window {
            level: *level,
            width: *width,
        },
        Some(_) => {
            return Err(TrainError::Options(
                "--window takes LEVEL,WIDTH with a positive width".into(),
            )
            .into());
        }
        None => lung_window(),
    };
    let mapping =
        detect(&volume, window).with_context(|| format!("reading {}", a.input.display()))?;
    let field = LungField::of(&volume, &mapping);
    let lung_field = started.elapsed() - read;
    let nz = volume.dims()[2];
    let bar = indicatif::ProgressBar::new(nz as u64);
    let mut labels = Vec::with_capacity(volume.data.len());
    let mut stages = StageTimes::default();
    for k0 in (0..nz).step_by(a.batch.max(1)) {
        let k1 = (k0 + a.batch.max(1)).min(nz);
        let (chunk, times) = segment_slices(
            &model,
            &card.config,
            &volume,
            &field,
            k0..k1,
            SegmentOptions {
                batch: a.batch,
                tta: a.tta,
            },
            &device,
        );
        labels.extend(chunk);
        stages += times;
        bar.set_position(k1 as u64);
    }
    bar.finish_and_clear();
    let t = Instant::now();
    let stats: Statistics = statistics(&volume, &field, &labels, card.config.classes);
    let quantify = t.elapsed();
    let t = Instant::now();
    let desc = mask_description(&card.config.name, a.tta);
    let out = write_mask_nifti(&volume.geometry, &labels, &desc)?;
    write_atomic(&a.output, &out).with_context(|| format!("writing {}", a.output.display()))?;
    let export = t.elapsed();
    eprintln!("{}", stats.summary());
    if a.timings {
        let total = started.elapsed().as_secs_f64();
        let rows = [
            ("read (decode)", read),
            ("intensity check and lung field", lung_field),
            ("model input (window, resize)", stages.inputs),
            ("network", stages.network),
            ("labels (resize back, argmax, lung regions)", stages.labels),
            ("statistics", quantify),
            ("mask (gzip, write)", export),
        ];
        for (name, d) in rows {
            let s = d.as_secs_f64();
            eprintln!("{name:>44}: {s:8.2} s {:5.1} %", 100.0 * s / total);
        }
        eprintln!("{:>44}: {total:8.2} s", "total");
    }
    if let Some(path) = a.stats {
        let text = serde_json::to_string_pretty(&stats)?;
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A trained model (`best.lungseg` / `last.lungseg`) or a run directory (its best model).
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn export(a: ExportArgs) -> anyhow::Result<()> {
    let src = if a.model.is_dir() {
        a.model.join("best.lungseg")
    } else {
        a.model.clone()
    };
    let device = Device::flex();
    let (model, mut card) = load(&src, &device)?;
    if let serde_json::Value::Object(m) = &mut card.training {
        m.insert("exported".into(), serde_json::json!(today()));
        m.insert(
            "intensity".into(),
            serde_json::json!({
                "hounsfield": "lung window W1500/L-600 to [0, 1]",
                "8-bit": "value / 255",
            }),
        );
    }
    let bytes = save_model(&model, &card)?;
    write_atomic(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    let card_path = a.out.with_extension("card.json");
    // The card beside the file also names the file's hash: the page keys its cached copy of
    // the weights by it, so a newly shipped model replaces the old one, and checks downloads.
    #[derive(serde::Serialize)]
    struct Beside<'a> {
        #[serde(flatten)]
        card: &'a ModelCard,
        weights_sha256: String,
    }
    let beside = Beside {
        card: &card,
        weights_sha256: sha256_hex([&bytes]),
    };
    let text = serde_json::to_string_pretty(&beside)?;
    write_atomic(&card_path, text.as_bytes())
        .with_context(|| format!("writing {}", card_path.display()))?;
    eprintln!(
        "wrote {} ({} bytes) and {}",
        a.out.display(),
        bytes.len(),
        card_path.display()
    );
    Ok(())
}

pub fn info(preset: &str, classes: usize, fine_step: Option<usize>) -> anyhow::Result<()> {
    let config = network(preset, classes, None, fine_step)?;
    let model = config.init(&Device::flex());
    let s = config.input_size;
    let c = model.complexity([s, s]);
    println!("preset:      {}", config.name);
    println!(
        "backbone:    {:?} {:?} widths {:?}",
        config.backbone.block, config.backbone.layers, config.backbone.widths
    );
    println!("width C:     {}", config.channels);
    if let Some(w) = config.fine_step {
        println!("fine step:   {w} channels, logits at H/2");
    }
    println!(
        "input:       {}×{}×{} → {} classes",
        config.in_channels, s, s, config.classes
    );
    println!("parameters:  {} (trainable)", group(c.params as u64));
    println!(
        "GFLOP/slice: {:.2} at {s}×{s} (backbone {:.2}, autofocus {:.2}, panorama + decoder {:.2})",
        c.gflops(),
        2.0 * c.backbone_macs as f64 / 1e9,
        2.0 * c.autofocus_macs as f64 / 1e9,
        2.0 * c.head_macs as f64 / 1e9
    );
    Ok(())
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
