//! Sigmoid gates, fused (spec §4: every PeerFuse and Panorama step is one).
//!
//! FFRNet gates everything: `σ(g) ⊙ v`, `(1 − σ(g)) ⊙ v` and `x + (1 − σ(x)) ⊙ u`. Written
//! as separate tensor ops these are three to four passes with a scalar `exp` each, and on the
//! `flex` CPU backend they cost 28 % of a lite forward pass (BENCHMARKS.md). On `flex` inference
//! tensors they run as one pass (rayon-parallel, a vectorisable `exp`); everywhere else as the
//! same composition of burn ops: WebGPU / CUDA kernels and autodiff, so training keeps its exact
//! gradients (see [`super::kernels`]).

use burn::backend::Backend;
use burn::backend::tensor::FloatTensor;
use burn::prelude::*;

use super::kernels::InferenceKernels;

/// Which side of the gate passes: `σ(g)` ("on") or `1 − σ(g) = σ(−g)` ("off": the
/// "keep what is not yet known" gate used throughout FFRNet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    On,
    Off,
}

/// `σ(g) ⊙ v` or `(1 − σ(g)) ⊙ v`.
pub fn gated(gate: Tensor<4>, value: Tensor<4>, side: Gate) -> Tensor<4> {
    assert_eq!(gate.dims(), value.dims(), "gate and value shapes differ");
    Tensor::from_dispatch(<burn::backend::Dispatch as InferenceKernels>::gated(
        gate.into_dispatch(),
        value.into_dispatch(),
        side == Gate::Off,
    ))
}

/// `x + (1 − σ(x)) ⊙ update`: a residual update let through where `x` is not yet confident.
pub fn gated_residual(x: Tensor<4>, update: Tensor<4>) -> Tensor<4> {
    assert_eq!(x.dims(), update.dims(), "residual and update shapes differ");
    Tensor::from_dispatch(
        <burn::backend::Dispatch as InferenceKernels>::gated_residual(
            x.into_dispatch(),
            update.into_dispatch(),
        ),
    )
}

/// `σ(±g) ⊙ v` in burn ops; `off` negates `g`.
pub(crate) fn composed_gated<B: Backend>(
    gate: FloatTensor<B>,
    value: FloatTensor<B>,
    off: bool,
) -> FloatTensor<B> {
    let gate = if off { B::float_neg(gate) } else { gate };
    B::float_mul(B::sigmoid(gate), value)
}

/// `x + σ(−x) ⊙ update` in burn ops.
pub(crate) fn composed_gated_residual<B: Backend>(
    x: FloatTensor<B>,
    update: FloatTensor<B>,
) -> FloatTensor<B> {
    let off = B::sigmoid(B::float_neg(x.clone()));
    B::float_add(x, B::float_mul(off, update))
}

#[cfg(feature = "flex")]
pub(crate) mod flex {
    use super::{composed_gated, composed_gated_residual};
    use crate::model::kernels::plain_f32;
    use burn::backend::Flex;
    use burn::backend::flex::FlexTensor;
    use burn::tensor::TensorData;

    pub(crate) fn gated(gate: FlexTensor, value: FlexTensor, off: bool) -> FlexTensor {
        let sign = if off { -1.0 } else { 1.0 };
        fused(gate, value, move |g, v| super::sigmoid(sign * g) * v)
            .unwrap_or_else(|(g, v)| composed_gated::<Flex>(g, v, off))
    }

    pub(crate) fn gated_residual(x: FlexTensor, update: FlexTensor) -> FlexTensor {
        fused(x, update, |x, u| x + super::sigmoid(-x) * u)
            .unwrap_or_else(|(x, u)| composed_gated_residual::<Flex>(x, u))
    }

    /// `out[i] = f(a[i], b[i])` in one pass, written into `a`'s buffer when nothing else holds
    /// it. Tensors that are not plain contiguous f32 of one shape come back untouched.
    #[allow(clippy::result_large_err)]
    fn fused(
        mut a: FlexTensor,
        b: FlexTensor,
        f: impl Fn(f32, f32) -> f32 + Sync + Copy,
    ) -> Result<FlexTensor, (FlexTensor, FlexTensor)> {
        if !(plain_f32(&a) && plain_f32(&b) && a.layout().shape() == b.layout().shape()) {
            return Err((a, b));
        }
        let n = a.layout().shape().num_elements();
        let rhs = &b.storage::<f32>()[..n];
        if a.is_unique() {
            super::zip_apply(&mut a.storage_mut::<f32>()[..n], rhs, f);
            Ok(a)
        } else {
            let mut out = a.storage::<f32>()[..n].to_vec();
            super::zip_apply(&mut out, rhs, f);
            let shape = a.layout().shape().clone();
            Ok(FlexTensor::from_data(TensorData::new(out, shape)))
        }
    }
}

/// The logistic function with a branch-free `exp` that compilers vectorise (Cody–Waite range
/// reduction and a degree-6 polynomial: within 2 ulp of `expf` on the range that matters).
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_approx(-x))
}

#[inline(always)]
fn exp_approx(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 · 2^23: adding and subtracting it rounds to the nearest integer without a call.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = (p * r) * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(feature = "flex")]
fn zip_apply(out: &mut [f32], rhs: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Copy) {
    // Big enough that a task outweighs rayon's hand-off, small enough for two cores to share.
    const CHUNK: usize = 1 << 14;
    super::kernels::for_each_chunk(out, CHUNK, |i, o| {
        zip_serial(o, &rhs[i * CHUNK..][..o.len()], f)
    });
}

#[cfg(feature = "flex")]
fn zip_serial(out: &mut [f32], rhs: &[f32], f: impl Fn(f32, f32) -> f32 + Copy) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been checked for AVX2.
        unsafe { zip_avx2(out, rhs, f) };
        return;
    }
    zip_body(out, rhs, f);
}

/// The same loop compiled for 8-wide AVX2 (no FMA, so results equal the SSE2 build's).
#[cfg(all(feature = "flex", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn zip_avx2(out: &mut [f32], rhs: &[f32], f: impl Fn(f32, f32) -> f32 + Copy) {
    zip_body(out, rhs, f);
}

#[cfg(feature = "flex")]
#[inline(always)]
fn zip_body(out: &mut [f32], rhs: &[f32], f: impl Fn(f32, f32) -> f32 + Copy) {
    for (o, &r) in out.iter_mut().zip(rhs) {
        *o = f(*o, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_approx_is_within_a_few_ulp_of_std() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (exp_approx(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.0137;
        }
        assert!(worst < 4.0 * f32::EPSILON, "max relative error {worst}");
        let tiny = 1.0 / (1.0 + 88f32.exp());
        assert!((sigmoid(-1000.0) - tiny).abs() <= 4.0 * f32::EPSILON * tiny);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!(sigmoid(f32::NAN).is_nan());
    }
}
