//! `pretrain`: self-supervised restoration on the unlabeled slices (the idea of Models Genesis,
//! Zhou et al., MICCAI 2019). There are no ImageNet weights here, and 41 labelled slices teach
//! a network from noise; 1,600 unlabeled chest CT slices can teach it what lung, vessels and
//! ground-glass look like first. Each slice is corrupted (in- or out-painting, local pixel
//! shuffling, an intensity curve) and the whole network learns to restore it; `train --init`
//! then starts from these weights with a fresh classifier.

use crate::error::TrainError;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::lr_scheduler::LrScheduler;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use clap::Args;
use lungseg::model::{FfrNet, FfrNetConfig};
use lungseg::weights::{ModelCard, load_model, save_model};
use serde::Serialize;

use crate::augment::Augment;
use crate::backend;
use crate::checkpoint::{self, LoopState, write_atomic};
use crate::data::Sample;
use crate::data::sha256_hex;
use crate::experiments::pseudo::UnlabeledPool;
use crate::logs::{epoch_bar, jsonl, read_log};
use crate::poly_lr::PolyLr;
use crate::recipe::network;
use crate::recipe::scalar;
use crate::rng::Rng;

#[derive(Args, Debug)]
pub struct PretrainArgs {
    /// Unlabeled JPEG slices; defaults to the project's shared collection.
    #[arg(long, default_value_os_t = PathBuf::from(lungseg::SHARED_DATA).join("unlabeled/images"))]
    pub unlabeled: PathBuf,
    #[arg(long, default_value = "lite")]
    pub preset: String,
    /// Square input size (the preset's 256 unless given); `train --init` needs the same.
    #[arg(long)]
    pub input_size: Option<usize>,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value = "flex")]
    pub backend: String,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Slices per epoch, drawn so that every slice comes once before any comes twice.
    #[arg(long, default_value_t = 320)]
    pub per_epoch: usize,
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 666)]
    pub seed: u64,
    #[arg(long)]
    pub max_iterations: Option<usize>,
    #[arg(long)]
    pub resume: bool,
}

/// Everything that defines a pretraining run (its fingerprint and the model card's record).
#[derive(Debug, Clone, Serialize)]
struct PretrainOptions {
    pretext: &'static str,
    config: FfrNetConfig,
    unlabeled: String,
    unlabeled_slices: usize,
    epochs: usize,
    per_epoch: usize,
    batch_size: usize,
    lr: f64,
    seed: u64,
    augment: Augment,
}

/// One row of `log.jsonl`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PretrainLog {
    pub epoch: usize,
    pub iterations: usize,
    pub lr: f64,
    /// Mean squared restoration error of the epoch's batches, in [0, 1] intensity units.
    pub restoration_mse: f64,
    pub slices_per_s: f64,
    pub seconds: f64,
}

pub fn pretrain(a: PretrainArgs) -> anyhow::Result<()> {
    let config = network(&a.preset, 2, a.input_size, None)?;
    if a.epochs == 0 || a.per_epoch == 0 || a.batch_size == 0 || a.max_iterations == Some(0) {
        return Err(TrainError::Options(
            "--epochs, --per-epoch, --batch-size and --max-iterations must be positive".into(),
        )
        .into());
    }
    let device = Device::autodiff(backend::device(&a.backend)?);
    let pool = UnlabeledPool::load(&a.unlabeled)?;
    let opts = PretrainOptions {
        pretext: "restoration: in/out-painting, local shuffling, intensity curve (Models Genesis)",
        config,
        unlabeled: pool.dir.display().to_string(),
        unlabeled_slices: pool.len(),
        epochs: a.epochs,
        per_epoch: a.per_epoch,
        batch_size: a.batch_size.min(a.per_epoch),
        lr: a.lr,
        seed: a.seed,
        augment: Augment {
            geometric: true,
            intensity: true,
            crop: None,
        },
    };
    run(&pool, &opts, &a.out, a.resume, a.max_iterations, &device)
}

