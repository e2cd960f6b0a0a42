//! The paper's training step, in the parts every loop shares: the network a command names,
//! a batch as tensors, and a loss as a number.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use lungseg::loss::DistanceMaps;
use lungseg::model::{FfrNet, FfrNetConfig, Preset};

use crate::data::Sample;
use crate::error::TrainError;

/// The network a command's `--preset`, `--classes`, `--input-size` and `--fine-step` describe,
/// checked.
pub fn network(
    preset: &str,
    classes: usize,
    input_size: Option<usize>,
    fine_step: Option<usize>,
) -> anyhow::Result<FfrNetConfig> {
    let preset = Preset::parse(preset)
        .ok_or_else(|| TrainError::Options(format!("unknown preset `{preset}` (lite or paper)")))?;
    let mut config = preset
        .config()
        .with_classes(classes)
        .with_fine_step(fine_step);
    if let Some(s) = input_size {
        config = config.with_input_size(s);
    }
    config.validate()?;
    Ok(config)
}

pub(crate) fn batch_tensors(
    batch: &[Sample],
    config: &FfrNetConfig,
    scr: bool,
    device: &Device,
) -> (Tensor<4>, Tensor<3, Int>, Option<DistanceMaps>) {
    // The input size, or the window's with `--crop`.
    let n = batch.len();
    let s = batch
        .first()
        .map_or(config.input_size, |b| b.labels.len().isqrt());
    debug_assert!(
        batch
            .iter()
            .all(|b| b.labels.len() == s * s && b.image.len() == s * s)
    );
    let mut img = Vec::with_capacity(n * config.in_channels * s * s);
    for b in batch {
        for _ in 0..config.in_channels {
            img.extend_from_slice(&b.image);
        }
    }
    let labels: Vec<i64> = batch
        .iter()
        .flat_map(|b| b.labels.iter().map(|&l| l as i64))
        .collect();
    let x = Tensor::<1>::from_floats(img.as_slice(), device).reshape([n, config.in_channels, s, s]);
    let y = Tensor::<1, Int>::from_ints(labels.as_slice(), device).reshape([n, s, s]);
    let d = scr.then(|| {
        let (mut inside, mut outside) = (Vec::new(), Vec::new());
        for b in batch {
            let mask: Vec<bool> = b.labels.iter().map(|&l| l != 0).collect();
            let (i, o) = DistanceMaps::host(&mask, s, s);
            inside.extend(i);
            outside.extend(o);
        }
        DistanceMaps::from_host(inside, outside, n, s, s, device)
    });
    (x, y, d)
}

pub(crate) fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().iter::<f64>().next().unwrap_or(f64::NAN)
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
