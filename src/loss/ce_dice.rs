//! Cross-entropy with an ignore label, and soft Dice with standard smoothing.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::IGNORE_LABEL;

/// Mean cross-entropy over the pixels whose label is not [`IGNORE_LABEL`].
pub fn cross_entropy(logits: Tensor<4>, target: Tensor<3, Int>) -> Tensor<1> {
    let valid = target.clone().not_equal_elem(IGNORE_LABEL);
    let index = target
        .mask_fill(valid.clone().bool_not(), 0)
        .unsqueeze_dim::<4>(1);
    let picked = log_softmax(logits, 1).gather(1, index).squeeze_dim::<3>(1);
    let valid = valid.float();
    let count = valid.clone().sum().clamp_min(1.0);
    (picked * valid).sum().neg() / count
}

/// 1 − mean soft Dice, (2·Σpy + 1) / (Σp + Σy + 1), per image and foreground class.
///
/// Binary models score the infection class; 4-class models score any-infection (1 − p_background
/// against every non-zero label) plus each subtype on the pixels whose subtype is known. The
/// smoothing is the standard one, not the original code's 2(I + 1) / (P + T + 1), which lets
/// the loss go negative.
pub fn soft_dice(probs: Tensor<4>, target: Tensor<3, Int>) -> Tensor<1> {
    let [n, k, _, _] = probs.dims();
    let valid = target.clone().not_equal_elem(IGNORE_LABEL).float();
    let mut scores = Vec::new();
    let infection = target.clone().not_equal_elem(0).float();
    let p_infection = probs
        .clone()
        .narrow(1, 0, 1)
        .squeeze_dim::<3>(1)
        .neg()
        .add_scalar(1.0);
    if k == 2 {
        scores.push(dice_per_image(p_infection, infection));
    } else {
        scores.push(dice_per_image(p_infection, infection));
        for c in 1..k {
            let p = probs.clone().narrow(1, c, 1).squeeze_dim::<3>(1) * valid.clone();
            let y = target.clone().equal_elem(c as i64).float();
            scores.push(dice_per_image(p, y));
        }
    }
    let count = (scores.len() * n) as f32;
    let sum = Tensor::cat(scores, 0).sum();
    sum.div_scalar(count).neg().add_scalar(1.0)
}

/// Soft Dice of each image: p, y are N×H×W; returns N values.
fn dice_per_image(p: Tensor<3>, y: Tensor<3>) -> Tensor<1> {
    let [n, _, _] = p.dims();
    let p = p.reshape([n as i32, -1]);
    let y = y.reshape([n as i32, -1]);
    let inter = (p.clone() * y.clone()).sum_dim(1);
    let denom = p.sum_dim(1) + y.sum_dim(1);
    (inter.mul_scalar(2.0).add_scalar(1.0) / denom.add_scalar(1.0)).reshape([n])
}
