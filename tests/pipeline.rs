//! The slice-wise inference pipeline on real data: mirror averaging (test-time augmentation)
//! with the shipped model on real MedSeg slices.
#![cfg(not(target_arch = "wasm32"))]

mod reference;

use burn::prelude::*;
use lungseg::intensity::{detect, lung_window};
use lungseg::pipeline::{model_input, probabilities};
use lungseg::weights::load_for_inference;
use reference::*;

/// Each row of every C × S × S plane reversed: the slice mirrored left to right.
fn mirror(planes: &[f32], s: usize) -> Vec<f32> {
    planes
        .chunks(s)
        .flat_map(|row| row.iter().rev().copied())
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// With mirror averaging the probabilities of a mirrored slice are the mirrored probabilities
/// (the network alone is not mirror-symmetric), and they are the mean of the two single views.
#[test]
fn mirror_averaging_is_the_mean_of_both_views_and_mirror_symmetric() {
    let device = Device::flex();
    let (model, card) = load_for_inference(SHIPPED_MODEL, &device).expect("shipped model");
    let cfg = card.config;
    let s = cfg.input_size;
    let volume = medseg();
    let mapping = detect(&volume, lung_window()).unwrap();
    let probs = |input: &[f32], tta: bool| -> Vec<f32> {
        probabilities(&model, &cfg, &[input.to_vec()], tta, &device)
            .into_data()
            .iter::<f32>()
            .collect()
    };
    for k in MEDSEG_SLICES {
        let x = model_input(&volume, k, &mapping, &cfg);
        let x_mirrored = mirror(&x, s);
        let (plain, of_mirror) = (probs(&x, false), probs(&x_mirrored, false));
        let (tta, tta_of_mirror) = (probs(&x, true), probs(&x_mirrored, true));

        let asymmetry = max_abs_diff(&mirror(&plain, s), &of_mirror);
        assert!(
            asymmetry > 0.05,
            "slice {k}: the network alone should not be mirror-symmetric ({asymmetry})"
        );
        let mean: Vec<f32> = plain
            .iter()
            .zip(mirror(&of_mirror, s))
            .map(|(a, b)| (a + b) / 2.0)
            .collect();
        let d = max_abs_diff(&tta, &mean);
        assert!(
            d < 1e-5,
            "slice {k}: TTA differs from the mean of both views by {d}"
        );
        let d = max_abs_diff(&mirror(&tta, s), &tta_of_mirror);
        assert!(d < 1e-5, "slice {k}: TTA is not mirror-symmetric ({d})");
        let total: f32 = tta.iter().sum();
        assert!(
            (total - (s * s) as f32).abs() < 1e-2 * (s * s) as f32,
            "slice {k}: probabilities sum to one per pixel"
        );
    }
}