fn run(
    pool: &UnlabeledPool,
    opts: &PretrainOptions,
    out: &Path,
    resume: bool,
    max_iterations: Option<usize>,
    device: &Device,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let cfg = &opts.config;
    let fingerprint = serde_json::to_string(opts)?;
    let iters_per_epoch = opts.per_epoch / opts.batch_size;
    let mut sched = PolyLr::new(opts.lr, iters_per_epoch * opts.epochs);
    device.seed(opts.seed);
    let mut model: FfrNet = cfg.init(device);
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut state = LoopState::start(opts.seed, &fingerprint);
    let ckpt_path = out.join("checkpoint.bin");
    if resume && ckpt_path.exists() {
        let restored = checkpoint::load(&ckpt_path, &fingerprint, model, optim, &mut sched, None)?;
        (model, optim, state) = (restored.model, restored.optim, restored.state);
        eprintln!("resuming after epoch {}", state.epoch);
    }
    let log_path = out.join("log.jsonl");
    let mut logs: Vec<PretrainLog> = read_log(&log_path);
    logs.retain(|l| l.epoch <= state.epoch);
    while state.epoch < opts.epochs && max_iterations.is_none_or(|m| sched.iteration < m) {
        let epoch = state.epoch + 1;
        let started = Instant::now();
        let slices = pool
            .draw(epoch, opts.per_epoch, opts.seed)
            .into_iter()
            .map(|i| pool.image(i, cfg.input_size))
            .collect::<Result<Vec<_>, _>>()?;
        let bar = epoch_bar("pretrain", epoch, opts.epochs, iters_per_epoch);
        let (mut sum, mut seen, mut lr) = (0.0f64, 0usize, 0.0);
        for chunk in slices.chunks_exact(opts.batch_size) {
            if max_iterations.is_some_and(|m| sched.iteration >= m) {
                break;
            }
            let pairs: Vec<(Vec<f32>, Vec<f32>)> = chunk
                .iter()
                .map(|image| {
                    let clean = opts.augment.apply(
                        &Sample {
                            image: image.clone(),
                            labels: vec![0; image.len()],
                        },
                        cfg.input_size,
                        &mut state.rng,
                    );
                    let corrupted = corrupt(&clean.image, cfg.input_size, &mut state.rng);
                    (corrupted, clean.image)
                })
                .collect();
            let loss = restoration_loss(&model, cfg, &pairs, device);
            let value = scalar(loss.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            lr = sched.step();
            model = optim.step(lr, model, grads);
            sum += value;
            seen += 1;
            bar.inc(1);
            bar.set_message(format!("mse {:.5} lr {:.2e}", sum / seen as f64, lr));
        }
        bar.finish_and_clear();
        state.epoch = epoch;
        let secs = started.elapsed().as_secs_f64();
        let log = PretrainLog {
            epoch,
            iterations: sched.iteration,
            lr,
            restoration_mse: sum / seen.max(1) as f64,
            slices_per_s: (seen * opts.batch_size) as f64 / secs,
            seconds: secs,
        };
        eprintln!(
            "pretrain epoch {epoch}: restoration MSE {:.5}, {:.2} slices/s",
            log.restoration_mse, log.slices_per_s
        );
        let card = ModelCard {
            config: cfg.clone(),
            training: serde_json::json!({
                "self_supervised": opts,
                "epoch": epoch,
                "iterations": sched.iteration,
                "restoration_mse": log.restoration_mse,
            }),
        };
        let bytes = save_model(&model.valid(), &card)?;
        write_atomic(&out.join("pretrained.lungseg"), &bytes)?;
        checkpoint::save(&ckpt_path, &model, &optim, &sched, &state, None)?;
        logs.push(log);
        write_atomic(&log_path, &jsonl(&logs)?)?;
    }
    Ok(())
}

/// Mean squared error between the restored slices (the sigmoid of the first output channel;
/// the classifier is replaced when fine-tuning) and the clean ones.
fn restoration_loss(
    model: &FfrNet,
    cfg: &FfrNetConfig,
    pairs: &[(Vec<f32>, Vec<f32>)],
    device: &Device,
) -> Tensor<1> {
    let (n, s, c) = (pairs.len(), cfg.input_size, cfg.in_channels);
    let input: Vec<f32> = pairs.iter().flat_map(|(x, _)| x.repeat(c)).collect();
    let target: Vec<f32> = pairs.iter().flat_map(|(_, y)| y.iter().copied()).collect();
    let x = Tensor::<1>::from_floats(input.as_slice(), device).reshape([n, c, s, s]);
    let y = Tensor::<1>::from_floats(target.as_slice(), device).reshape([n, 1, s, s]);
    let restored = sigmoid(model.forward(x).narrow(1, 0, 1));
    (restored - y).powi_scalar(2).mean()
}

/// Models Genesis' corruptions of a clean S × S slice: local pixel shuffling (p = ½), an
/// intensity curve (p = ½), and in-painting or out-painting (p = 0.9). What the network must
/// undo is what it must know about chest CT: texture, intensities, anatomy around a hole.
pub fn corrupt(clean: &[f32], n: usize, rng: &mut Rng) -> Vec<f32> {
    let mut x = clean.to_vec();
    if rng.coin(0.5) {
        // Shuffle the pixels inside small windows: texture is lost, shape is kept.
        let most = (n / 32).max(2);
        for _ in 0..(n * n / 256) {
            let (h, w) = (2 + rng.below(most - 1), 2 + rng.below(most - 1));
            let (r0, c0) = (rng.below(n - h), rng.below(n - w));
            let mut block: Vec<f32> = (0..h * w)
                .map(|i| x[(r0 + i / w) * n + c0 + i % w])
                .collect();
            rng.shuffle(&mut block);
            for (i, v) in block.into_iter().enumerate() {
                x[(r0 + i / w) * n + c0 + i % w] = v;
            }
        }
    }
    if rng.coin(0.5) {
        let gamma = if rng.coin(0.5) {
            rng.range(0.4, 0.9)
        } else {
            rng.range(1.1, 2.5)
        };
        x.iter_mut().for_each(|v| *v = v.max(0.0).powf(gamma));
    }
    if rng.coin(0.9) {
        let boxes = |rng: &mut Rng, count: usize, lo: usize, hi: usize| -> Vec<[usize; 4]> {
            (0..count)
                .map(|_| {
                    let (h, w) = (lo + rng.below(hi - lo), lo + rng.below(hi - lo));
                    [rng.below(n - h), rng.below(n - w), h, w]
                })
                .collect()
        };
        let inside = |b: &[[usize; 4]], r: usize, c: usize| {
            b.iter()
                .any(|&[r0, c0, h, w]| (r0..r0 + h).contains(&r) && (c0..c0 + w).contains(&c))
        };
        if rng.coin(0.6) {
            // In-painting: a few holes of noise, each 1/8 to 1/4 of the side.
            let count = 1 + rng.below(4);
            let holes = boxes(rng, count, n / 8, n / 4);
            for r in 0..n {
                for c in 0..n {
                    if inside(&holes, r, c) {
                        x[r * n + c] = rng.unit();
                    }
                }
            }
        } else {
            // Out-painting: keep a few windows, 1/4 to 3/4 of the side; noise elsewhere.
            let count = 1 + rng.below(3);
            let kept = boxes(rng, count, n / 4, 3 * n / 4);
            for r in 0..n {
                for c in 0..n {
                    if !inside(&kept, r, c) {
                        x[r * n + c] = rng.unit();
                    }
                }
            }
        }
    }
    x
}

/// What `train --init` records about the weights it started from.
#[derive(Debug, Clone, Serialize)]
pub struct InitOptions {
    pub path: String,
    pub sha256: String,
    /// The classifier is taken too (`--init-whole`: fine-tuning a segmentation model of the
    /// same classes); left out when not, so earlier runs keep their card.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub whole: bool,
}

impl InitOptions {
    pub fn of(path: &Path, whole: bool) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Self {
            path: path.display().to_string(),
            sha256: sha256_hex([&bytes]),
            whole,
        })
    }
}

