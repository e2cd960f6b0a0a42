//! Dilated ResNet with output stride 8: the feature extractor f1…f4.
//!
//! Differences from torchvision, as in FFRNet's code: the stem's max-pool is an adaptive average
//! pool to a quarter of the input size, layer3 and layer4 keep stride 1 and dilate instead
//! (layer3: 1,2,2,…; layer4: 4,4,4), so f2, f3 and f4 share one H/8 grid.

use super::conv_bn::{ConvBn, ConvSpec};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::adaptive_avg_pool2d;
use serde::{Deserialize, Serialize};

/// Residual block type: ResNet-18/34 use basic blocks, ResNet-50 bottlenecks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockKind {
    Basic,
    Bottleneck,
}

impl BlockKind {
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// Backbone shape: block kind, blocks per stage and the stages' inner widths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackboneConfig {
    pub block: BlockKind,
    pub layers: [usize; 4],
    /// Inner width of each stage (64, 128, 256, 512 in torchvision); outputs are `width · expansion`.
    pub widths: [usize; 4],
    pub stem_width: usize,
}

impl BackboneConfig {
    pub fn resnet50() -> Self {
        Self {
            block: BlockKind::Bottleneck,
            layers: [3, 4, 6, 3],
            widths: [64, 128, 256, 512],
            stem_width: 64,
        }
    }
    pub fn resnet34() -> Self {
        Self {
            block: BlockKind::Basic,
            layers: [3, 4, 6, 3],
            widths: [64, 128, 256, 512],
            stem_width: 64,
        }
    }
    pub fn resnet18() -> Self {
        Self {
            block: BlockKind::Basic,
            layers: [2, 2, 2, 2],
            widths: [64, 128, 256, 512],
            stem_width: 64,
        }
    }
    /// Channels of f1…f4.
    pub fn out_channels(&self) -> [usize; 4] {
        self.widths.map(|w| w * self.block.expansion())
    }

    pub fn init(&self, in_channels: usize, device: &Device) -> DilatedResNet {
        let stem = ConvSpec::new(in_channels, self.stem_width, 7)
            .stride(2)
            .conv_bn_relu(device);
        let strides = [1, 2, 1, 1];
        let mut cin = self.stem_width;
        let mut stages = Vec::with_capacity(4);
        for (s, ((&blocks, &width), &stage_stride)) in self
            .layers
            .iter()
            .zip(&self.widths)
            .zip(&strides)
            .enumerate()
        {
            let blocks = (0..blocks)
                .map(|b| {
                    let stride = if b == 0 { stage_stride } else { 1 };
                    let block =
                        Residual::new(self.block, cin, width, stride, stage_dilation(s, b), device);
                    cin = width * self.block.expansion();
                    block
                })
                .collect();
            stages.push(blocks);
        }
        let [layer1, layer2, layer3, layer4]: [Vec<Residual>; 4] =
            stages.try_into().expect("four stages");
        DilatedResNet {
            stem,
            layer1,
            layer2,
            layer3,
            layer4,
        }
    }
}

/// Dilation of block `b` in stage `s` (0-based): the quirk of the original `_make_layer`
/// gives layer3's first block dilation 1; layer4 is multi-grid (4, 4, 4).
fn stage_dilation(s: usize, b: usize) -> usize {
    match (s, b) {
        (2, 0) => 1,
        (2, _) => 2,
        (3, _) => 4,
        _ => 1,
    }
}

/// The stem's output (H/2, before the pool) and the four stage outputs.
pub struct Features {
    pub stem: Tensor<4>,
    pub f1: Tensor<4>,
    pub f2: Tensor<4>,
    pub f3: Tensor<4>,
    pub f4: Tensor<4>,
}

#[derive(Module, Debug)]
pub struct DilatedResNet {
    pub stem: ConvBn,
    pub layer1: Vec<Residual>,
    pub layer2: Vec<Residual>,
    pub layer3: Vec<Residual>,
    pub layer4: Vec<Residual>,
}

impl DilatedResNet {
    pub fn forward(&self, x: Tensor<4>) -> Features {
        let [_, _, h, w] = x.dims();
        let stem = self.stem.forward(x);
        let x = adaptive_avg_pool2d(stem.clone(), [h.div_ceil(4), w.div_ceil(4)]);
        let run = |x: Tensor<4>, layer: &[Residual]| layer.iter().fold(x, |x, b| b.forward(x));
        let f1 = run(x, &self.layer1);
        let f2 = run(f1.clone(), &self.layer2);
        let f3 = run(f2.clone(), &self.layer3);
        let f4 = run(f3.clone(), &self.layer4);
        Features {
            stem,
            f1,
            f2,
            f3,
            f4,
        }
    }
}

/// A residual block: basic (3×3, 3×3) or bottleneck (1×1, 3×3 with stride, 1×1 ×4),
/// plus a projection shortcut where the shape changes. `convs[i]` is torchvision's
/// `conv{i+1}`/`bn{i+1}`, `downsample` its `downsample.0`/`.1`.
#[derive(Module, Debug)]
pub struct Residual {
    pub convs: Vec<ConvBn>,
    pub downsample: Option<ConvBn>,
}

impl Residual {
    fn new(
        kind: BlockKind,
        cin: usize,
        width: usize,
        stride: usize,
        dilation: usize,
        device: &Device,
    ) -> Self {
        let cout = width * kind.expansion();
        let convs = match kind {
            BlockKind::Basic => vec![
                ConvSpec::new(cin, width, 3)
                    .stride(stride)
                    .dilation(dilation)
                    .conv_bn_relu(device),
                ConvSpec::new(width, width, 3)
                    .dilation(dilation)
                    .conv_bn(false, device),
            ],
            BlockKind::Bottleneck => vec![
                ConvSpec::new(cin, width, 1).conv_bn_relu(device),
                ConvSpec::new(width, width, 3)
                    .stride(stride)
                    .dilation(dilation)
                    .conv_bn_relu(device),
                ConvSpec::new(width, cout, 1).conv_bn(false, device),
            ],
        };
        let downsample = (stride != 1 || cin != cout).then(|| {
            ConvSpec::new(cin, cout, 1)
                .stride(stride)
                .conv_bn(false, device)
        });
        Self { convs, downsample }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = match &self.downsample {
            Some(d) => d.forward(x.clone()),
            None => x.clone(),
        };
        let y = self.convs.iter().fold(x, |y, c| c.forward(y));
        relu(y + shortcut)
    }
}
