//! Whole-network BatchNorm changes, one walk over every [`ConvBn`]: folding for inference (see
//! [`ConvBn::fold`]) and the momentum that re-estimating the running statistics needs.

use super::autofocus::Autofocus;
use super::backbone::{DilatedResNet, Residual};
use super::conv_bn::ConvBn;
use super::decoder::Decoder;
use super::ffrnet::FfrNet;
use super::fine_step::FineStep;

type Each<'a> = &'a dyn Fn(ConvBn) -> ConvBn;

fn all(v: Vec<ConvBn>, f: Each) -> Vec<ConvBn> {
    v.into_iter().map(f).collect()
}

impl Residual {
    fn each(self, f: Each) -> Self {
        Self {
            convs: all(self.convs, f),
            downsample: self.downsample.map(f),
        }
    }
}

impl DilatedResNet {
    fn each(self, f: Each) -> Self {
        let layer = |l: Vec<Residual>| l.into_iter().map(|r| r.each(f)).collect();
        Self {
            stem: f(self.stem),
            layer1: layer(self.layer1),
            layer2: layer(self.layer2),
            layer3: layer(self.layer3),
            layer4: layer(self.layer4),
        }
    }
}

impl Autofocus {
    fn each(self, f: Each) -> Self {
        Self {
            branches: all(self.branches, f),
            combine: f(self.combine),
            ..self
        }
    }
}

impl Decoder {
    fn each(self, f: Each) -> Self {
        Self {
            up: all(self.up, f),
            refine: f(self.refine),
            fine: self.fine.map(|s| FineStep {
                merge: f(s.merge),
                refine: f(s.refine),
            }),
            ..self
        }
    }
}

impl FfrNet {
    fn each_conv_bn(self, f: Each) -> Self {
        Self {
            backbone: self.backbone.each(f),
            autofocus: self.autofocus.into_iter().map(|a| a.each(f)).collect(),
            decoder: self.decoder.each(f),
            ..self
        }
    }

    /// The same network with every BatchNorm folded into its convolution: identical outputs
    /// in inference mode, fewer passes over memory. Not for training.
    pub fn fold_batch_norm(self) -> Self {
        self.each_conv_bn(&ConvBn::fold)
    }

    /// Every BatchNorm's momentum set to `momentum`: 1 makes one training-mode forward pass
    /// replace the running statistics with that batch's (re-estimating them for new weights).
    pub fn with_batch_norm_momentum(self, momentum: f64) -> Self {
        self.each_conv_bn(&|mut c: ConvBn| {
            c.bn.momentum = momentum;
            c
        })
    }
}
