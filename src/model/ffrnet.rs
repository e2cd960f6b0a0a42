//! FFRNet: Focus (Autofocus), Fusion (Panorama) and Rectify (the SCR loss, in `loss`).
//!
//! ```text
//! slice → DilatedResNet → f1…f4 → Autofocus ×4 → a1…a4 → Panorama → P1…P4 → Decoder → logits ↑ input size
//!                      ╰ stem ───────────────────────────────────────────────╯ (with a fine step)
//! ```

use burn::prelude::*;

use super::autofocus::Autofocus;
use super::backbone::DilatedResNet;
use super::config::FfrNetConfig;
use super::decoder::Decoder;
use super::panorama::Panorama;
use super::resize::{resize_to, spatial};

#[derive(Module, Debug)]
pub struct FfrNet {
    pub backbone: DilatedResNet,
    pub autofocus: Vec<Autofocus>,
    pub panorama: Panorama,
    pub decoder: Decoder,
    /// Input normalisation (per channel), applied to slices in [0, 1].
    #[module(skip)]
    pub mean: Vec<f32>,
    #[module(skip)]
    pub std: Vec<f32>,
}

/// Intermediate tensors, for shape traces and tests.
pub struct Trace {
    pub features: [Tensor<4>; 4],
    pub focused: [Tensor<4>; 4],
    pub fused: [Tensor<4>; 4],
    pub logits_low: Tensor<4>,
    pub logits: Tensor<4>,
}

impl FfrNet {
    pub fn new(config: &FfrNetConfig, device: &Device) -> Self {
        let backbone = config.backbone.init(config.in_channels, device);
        let autofocus = config
            .backbone
            .out_channels()
            .iter()
            .map(|&cin| Autofocus::new(cin, config.channels, &config.autofocus_rates, device))
            .collect();
        Self {
            backbone,
            autofocus,
            panorama: Panorama::new(config.channels, 4, device),
            decoder: Decoder::new(
                config.channels,
                4,
                config.classes,
                config
                    .fine_step
                    .map(|width| (config.backbone.stem_width, width)),
                device,
            ),
            mean: config.mean.clone(),
            std: config.std.clone(),
        }
    }

    /// Logits N×classes×H×W for slices N×in_channels×H×W with values in [0, 1].
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.trace(x).logits
    }

    pub fn trace(&self, x: Tensor<4>) -> Trace {
        let size = spatial(&x);
        let f = self.backbone.forward(self.normalise(x));
        let features = [f.f1, f.f2, f.f3, f.f4];
        let focused: [Tensor<4>; 4] =
            std::array::from_fn(|i| self.autofocus[i].forward(features[i].clone()));
        let fused: [Tensor<4>; 4] = self
            .panorama
            .forward(&focused)
            .try_into()
            .unwrap_or_else(|_| unreachable!("four levels in, four out"));
        let logits_low = self.decoder.forward(fused.to_vec(), f.stem);
        let logits = resize_to(logits_low.clone(), size);
        Trace {
            features,
            focused,
            fused,
            logits_low,
            logits,
        }
    }

    fn normalise(&self, x: Tensor<4>) -> Tensor<4> {
        let device = x.device();
        let c = self.mean.len();
        let mean = Tensor::<1>::from_floats(self.mean.as_slice(), &device).reshape([1, c, 1, 1]);
        let inv_std = Tensor::<1>::from_floats(
            self.std
                .iter()
                .map(|s| 1.0 / s)
                .collect::<Vec<_>>()
                .as_slice(),
            &device,
        )
        .reshape([1, c, 1, 1]);
        (x - mean) * inv_std
    }
}
