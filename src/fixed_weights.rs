//! Deterministic, RNG-free weights for a network: the same values natively and in wasm, so a
//! browser test can compare WebGPU against a reference computed natively without shipping a
//! trained model.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;

struct Fixed {
    tensor: usize,
}

impl ModuleMapper for Fixed {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.shape();
        let dims = shape.dims::<D>();
        let n: usize = dims.iter().product();
        // Fan-in scaling keeps activations in range through the deep backbone.
        let fan_in: usize = if D >= 2 {
            dims[1..].iter().product()
        } else {
            1
        };
        let scale = 1.7 / (fan_in as f32).sqrt();
        let t = self.tensor as f32;
        self.tensor += 1;
        let wave = |i: usize| (i as f32 * 0.618_034 + t * 1.3).sin();
        // Vectors (BN scale, shift and running statistics, biases) stay in [0.5, 1] so running
        // variances are positive.
        let values: Vec<f32> = (0..n)
            .map(|i| {
                if D >= 2 {
                    scale * wave(i)
                } else {
                    0.75 + 0.25 * wave(i)
                }
            })
            .collect();
        let device = tensor.device();
        let fixed = Tensor::<1>::from_floats(values.as_slice(), &device).reshape(dims);
        Param::from_mapped_value(id, fixed, mapper)
    }
}

/// Replaces every float parameter (and running statistic) with fixed values.
pub fn fixed_weights<M: Module>(module: M) -> M {
    module.map(&mut Fixed { tensor: 0 })
}
