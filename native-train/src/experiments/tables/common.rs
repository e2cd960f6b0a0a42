//! What the tables' commands share: their command-line slices and model, and the shared MedSeg
//! training volumes, read as `train` and `eval` read them.

use burn::prelude::*;
use lungseg::model::{FfrNet, FfrNetConfig};
use lungseg::weights::load_for_inference;
use std::path::PathBuf;

use crate::data::LabelledData;

/// Slices given as `z,z,...`.
pub fn slices(arg: &str) -> Result<Vec<usize>, String> {
    arg.split(',')
        .map(|z| z.parse().map_err(|e| format!("slice {z}: {e}")))
        .collect()
}

/// A model file loaded for inference (BatchNorm folded), as `eval` loads it.
pub fn model(path: &str, device: &Device) -> Result<(FfrNet, FfrNetConfig), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let (model, card) = load_for_inference(&bytes, device).map_err(|e| format!("{path}: {e}"))?;
    Ok((model, card.config))
}

/// The project's shared MedSeg training volumes; `truth(k, 2)` is slice `k`'s binary infection.
pub fn medseg() -> Result<LabelledData, String> {
    LabelledData::load(&PathBuf::from(lungseg::SHARED_DATA).join("medseg/train"))
        .map_err(|e| e.to_string())
}
