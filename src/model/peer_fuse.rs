//! Gated sequential "peer-level" fusion inside Autofocus (spec §4, `PeerFuse`).
//!
//! A ConvLSTM-like recurrence over the branch outputs: each step adds a gated summary of
//! what came before, so the last input sees the context of all its peers.
//! With inputs x1…xn (n ≥ 2), σ the sigmoid and [a; b] channel concatenation:
//! ```text
//! h1 = x1;   m1 = (1 − σ(Wm1·h1)) ⊙ h1
//! hk = xk + (1 − σ(xk)) ⊙ Wfk·[m(k−1); h(k−1)]
//! mk = (1 − σ(Wmk·hk)) ⊙ hk + σ(Wc(k−1)·m(k−1)) ⊙ m(k−1)      (k < n)
//! y  = hn
//! ```

use burn::nn::conv::Conv2d;
use burn::prelude::*;

use super::conv_bn::ConvSpec;
use super::conv_gemm::conv2d;
use super::gate::{Gate, gated, gated_residual};

#[derive(Module, Debug)]
pub struct PeerFuse {
    /// Memory gates Wm1…Wm(n−1), C→C.
    pub memory: Vec<Conv2d>,
    /// Fusion projections Wf2…Wfn, 2C→C.
    pub fuse: Vec<Conv2d>,
    /// Memory carry gates Wc1…Wc(n−2), C→C.
    pub carry: Vec<Conv2d>,
}

impl PeerFuse {
    pub fn new(channels: usize, inputs: usize, device: &Device) -> Self {
        assert!(inputs >= 2, "PeerFuse needs at least two inputs");
        let c = channels;
        let conv = |cin| ConvSpec::new(cin, c, 1).conv(device);
        Self {
            memory: (0..inputs - 1).map(|_| conv(c)).collect(),
            fuse: (0..inputs - 1).map(|_| conv(2 * c)).collect(),
            carry: (0..inputs - 2).map(|_| conv(c)).collect(),
        }
    }

    pub fn forward(&self, xs: Vec<Tensor<4>>) -> Tensor<4> {
        let n = xs.len();
        assert_eq!(
            n,
            self.fuse.len() + 1,
            "PeerFuse built for {} inputs, got {n}",
            self.fuse.len() + 1
        );
        let mut xs = xs.into_iter();
        let mut h = xs.next().expect("at least two inputs");
        let mut m = gated(conv2d(&self.memory[0], h.clone()), h.clone(), Gate::Off);
        for (k, x) in xs.enumerate() {
            let fused = conv2d(&self.fuse[k], Tensor::cat(vec![m.clone(), h], 1));
            h = gated_residual(x, fused);
            if k + 2 < n {
                m = gated(conv2d(&self.memory[k + 1], h.clone()), h.clone(), Gate::Off)
                    + gated(conv2d(&self.carry[k], m.clone()), m, Gate::On);
            }
        }
        h
    }
}
