//! `train`: the paper's recipe on a labelled folder, with validation on held-out similarity
//! groups, per-epoch logs, atomic checkpoints, resume and best-on-validation model selection.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::lr_scheduler::LrScheduler;
use burn::optim::AdamConfig;
use burn::prelude::*;
use lungseg::loss::LossWeights;
use lungseg::metrics::{Report, evaluate};
use lungseg::model::{FfrNet, FfrNetConfig};
use lungseg::pipeline::{SegmentOptions, segment_slices};
use lungseg::weights::{ModelCard, save_model};
use serde::Serialize;

use crate::augment::Augment;
use crate::checkpoint::{self, LoopState, write_atomic};
use crate::data::Sample;
use crate::data::prepare_samples;
use crate::data::{LabelledData, Split};
use crate::experiments::Experiments;
use crate::experiments::ema::Ema;
use crate::logs::{epoch_bar, jsonl, read_log};
use crate::parallel::{Backward, Computed, DataParallel};
use crate::poly_lr::PolyLr;

/// Everything that defines a training run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainOptions {
    pub config: FfrNetConfig,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    /// The split's own seed (`--split-seed`) when not `seed`; left out when None, so earlier
    /// runs keep their fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_seed: Option<u64>,
    pub loss: LossWeights,
    pub augment: Augment,
    pub folds: usize,
    pub fold: usize,
    /// Stop after this many iterations in total (tests, smoke runs); None = all epochs.
    pub max_iterations: Option<usize>,
    /// Validate every this many epochs (and always at the last).
    pub valid_every: usize,
    /// Research options (experiments), none in the shipped recipe.
    #[serde(flatten)]
    pub experiments: Experiments,
}

/// One row of the per-epoch log.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub iterations: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_ce: f64,
    pub train_dice_loss: f64,
    pub train_scr: f64,
    pub slices_per_s: f64,
    pub valid_dice_per_slice: Option<f64>,
    pub valid_dice_pooled: Option<f64>,
    pub valid_iou_per_slice: Option<f64>,
    pub seconds: f64,
    /// With `--ema`, the trained weights' own validation Dice (the `valid_*` fields score the
    /// average).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_dice_raw_per_slice: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_dice_raw_pooled: Option<f64>,
}

/// Validation at the scan's own resolution, through the same pipeline as `predict`.
pub fn validate(
    model: &FfrNet,
    config: &FfrNetConfig,
    data: &LabelledData,
    slices: &[usize],
    tta: bool,
    device: &Device,
) -> Report {
    let [nx, ny, _] = data.image.dims();
    let plane = nx * ny;
    let mut preds = Vec::new();
    for &k in slices {
        preds.push(
            segment_slices(
                model,
                config,
                &data.image,
                &data.field,
                k..k + 1,
                SegmentOptions { batch: 1, tta },
                device,
            )
            .0,
        );
    }
    let truths: Vec<&[u8]> = slices
        .iter()
        .map(|&k| data.truth(k, config.classes))
        .collect();
    debug_assert!(preds.iter().all(|p| p.len() == plane));
    evaluate(preds.iter().map(Vec::as_slice).zip(truths), config.classes)
}

/// The outcome of one run.
pub struct RunResult {
    pub best_dice: f64,
    pub best_epoch: usize,
    pub best_report: Option<Report>,
    pub last_report: Option<Report>,
}

