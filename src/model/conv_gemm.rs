//! Convolution as one GEMM with the output positions as the long side, for `flex` inference.
//!
//! FFRNet's convolutions are wide in space and narrow in channels (C = 48 in lite; 32² or 64²
//! grids), and `flex` tiles them the other way round: 512-position tiles with the output channels
//! as the GEMM's rows, a transposed copy of the weights on every call, a serial NHWC copy of the
//! input. Here a 1×1 convolution reads the NCHW input in place and a k×k one builds one im2col
//! matrix (position-major, in row blocks that bound its memory) from contiguous row segments;
//! the weights are read in their stored layout and the output is written straight into NCHW,
//! bias included. Everywhere else (WebGPU, CUDA, autodiff, grouped convolutions) it is burn's
//! own `conv2d` (see [`super::kernels`]).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;

use super::kernels::InferenceKernels;

/// `conv.forward(x)`, through the fast path where one exists.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let PaddingConfig2d::Explicit(top, left, bottom, right) = conv.padding else {
        return conv.forward(x);
    };
    let options = ConvOptions::new_with_padding(
        conv.stride,
        [(top, bottom), (left, right)],
        conv.dilation,
        conv.groups,
    );
    let (x, weight) = (x.into_dispatch(), conv.weight.val().into_dispatch());
    Tensor::from_dispatch(match &conv.bias {
        Some(bias) => <burn::backend::Dispatch as InferenceKernels>::conv2d_gemm_bias(
            x,
            weight,
            bias.val().into_dispatch(),
            options,
        ),
        None => <burn::backend::Dispatch as InferenceKernels>::conv2d_gemm(x, weight, options),
    })
}

#[cfg(feature = "flex")]
pub(crate) mod flex {
    use crate::model::kernels::{for_each_chunk, gemm_parallelism, plain_f32};
    use crate::model::winograd::Winograd;
    use burn::backend::Flex;
    use burn::backend::flex::FlexTensor;
    use burn::backend::ops::ModuleOps;
    use burn::tensor::TensorData;
    use burn::tensor::ops::ConvOptions;

    /// im2col blocks stay under this many floats (16 MB).
    const COL_LIMIT: usize = 1 << 22;

    pub(crate) fn conv(
        x: FlexTensor,
        weight: FlexTensor,
        bias: Option<FlexTensor>,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let shape = |t: &FlexTensor| t.layout().shape().to_vec();
        let (xs, ws) = (shape(&x), shape(&weight));
        let usable = plain_f32(&x)
            && plain_f32(&weight)
            && bias.as_ref().is_none_or(plain_f32)
            && options.groups == 1
            && xs.len() == 4
            && ws.len() == 4
            && xs[1] == ws[1];
        if !usable {
            return <Flex as ModuleOps<Flex>>::conv2d(x, weight, bias, options);
        }
        let geometry = Geometry::new(
            [xs[0], xs[1], xs[2], xs[3]],
            [ws[0], ws[2], ws[3]],
            &options,
        );
        let bias = bias.as_ref().map(|b| &b.storage::<f32>()[..geometry.cout]);
        let out = geometry.run(x.storage::<f32>(), weight.storage::<f32>(), bias);
        FlexTensor::from_data(TensorData::new(
            out,
            [geometry.batch, geometry.cout, geometry.oh, geometry.ow],
        ))
    }

    struct Geometry {
        batch: usize,
        cin: usize,
        h: usize,
        w: usize,
        cout: usize,
        kh: usize,
        kw: usize,
        stride: [usize; 2],
        dilation: [usize; 2],
        pad: [usize; 2],
        oh: usize,
        ow: usize,
        /// 3×3, stride 1, "same" and wide: computed by [`Winograd`] instead of im2col.
        winograd: bool,
    }

    impl Geometry {
        fn new(x: [usize; 4], w: [usize; 3], o: &ConvOptions<2>) -> Self {
            let [batch, cin, h, wd] = x;
            let [cout, kh, kw] = w;
            let out = |size: usize, k: usize, d: usize| {
                let (begin, end) = o.padding[d];
                let span = o.dilation[d] * (k - 1) + 1;
                (size + begin + end).saturating_sub(span) / o.stride[d] + 1
            };
            Self {
                batch,
                cin,
                h,
                w: wd,
                cout,
                kh,
                kw,
                stride: o.stride,
                dilation: o.dilation,
                pad: o.padding_begin(),
                oh: out(h, kh, 0),
                ow: out(wd, kw, 1),
                winograd: Winograd::applies(cin, cout, [kh, kw], o.stride, o.dilation, o.padding),
            }
        }

