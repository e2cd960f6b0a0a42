//! Panorama: cross-level fusion of the four Autofocus outputs (spec §5, `XFuse`).
//!
//! Each level is refined by the others: a global 1×1 mix of all levels is paired with every
//! other level, gated per channel (squeeze-excitation without reduction), and added to the
//! level's own features through a (1 − σ) gate.
//! ```text
//! g  = Wg·[s1; s2; s3; s4]
//! ak = Wak·[g; sk],  wk = σ(Wek·GAP(ak))         k = 2, 3, 4
//! y  = s1 + (1 − σ(s1)) ⊙ Σk wk ⊙ ak
//! ```

use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use super::conv_bn::ConvSpec;
use super::conv_gemm::conv2d;
use super::gate::gated_residual;
use super::resize::{resize_to, spatial};

/// One cross-level fusion unit with a main input and `levels − 1` auxiliary inputs.
#[derive(Module, Debug)]
pub struct CrossFuse {
    pub global: Conv2d,
    pub mix: Vec<Conv2d>,
    pub excite: Vec<Conv2d>,
}

impl CrossFuse {
    pub fn new(channels: usize, levels: usize, device: &Device) -> Self {
        let c = channels;
        Self {
            global: ConvSpec::new(levels * c, c, 1).conv(device),
            mix: (1..levels)
                .map(|_| ConvSpec::new(2 * c, c, 1).conv(device))
                .collect(),
            excite: (1..levels)
                .map(|_| ConvSpec::new(c, c, 1).conv(device))
                .collect(),
        }
    }

    /// `main` and `aux` are already on the unit's grid.
    pub fn forward(&self, main: Tensor<4>, aux: Vec<Tensor<4>>) -> Tensor<4> {
        let mut all = vec![main.clone()];
        all.extend(aux.iter().cloned());
        let g = conv2d(&self.global, Tensor::cat(all, 1));
        let mut sum: Option<Tensor<4>> = None;
        for ((s, mix), excite) in aux.into_iter().zip(&self.mix).zip(&self.excite) {
            let a = conv2d(mix, Tensor::cat(vec![g.clone(), s], 1));
            let w = sigmoid(excite.forward(a.clone().mean_dim(2).mean_dim(3)));
            let term = a * w;
            sum = Some(match sum {
                Some(acc) => acc + term,
                None => term,
            });
        }
        let sum = sum.expect("at least one auxiliary level");
        gated_residual(main, sum)
    }
}

/// One [`CrossFuse`] per level; unit i refines level i from all the others (in level order),
/// on level i's own grid.
#[derive(Module, Debug)]
pub struct Panorama {
    pub units: Vec<CrossFuse>,
}

impl Panorama {
    pub fn new(channels: usize, levels: usize, device: &Device) -> Self {
        Self {
            units: (0..levels)
                .map(|_| CrossFuse::new(channels, levels, device))
                .collect(),
        }
    }

    pub fn forward(&self, levels: &[Tensor<4>]) -> Vec<Tensor<4>> {
        self.units
            .iter()
            .enumerate()
            .map(|(i, unit)| {
                let grid = spatial(&levels[i]);
                let aux = levels
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, a)| resize_to(a.clone(), grid))
                    .collect();
                unit.forward(levels[i].clone(), aux)
            })
            .collect()
    }
}
