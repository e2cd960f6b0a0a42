//! Loss values against hand-computed cases, and gradients that actually flow.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use lungseg::loss::{
    DistanceMaps, LossWeights, cross_entropy, scr_loss, segmentation_loss, soft_dice,
};

fn dev() -> Device {
    Device::flex()
}

/// Logits 1×2×1×3 where class 1's logit minus class 0's is `d` at each pixel.
fn logits(d: [f32; 3]) -> Tensor<4> {
    let x = Tensor::<1>::from_floats([0.0, 0.0, 0.0, d[0], d[1], d[2]], &dev());
    x.reshape([1, 2, 1, 3])
}

fn value(t: Tensor<1>) -> f32 {
    t.into_data().iter::<f32>().next().unwrap()
}

fn labels(v: [i64; 3]) -> Tensor<3, Int> {
    Tensor::<1, Int>::from_ints(v, &dev()).reshape([1, 1, 3])
}

#[test]
fn cross_entropy_matches_hand_computation_and_ignores_255() {
    // p1 = σ(d): d = 0 → ln 2; d = ln 3 → p1 = 3/4.
    let ce = value(cross_entropy(
        logits([0.0, 3f32.ln(), 3f32.ln()]),
        labels([1, 1, 0]),
    ));
    let expected = (2f32.ln() + (4.0f32 / 3.0).ln() + 4f32.ln()) / 3.0;
    assert!((ce - expected).abs() < 1e-5, "{ce} vs {expected}");
    let ce = value(cross_entropy(
        logits([0.0, 3f32.ln(), 100.0]),
        labels([1, 1, 255]),
    ));
    let expected = (2f32.ln() + (4.0f32 / 3.0).ln()) / 2.0;
    assert!(
        (ce - expected).abs() < 1e-5,
        "ignored pixel must not count: {ce} vs {expected}"
    );
}

#[test]
fn soft_dice_uses_standard_smoothing() {
    // p1 = 0.5, 0.75, 0.75; y = 1, 1, 0: I = 1.25, P = 2, T = 2 → (2·1.25 + 1) / (4 + 1) = 0.7.
    let probs = burn::tensor::activation::softmax(logits([0.0, 3f32.ln(), 3f32.ln()]), 1);
    let d = value(soft_dice(probs, labels([1, 1, 0])));
    assert!((d - 0.3).abs() < 1e-5, "{d}");
    // Empty truth, confident empty prediction: dice ≈ 1, loss ≈ 0 and never negative.
    let probs = burn::tensor::activation::softmax(logits([-50.0, -50.0, -50.0]), 1);
    let d = value(soft_dice(probs, labels([0, 0, 0])));
    assert!((0.0..1e-4).contains(&d), "{d}");
}

#[test]
fn scr_is_zero_for_a_certain_correct_prediction_and_grows_with_holes() {
    let device = dev();
    let (h, w) = (16, 16);
    let mask: Vec<bool> = (0..h * w)
        .map(|i| (4..12).contains(&(i / w)) && (4..12).contains(&(i % w)))
        .collect();
    let (inside, outside) = DistanceMaps::host(&mask, h, w);
    let d = DistanceMaps::from_host(inside.clone(), outside, 1, h, w, &device);
    let probs_for = |p: &dyn Fn(usize) -> f32| {
        let fg: Vec<f32> = (0..h * w).map(p).collect();
        let bg: Vec<f32> = fg.iter().map(|v| 1.0 - v).collect();
        let all: Vec<f32> = bg.into_iter().chain(fg).collect();
        Tensor::<1>::from_floats(all.as_slice(), &device).reshape([1, 2, h, w])
    };
    let perfect = value(scr_loss(
        probs_for(&|i| if mask[i] { 1.0 } else { 0.0 }),
        &d,
    ));
    assert!(perfect.abs() < 1e-4, "{perfect}");
    // A hole in the lesion's core costs more than the same number of wrong pixels on its rim.
    let core = |i: usize| (7..9).contains(&(i / w)) && (7..9).contains(&(i % w));
    let rim = |i: usize| i / w == 4 && (4..8).contains(&(i % w));
    let hole = value(scr_loss(
        probs_for(&|i| if mask[i] && !core(i) { 1.0 } else { 0.0 }),
        &d,
    ));
    let nick = value(scr_loss(
        probs_for(&|i| if mask[i] && !rim(i) { 1.0 } else { 0.0 }),
        &d,
    ));
    assert!(hole > nick && nick > 0.0, "hole {hole} nick {nick}");
    // Analytic: uniform p = ½ gives ln 2 in both halves.
    let half = value(scr_loss(probs_for(&|_| 0.5), &d));
    assert!((half - 2f32.ln()).abs() < 1e-4, "{half}");
}

#[test]
fn the_combined_loss_has_gradients() {
    let device = dev().autodiff();
    let x = Tensor::<1>::from_floats([0.3, -0.2, 0.1, 0.5, 0.0, -0.4], &device)
        .reshape([1, 2, 1, 3])
        .require_grad();
    let y = Tensor::<1, Int>::from_ints([1, 0, 1], &device).reshape([1, 1, 3]);
    let d = DistanceMaps::from_host(vec![1.0, 0.0, 1.0], vec![0.0, 1.0, 0.0], 1, 1, 3, &device);
    let terms = segmentation_loss(
        x.clone(),
        y,
        Some(&d),
        LossWeights {
            ce: 1.0,
            dice: 1.0,
            scr: 1.0,
        },
    );
    let grads = terms.total.backward();
    let g = x
        .grad(&grads)
        .expect("gradient")
        .into_data()
        .iter::<f32>()
        .collect::<Vec<_>>();
    assert!(
        g.iter().all(|v| v.is_finite()) && g.iter().any(|v| v.abs() > 1e-4),
        "{g:?}"
    );
    // The SCR term alone also carries a gradient (the released code's does not).
    let x2 = x.clone().detach().require_grad();
    let probs = burn::tensor::activation::softmax(x2.clone(), 1);
    let grads = scr_loss(probs, &d).backward();
    let g = x2
        .grad(&grads)
        .expect("gradient")
        .into_data()
        .iter::<f32>()
        .collect::<Vec<_>>();
    assert!(g.iter().any(|v| v.abs() > 1e-4), "{g:?}");
}
