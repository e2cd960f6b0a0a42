//! The top-down decoder and classifier of FFRNet's head (spec §5, `FFRNetHead`).
//!
//! D4 = P4;  D3 = cbr[P3; D4];  D2 = cbr[P2; D3];  D1 = cbr[P1; ↑D2];  R = 3×3 cbr;  logits = 1×1.

use burn::nn::conv::Conv2d;
use burn::prelude::*;

use super::conv_bn::{ConvBn, ConvSpec};
use super::conv_gemm::conv2d;
use super::resize::{resize_to, spatial};

#[derive(Module, Debug)]
pub struct Decoder {
    /// D3, D2, D1: 1×1 conv + BN + ReLU over [P_level; deeper decoder state].
    pub up: Vec<ConvBn>,
    /// R: 3×3 conv with bias + BN + ReLU.
    pub refine: ConvBn,
    pub classifier: Conv2d,
}

impl Decoder {
    pub fn new(channels: usize, levels: usize, classes: usize, device: &Device) -> Self {
        let c = channels;
        Self {
            up: (1..levels)
                .map(|_| ConvSpec::new(2 * c, c, 1).conv_bn_relu(device))
                .collect(),
            refine: ConvSpec::new(c, c, 3).bias(true).conv_bn_relu(device),
            classifier: ConvSpec::new(c, classes, 1).bias(true).conv(device),
        }
    }

    /// `p` holds P1…Pn (shallow to deep); returns logits on P1's grid.
    pub fn forward(&self, p: Vec<Tensor<4>>) -> Tensor<4> {
        let mut p = p.into_iter().rev();
        let mut d = p.next().expect("at least one level");
        for (level, up) in p.zip(&self.up) {
            let deeper = resize_to(d, spatial(&level));
            d = up.forward(Tensor::cat(vec![level, deeper], 1));
        }
        conv2d(&self.classifier, self.refine.forward(d))
    }
}
