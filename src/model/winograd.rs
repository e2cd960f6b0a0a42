//! Winograd F(2×2, 3×3) for `flex` inference: a 3×3, stride-1, "same" convolution (any
//! dilation) as 16 GEMMs with 2.25× fewer multiply-adds than im2col's one.
//!
//! The 3×3 convolutions carry most of FFRNet's FLOPs, and on CPU they are bound by the GEMM
//! (two thirds of the lite forward's time in `gemm`'s microkernel), so cutting its work is
//! the one change that moves the total much (Lavin & Gray, "Fast Algorithms for Convolutional
//! Neural Networks", CVPR 2016). F(2×2, 3×3) keeps float32 round-off at the im2col level; the
//! larger tiles (F(4×4, 3×3)) would not.
//!
//! A d-dilated 3×3 convolution is an ordinary one on each of the d × d interleaved sub-grids,
//! so a tile here covers the outputs {y, y+d} × {x, x+d} and reads the inputs y−d … y+2d: the
//! same transforms serve every dilation, and no im2col matrix (9× the input) is built.
//!
//! Layouts make each of the 16 GEMMs read and write three contiguous matrices: V[ξ][ci][tile]
//! (input), U[ξ][co][ci] (weights), M[ξ][co][tile] (products), with ξ = 4·i + j the 16 points
//! of a transformed tile; the transforms run one channel per rayon task.

#![cfg(feature = "flex")]

use std::cell::RefCell;

use super::kernels::{for_each_chunk, for_each_item, gemm_parallelism};

/// Both channel counts must reach this: below it the transforms cost what the GEMM saves
/// (one thread, 3×3 at 128²–256²: 16 channels no faster, 24 mixed, 32 and up 1.2–2× faster).
pub const MIN_CHANNELS: usize = 32;

/// The geometry of one image's convolution.
pub(crate) struct Winograd {
    pub cin: usize,
    pub cout: usize,
    pub h: usize,
    pub w: usize,
    pub dilation: usize,
}

impl Winograd {
    /// Whether a convolution is one this kernel computes: 3×3, stride 1, equal dilation d on
    /// both axes with padding d (so the output has the input's size), and wide enough to pay.
    pub fn applies(
        cin: usize,
        cout: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: [(usize, usize); 2],
    ) -> bool {
        let d = dilation[0];
        kernel == [3, 3]
            && stride == [1, 1]
            && dilation[1] == d
            && padding == [(d, d), (d, d)]
            && cin >= MIN_CHANNELS
            && cout >= MIN_CHANNELS
    }

    /// `out` (cout × h × w, NCHW, every element written) = conv(x, weight) + bias for one image.
    /// `u` is [`Winograd::weights`] of the convolution's weights.
    pub fn run(&self, x: &[f32], u: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
        let (oy, ox) = (
            origins(self.h, self.dilation),
            origins(self.w, self.dilation),
        );
        let tiles = oy.len() * ox.len();
        let (cin, cout) = (self.cin, self.cout);
        assert!(u.len() >= 16 * cout * cin);
        with_scratch([16 * cin * tiles, 16 * cout * tiles], |v, m| {
            self.input_transform(x, &oy, &ox, v);
            for xi in 0..16 {
                let (v, m) = (
                    &v[xi * cin * tiles..][..cin * tiles],
                    &mut m[xi * cout * tiles..][..cout * tiles],
                );
                let u = &u[xi * cout * cin..][..cout * cin];
                // SAFETY: the three slices are exactly [cin][tiles], [cout][tiles] and
                // [cout][cin] with unit row strides, which is what these strides read.
                unsafe {
                    gemm::gemm(
                        tiles,
                        cout,
                        cin,
                        m.as_mut_ptr(),
                        tiles as isize,
                        1,
                        false,
                        v.as_ptr(),
                        tiles as isize,
                        1,
                        u.as_ptr(),
                        cin as isize,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm_parallelism(),
                    );
                }
            }
            self.output_transform(m, bias, &oy, &ox, out);
        });
    }

