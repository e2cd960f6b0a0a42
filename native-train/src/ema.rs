//! Exponential moving average of the weights (Polyak averaging), `train --ema DECAY`.
//!
//! With 41 training slices the weights wander from step to step (validation Dice moves by a few
//! hundredths between neighbouring epochs); the average of the recent weights sits nearer the
//! middle of that wandering. When it is on, the average is what validation scores, what picks the
//! best epoch and what the run saves. BatchNorm's running statistics are averaged too (they are
//! visited as float tensors), so the averaged model is self-consistent.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use lungseg::model::FfrNet;

/// The averaged model, on the training device's inner (non-autodiff) backend.
pub struct Ema {
    pub decay: f64,
    /// None until the first update: the average starts at the weights after the first step.
    /// (Reading a freshly built model would initialise its lazy parameters in visiting order
    /// rather than the forward pass's, and so change the run's random initialisation.)
    pub model: Option<FfrNet>,
}

impl Ema {
    pub fn new(decay: f64) -> Self {
        Self { decay, model: None }
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

/// Every float tensor of `model` (parameters and running statistics) in visiting order, flat.
pub fn float_tensors(model: &FfrNet) -> Vec<Tensor<1>> {
    struct Collect(Vec<Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let n = t.shape().num_elements();
            self.0.push(t.reshape([n]));
        }
    }
    let mut c = Collect(Vec::new());
    model.visit(&mut c);
    c.0
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
        let mut ema = Ema::new(0.75);
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
}
