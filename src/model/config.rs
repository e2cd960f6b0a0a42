//! `FfrNetConfig` and its presets.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::backbone::BackboneConfig;
use super::ffrnet::FfrNet;

/// ImageNet statistics, which the paper's RGB-replicated input is normalised with.
const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Bounds on what a model card may ask for (the paper's network: widths ≤ 512, 6 blocks, rate 18).
const MAX_WIDTH: usize = 2048;
const MAX_BLOCKS: usize = 64;
const MAX_RATE: usize = 256;
/// At most 2^26 parameters (256 MiB as f32); the paper's network has about 26 million.
const MAX_PARAMS: u64 = 1 << 26;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FfrNetConfig {
    /// Preset name, carried into model cards.
    pub name: String,
    pub backbone: BackboneConfig,
    /// Autofocus / Panorama / decoder width C.
    pub channels: usize,
    /// Dilation rates of Autofocus' 3×3 branches (the 1×1 branch is always there).
    pub autofocus_rates: Vec<usize>,
    /// 1 for CT; 3 for RGB-replicated slices as in the original code.
    pub in_channels: usize,
    /// 2 = background / infection; 4 = background, ground-glass, consolidation, effusion.
    pub classes: usize,
    /// Side of the square slice the model is trained on and fed.
    pub input_size: usize,
    /// Per-channel normalisation of the [0, 1] input.
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Width of a [`FineStep`](super::fine_step::FineStep) onto the stem's H/2 grid, or none
    /// (the paper's head, logits at H/4). Left out when none, so earlier model cards and runs'
    /// fingerprints read the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_step: Option<usize>,
}

/// The named presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The paper's network: dilated ResNet-50, C = 128, 3-channel 256² input, 2 classes.
    Paper,
    /// Browser-sized: dilated half-width ResNet-18, C = 48, 1-channel 256² input.
    Lite,
}

impl Preset {
    pub const ALL: [Preset; 2] = [Preset::Paper, Preset::Lite];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Paper => "paper",
            Preset::Lite => "lite",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn config(self) -> FfrNetConfig {
        match self {
            Preset::Paper => FfrNetConfig {
                name: "paper".into(),
                backbone: BackboneConfig::resnet50(),
                channels: 128,
                autofocus_rates: vec![6, 12, 18],
                in_channels: 3,
                classes: 2,
                input_size: 256,
                mean: IMAGENET_MEAN.to_vec(),
                std: IMAGENET_STD.to_vec(),
                fine_step: None,
            },
            Preset::Lite => FfrNetConfig {
                name: "lite".into(),
                backbone: BackboneConfig {
                    widths: [32, 64, 128, 256],
                    stem_width: 32,
                    ..BackboneConfig::resnet18()
                },
                channels: 48,
                autofocus_rates: vec![6, 12, 18],
                in_channels: 1,
                classes: 2,
                input_size: 256,
                mean: vec![0.45],
                std: vec![0.25],
                fine_step: None,
            },
        }
    }
}

impl FfrNetConfig {
    /// Same network with another number of classes (2 or 4).
    pub fn with_classes(mut self, classes: usize) -> Self {
        self.classes = classes;
        self
    }

    /// Same network trained and run at another square input size: the model card carries it,
    /// so the page, `eval` and `predict` resample each slice to it.
    pub fn with_input_size(mut self, input_size: usize) -> Self {
        self.input_size = input_size;
        self
    }

    /// Same network with a fine step of `width` channels (`None`: the paper's head).
    pub fn with_fine_step(mut self, width: Option<usize>) -> Self {
        self.fine_step = width;
        self
    }

    /// Checks the fields a user (or a model card) can get wrong.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if ![2, 4].contains(&self.classes) {
            return Err(InvalidConfig(format!(
                "classes must be 2 or 4, got {}",
                self.classes
            )));
        }
        if ![1, 3].contains(&self.in_channels) {
            return Err(InvalidConfig(format!(
                "in_channels must be 1 or 3, got {}",
                self.in_channels
            )));
        }
        if self.mean.len() != self.in_channels || self.std.len() != self.in_channels {
            return Err(InvalidConfig(
                "mean and std need one value per input channel".into(),
            ));
        }
        if self.std.iter().any(|&s| s.is_nan() || s <= 0.0) {
            return Err(InvalidConfig("std must be positive".into()));
        }
        if self.input_size < 32 || !self.input_size.is_multiple_of(8) || self.input_size > 2048 {
            return Err(InvalidConfig(format!(
                "input_size must be a multiple of 8 in 32..=2048, got {}",
                self.input_size
            )));
        }
        if self.fine_step == Some(0) {
            return Err(InvalidConfig(
                "a fine step needs at least one channel".into(),
            ));
        }
        if self.channels == 0 || self.autofocus_rates.is_empty() {
            return Err(InvalidConfig(
                "channels and autofocus_rates must be non-empty".into(),
            ));
        }
        // A card from an untrusted file must not make us build a network that cannot fit in
        // memory: every width, depth and rate is bounded well above the paper's.
        let b = &self.backbone;
        let widths = b.widths.iter().chain([&b.stem_width, &self.channels]);
        if widths
            .chain(self.fine_step.as_ref())
            .any(|&w| !(1..=MAX_WIDTH).contains(&w))
        {
            return Err(InvalidConfig(format!(
                "every width must be in 1..={MAX_WIDTH}"
            )));
        }
        if b.layers.iter().any(|&n| !(1..=MAX_BLOCKS).contains(&n)) {
            return Err(InvalidConfig(format!(
                "every stage needs 1..={MAX_BLOCKS} blocks, got {:?}",
                b.layers
            )));
        }
        if self.autofocus_rates.len() > 8
            || self
                .autofocus_rates
                .iter()
                .any(|&r| !(1..=MAX_RATE).contains(&r))
        {
            return Err(InvalidConfig(format!(
                "at most 8 autofocus rates, each in 1..={MAX_RATE}, got {:?}",
                self.autofocus_rates
            )));
        }
        let params = self.approx_params();
        if params > MAX_PARAMS {
            return Err(InvalidConfig(format!(
                "a network of about {params} parameters is larger than the {MAX_PARAMS} that can be loaded"
            )));
        }
        Ok(())
    }

    /// An upper estimate of the parameter count, from the config alone (before building): a
    /// residual block of inner width w holds at most 18·w² weights; each level's Autofocus
    /// branches (one per rate and the 1×1) at most 9 · its input width · C, and the fusion
    /// after them 9·C² per branch.
    pub fn approx_params(&self) -> u64 {
        let b = &self.backbone;
        let c = self.channels as u64;
        let stages: u64 = (b.layers.iter().zip(b.widths))
            .map(|(&n, w)| n as u64 * 18 * (w as u64).pow(2))
            .sum();
        let stem = 49 * self.in_channels as u64 * b.stem_width as u64;
        let rates = self.autofocus_rates.len() as u64;
        let inputs: u64 = b.out_channels().iter().map(|&o| o as u64).sum();
        let heads = (rates + 1) * 9 * inputs * c + 4 * (rates + 2) * 9 * c * c;
        let fine = self.fine_step.map_or(0, |f| 18 * f as u64 * (c + f as u64));
        stem + stages + heads + fine
    }

    pub fn init(&self, device: &Device) -> FfrNet {
        FfrNet::new(self, device)
    }
}

/// What is wrong with a network configuration, in words a user (or a model card's author) can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidConfig(pub String);