impl InitOptions {
    /// The loop's hook: `fresh` with every weight but the classifier's taken from the model file
    /// this names: the pretext's output channel means nothing to segmentation, so the classifier
    /// stays as `fresh` initialised it, unless `whole` (a fine-tune) takes it too. The file must
    /// describe the same network (any number of classes; the same with `whole`).
    pub fn start_from(
        &self,
        fresh: FfrNet,
        cfg: &FfrNetConfig,
        device: &Device,
    ) -> anyhow::Result<FfrNet> {
        let path = Path::new(&self.path);
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if sha256_hex([&bytes]) != self.sha256 {
            return Err(
                TrainError::mismatch(path, "the file changed while the run started").into(),
            );
        }
        let (pre, card) =
            load_model(&bytes, device).with_context(|| format!("reading {}", path.display()))?;
        if card.config.clone().with_classes(cfg.classes) != *cfg {
            return Err(TrainError::mismatch(
path,
format!("--init needs weights of the same network; the file holds preset `{}` at {}², this run trains `{}` at {}²",
            card.config.name,
            card.config.input_size,
            cfg.name,
            cfg.input_size
        )).into());
        }
        if self.whole && card.config.classes != cfg.classes {
            return Err(TrainError::mismatch(
                path,
                format!(
                    "--init-whole needs a model of this run's {} classes; the file has {}",
                    cfg.classes, card.config.classes
                ),
            )
            .into());
        }
        let mut model = pre;
        if !self.whole {
            model.decoder.classifier = fresh.decoder.classifier;
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One real unlabeled slice at 64².
    fn slice() -> Vec<f32> {
        let tmp = tempfile::tempdir().unwrap();
        let name = "Data-1_coronacases_org_004_60.jpg";
        let from = PathBuf::from(lungseg::SHARED_DATA)
            .join("unlabeled/images")
            .join(name);
        std::fs::copy(from, tmp.path().join(name)).unwrap();
        UnlabeledPool::load(tmp.path())
            .unwrap()
            .image(0, 64)
            .unwrap()
    }

    #[test]
    fn corruption_is_seeded_and_changes_the_slice() {
        let clean = slice();
        let a = corrupt(&clean, 64, &mut Rng::new(5));
        assert_eq!(a, corrupt(&clean, 64, &mut Rng::new(5)));
        let changed = (0..20)
            .filter(|&s| corrupt(&clean, 64, &mut Rng::new(s)) != clean)
            .count();
        assert!(changed >= 18, "only {changed} of 20 corrupted");
        assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
