//! `parity`: dumps what the PyTorch reference (`py/`) needs to check that burn computes the
//! paper's network: the weights (safetensors, burn's names), real MedSeg inputs and labels,
//! eval-mode logits, and one training step's loss and every parameter gradient.

use anyhow::Context;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use clap::Args;
use lungseg::loss::{DistanceMaps, LossWeights, segmentation_loss};
use lungseg::model::{FfrNet, Preset};
use lungseg::weights::load_model;

use crate::data::LabelledData;
use crate::data::prepare_samples;

#[derive(Args, Debug)]
pub struct ParityArgs {
    #[arg(long, default_value = "lite")]
    pub preset: String,
    /// `random` (seeded initialisation) or a model file.
    #[arg(long, default_value = "random")]
    pub weights: String,
    /// Labelled folder; defaults to the project's shared MedSeg training data.
    #[arg(long, default_value_os_t = crate::paths::default_data())]
    pub data: PathBuf,
    #[arg(long, value_delimiter = ',', default_value = "3,20")]
    pub slices: Vec<usize>,
    #[arg(long, default_value_t = 0.5)]
    pub scr: f32,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
}

/// Replaces each parameter by its gradient (zeros where there is none, e.g. running statistics).
struct ToGrads<'a>(&'a mut GradientsParams);

impl ModuleMapper for ToGrads<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let grad = self
            .0
            .remove::<D>(id)
            .unwrap_or_else(|| tensor.clone().inner().zeros_like());
        Param::from_mapped_value(id, grad, mapper)
    }
}

fn write_f32(path: &Path, values: &[f32]) -> anyhow::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn safetensors(model: &FfrNet) -> anyhow::Result<Vec<u8>> {
    let mut store = SafetensorsStore::from_bytes(None);
    model.save_into(&mut store)?;
    store.get_bytes().map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn parity(a: ParityArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let device = Device::flex().autodiff();
    device.seed(a.seed);
    let (model, config) = if a.weights == "random" {
        let p =
            Preset::parse(&a.preset).with_context(|| format!("unknown preset `{}`", a.preset))?;
        let config = p.config();
        (config.init(&device), config)
    } else {
        let bytes = std::fs::read(&a.weights).with_context(|| format!("reading {}", a.weights))?;
        let (m, card) =
            load_model(&bytes, &device).with_context(|| format!("reading {}", a.weights))?;
        (m, card.config)
    };
    let data = LabelledData::load(&a.data)?;
    let samples = prepare_samples(&data, &a.slices, &config);
    let (n, s, c) = (samples.len(), config.input_size, config.in_channels);
    let mut input = Vec::with_capacity(n * c * s * s);
    for sample in &samples {
        for _ in 0..c {
            input.extend_from_slice(&sample.image);
        }
    }
    let labels: Vec<i64> = samples
        .iter()
        .flat_map(|x| x.labels.iter().map(|&l| l as i64))
        .collect();
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for sample in &samples {
        let mask: Vec<bool> = sample.labels.iter().map(|&l| l != 0).collect();
        let (i, o) = DistanceMaps::host(&mask, s, s);
        inside.extend(i);
        outside.extend(o);
    }

    // Eval mode: running statistics.
    let eval = model.valid();
    let inner = device.clone().inner();
    let x_eval = Tensor::<1>::from_floats(input.as_slice(), &inner).reshape([n, c, s, s]);
    let logits_eval: Vec<f32> = eval.forward(x_eval).into_data().iter::<f32>().collect();
    // Saved now: the training forward below updates the running statistics, which clones share.
    std::fs::write(a.out.join("weights.safetensors"), safetensors(&eval)?)?;
    let parameters = lungseg::model::complexity::trainable_params(&eval);

    // One training step: batch statistics, loss, gradients.
    let x = Tensor::<1>::from_floats(input.as_slice(), &device).reshape([n, c, s, s]);
    let y = Tensor::<1, Int>::from_ints(labels.as_slice(), &device).reshape([n, s, s]);
    let d = DistanceMaps::from_host(inside.clone(), outside.clone(), n, s, s, &device);
    let weights = LossWeights {
        scr: a.scr,
        ..LossWeights::default()
    };
    let logits = model.forward(x);
    let logits_train: Vec<f32> = logits.clone().into_data().iter::<f32>().collect();
    let terms = segmentation_loss(logits, y, Some(&d), weights);
    let loss: f32 = terms
        .total
        .clone()
        .into_data()
        .iter::<f32>()
        .next()
        .unwrap_or(f32::NAN);
    let mut grads = GradientsParams::from_grads(terms.total.backward(), &model);
    let grad_model = eval.map(&mut ToGrads(&mut grads));
    std::fs::write(a.out.join("grads.safetensors"), safetensors(&grad_model)?)?;
    write_f32(&a.out.join("input.bin"), &input)?;
    write_f32(
        &a.out.join("target.bin"),
        &labels.iter().map(|&l| l as f32).collect::<Vec<_>>(),
    )?;
    write_f32(&a.out.join("inside.bin"), &inside)?;
    write_f32(&a.out.join("outside.bin"), &outside)?;
    write_f32(&a.out.join("logits_eval.bin"), &logits_eval)?;
    write_f32(&a.out.join("logits_train.bin"), &logits_train)?;
    let meta = serde_json::json!({
        "config": config, "n": n, "slices": a.slices, "loss": loss, "weights": weights,
        "source": a.weights, "parameters": parameters,
    });
    std::fs::write(
        a.out.join("meta.json"),
        serde_json::to_string_pretty(&meta).unwrap(),
    )?;
    eprintln!("parity dump in {} (loss {loss})", a.out.display());
    Ok(())
}
