//! Research options that are not part of the shipped recipe, each entered from the loop in one
//! place: weight averaging (`--ema`), pseudo-labels from a teacher on unlabeled slices
//! (`--pseudo-*`) and restoration pretraining (`pretrain`, then `train --init`). Their
//! ablations are in EXPERIMENTS.md with the command that reruns each; `tables` holds the
//! commands that compute the tables no training option does.

pub mod ema;
pub mod pretrain;
pub mod pseudo;
pub mod tables;

use serde::Serialize;

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
}

impl Experiments {
    /// Pseudo-labelled slices each epoch adds to the labelled ones.
    pub fn extra_per_epoch(&self) -> usize {
        self.pseudo.as_ref().map_or(0, |p| p.options.per_epoch)
    }
}
