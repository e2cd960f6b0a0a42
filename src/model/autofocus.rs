//! Autofocus (AF): peer-level context at one backbone level (spec §4).
//!
//! Four ASPP-like branches (1×1 and 3×3 with three dilation rates) look at the same level
//! with different fields of view; two PeerFuse passes, in rate order and in reverse, let each
//! scale focus on what the others found; a 1×1 conv combines both directions.

use burn::prelude::*;

use super::conv_bn::{ConvBn, ConvSpec};
use super::peer_fuse::PeerFuse;

#[derive(Module, Debug)]
pub struct Autofocus {
    pub branches: Vec<ConvBn>,
    pub forward_fuse: PeerFuse,
    pub backward_fuse: PeerFuse,
    pub combine: ConvBn,
}

impl Autofocus {
    pub fn new(cin: usize, channels: usize, rates: &[usize], device: &Device) -> Self {
        let mut branches = vec![ConvSpec::new(cin, channels, 1).conv_bn_relu(device)];
        branches.extend(rates.iter().map(|&r| {
            ConvSpec::new(cin, channels, 3)
                .dilation(r)
                .conv_bn_relu(device)
        }));
        let n = branches.len();
        Self {
            branches,
            forward_fuse: PeerFuse::new(channels, n, device),
            backward_fuse: PeerFuse::new(channels, n, device),
            combine: ConvSpec::new(2 * channels, channels, 1).conv_bn_relu(device),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b: Vec<Tensor<4>> = self
            .branches
            .iter()
            .map(|br| br.forward(x.clone()))
            .collect();
        let fwd = self.forward_fuse.forward(b.clone());
        let bwd = self.backward_fuse.forward(b.into_iter().rev().collect());
        self.combine.forward(Tensor::cat(vec![fwd, bwd], 1))
    }
}
