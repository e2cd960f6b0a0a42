//! Bilinear resizing with `align_corners = true`, as everywhere in FFRNet.

use burn::prelude::*;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

/// Resizes `x` (N×C×H×W) to `size`; a no-op when it already has that size.
pub fn resize_to(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if [h, w] == size {
        return x;
    }
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(true)
            .with_output_size(size),
    )
}

/// The spatial size of an N×C×H×W tensor.
pub fn spatial(x: &Tensor<4>) -> [usize; 2] {
    let [_, _, h, w] = x.dims();
    [h, w]
}