/// Trains one split into `out`; resumes from `out/checkpoint.bin` when `resume` is set.
/// Several `devices` train data-parallel; the first holds the model and validates.
pub fn train_run(
    data: &LabelledData,
    split: &Split,
    opts: &TrainOptions,
    out: &Path,
    resume: bool,
    devices: &[Device],
) -> anyhow::Result<RunResult> {
    let device = devices.first().context("no training device")?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let cfg = &opts.config;
    // What makes two runs the same run (not how long they go or how often they validate).
    let mut fingerprint = serde_json::to_string(&(
        &opts.config,
        opts.epochs,
        opts.batch_size,
        opts.lr,
        opts.seed,
        opts.loss,
        opts.augment,
        &split.train,
        &split.valid,
        &opts.experiments.pseudo,
    ))?;
    // Appended only when set, so runs from before the option keep their fingerprint.
    if let Some(decay) = opts.experiments.ema {
        fingerprint.push_str(&format!(" ema {decay}"));
    }
    if let Some(n) = &opts.experiments.negatives {
        fingerprint.push_str(&format!(" negatives {}", serde_json::to_string(n)?));
    }
    if let Some(d) = &opts.experiments.dense_lung {
        fingerprint.push_str(&format!(" dense_lung {}", serde_json::to_string(d)?));
    }
    let labelled = prepare_samples(data, &split.train, cfg);
    let per_epoch = opts.experiments.extra_per_epoch();
    let iters_per_epoch = ((labelled.len() + per_epoch) / opts.batch_size).max(1);
    let total_iters = iters_per_epoch * opts.epochs;

    device.seed(opts.seed);
    let mut model: FfrNet = cfg.init(device);
    if let Some(init) = &opts.experiments.init {
        model = init.start_from(model, cfg, device)?;
    }
    let valid_device = device.clone().without_autodiff();
    let mut ema =
        (opts.experiments.ema).map(|d| Ema::new(d, &labelled, opts.batch_size, cfg, device));
    let parallel = DataParallel::new(
        devices,
        Backward {
            config: cfg.clone(),
            loss: opts.loss,
        },
    );
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut sched = PolyLr::new(opts.lr, total_iters);
    let ckpt_path = out.join("checkpoint.bin");
    let mut state = LoopState::start(opts.seed, &fingerprint);
    if resume && ckpt_path.exists() {
        let fresh_average = ema.as_ref().map(|_| cfg.init(&valid_device));
        let restored = checkpoint::load(
            &ckpt_path,
            &fingerprint,
            model,
            optim,
            &mut sched,
            fresh_average,
        )?;
        (model, optim, state) = (restored.model, restored.optim, restored.state);
        if let Some(e) = ema.as_mut() {
            e.model = restored.ema;
        }
        eprintln!(
            "resuming after epoch {} (iteration {})",
            state.epoch, sched.iteration
        );
    }
    let mut logs: Vec<EpochLog> = read_log(&out.join("log.jsonl"));
    logs.retain(|l| l.epoch <= state.epoch);
    rewrite_logs(out, &logs)?;
    let mut best_report = None;
    let mut last_report = None;

    while state.epoch < opts.epochs {
        if opts.max_iterations.is_some_and(|m| sched.iteration >= m) {
            break;
        }
        let epoch = state.epoch + 1;
        let started = Instant::now();
        let mut train_samples = labelled.clone();
        train_samples.extend(opts.experiments.epoch_samples(
            epoch,
            opts.seed,
            cfg.input_size,
            &labelled,
        )?);
        let mut order: Vec<usize> = (0..train_samples.len()).collect();
        state.rng.shuffle(&mut order);
        let bar = epoch_bar("epoch", epoch, opts.epochs, iters_per_epoch);
        let (mut sums, mut seen, mut lr) = ([0.0f64; 4], 0usize, 0.0);
        for chunk in order.chunks_exact(opts.batch_size).take(iters_per_epoch) {
            if opts.max_iterations.is_some_and(|m| sched.iteration >= m) {
                break;
            }
            let batch: Vec<Sample> = chunk
                .iter()
                .map(|&i| {
                    opts.augment
                        .apply(&train_samples[i], cfg.input_size, &mut state.rng)
                })
                .collect();
            let Computed { grads, terms } = parallel.backward(&model, batch)?;
            lr = sched.step();
            model = optim.step(lr, model, grads);
            if let Some(e) = ema.as_mut() {
                e.update(&model);
            }
            for (s, v) in sums.iter_mut().zip(terms) {
                *s += v;
            }
            seen += 1;
            bar.inc(1);
            bar.set_message(format!("loss {:.4} lr {:.2e}", sums[0] / seen as f64, lr));
        }
        bar.finish_and_clear();
        let train_secs = started.elapsed().as_secs_f64();
        let mean = |i: usize| sums[i] / seen.max(1) as f64;
        state.epoch = epoch;
        let validate_now = !split.valid.is_empty()
            && (epoch.is_multiple_of(opts.valid_every.max(1))
                || epoch == opts.epochs
                || opts.max_iterations.is_some_and(|m| sched.iteration >= m));
        let score = |m: &FfrNet| {
            validate(
                &m.clone().fold_batch_norm(),
                cfg,
                data,
                &split.valid,
                false,
                &valid_device,
            )
        };
        // The model this run scores, selects and saves: the weight average (with its own
        // BatchNorm statistics) when it keeps one.
        let chosen = match &ema {
            Some(e) => e.chosen(&model),
            None => model.valid(),
        };
        let report = validate_now.then(|| score(&chosen));
        let raw = (validate_now && ema.is_some()).then(|| score(&model.valid()));
        let log = EpochLog {
            epoch,
            iterations: sched.iteration,
            lr,
            train_loss: mean(0),
            train_ce: mean(1),
            train_dice_loss: mean(2),
            train_scr: mean(3),
            slices_per_s: (seen * opts.batch_size) as f64 / train_secs,
            valid_dice_per_slice: report.as_ref().map(|r| r.binary.per_slice_mean.dice),
            valid_dice_pooled: report.as_ref().map(|r| r.binary.pooled.dice),
            valid_iou_per_slice: report.as_ref().map(|r| r.binary.per_slice_mean.iou),
            seconds: started.elapsed().as_secs_f64(),
            valid_dice_raw_per_slice: raw.as_ref().map(|r| r.binary.per_slice_mean.dice),
            valid_dice_raw_pooled: raw.as_ref().map(|r| r.binary.pooled.dice),
        };
        eprintln!(
            "epoch {epoch}: loss {:.4} (ce {:.4} dice {:.4} scr {:.4}), {:.2} slices/s{}{}",
            log.train_loss,
            log.train_ce,
            log.train_dice_loss,
            log.train_scr,
            log.slices_per_s,
            match (log.valid_dice_per_slice, log.valid_dice_pooled) {
                (Some(a), Some(b)) => format!(", valid Dice {a:.4} per slice / {b:.4} pooled"),
                _ => String::new(),
            },
            match (log.valid_dice_raw_per_slice, log.valid_dice_raw_pooled) {
                (Some(a), Some(b)) => format!(" (averaged; trained weights {a:.4} / {b:.4})"),
                _ => String::new(),
            }
        );
        let card = |report: &Option<Report>| ModelCard {
            config: cfg.clone(),
            training: serde_json::json!({
                "data": data.dir.display().to_string(),
                "data_sha256": data.hash,
                "split": { "folds": opts.folds, "fold": opts.fold, "seed": opts.split_seed.unwrap_or(opts.seed), "train_slices": split.train, "valid_slices": split.valid },
                "devices": parallel.devices(),
                "options": opts,
                "epoch": epoch,
                "validation": report,
            }),
        };
        if let Some(r) = &report {
            let dice = r.binary.per_slice_mean.dice;
            if dice > state.best_dice {
                state.best_dice = dice;
                state.best_epoch = epoch;
                let bytes = save_model(&chosen, &card(&report))?;
                write_atomic(&out.join("best.lungseg"), &bytes)?;
                best_report = report.clone();
            }
            last_report = report.clone();
        }
        let bytes = save_model(&chosen, &card(&report))?;
        write_atomic(&out.join("last.lungseg"), &bytes)?;
        checkpoint::save(
            &ckpt_path,
            &model,
            &optim,
            &sched,
            &state,
            ema.as_ref().and_then(|e| e.model.as_ref()),
        )?;
        logs.push(log);
        rewrite_logs(out, &logs)?;
    }
    Ok(RunResult {
        best_dice: state.best_dice,
        best_epoch: state.best_epoch,
        best_report,
        last_report,
    })
}

