//! Bilinear resizing with `align_corners = true`, as everywhere in FFRNet.
//!
//! Inference uses burn's `interpolate`. While training (the tensor is tracked for a backward
//! pass) the same resizing is done as two matrix products, rows then columns: burn 0.22's GPU
//! backends (CubeCL: wgpu, vulkan, cuda) have no backward pass for bilinear interpolation, so a
//! model built on it alone cannot train on a GPU. The products give the same values (to
//! rounding) and differentiate on every backend; at inference they cost ~15 % more time per slice
//! on the browser's software WebGPU, so they are not used there.

use burn::prelude::*;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

/// Resizes `x` (N×C×H×W) to `size`; a no-op when it already has that size.
pub fn resize_to(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    if spatial(&x) == size {
        return x;
    }
    if x.is_tracked() {
        return separable(x, size);
    }
    bilinear(x, size)
}

/// burn's own bilinear interpolation (forward only on the GPU backends).
fn bilinear(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(true)
            .with_output_size(size),
    )
}

/// The same resizing as matrix products, which every backend can differentiate.
fn separable(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let [ho, wo] = size;
    let device = x.device();
    // Columns: (N·C·H)×W · W×Wo.
    let x = x.reshape([n * c * h, w]).matmul(weights(w, wo, &device));
    // Rows: bring H last, then (N·C·Wo)×H · H×Ho.
    x.reshape([n * c, h, wo])
        .swap_dims(1, 2)
        .reshape([n * c * wo, h])
        .matmul(weights(h, ho, &device))
        .reshape([n, c, wo, ho])
        .swap_dims(2, 3)
}

/// The `from`×`to` matrix of one axis's linear interpolation with aligned corners: output `i`
/// (column `i`) samples the input at `i·(from−1)/(to−1)`, two taps per column.
fn weights(from: usize, to: usize, device: &Device) -> Tensor<2> {
    let mut m = vec![0f32; from * to];
    for i in 0..to {
        let pos = if to > 1 {
            i as f64 * (from - 1) as f64 / (to - 1) as f64
        } else {
            0.0
        };
        let lo = (pos.floor() as usize).min(from - 1);
        let hi = (lo + 1).min(from - 1);
        let f = (pos - lo as f64) as f32;
        m[lo * to + i] += 1.0 - f;
        m[hi * to + i] += f;
    }
    Tensor::from_data(TensorData::new(m, [from, to]), device)
}

/// The spatial size of an N×C×H×W tensor.
pub fn spatial(x: &Tensor<4>) -> [usize; 2] {
    let [_, _, h, w] = x.dims();
    [h, w]
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    /// Values and input gradients of the matrix products equal burn's own bilinear
    /// interpolation (which has a backward pass on flex), up- and down-sampling, square and not;
    /// `resize_to` takes the products exactly when the input is tracked.
    #[test]
    fn matches_burns_bilinear_interpolation_and_its_gradient() {
        let device = Device::flex().autodiff();
        for (input, size) in [
            ([2, 3, 32, 32], [256, 256]),
            ([1, 2, 64, 48], [32, 40]),
            ([1, 1, 7, 5], [13, 1]),
        ] {
            let x = Tensor::<4>::random(input, Distribution::Normal(0.0, 1.0), &device);
            let probe = Tensor::<4>::random(
                [input[0], input[1], size[0], size[1]],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let a = x.clone().require_grad();
            let b = x.clone().require_grad();
            let ya = resize_to(a.clone(), size);
            let yb = bilinear(b.clone(), size);
            ya.to_data()
                .assert_approx_eq::<f32>(&yb.to_data(), Tolerance::absolute(1e-5));
            assert_eq!(
                ya.to_data(),
                separable(a.clone(), size).to_data(),
                "tracked: the products"
            );
            assert_eq!(
                resize_to(x.clone(), size).to_data(),
                bilinear(x.clone(), size).to_data(),
                "untracked: interpolate"
            );
            let ga = (ya * probe.clone()).sum().backward();
            let gb = (yb * probe).sum().backward();
            let (ga, gb) = (a.grad(&ga).unwrap(), b.grad(&gb).unwrap());
            assert!(ga.clone().abs().max().into_scalar::<f32>() > 0.1);
            ga.to_data()
                .assert_approx_eq::<f32>(&gb.to_data(), Tolerance::absolute(1e-4));
        }
    }
}
