//! Data-parallel training: each batch is split over the devices, each device back-propagates its
//! share, and one optimizer step follows on the first device with the summed gradients.
//!
//! This is burn-train's multi-device strategy (`MultiDevicesTrainStep` with the optimizer on the
//! main device) carried over to this crate's own loop, which is not burn-train's `Learner`: one
//! long-lived worker thread per device forks the model onto its device (`Module::fork`), the
//! gradients come back through burn's `GradientsParams::to_device` and are summed by burn's
//! `GradientsAccumulator`. The threads live as long as the run because BatchNorm's running
//! statistics are a burn `RunningState`, which averages the updates made on each thread.
//!
//! Each share's loss is weighted by its fraction of the batch, so the summed gradient is the
//! batch-mean one, as with one device, except that BatchNorm normalises each share with its own
//! statistics (as PyTorch's DistributedDataParallel does without SyncBatchNorm).

use crate::error::TrainError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use lungseg::loss::{LossWeights, segmentation_loss};
use lungseg::model::{FfrNet, FfrNetConfig};

use crate::data::Sample;
use crate::recipe::batch_tensors;
use crate::recipe::scalar;

/// How one batch becomes gradients: the loss of the model on it, back-propagated.
#[derive(Debug, Clone)]
pub struct Backward {
    pub config: FfrNetConfig,
    pub loss: LossWeights,
}

/// The gradients of one batch (or share) and its loss terms: total, CE, Dice, SCR.
pub struct Computed {
    pub grads: GradientsParams,
    pub terms: [f64; 4],
}

impl Backward {
    /// `share`: the fraction of the batch this is; it weights the loss (None = the whole batch,
    /// left unscaled so one device computes exactly what it did before data parallelism).
    pub fn run(
        &self,
        model: &FfrNet,
        batch: &[Sample],
        share: Option<f32>,
        device: &Device,
    ) -> Computed {
        let (x, y, d) = batch_tensors(batch, &self.config, self.loss.scr > 0.0, device);
        let terms = segmentation_loss(model.forward(x), y, d.as_ref(), self.loss);
        let total = match share {
            Some(s) => terms.total.clone().mul_scalar(s),
            None => terms.total.clone(),
        };
        let grads = GradientsParams::from_grads(total.backward(), model);
        let w = f64::from(share.unwrap_or(1.0));
        let scr = terms.scr.map(scalar).unwrap_or(0.0);
        Computed {
            grads,
            terms: [
                w * scalar(terms.total),
                w * scalar(terms.ce),
                w * scalar(terms.dice),
                w * scr,
            ],
        }
    }
}

struct Job {
    model: FfrNet,
    batch: Vec<Sample>,
    share: f32,
}

struct Worker {
    jobs: Sender<Job>,
    thread: JoinHandle<()>,
}

/// The devices a run trains on; the first holds the model, the optimizer and validation.
pub struct DataParallel {
    main: Device,
    backward: Backward,
    /// Empty with one device: the batch is then computed on the calling thread.
    workers: Vec<Worker>,
    results: Receiver<(usize, Result<Computed, String>)>,
}

impl DataParallel {
    pub fn new(devices: &[Device], backward: Backward) -> Self {
        let main = devices.first().expect("at least one device").clone();
        let (done, results) = channel();
        let workers = if devices.len() == 1 {
            Vec::new()
        } else {
            devices
                .iter()
                .enumerate()
                .map(|(i, device)| spawn(i, device.clone(), backward.clone(), done.clone()))
                .collect()
        };
        Self {
            main,
            backward,
            workers,
            results,
        }
    }

    pub fn devices(&self) -> usize {
        self.workers.len().max(1)
    }

