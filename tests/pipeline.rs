//! The slice-wise inference pipeline on real data: test-time augmentation (mirror and zoom)
//! with the shipped model on real MedSeg slices.
#![cfg(not(target_arch = "wasm32"))]

mod reference;

use burn::prelude::*;
use burn::tensor::activation::softmax;
use lungseg::intensity::{detect, lung_window};
use lungseg::model::resize::resize_to;
use lungseg::pipeline::{model_input, probabilities, tta_zoom_size};
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

/// With test-time augmentation the probabilities are the mean of four single views (as given,
/// mirrored, zoomed by 4/3, zoomed and mirrored, each mapped back), so those of a mirrored slice
/// are the mirrored probabilities although the network alone is not mirror-symmetric.
#[test]
fn tta_is_the_mean_of_four_views_and_mirror_symmetric() {
    let device = Device::flex();
    let (model, card) = load_for_inference(SHIPPED_MODEL, &device).expect("shipped model");
    let cfg = card.config;
    let s = cfg.input_size;
    let z = tta_zoom_size(s);
    assert!(
        z > s && z.is_multiple_of(32),
        "zoomed side {z} for input {s}"
    );
    let volume = medseg();
    let mapping = detect(&volume, lung_window()).unwrap();
    let probs = |input: &[f32], tta: bool| -> Vec<f32> {
        probabilities(&model, &cfg, &[input.to_vec()], tta, &device)
            .into_data()
            .iter::<f32>()
            .collect()
    };
    // One view through the network at the zoomed size, its probabilities resized back.
    let zoomed = |input: &[f32]| -> Vec<f32> {
        let x = Tensor::<1>::from_floats(input, &device).reshape([1, cfg.in_channels, s, s]);
        let p = softmax(model.forward(resize_to(x, [z, z])), 1);
        resize_to(p, [s, s]).into_data().iter::<f32>().collect()
    };
    for k in MEDSEG_SLICES {
        let x = model_input(&volume, k, &mapping, &cfg);
        let x_mirrored = mirror(&x, s);
        let (plain, of_mirror) = (probs(&x, false), probs(&x_mirrored, false));
        let (zoom, zoom_of_mirror) = (zoomed(&x), zoomed(&x_mirrored));
        let (tta, tta_of_mirror) = (probs(&x, true), probs(&x_mirrored, true));

        let asymmetry = max_abs_diff(&mirror(&plain, s), &of_mirror);
        assert!(
            asymmetry > 0.05,
            "slice {k}: the network alone should not be mirror-symmetric ({asymmetry})"
        );
        let scale_change = max_abs_diff(&plain, &zoom);
        assert!(
            scale_change > 0.05,
            "slice {k}: the zoomed view should differ from the plain one ({scale_change})"
        );
        let views = [
            plain,
            mirror(&of_mirror, s),
            zoom,
            mirror(&zoom_of_mirror, s),
        ];
        let mean: Vec<f32> = (0..tta.len())
            .map(|i| views.iter().map(|v| v[i]).sum::<f32>() / 4.0)
            .collect();
        let d = max_abs_diff(&tta, &mean);
        assert!(
            d < 1e-5,
            "slice {k}: TTA differs from the mean of the four views by {d}"
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
