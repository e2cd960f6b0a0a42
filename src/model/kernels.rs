//! FFRNet's CPU fast paths, as one burn backend extension.
//!
//! Each operation's default body is plain burn ops, which is what WebGPU, CUDA and autodiff
//! (training) run, so gradients and the GPU path are burn's own. Only `flex` overrides them, with
//! kernels that take plain contiguous f32 inference tensors and hand anything else back to
//! the default: the fused gates in [`super::gate`] and the GEMM convolution in
//! [`super::conv_gemm`].

use burn::backend::Backend;
use burn::backend::backend_extension;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::ops::ConvOptions;

use super::gate::{composed_gated, composed_gated_residual};

#[backend_extension(
    Flex: cfg(feature = "flex"),
    Cube: cfg(any(
        feature = "wgpu",
        feature = "vulkan",
        feature = "cuda",
        feature = "webgpu",
        target_arch = "wasm32"
    )),
    Autodiff
)]
pub trait InferenceKernels: Backend {
    /// `σ(±g) ⊙ v`; `off` negates `g`.
    fn gated(gate: FloatTensor<Self>, value: FloatTensor<Self>, off: bool) -> FloatTensor<Self> {
        composed_gated::<Self>(gate, value, off)
    }

    /// `x + σ(−x) ⊙ update`.
    fn gated_residual(x: FloatTensor<Self>, update: FloatTensor<Self>) -> FloatTensor<Self> {
        composed_gated_residual::<Self>(x, update)
    }

    /// `conv2d` without bias. (The extension macro takes no optional tensors, hence two.)
    fn conv2d_gemm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        <Self as ModuleOps<Self>>::conv2d(x, weight, None, options)
    }

    /// `conv2d` with bias.
    fn conv2d_gemm_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        <Self as ModuleOps<Self>>::conv2d(x, weight, Some(bias), options)
    }
}

#[cfg(any(
    feature = "wgpu",
    feature = "vulkan",
    feature = "cuda",
    feature = "webgpu",
    target_arch = "wasm32"
))]
impl InferenceKernels for burn::backend::Cube {}

impl<B: InferenceKernels, C: burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy>
    InferenceKernels for burn::backend::Autodiff<B, C>
{
}

#[cfg(feature = "flex")]
impl InferenceKernels for burn::backend::Flex {
    fn gated(gate: FloatTensor<Self>, value: FloatTensor<Self>, off: bool) -> FloatTensor<Self> {
        super::gate::flex::gated(gate, value, off)
    }

    fn gated_residual(x: FloatTensor<Self>, update: FloatTensor<Self>) -> FloatTensor<Self> {
        super::gate::flex::gated_residual(x, update)
    }

    fn conv2d_gemm(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        super::conv_gemm::flex::conv(x, weight, None, options)
    }

    fn conv2d_gemm_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        super::conv_gemm::flex::conv(x, weight, Some(bias), options)
    }
}

/// `f(i, chunk)` for every `len`-long chunk of `buf`: on rayon's threads natively, in order in
/// wasm (no threads there).
#[cfg(feature = "flex")]
pub(crate) fn for_each_chunk(
    buf: &mut [f32],
    len: usize,
    f: impl Fn(usize, &mut [f32]) + Sync + Send,
) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        buf.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, chunk)| f(i, chunk));
    }
    #[cfg(target_arch = "wasm32")]
    buf.chunks_mut(len)
        .enumerate()
        .for_each(|(i, chunk)| f(i, chunk));
}

/// `f(i, item)` for every item: on rayon's threads natively, in order in wasm.
#[cfg(feature = "flex")]
pub(crate) fn for_each_item<T: Send>(items: &mut [T], f: impl Fn(usize, &mut T) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        items.par_iter_mut().enumerate().for_each(|(i, t)| f(i, t));
    }
    #[cfg(target_arch = "wasm32")]
    items.iter_mut().enumerate().for_each(|(i, t)| f(i, t));
}

/// `gemm`'s threads: rayon's natively, none in wasm.
#[cfg(feature = "flex")]
pub(crate) fn gemm_parallelism() -> gemm::Parallelism {
    #[cfg(not(target_arch = "wasm32"))]
    return gemm::Parallelism::Rayon(0);
    #[cfg(target_arch = "wasm32")]
    return gemm::Parallelism::None;
}

/// A `flex` tensor the kernels can read as one f32 slice.
#[cfg(feature = "flex")]
pub(crate) fn plain_f32(t: &burn::backend::flex::FlexTensor) -> bool {
    t.dtype() == burn::tensor::DType::F32 && t.is_contiguous() && t.layout().start_offset() == 0
}