    /// The batch's gradients on the main device, and its loss terms.
    pub fn backward(&self, model: &FfrNet, batch: Vec<Sample>) -> anyhow::Result<Computed> {
        if self.workers.is_empty() {
            return Ok(self.backward.run(model, &batch, None, &self.main));
        }
        let n = batch.len();
        let shares = split(batch, self.workers.len());
        if shares.iter().any(Vec::is_empty) {
            return Err(TrainError::Options(format!(
                "a batch of {n} cannot be split over {} devices",
                self.workers.len()
            ))
            .into());
        }
        for (worker, share) in self.workers.iter().zip(shares) {
            let job = Job {
                model: model.clone(),
                share: share.len() as f32 / n as f32,
                batch: share,
            };
            worker
                .jobs
                .send(job)
                .map_err(|_| TrainError::Step("a device: its worker has stopped".into()))?;
        }
        let mut computed: Vec<Option<Computed>> = self.workers.iter().map(|_| None).collect();
        let mut failures = Vec::new();
        for _ in 0..self.workers.len() {
            let (i, result) = self
                .results
                .recv()
                .map_err(|_| TrainError::Step("every device: the workers have stopped".into()))?;
            match result {
                Ok(c) => computed[i] = Some(c),
                Err(e) => failures.push(format!("device {i}: {e}")),
            }
        }
        if !failures.is_empty() {
            return Err(TrainError::Step(failures.join("; ")).into());
        }
        // Summed in device order, so the same run gives the same numbers.
        let mut sum = GradientsAccumulator::<FfrNet>::new();
        let mut terms = [0.0; 4];
        for c in computed.into_iter().flatten() {
            sum.accumulate(model, c.grads.to_device(&self.main, model));
            for (t, v) in terms.iter_mut().zip(c.terms) {
                *t += v;
            }
        }
        Ok(Computed {
            grads: sum.grads(),
            terms,
        })
    }
}

impl Drop for DataParallel {
    fn drop(&mut self) {
        for w in std::mem::take(&mut self.workers) {
            drop(w.jobs);
            let _ = w.thread.join();
        }
    }
}

