//! Exponential moving average of the weights (Polyak averaging), `train --ema DECAY`.
//!
//! With 41 training slices the weights wander from step to step (validation Dice moves by a few
//! hundredths between neighbouring epochs); the average of the recent weights sits nearer the
//! middle of that wandering. When it is on, the average is what validation scores, what picks the
//! best epoch and what the run saves. BatchNorm's running statistics are averaged too (they are
//! visited as float tensors), but averaged statistics do not fit averaged weights, so they are
//! re-estimated ([`recalibrate`]) before the average is scored or saved.

use crate::data::Sample;
use crate::recipe::{batch_tensors, float_tensors};
use burn::module::{Module, ModuleMapper, Param};
use burn::nn::BatchNormConfig;
use burn::prelude::*;
use lungseg::model::{FfrNet, FfrNetConfig};

/// The averaged model, on the training device's inner (non-autodiff) backend.
pub struct Ema {
    pub decay: f64,
    /// None until the first update: the average starts at the weights after the first step.
    /// (Reading a freshly built model would initialise its lazy parameters in visiting order
    /// rather than the forward pass's, and so change the run's random initialisation.)
    pub model: Option<FfrNet>,
    /// The labelled training slices, unaugmented, in training-size batches: what the average's
    /// BatchNorm statistics are re-estimated on.
    recalibration: Vec<Tensor<4>>,
}

impl Ema {
    /// An average with `decay` per step of a run that trains on `labelled`.
    pub fn new(
        decay: f64,
        labelled: &[Sample],
        batch_size: usize,
        cfg: &FfrNetConfig,
        device: &Device,
    ) -> Self {
        let recalibration = labelled
            .chunks(batch_size)
            .map(|c| batch_tensors(c, cfg, false, device).0)
            .collect();
        Self {
            decay,
            model: None,
            recalibration,
        }
    }

    /// The model the run scores, selects and saves: the average with its own BatchNorm
    /// statistics, or `model` itself before the first update.
    pub fn chosen(&self, model: &FfrNet) -> FfrNet {
        match &self.model {
            Some(average) => recalibrate(average, &self.recalibration),
            None => model.valid(),
        }
    }

    /// `average ← decay · average + (1 − decay) · model`, tensor by tensor.
    pub fn update(&mut self, model: &FfrNet) {
        let Some(average) = self.model.take() else {
            self.model = Some(model.valid());
            return;
        };
        let current = float_tensors(&model.valid());
        let mut blend = Blend {
            current: current.into_iter(),
            decay: self.decay,
        };
        self.model = Some(average.map(&mut blend));
        assert!(
            blend.current.next().is_none(),
            "the averaged model and the trained one differ in structure"
        );
    }
}

/// `model` with BatchNorm's running statistics re-estimated for its weights from training-mode
/// forward passes over `batches` (on an autodiff device): the mean of the batches' statistics,
/// weighted by their sizes, as PyTorch's `update_bn`. Averaged weights never produced the averaged
/// statistics, so the average is scored with its own (SWA's `bn_update`).
pub fn recalibrate(model: &FfrNet, batches: &[Tensor<4>]) -> FfrNet {
    let Some(first) = batches.first() else {
        return model.clone();
    };
    let mut m = model.clone().to_device(&first.device()).train();
    let mut seen = 0;
    for x in batches {
        // Each batch weighs by its slices: momentum n_k / (n_1 + … + n_k).
        let n = x.dims()[0];
        seen += n;
        m = m.with_batch_norm_momentum(n as f64 / seen as f64);
        drop(m.forward(x.clone()));
    }
    m.valid()
        .with_batch_norm_momentum(BatchNormConfig::new(1).momentum)
}

struct Blend {
    current: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let current = self
            .current
            .next()
            .expect("the averaged model and the trained one differ in structure");
        let decay = self.decay;
        param.map(|average| {
            let shape = average.shape();
            assert_eq!(
                shape.num_elements(),
                current.dims()[0],
                "tensor sizes differ"
            );
            average
                .mul_scalar(decay)
                .add(current.reshape(shape).mul_scalar(1.0 - decay))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use lungseg::model::Preset;

    fn host(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    #[test]
    fn update_is_the_weighted_mean_of_every_float_tensor() {
        let device = Device::flex();
        let config = Preset::Lite.config();
        device.seed(1);
        let a: FfrNet = config.init(&device);
        device.seed(2);
        let b: FfrNet = config.init(&device);
        let mut ema = Ema::new(0.75, &[], 1, &config, &device);
        ema.update(&a);
        ema.update(&b);
        let (ta, tb, te) = (
            float_tensors(&a),
            float_tensors(&b),
            float_tensors(ema.model.as_ref().unwrap()),
        );
        assert_eq!(ta.len(), te.len());
        // Parameters and BatchNorm's running mean / variance alike.
        assert!(ta.len() > 100, "{} tensors", ta.len());
        let mut differing = 0;
        for ((a, b), e) in ta.into_iter().zip(tb).zip(te) {
            let (a, b, e) = (host(a), host(b), host(e));
            differing += usize::from(a != b);
            for ((a, b), e) in a.iter().zip(&b).zip(&e) {
                let want = 0.75 * a + 0.25 * b;
                assert!(
                    (e - want).abs() <= 1e-6 * (1.0 + want.abs()),
                    "{e} vs {want}"
                );
            }
        }
        // The two initialisations differ, so the check above is not trivially met.
        assert!(differing > 50, "{differing}");
    }

    #[test]
    fn recalibrated_statistics_are_the_batch_statistics() {
        let device = Device::flex();
        let ad = device.clone().autodiff();
        device.seed(3);
        let model: FfrNet = Preset::Lite.config().init(&ad);
        let x = Tensor::<4>::random([3, 1, 64, 64], Distribution::Uniform(0.0, 1.0), &device);
        // Training mode normalises with the batch's own statistics.
        let batch_mode: Vec<f32> = model
            .forward(x.clone().to_device(&ad))
            .into_data()
            .try_to_vec()
            .unwrap();
        let fresh = model.valid();
        let recalibrated = recalibrate(&fresh, &[x.clone().to_device(&ad)]);
        // Two batches: both count (the first is not forgotten when the second comes).
        let dim = x.clone().mul_scalar(0.5).to_device(&ad);
        let both = recalibrate(&fresh, &[x.clone().to_device(&ad), dim.clone()]);
        let second_only = recalibrate(&fresh, &[dim]);
        let diff = |m: &FfrNet| -> f32 {
            let y: Vec<f32> = m.forward(x.clone()).into_data().try_to_vec().unwrap();
            y.iter()
                .zip(&batch_mode)
                .fold(0.0, |d, (a, b)| d.max((a - b).abs()))
        };
        // Inference with the re-estimated statistics reproduces it; with the initial ones not.
        let (after, before) = (diff(&recalibrated), diff(&fresh));
        assert!(after < 1e-3, "{after}");
        let (b, s) = (diff(&both), diff(&second_only));
        assert!(b < s - 0.05, "two batches {b}, the second alone {s}");
        assert!(before > 0.1, "{before}");
    }
}
