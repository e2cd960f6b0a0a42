//! Shared by the native reference test and the browser test: what both compute from the same
//! real input, so WebGPU in Chromium can be checked against native `flex`.
#![allow(dead_code)]

use burn::prelude::*;
use lungseg::fixed_weights::fixed_weights;
use lungseg::intensity::{detect, lung_window};
use lungseg::model::{FfrNet, FfrNetConfig, Preset};
use lungseg::pipeline::model_input;
use lungseg::volume::{Volume, read_nifti};

pub const LIDC: &[u8] = include_bytes!(concat!(
    env!("LUNGSEG_SHARED_DATA"),
    "/fixtures/lidc_chest_2slices_hu.nii.gz"
));
/// Every STRIDE-th logit is kept in the reference file.
pub const STRIDE: usize = 17;

pub fn lidc() -> Volume {
    read_nifti(LIDC).expect("LIDC fixture")
}

/// A summary of a parsed volume that must agree across targets.
pub fn parse_summary(v: &Volume) -> Vec<f64> {
    let g = &v.geometry;
    let mut s = vec![g.dims[0] as f64, g.dims[1] as f64, g.dims[2] as f64];
    s.extend(g.spacing.iter().map(|&x| x as f64));
    s.extend(g.affine.iter().flatten().copied());
    s.push(v.data.iter().map(|x| x as f64).sum());
    s.extend(
        [0usize, 1234, 262_143, 300_000, 524_287]
            .iter()
            .map(|&i| v.data.get(i) as f64),
    );
    s
}

pub fn lite_fixed(device: &Device) -> (FfrNet, FfrNetConfig) {
    let config = Preset::Lite.config();
    (fixed_weights(config.init(device)), config)
}

/// The model input for LIDC slice 0 (1 × 1 × 256 × 256).
pub fn lidc_input(config: &FfrNetConfig, device: &Device) -> Tensor<4> {
    let v = lidc();
    let mapping = detect(&v, lung_window()).expect("HU");
    let x = model_input(&v, 0, &mapping, config);
    Tensor::<1>::from_floats(x.as_slice(), device).reshape([
        1,
        1,
        config.input_size,
        config.input_size,
    ])
}

pub fn strided(values: &[f32]) -> Vec<f32> {
    values.iter().step_by(STRIDE).copied().collect()
}

pub fn decode_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}

pub const MEDSEG: &[u8] = include_bytes!(concat!(
    env!("LUNGSEG_SHARED_DATA"),
    "/medseg/train/image.nii.gz"
));
pub const SHIPPED_MODEL: &[u8] = include_bytes!("../../www/model/lite.lungseg");
/// MedSeg slices the shipped model is compared on (one from the validation split, one not).
pub const MEDSEG_SLICES: [usize; 2] = [6, 20];

pub fn medseg() -> Volume {
    read_nifti(MEDSEG).expect("MedSeg image")
}

/// Binary Dice between two label arrays (non-zero = infection).
pub fn dice(a: &[u8], b: &[u8]) -> f64 {
    let (mut inter, mut sa, mut sb) = (0u64, 0u64, 0u64);
    for (&x, &y) in a.iter().zip(b) {
        sa += (x != 0) as u64;
        sb += (y != 0) as u64;
        inter += (x != 0 && y != 0) as u64;
    }
    if sa + sb == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (sa + sb) as f64
    }
}