fn spawn(
    i: usize,
    device: Device,
    backward: Backward,
    done: Sender<(usize, Result<Computed, String>)>,
) -> Worker {
    let (jobs, inbox) = channel::<Job>();
    let thread = std::thread::Builder::new()
        .name(format!("train-device-{i}"))
        .spawn(move || {
            for job in inbox {
                let result = catch_unwind(AssertUnwindSafe(|| {
                    let model = job.model.fork(&device);
                    backward.run(&model, &job.batch, Some(job.share), &device)
                }))
                .map_err(|p| {
                    p.downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panicked".into())
                });
                if done.send((i, result)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn a training worker thread");
    Worker { jobs, thread }
}

/// `k` consecutive shares whose sizes differ by at most one (the first ones are larger).
fn split<T>(items: Vec<T>, k: usize) -> Vec<Vec<T>> {
    let n = items.len();
    let mut it = items.into_iter();
    (0..k)
        .map(|i| it.by_ref().take(n / k + usize::from(i < n % k)).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use burn::module::{ModuleVisitor, Param};
    use lungseg::model::Preset;

    use super::*;
    use crate::data::LabelledData;
    use crate::data::prepare_samples;
    use crate::recipe::float_tensors;

    /// Every gradient `grads` holds for `model`'s parameters, flat, in visiting order.
    fn flat(grads: &GradientsParams, model: &FfrNet) -> Vec<Vec<f32>> {
        struct Collect<'a>(&'a GradientsParams, Vec<Vec<f32>>);
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(g) = self.0.get::<D>(param.id) {
                    self.1
                        .push(g.into_data().convert::<f32>().try_to_vec().unwrap());
                }
            }
        }
        let mut c = Collect(grads, Vec::new());
        model.visit(&mut c);
        c.1
    }

    /// Within `tolerance` of the tensor's largest value (and 1e-7 absolute: a few gradients are
    /// zero but for rounding, such as a bias ahead of a BatchNorm).
    fn close(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = a
            .iter()
            .zip(b)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            worst <= tolerance * scale + 1e-7,
            "{what}: off by {worst} of {scale}"
        );
    }

    fn backward(scr: f32) -> (Backward, FfrNetConfig) {
        let config = Preset::Lite.config().with_input_size(64);
        let loss = LossWeights {
            scr,
            ..LossWeights::default()
        };
        (
            Backward {
                config: config.clone(),
                loss,
            },
            config,
        )
    }

    /// A copy of `template` with its own BatchNorm running state (`valid` and `train` rebuild
    /// it; a clone would share it).
    fn copy(template: &FfrNet) -> FfrNet {
        template.valid().train()
    }

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    /// Real slices a, b as [a, b, a, b] on two devices: each gets [a, b], so the share-weighted
    /// sum of their gradients is one device's gradient on [a, b], and the two workers' averaged
    /// BatchNorm running statistics are that device's.
    #[test]
    fn two_devices_on_a_repeated_batch_compute_one_devices_step() {
        let data = LabelledData::load(&crate::paths::default_data()).unwrap();
        let (backward, config) = backward(0.5);
        let pair = prepare_samples(&data, &[3, 30], &config);
        let device = Device::flex().autodiff();
        let template = config.init(&device);
        let (one, two) = (copy(&template), copy(&template));

        let single = DataParallel::new(std::slice::from_ref(&device), backward.clone());
        let both = DataParallel::new(&[device.clone(), device.clone()], backward);
        assert_eq!((single.devices(), both.devices()), (1, 2));
        let a = single.backward(&one, pair.clone()).unwrap();
        let b = both.backward(&two, [pair.clone(), pair].concat()).unwrap();

        for (i, (x, y)) in a.terms.iter().zip(&b.terms).enumerate() {
            assert!(
                (x - y).abs() <= 1e-6 * x.abs().max(1e-3),
                "term {i}: {x} vs {y}"
            );
        }
        assert!(a.terms[3] > 0.0, "the SCR term takes part");
        let (ga, gb) = (flat(&a.grads, &one), flat(&b.grads, &two));
        assert!(ga.len() > 50, "{} gradients", ga.len());
        assert_eq!(ga.len(), gb.len());
        for (i, (x, y)) in ga.iter().zip(&gb).enumerate() {
            close(x, y, 1e-6, &format!("gradient {i}"));
        }
        let (ta, tb) = (float_tensors(&one.valid()), float_tensors(&two.valid()));
        for (i, (x, y)) in ta.into_iter().zip(tb).enumerate() {
            close(&values(x), &values(y), 1e-6, &format!("tensor {i}"));
        }
        // The running statistics moved from their initial values, so the loop above did not
        // compare two initialisations.
        let fresh = float_tensors(&template.valid());
        let moved = float_tensors(&one.valid())
            .into_iter()
            .zip(fresh)
            .filter(|(x, y)| values(x.clone()) != values(y.clone()))
            .count();
        assert!(moved > 20, "{moved} running statistics moved");
    }

    /// Three slices on two devices: shares [a, b] and [c], weighted 2/3 and 1/3, as the mean
    /// over the batch wants.
    #[test]
    fn an_uneven_split_weights_each_share_by_its_size() {
        let data = LabelledData::load(&crate::paths::default_data()).unwrap();
        let (backward, config) = backward(0.0);
        let three = prepare_samples(&data, &[3, 30, 45], &config);
        let device = Device::flex().autodiff();
        let template = config.init(&device);
        let models: Vec<FfrNet> = (0..3).map(|_| copy(&template)).collect();
        let single = DataParallel::new(std::slice::from_ref(&device), backward.clone());
        let ab = single.backward(&models[0], three[..2].to_vec()).unwrap();
        let c = single.backward(&models[1], three[2..].to_vec()).unwrap();
        let both = DataParallel::new(&[device.clone(), device.clone()], backward);
        let split = both.backward(&models[2], three).unwrap();

        let want = |x: f64, y: f64| (2.0 * x + y) / 3.0;
        for i in 0..3 {
            let (w, got) = (want(ab.terms[i], c.terms[i]), split.terms[i]);
            assert!((w - got).abs() <= 1e-6 * w.abs(), "term {i}: {got} vs {w}");
        }
        let (gab, gc) = (flat(&ab.grads, &models[0]), flat(&c.grads, &models[1]));
        let gs = flat(&split.grads, &models[2]);
        assert_eq!(gs.len(), gab.len());
        for (i, ((x, y), z)) in gab.iter().zip(&gc).zip(&gs).enumerate() {
            let w: Vec<f32> = x.iter().zip(y).map(|(x, y)| (2.0 * x + y) / 3.0).collect();
            close(&w, z, 1e-5, &format!("gradient {i}"));
        }
    }

    #[test]
    fn a_batch_splits_into_near_equal_consecutive_shares() {
        assert_eq!(
            split((0..8).collect(), 3),
            vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]
        );
        assert_eq!(split(vec![1, 2], 2), vec![vec![1], vec![2]]);
        assert_eq!(split(vec![1], 2), vec![vec![1], vec![]]);
    }
}
