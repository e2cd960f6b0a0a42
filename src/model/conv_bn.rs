//! Conv → BatchNorm (→ ReLU), the unit every FFRNet stage is built from.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// A bias-free convolution followed by batch normalisation, optionally ReLU.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
    #[module(skip)]
    pub relu: bool,
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
        }
    }
    pub fn conv_bn_relu(self, device: &Device) -> ConvBn {
        self.conv_bn(true, device)
    }
}

impl ConvBn {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.bn.forward(self.conv.forward(x));
        if self.relu { relu(y) } else { y }
    }
}

/// Spatial output size of a conv with "same"-style padding.
pub fn conv_out(size: usize, stride: usize) -> usize {
    size.div_ceil(stride)
}
