//! What the validation examples share: their command-line slices and model, and MedSeg's
//! training volumes with the intensity mapping and binary truth `eval` uses.

use burn::prelude::*;
use lungseg::intensity::{IntensityMapping, detect, lung_window};
use lungseg::lung_field::LungField;
use lungseg::model::{FfrNet, FfrNetConfig};
use lungseg::volume::{Volume, read_nifti};
use lungseg::weights::load_for_inference;
use std::path::{Path, PathBuf};

pub fn read(path: &Path) -> Result<Volume, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_nifti(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

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

/// The project's shared MedSeg training volumes.
pub struct Medseg {
    pub image: Volume,
    pub masks: Volume,
    pub mapping: IntensityMapping,
    pub field: LungField,
}

impl Medseg {
    pub fn load() -> Result<Self, String> {
        let dir = PathBuf::from(lungseg::SHARED_DATA).join("medseg/train");
        let image = read(&dir.join("image.nii.gz"))?;
        let masks = read(&dir.join("mask_binary.nii.gz"))?;
        let mapping = detect(&image, lung_window()).map_err(|e| e.to_string())?;
        let field = LungField::of(&image, &mapping);
        Ok(Self {
            image,
            masks,
            mapping,
            field,
        })
    }

    /// Slice `k`'s binary infection truth (1 = infected), in stored order.
    pub fn truth(&self, k: usize) -> Vec<u8> {
        self.masks
            .slice(k)
            .iter()
            .map(|&v| u8::from(v > 0.5))
            .collect()
    }
}