        fn pointwise(&self) -> bool {
            self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.pad == [0, 0]
        }

        fn run(&self, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
            let positions = self.oh * self.ow;
            let k = self.cin * self.kh * self.kw;
            let mut out = vec![0f32; self.batch * self.cout * positions];
            if self.winograd {
                let winograd = Winograd::new(self.cin, self.cout, self.h, self.w, self.dilation[0]);
                let u = winograd.weights(weight);
                let (image, plane) = (self.cin * self.h * self.w, self.cout * positions);
                for (xb, ob) in x.chunks(image).zip(out.chunks_mut(plane)) {
                    winograd.run(xb, &u, bias, ob);
                }
                return out;
            }
            if let Some(bias) = bias {
                for (plane, &b) in out.chunks_mut(positions).zip(bias.iter().cycle()) {
                    plane.fill(b);
                }
            }
            let rows_per_block = (COL_LIMIT / (k * self.ow).max(1)).clamp(1, self.oh);
            let mut col = Vec::new();
            for b in 0..self.batch {
                let xb = &x[b * self.cin * self.h * self.w..][..self.cin * self.h * self.w];
                let ob = &mut out[b * self.cout * positions..][..self.cout * positions];
                if self.pointwise() {
                    // The NCHW input already is the [positions × cin] matrix, column-major.
                    gemm(
                        positions, self.cout, k, ob, positions, 0, xb, positions, weight,
                    );
                    continue;
                }
                for y0 in (0..self.oh).step_by(rows_per_block) {
                    let rows = rows_per_block.min(self.oh - y0);
                    let n = rows * self.ow;
                    // im2col writes every element, so the buffer is reused as it is.
                    col.resize(k * n, 0f32);
                    self.im2col(xb, y0, rows, &mut col[..k * n]);
                    gemm(
                        n,
                        self.cout,
                        k,
                        ob,
                        positions,
                        y0 * self.ow,
                        &col,
                        n,
                        weight,
                    );
                }
            }
            out
        }

        /// `col[(ci, ky, kx)][(y − y0, x)]` = the input pixel that tap sees, 0 in the padding; every
        /// element is written.
        fn im2col(&self, xb: &[f32], y0: usize, rows: usize, col: &mut [f32]) {
            let n = rows * self.ow;
            let fill = |r: usize, dst: &mut [f32]| {
                let ci = r / (self.kh * self.kw);
                let ky = (r / self.kw) % self.kh;
                let kx = r % self.kw;
                let plane = &xb[ci * self.h * self.w..][..self.h * self.w];
                let dx = (kx * self.dilation[1]) as isize - self.pad[1] as isize;
                for (i, line) in dst.chunks_mut(self.ow).enumerate() {
                    let iy = ((y0 + i) * self.stride[0] + ky * self.dilation[0]) as isize
                        - self.pad[0] as isize;
                    if iy < 0 || iy >= self.h as isize {
                        line.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * self.w..][..self.w];
                    // Output columns whose input column lies inside the image.
                    let s = self.stride[1] as isize;
                    let first = if dx >= 0 { 0 } else { ((-dx) + s - 1) / s };
                    let last = ((self.w as isize - 1 - dx).div_euclid(s) + 1).min(self.ow as isize);
                    if first >= last {
                        line.fill(0.0);
                        continue;
                    }
                    let (first, last) = (first as usize, last as usize);
                    line[..first].fill(0.0);
                    line[last..].fill(0.0);
                    let start = (first as isize * s + dx) as usize;
                    if s == 1 {
                        line[first..last].copy_from_slice(&src[start..start + last - first]);
                    } else {
                        for (j, v) in line[first..last].iter_mut().enumerate() {
                            *v = src[start + j * self.stride[1]];
                        }
                    }
                }
            };
            for_each_chunk(col, n, fill);
        }
    }

    /// `out[co][offset + p] += Σ_k lhs[k][p] · weight[co][k]` for p < m, co < n: the positions
    /// are the GEMM's long side; every operand is read in its stored layout.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        n: usize,
        k: usize,
        out: &mut [f32],
        out_plane: usize,
        offset: usize,
        lhs: &[f32],
        lhs_plane: usize,
        weight: &[f32],
    ) {
        assert!(offset + m <= out_plane && out.len() >= n * out_plane);
        assert!(lhs.len() >= (k - 1) * lhs_plane + m && weight.len() >= n * k);
        // SAFETY: the asserts above keep every index the strides reach inside the slices.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr().add(offset),
                out_plane as isize,
                1,
                true,
                lhs.as_ptr(),
                lhs_plane as isize,
                1,
                weight.as_ptr(),
                k as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm_parallelism(),
            );
        }
    }
}
