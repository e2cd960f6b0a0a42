//! Infection-free slices of a real HU scan as negatives (`train --negatives SCAN`): MedSeg holds
//! one slice without infection, and none of its slices are real HU, so the model has never been
//! shown normal lung as a scanner records it (denser at the bases and where the patient lies on
//! it) and flags it. Each epoch adds a few of the scan's slices that hold lung, labelled all
//! background, read through the page's path (the lung window, the model's grid); the scan must
//! hold no infection, and it is then not one to report the model's figures on.

use anyhow::Context;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

use lungseg::intensity::{detect, lung_window};
use lungseg::lung_field::LungField;
use lungseg::model::FfrNetConfig;
use lungseg::pipeline::model_input;
use lungseg::volume::read_nifti;

use crate::data::{Sample, sha256_hex};
use crate::rng::epoch_draw;

/// What a run with negatives records (card and fingerprint).
#[derive(Debug, Clone, Serialize)]
pub struct NegativesOptions {
    pub scan: String,
    pub scan_sha256: String,
    /// Slices of the scan that hold lung: the ones drawn from.
    pub slices: usize,
    pub per_epoch: usize,
}

/// The options with the slices they name, at the model's input size.
#[derive(Clone, Serialize)]
pub struct Negatives {
    #[serde(flatten)]
    pub options: NegativesOptions,
    #[serde(skip)]
    samples: Arc<Vec<Sample>>,
}

impl Negatives {
    /// The slices with lung of the HU scan at `path`, `per_epoch` of them in every epoch.
    pub fn load(path: &Path, per_epoch: usize, config: &FfrNetConfig) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let volume = read_nifti(&bytes).with_context(|| format!("reading {}", path.display()))?;
        let mapping = detect(&volume, lung_window())
            .with_context(|| format!("reading {}", path.display()))?;
        let field = LungField::of(&volume, &mapping);
        if !field.three_d {
            anyhow::bail!(
                "{}: negatives must be a scan in Hounsfield units, not 8-bit windowed slices",
                path.display()
            );
        }
        let s = config.input_size;
        // One channel: the sample's image, as `prepare_samples` makes the labelled ones.
        let mut single = config.clone();
        single.in_channels = 1;
        let samples: Vec<Sample> = (0..volume.dims()[2])
            .filter(|&k| field.has_lung(k))
            .map(|k| Sample {
                image: model_input(&volume, k, &mapping, &single),
                labels: vec![0; s * s],
            })
            .collect();
        if samples.is_empty() {
            anyhow::bail!("{}: no slice holds lung", path.display());
        }
        Ok(Self {
            options: NegativesOptions {
                scan: path.display().to_string(),
                scan_sha256: sha256_hex([&bytes]),
                slices: samples.len(),
                per_epoch,
            },
            samples: Arc::new(samples),
        })
    }

    /// The loop's hook: epoch `epoch`'s negatives, every slice once before any twice.
    pub fn samples(&self, epoch: usize, seed: u64) -> Vec<Sample> {
        epoch_draw(
            self.samples.len(),
            epoch,
            self.options.per_epoch,
            seed ^ 0x0000_ba5e,
        )
        .into_iter()
        .map(|i| self.samples[i].clone())
        .collect()
    }
}

impl std::fmt::Debug for Negatives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.options.fmt(f)
    }
}
