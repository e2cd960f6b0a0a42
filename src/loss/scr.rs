//! Structure-consistency rectification (SCR) as a differentiable loss.
//!
//! The paper compares distance maps of prediction and ground truth; the released code feeds an
//! argmax through NumPy, so the term carries no gradient (spec §7). Here the structure of the
//! ground truth enters through its exact Euclidean distance transforms, and the predicted
//! infection probability p enters differentiably:
//!
//! ```text
//! q_in  = D_in / ΣD_in       (D_in: depth of each lesion pixel, its distance to the background)
//! q_out = D_out / ΣD_out     (D_out: distance of each background pixel to a lesion, capped)
//! L_scr = mean over slices of ½ [ −Σ q_in · log p  −  Σ q_out · log(1 − p) ]
//! ```
//! Each half is the cross-entropy between the ground truth's normalised distance structure and
//! the prediction (equivalently KL(q ‖ p·D/Σp·D) plus −log(Σp·D/ΣD) ≥ 0, so both the shape and
//! the confidence count). It is zero only when the prediction is certain over the lesion's core
//! and over the background away from it; it punishes holes in lesions and stray blobs far from
//! any lesion most, and pixels at the boundary, where the labels themselves are uncertain, least.
//! A slice without infection (or without background) contributes only the defined half.

use burn::prelude::*;

use crate::edt::edt;

/// Distance maps of a batch of binary ground truths, N×H×W each.
#[derive(Debug, Clone)]
pub struct DistanceMaps {
    pub inside: Tensor<3>,
    pub outside: Tensor<3>,
}

/// Cap on the outside distance, in pixels: beyond it background is equally "far".
pub const OUTSIDE_CAP: f32 = 24.0;

impl DistanceMaps {
    /// Host-side distance maps of one binary mask (row-major h × w).
    pub fn host(mask: &[bool], h: usize, w: usize) -> (Vec<f32>, Vec<f32>) {
        let inside = edt(mask, h, w);
        let inverted: Vec<bool> = mask.iter().map(|m| !m).collect();
        let outside = edt(&inverted, h, w)
            .into_iter()
            .map(|d| d.min(OUTSIDE_CAP))
            .collect();
        (inside, outside)
    }

    pub fn from_host(
        inside: Vec<f32>,
        outside: Vec<f32>,
        n: usize,
        h: usize,
        w: usize,
        device: &Device,
    ) -> Self {
        Self {
            inside: Tensor::<1>::from_floats(inside.as_slice(), device).reshape([n, h, w]),
            outside: Tensor::<1>::from_floats(outside.as_slice(), device).reshape([n, h, w]),
        }
    }
}

const EPS: f32 = 1e-6;

/// −Σ q log p per image with q ∝ d; returns (values, defined) as N-vectors.
fn structure_term(p: Tensor<2>, d: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let [n, _] = d.dims();
    let mass = d.clone().sum_dim(1); // N×1
    let defined = mass.clone().greater_elem(0.0).float();
    let q = d / mass.clamp_min(EPS);
    let cross = (q * p.clamp_min(EPS).log()).sum_dim(1).neg();
    (
        cross.reshape([n]) * defined.clone().reshape([n]),
        defined.reshape([n]),
    )
}

/// The SCR loss for softmax probabilities N×K×H×W (channel 0 = background).
pub fn scr_loss(probs: Tensor<4>, d: &DistanceMaps) -> Tensor<1> {
    let [n, _, h, w] = probs.dims();
    let p = probs
        .narrow(1, 0, 1)
        .reshape([n, h * w])
        .neg()
        .add_scalar(1.0);
    let (kin, din) = structure_term(p.clone(), d.inside.clone().reshape([n, h * w]));
    let (kout, dout) = structure_term(
        p.neg().add_scalar(1.0),
        d.outside.clone().reshape([n, h * w]),
    );
    let total = (kin + kout).sum();
    let count = (din + dout).sum().clamp_min(1.0);
    total / count
}