    /// U = G g Gᵀ for every (co, ci) of weights `cout × cin × 3 × 3`, laid out U[ξ][co][ci].
    pub fn weights(weight: &[f32], cin: usize, cout: usize) -> Vec<f32> {
        let mut u = vec![0f32; 16 * cout * cin];
        for (pair, g) in weight.chunks_exact(9).take(cout * cin).enumerate() {
            // G g: rows g0, (g0+g1+g2)/2, (g0−g1+g2)/2, g2 over the kernel's rows.
            let mut gg = [[0f32; 3]; 4];
            for c in 0..3 {
                let (a, b, e) = (g[c], g[3 + c], g[6 + c]);
                gg[0][c] = a;
                gg[1][c] = 0.5 * (a + b + e);
                gg[2][c] = 0.5 * (a - b + e);
                gg[3][c] = e;
            }
            // (G g) Gᵀ: the same combination over the columns.
            for (i, [a, b, e]) in gg.into_iter().enumerate() {
                let row = [a, 0.5 * (a + b + e), 0.5 * (a - b + e), e];
                for (j, value) in row.into_iter().enumerate() {
                    u[(4 * i + j) * cout * cin + pair] = value;
                }
            }
        }
        u
    }

    /// V = Bᵀ d B for every channel and tile: the row half over whole image rows, the column
    /// half over a row of tiles, both as straight loops over slices the compiler vectorises.
    fn input_transform(&self, x: &[f32], oy: &[usize], ox: &[usize], v: &mut [f32]) {
        let (h, w, d, cin) = (self.h, self.w, self.dilation, self.cin);
        let (nx, tiles) = (ox.len(), oy.len() * ox.len());
        let zeros = vec![0f32; w];
        // Channel ci writes V[ξ][ci][..] for the 16 ξ: hand each channel its 16 rows.
        let mut channels: Vec<Vec<&mut [f32]>> = (0..cin).map(|_| Vec::with_capacity(16)).collect();
        for (r, row) in v[..16 * cin * tiles].chunks_mut(tiles).enumerate() {
            channels[r % cin].push(row);
        }
        for_each_item(&mut channels, |ci, vc| {
            let plane = &x[ci * h * w..][..h * w];
            // Bᵀ d over the tile's four input rows, for every column, with d zeros before and
            // 2d after so the column half never leaves the buffer.
            let mut t = [(); 4].map(|_| vec![0f32; w + 3 * d]);
            // One transformed row at the tile origins (E) and d to their right (O), with d zeros
            // on either side: the taps x0−d … x0+2d of every tile are then shifted slices.
            let (mut e, mut o) = (vec![0f32; nx + 2 * d], vec![0f32; nx + 2 * d]);
            for (ty, &y0) in oy.iter().enumerate() {
                let row = |i: usize| {
                    let y = (y0 + i * d).checked_sub(d).filter(|&y| y < h);
                    y.map_or(&zeros[..], |y| &plane[y * w..][..w])
                };
                let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                let [t0, t1, t2, t3] = &mut t;
                let (t0, t1, t2, t3) = (
                    &mut t0[d..d + w],
                    &mut t1[d..d + w],
                    &mut t2[d..d + w],
                    &mut t3[d..d + w],
                );
                for c in 0..w {
                    let (a, b, e, f) = (r0[c], r1[c], r2[c], r3[c]);
                    t0[c] = a - e;
                    t1[c] = b + e;
                    t2[c] = e - b;
                    t3[c] = b - f;
                }
                for (i, ti) in t.iter().enumerate() {
                    // Tile p's columns x0−d, x0, x0+d, x0+2d are O[p−d], E[p], O[p], E[p+d].
                    split_columns(&ti[d..], w, d, &mut e[d..d + nx], &mut o[d..d + nx]);
                    let [v0, v1, v2, v3] = &mut vc[4 * i..4 * i + 4] else {
                        unreachable!()
                    };
                    let at = ty * nx..ty * nx + nx;
                    let (v0, v1, v2, v3) = (
                        &mut v0[at.clone()],
                        &mut v1[at.clone()],
                        &mut v2[at.clone()],
                        &mut v3[at],
                    );
                    let (before, at, after) = (&o[..nx], &e[d..d + nx], &e[2 * d..2 * d + nx]);
                    let odd = &o[d..d + nx];
                    for p in 0..nx {
                        v0[p] = before[p] - odd[p];
                        v1[p] = at[p] + odd[p];
                        v2[p] = odd[p] - at[p];
                        v3[p] = at[p] - after[p];
                    }
                }
            }
        });
    }

