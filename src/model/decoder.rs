//! The top-down decoder and classifier of FFRNet's head (spec §5, `FFRNetHead`).
//!
//! D4 = P4;  D3 = cbr[P3; D4];  D2 = cbr[P2; D3];  D1 = cbr[P1; ↑D2];  R = 3×3 cbr;  logits = 1×1.
//! With a [`FineStep`] (not in the paper) the classifier reads its H/2 output instead of R.

use burn::nn::conv::Conv2d;
use burn::prelude::*;

use super::conv_bn::{ConvBn, ConvSpec};
use super::conv_gemm::conv2d;
use super::fine_step::FineStep;
use super::resize::{resize_to, spatial};

#[derive(Module, Debug)]
pub struct Decoder {
    /// D3, D2, D1: 1×1 conv + BN + ReLU over [P_level; deeper decoder state].
    pub up: Vec<ConvBn>,
    /// R: 3×3 conv with bias + BN + ReLU.
    pub refine: ConvBn,
    /// Optional step onto the stem's H/2 grid.
    pub fine: Option<FineStep>,
    pub classifier: Conv2d,
}

impl Decoder {
    /// `fine`: the stem's channels and the fine step's width, when there is one.
    pub fn new(
        channels: usize,
        levels: usize,
        classes: usize,
        fine: Option<(usize, usize)>,
        device: &Device,
    ) -> Self {
        let c = channels;
        let classifier_in = fine.map_or(c, |(_, width)| width);
        Self {
            up: (1..levels)
                .map(|_| ConvSpec::new(2 * c, c, 1).conv_bn_relu(device))
                .collect(),
            refine: ConvSpec::new(c, c, 3).bias(true).conv_bn_relu(device),
            fine: fine.map(|(stem, width)| FineStep::new(stem, c, width, device)),
            classifier: ConvSpec::new(classifier_in, classes, 1)
                .bias(true)
                .conv(device),
        }
    }

    /// `p` holds P1…Pn (shallow to deep), `stem` the stem's features; returns logits on P1's
    /// grid, or on the stem's with a fine step.
    pub fn forward(&self, p: Vec<Tensor<4>>, stem: Tensor<4>) -> Tensor<4> {
        let mut p = p.into_iter().rev();
        let mut d = p.next().expect("at least one level");
        for (level, up) in p.zip(&self.up) {
            let deeper = resize_to(d, spatial(&level));
            d = up.forward(Tensor::cat(vec![level, deeper], 1));
        }
        let r = self.refine.forward(d);
        let r = match &self.fine {
            Some(fine) => fine.forward(r, stem),
            None => r,
        };
        conv2d(&self.classifier, r)
    }
}