/// log.jsonl (one JSON object per epoch) and log.csv, rewritten whole each epoch.
fn rewrite_logs(out: &Path, logs: &[EpochLog]) -> anyhow::Result<()> {
    let mut csv = b"epoch,iterations,lr,train_loss,train_ce,train_dice_loss,train_scr,slices_per_s,valid_dice_per_slice,valid_dice_pooled,valid_iou_per_slice,seconds,valid_dice_raw_per_slice,valid_dice_raw_pooled\n".to_vec();
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    for l in logs {
        writeln!(
            csv,
            "{},{},{:.3e},{:.6},{:.6},{:.6},{:.6},{:.3},{},{},{},{:.1},{},{}",
            l.epoch,
            l.iterations,
            l.lr,
            l.train_loss,
            l.train_ce,
            l.train_dice_loss,
            l.train_scr,
            l.slices_per_s,
            opt(l.valid_dice_per_slice),
            opt(l.valid_dice_pooled),
            opt(l.valid_iou_per_slice),
            l.seconds,
            opt(l.valid_dice_raw_per_slice),
            opt(l.valid_dice_raw_pooled)
        )?;
    }
    write_atomic(&out.join("log.jsonl"), &jsonl(logs)?)?;
    Ok(write_atomic(&out.join("log.csv"), &csv)?)
}

/// Where fold `f` of a cross-validation run lives.
pub fn fold_dir(out: &Path, folds: usize, f: usize) -> PathBuf {
    if folds > 1 {
        out.join(format!("fold-{f}"))
    } else {
        out.to_path_buf()
    }
}