    /// Y = Aᵀ M A + bias into the NCHW output: each tile's four outputs, those inside the image.
    fn output_transform(
        &self,
        m: &[f32],
        bias: Option<&[f32]>,
        oy: &[usize],
        ox: &[usize],
        out: &mut [f32],
    ) {
        let (h, w, d, cout) = (self.h, self.w, self.dilation, self.cout);
        let (nx, tiles) = (ox.len(), oy.len() * ox.len());
        for_each_chunk(&mut out[..cout * h * w], h * w, |co, plane| {
            let b = bias.map_or(0.0, |b| b[co]);
            // Aᵀ M (row r of a tile), then the columns, for a row of tiles: `left` and `right`
            // are the outputs (y0 + r·d, x0) and (y0 + r·d, x0 + d).
            let (mut left, mut right) = (vec![0f32; nx], vec![0f32; nx]);
            let mut s = [(); 4].map(|_| vec![0f32; nx]);
            for (ty, &y0) in oy.iter().enumerate() {
                for r in 0..2 {
                    for (j, sj) in s.iter_mut().enumerate() {
                        let at = |i: usize| &m[((4 * i + j) * cout + co) * tiles + ty * nx..][..nx];
                        let (m0, m1, m2, m3) = (at(0), at(1), at(2), at(3));
                        let sj = &mut sj[..nx];
                        if r == 0 {
                            for p in 0..nx {
                                sj[p] = m0[p] + m1[p] + m2[p];
                            }
                        } else {
                            for p in 0..nx {
                                sj[p] = m1[p] - m2[p] - m3[p];
                            }
                        }
                    }
                    let [s0, s1, s2, s3] = &s;
                    let (s0, s1, s2, s3) = (&s0[..nx], &s1[..nx], &s2[..nx], &s3[..nx]);
                    let (lc, rc) = (&mut left[..nx], &mut right[..nx]);
                    for p in 0..nx {
                        lc[p] = s0[p] + s1[p] + s2[p] + b;
                        rc[p] = s1[p] - s2[p] - s3[p] + b;
                    }
                    let yr = y0 + r * d;
                    if yr >= h {
                        continue;
                    }
                    let line = &mut plane[yr * w..][..w];
                    merge_columns(&left, &right, w, d, line);
                }
            }
        });
    }
}

thread_local! {
    /// V and M of the last call, kept: fresh buffers of tens of MB cost a page fault per 4 kB.
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// `f(v, m)` on two scratch buffers of at least these lengths (contents unspecified).
fn with_scratch<R>(lens: [usize; 2], f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    // Taken out, not borrowed: a rayon thread may re-enter while it waits on its tasks.
    let [mut v, mut m] = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    for (buf, &len) in [&mut v, &mut m].into_iter().zip(&lens) {
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
    }
    let r = f(&mut v[..lens[0]], &mut m[..lens[1]]);
    SCRATCH.with(|s| *s.borrow_mut() = [v, m]);
    r
}

/// `row[x0]` and `row[x0 + d]` for the tile origins x0 < w in order (`row` reaches w + 2d).
fn split_columns(row: &[f32], w: usize, d: usize, e: &mut [f32], o: &mut [f32]) {
    if d == 1 {
        for (p, (e, o)) in e.iter_mut().zip(o.iter_mut()).enumerate() {
            *e = row[2 * p];
            *o = row[2 * p + 1];
        }
        return;
    }
    // Origins come in runs of d (the even blocks of d columns), the last one possibly short.
    for (p0, start) in (0..w).step_by(2 * d).enumerate().map(|(b, x)| (b * d, x)) {
        let n = d.min(w - start);
        e[p0..p0 + n].copy_from_slice(&row[start..start + n]);
        o[p0..p0 + n].copy_from_slice(&row[start + d..start + d + n]);
    }
}

/// The inverse of [`split_columns`] into an output line: `line[x0] = left[p]` and
/// `line[x0 + d] = right[p]` where x0 + d < w.
fn merge_columns(left: &[f32], right: &[f32], w: usize, d: usize, line: &mut [f32]) {
    if d == 1 {
        for (pair, (&l, &r)) in line.chunks_mut(2).zip(left.iter().zip(right)) {
            pair[0] = l;
            if let Some(x) = pair.get_mut(1) {
                *x = r;
            }
        }
        return;
    }
    for (p0, start) in (0..w).step_by(2 * d).enumerate().map(|(b, x)| (b * d, x)) {
        let n = d.min(w - start);
        line[start..start + n].copy_from_slice(&left[p0..p0 + n]);
        if start + d < w {
            let m = d.min(w - start - d);
            line[start + d..start + d + m].copy_from_slice(&right[p0..p0 + m]);
        }
    }
}

/// Tile origins along an axis of `n` outputs: y with ⌊y/d⌋ even, each paired with y + d.
fn origins(n: usize, d: usize) -> Vec<usize> {
    (0..n).filter(|&y| (y / d).is_multiple_of(2)).collect()
}
