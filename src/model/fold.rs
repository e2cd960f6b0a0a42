//! Inference-time BatchNorm folding over the whole network (see [`ConvBn::fold`]).

use super::autofocus::Autofocus;
use super::backbone::{DilatedResNet, Residual};
use super::conv_bn::ConvBn;
use super::decoder::Decoder;
use super::ffrnet::FfrNet;

fn all(v: Vec<ConvBn>) -> Vec<ConvBn> {
    v.into_iter().map(ConvBn::fold).collect()
}

impl Residual {
    fn fold(self) -> Self {
        Self {
            convs: all(self.convs),
            downsample: self.downsample.map(ConvBn::fold),
        }
    }
}

impl DilatedResNet {
    fn fold(self) -> Self {
        let layer = |l: Vec<Residual>| l.into_iter().map(Residual::fold).collect();
        Self {
            stem: self.stem.fold(),
            layer1: layer(self.layer1),
            layer2: layer(self.layer2),
            layer3: layer(self.layer3),
            layer4: layer(self.layer4),
        }
    }
}

impl Autofocus {
    fn fold(self) -> Self {
        Self {
            branches: all(self.branches),
            combine: self.combine.fold(),
            ..self
        }
    }
}

impl Decoder {
    fn fold(self) -> Self {
        Self {
            up: all(self.up),
            refine: self.refine.fold(),
            ..self
        }
    }
}

impl FfrNet {
    /// The same network with every BatchNorm folded into its convolution: identical outputs
    /// in inference mode, fewer passes over memory. Not for training.
    pub fn fold_batch_norm(self) -> Self {
        Self {
            backbone: self.backbone.fold(),
            autofocus: self.autofocus.into_iter().map(Autofocus::fold).collect(),
            decoder: self.decoder.fold(),
            ..self
        }
    }
}
