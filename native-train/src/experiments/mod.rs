//! Research options that are not part of the shipped recipe, each entered from the loop in one
//! place: weight averaging (`--ema`), pseudo-labels from a teacher on unlabeled slices
//! (`--pseudo-*`), negatives from an infection-free HU scan (`--negatives`), copies with denser
//! normal lung (`--dense-lung`) and restoration
//! pretraining (`pretrain`, then `train --init`). Their
//! ablations are in EXPERIMENTS.md with the command that reruns each; `tables` holds the
//! commands that compute the tables no training option does.

pub mod dense_lung;
pub mod ema;
pub mod negatives;
pub mod pretrain;
pub mod pseudo;
pub mod tables;

use serde::Serialize;

use crate::data::{DataError, Sample};
use dense_lung::DenseLung;
use negatives::Negatives;
use pretrain::InitOptions;
use pseudo::Pseudo;

/// The research options of a run. `TrainOptions` holds them flattened, so its card and
/// fingerprint keep the keys and order runs recorded before they were grouped here.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Experiments {
    /// Pseudo-labelled unlabeled slices added to every epoch; None = labelled slices only.
    pub pseudo: Option<Pseudo>,
    /// Decay of the weight average that validation scores and the run saves; None = the
    /// trained weights themselves. Left out when None, like the fingerprint's share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ema: Option<f64>,
    /// Pretrained weights (`pretrain`) the run starts from instead of random ones; left out
    /// when None, so earlier runs keep their fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<InitOptions>,
    /// Infection-free slices of a real HU scan added to every epoch; left out when None.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negatives: Option<Negatives>,
    /// Training slices with their normal lung made denser, added to every epoch; left out
    /// when None.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense_lung: Option<DenseLung>,
}

impl Experiments {
    /// Slices each epoch adds to the labelled ones (pseudo-labelled, negatives).
    pub fn extra_per_epoch(&self) -> usize {
        self.pseudo.as_ref().map_or(0, |p| p.options.per_epoch)
            + self.negatives.as_ref().map_or(0, |n| n.options.per_epoch)
            + self.dense_lung.as_ref().map_or(0, |d| d.options.per_epoch)
    }

    /// The loop's hook for training data: epoch `epoch`'s samples beside the `labelled` ones
    /// (the training slices at `size`²).
    pub fn epoch_samples(
        &self,
        epoch: usize,
        seed: u64,
        size: usize,
        labelled: &[Sample],
    ) -> Result<Vec<Sample>, DataError> {
        let mut samples = Vec::new();
        if let Some(p) = &self.pseudo {
            samples.extend(p.samples(epoch, seed, size)?);
        }
        if let Some(n) = &self.negatives {
            samples.extend(n.samples(epoch, seed));
        }
        if let Some(d) = &self.dense_lung {
            samples.extend(d.samples(labelled, epoch, seed));
        }
        Ok(samples)
    }
}
