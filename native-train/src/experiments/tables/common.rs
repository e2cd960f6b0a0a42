//! What the tables' commands share: their command-line slices and model, and the shared MedSeg
//! training volumes, read as `train` and `eval` read them.

use anyhow::Context;
use burn::prelude::*;
use lungseg::model::{FfrNet, FfrNetConfig};
use lungseg::weights::load_for_inference;
use std::path::PathBuf;

use crate::data::LabelledData;

/// Slices given as `z,z,...`.
pub fn slices(arg: &str) -> anyhow::Result<Vec<usize>> {
    arg.split(',')
        .map(|z| z.parse().with_context(|| format!("slice {z}")))
        .collect()
}

/// A model file loaded for inference (BatchNorm folded), as `eval` loads it.
pub fn model(path: &str, device: &Device) -> anyhow::Result<(FfrNet, FfrNetConfig)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let (model, card) =
        load_for_inference(&bytes, device).with_context(|| format!("reading {path}"))?;
    Ok((model, card.config))
}

/// The project's shared MedSeg training volumes; `truth(k, 2)` is slice `k`'s binary infection.
pub fn medseg() -> anyhow::Result<LabelledData> {
    Ok(LabelledData::load(
        &PathBuf::from(lungseg::SHARED_DATA).join("medseg/train"),
    )?)
}
