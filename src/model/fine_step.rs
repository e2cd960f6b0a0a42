//! An extra top-down step onto the stem's H/2 grid (U-Net's skip; not in the paper).
//!
//! FFRNet's logits live on the H/4 grid, which caps even a perfect model on small lesions
//! (EXPERIMENTS.md, "Output resolution"). This step joins the decoder's refined H/4 state to the
//! stem's H/2 features, so the classifier draws boundaries on a grid twice as fine:
//! F = cbr1×1[stem; ↑R];  F' = cbr3×3(F).

use burn::prelude::*;

use super::conv_bn::{ConvBn, ConvSpec};
use super::resize::{resize_to, spatial};

#[derive(Module, Debug)]
pub struct FineStep {
    /// 1×1 conv + BN + ReLU over [stem features; upsampled decoder state].
    pub merge: ConvBn,
    /// 3×3 conv + BN + ReLU on the fine grid.
    pub refine: ConvBn,
}

impl FineStep {
    /// `stem`: the stem's channels; `channels`: the decoder's width C; `width`: this step's.
    pub fn new(stem: usize, channels: usize, width: usize, device: &Device) -> Self {
        Self {
            merge: ConvSpec::new(stem + channels, width, 1).conv_bn_relu(device),
            refine: ConvSpec::new(width, width, 3).conv_bn_relu(device),
        }
    }

    pub fn forward(&self, coarse: Tensor<4>, stem: Tensor<4>) -> Tensor<4> {
        let up = resize_to(coarse, spatial(&stem));
        self.refine
            .forward(self.merge.forward(Tensor::cat(vec![stem, up], 1)))
    }
}
