//! Trainable parameters and multiply-accumulates, counted from the built modules.
//!
//! MACs count convolutions only (as the spec's §12 does); BN, activations, gating and
//! interpolation add well under 1 %. FLOPs = 2 · MACs.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::conv::Conv2d;
use burn::prelude::*;

use super::autofocus::Autofocus;
use super::backbone::{DilatedResNet, Residual};
use super::conv_bn::{ConvBn, conv_out};
use super::decoder::Decoder;
use super::ffrnet::FfrNet;
use super::panorama::Panorama;

/// Parameters that the optimiser updates (BatchNorm running statistics excluded).
pub fn trainable_params<M: Module>(module: &M) -> usize {
    struct Count {
        path: Vec<String>,
        total: usize,
    }
    impl ModuleVisitor for Count {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let running = matches!(
                self.path.last().map(String::as_str),
                Some("running_mean" | "running_var")
            );
            if !running {
                self.total += param.lazy_shape().num_elements();
            }
        }
    }
    let mut c = Count {
        path: Vec::new(),
        total: 0,
    };
    module.visit(&mut c);
    c.total
}

type Hw = [usize; 2];

fn conv(c: &Conv2d, input: Hw) -> (u64, Hw) {
    let [s, _] = c.stride;
    let out = input.map(|x| conv_out(x, s));
    let w = c.weight.lazy_shape().num_elements() as u64;
    (w * (out[0] * out[1]) as u64, out)
}

fn conv_bn(c: &ConvBn, input: Hw) -> (u64, Hw) {
    conv(&c.conv, input)
}

impl Residual {
    fn macs(&self, input: Hw) -> (u64, Hw) {
        let (mut total, mut hw) = (0, input);
        for c in &self.convs {
            let (m, o) = conv_bn(c, hw);
            total += m;
            hw = o;
        }
        if let Some(d) = &self.downsample {
            total += conv_bn(d, input).0;
        }
        (total, hw)
    }
}

impl DilatedResNet {
    /// MACs, the stem's grid and the grids of f1…f4 for an input of size `input`.
    pub fn macs(&self, input: Hw) -> (u64, Hw, [Hw; 4]) {
        let (mut total, stem) = conv_bn(&self.stem, input);
        let mut hw = input.map(|x| x.div_ceil(4));
        debug_assert!(stem[0] >= hw[0]);
        let mut grids = [[0; 2]; 4];
        for (i, layer) in [&self.layer1, &self.layer2, &self.layer3, &self.layer4]
            .into_iter()
            .enumerate()
        {
            for block in layer.iter() {
                let (m, o) = block.macs(hw);
                total += m;
                hw = o;
            }
            grids[i] = hw;
        }
        (total, stem, grids)
    }
}

impl Autofocus {
    pub fn macs(&self, hw: Hw) -> u64 {
        let fuse = self
            .forward_fuse
            .memory
            .iter()
            .chain(&self.forward_fuse.fuse)
            .chain(&self.forward_fuse.carry);
        let back = self
            .backward_fuse
            .memory
            .iter()
            .chain(&self.backward_fuse.fuse)
            .chain(&self.backward_fuse.carry);
        self.branches.iter().map(|b| conv_bn(b, hw).0).sum::<u64>()
            + fuse.chain(back).map(|c| conv(c, hw).0).sum::<u64>()
            + conv_bn(&self.combine, hw).0
    }
}

impl Panorama {
    pub fn macs(&self, grids: &[Hw]) -> u64 {
        self.units
            .iter()
            .zip(grids)
            .map(|(u, &hw)| {
                conv(&u.global, hw).0
                    + u.mix.iter().map(|c| conv(c, hw).0).sum::<u64>()
                    + u.excite.iter().map(|c| conv(c, [1, 1]).0).sum::<u64>()
            })
            .sum()
    }
}

impl Decoder {
    /// `grids` are the Panorama grids, shallow to deep; `stem` the stem's grid.
    pub fn macs(&self, grids: &[Hw], stem: Hw) -> u64 {
        let ups: u64 = self
            .up
            .iter()
            .zip(grids.iter().rev().skip(1))
            .map(|(c, &hw)| conv_bn(c, hw).0)
            .sum();
        let (fine, out) = match &self.fine {
            Some(f) => (conv_bn(&f.merge, stem).0 + conv_bn(&f.refine, stem).0, stem),
            None => (0, grids[0]),
        };
        ups + conv_bn(&self.refine, grids[0]).0 + fine + conv(&self.classifier, out).0
    }
}

/// Cost of one forward pass, by part.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Complexity {
    pub params: usize,
    pub backbone_macs: u64,
    pub autofocus_macs: u64,
    pub head_macs: u64,
}

impl Complexity {
    pub fn macs(&self) -> u64 {
        self.backbone_macs + self.autofocus_macs + self.head_macs
    }
    pub fn gflops(&self) -> f64 {
        2.0 * self.macs() as f64 / 1e9
    }
}

impl FfrNet {
    /// Parameters and MACs for one H×W slice.
    pub fn complexity(&self, input: Hw) -> Complexity {
        let (backbone_macs, stem, grids) = self.backbone.macs(input);
        let autofocus_macs = self
            .autofocus
            .iter()
            .zip(&grids)
            .map(|(a, &hw)| a.macs(hw))
            .sum();
        let head_macs = self.panorama.macs(&grids) + self.decoder.macs(&grids, stem);
        Complexity {
            params: trainable_params(self),
            backbone_macs,
            autofocus_macs,
            head_macs,
        }
    }
}
