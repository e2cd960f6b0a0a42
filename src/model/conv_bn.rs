//! Conv → BatchNorm (→ ReLU), the unit every FFRNet stage is built from.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::conv_gemm::conv2d;

/// A bias-free convolution followed by batch normalisation, optionally ReLU.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
    #[module(skip)]
    pub relu: bool,
    /// Set by [`ConvBn::fold`]: the BatchNorm lives in the conv's weights and bias.
    #[module(skip)]
    pub folded: bool,
}

/// Geometry of a [`ConvBn`]; padding is derived from kernel and dilation so the
/// spatial size only changes with the stride (`PaddingConfig2d::Same` ignores dilation).
#[derive(Debug, Clone, Copy)]
pub struct ConvSpec {
    pub cin: usize,
    pub cout: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub bias: bool,
}

impl ConvSpec {
    pub fn new(cin: usize, cout: usize, kernel: usize) -> Self {
        Self {
            cin,
            cout,
            kernel,
            stride: 1,
            dilation: 1,
            bias: false,
        }
    }
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = s;
        self
    }
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = d;
        self
    }
    pub fn bias(mut self, b: bool) -> Self {
        self.bias = b;
        self
    }
    pub fn conv(self, device: &Device) -> Conv2d {
        let pad = self.dilation * (self.kernel - 1) / 2;
        Conv2dConfig::new([self.cin, self.cout], [self.kernel, self.kernel])
            .with_stride([self.stride, self.stride])
            .with_dilation([self.dilation, self.dilation])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(self.bias)
            .init(device)
    }
    pub fn conv_bn(self, relu: bool, device: &Device) -> ConvBn {
        ConvBn {
            conv: self.conv(device),
            bn: BatchNormConfig::new(self.cout).init(device),
            relu,
            folded: false,
        }
    }
    pub fn conv_bn_relu(self, device: &Device) -> ConvBn {
        self.conv_bn(true, device)
    }
}

impl ConvBn {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = conv2d(&self.conv, x);
        let y = if self.folded { y } else { self.bn.forward(y) };
        if self.relu { relu(y) } else { y }
    }

    /// Folds the (inference-mode) BatchNorm into the convolution: w·γ/σ and β + (b − μ)·γ/σ with
    /// σ = √(var + ε). One pass over the activations instead of several; for inference only.
    pub fn fold(mut self) -> Self {
        if self.folded {
            return self;
        }
        let bn = &self.bn;
        let scale = bn.gamma.val() / bn.running_var.value().add_scalar(bn.epsilon).sqrt();
        let mean = bn.running_mean.value();
        let [cout, ..] = self.conv.weight.dims();
        let weight = self.conv.weight.val() * scale.clone().reshape([cout, 1, 1, 1]);
        let bias = match &self.conv.bias {
            Some(b) => b.val() - mean,
            None => mean.neg(),
        } * scale
            + bn.beta.val();
        self.conv.weight = Param::from_tensor(weight);
        self.conv.bias = Some(Param::from_tensor(bias));
        self.folded = true;
        self
    }
}

/// Spatial output size of a conv with "same"-style padding.
pub fn conv_out(size: usize, stride: usize) -> usize {
    size.div_ceil(stride)
}
