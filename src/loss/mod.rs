//! Training losses: cross-entropy + soft Dice (the paper's recipe) and the differentiable
//! structure-consistency rectification (SCR) term.

pub mod ce_dice;
pub mod scr;

pub use ce_dice::{cross_entropy, soft_dice};
pub use scr::{DistanceMaps, scr_loss};

use burn::prelude::*;
use burn::tensor::activation::softmax;
use serde::{Deserialize, Serialize};

/// Label left out of the class losses (infection of unknown subtype).
pub const IGNORE_LABEL: i64 = 255;

/// Weights of the loss terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossWeights {
    pub ce: f32,
    pub dice: f32,
    pub scr: f32,
}

impl Default for LossWeights {
    /// The paper's code: CE + Dice with weight 1 each; SCR off.
    fn default() -> Self {
        Self {
            ce: 1.0,
            dice: 1.0,
            scr: 0.0,
        }
    }
}

/// The terms of one loss evaluation (the total carries the gradient).
pub struct LossTerms {
    pub total: Tensor<1>,
    pub ce: Tensor<1>,
    pub dice: Tensor<1>,
    pub scr: Option<Tensor<1>>,
}

/// The full segmentation loss for logits N×K×H×W against labels N×H×W.
pub fn segmentation_loss(
    logits: Tensor<4>,
    target: Tensor<3, Int>,
    distances: Option<&DistanceMaps>,
    w: LossWeights,
) -> LossTerms {
    let ce = cross_entropy(logits.clone(), target.clone());
    let probs = softmax(logits, 1);
    let dice = soft_dice(probs.clone(), target);
    let mut total = ce.clone() * w.ce + dice.clone() * w.dice;
    let scr = match distances {
        Some(d) if w.scr > 0.0 => {
            let s = scr_loss(probs, d);
            total = total + s.clone() * w.scr;
            Some(s)
        }
        _ => None,
    };
    LossTerms {
        total,
        ce,
        dice,
        scr,
    }
}
