//! Winograd convolution for `flex` inference: a 3×3, stride-1, "same" convolution (any
//! dilation) as a batch of small GEMMs, F(4×4, 3×3) (36 GEMMs, 4× fewer multiply-adds than
//! im2col) or F(2×2, 3×3) (16 GEMMs, 2.25× fewer), whichever covers the image with less work.
//!
//! The 3×3 convolutions carry most of FFRNet's FLOPs, and on CPU they are bound by the GEMM
//! (half the lite forward's time in `gemm`'s microkernel), so cutting its work is the change
//! that moves the total most (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
//! CVPR 2016). F(4×4)'s transforms (points 0, ±1, ±2) amplify float32 round-off by about an
//! order of magnitude over im2col: still ~1e-6 of the output's range per layer (the tests hold it
//! to 1e-5 and the whole network to PyTorch within 1e-4).
//!
//! A d-dilated 3×3 convolution is an ordinary one on each of the d × d interleaved sub-grids,
//! so a tile of m × m outputs covers {y, y+d, …, y+(m−1)d} × {x, …} and reads the inputs
//! y−d … y+m·d: the same transforms serve every dilation, and no im2col matrix (9× the input) is
//! built. The price is tiles that hang over the edge when the dilation is large against the
//! image (FFRNet's 24-dilated context branch on a 32² feature map), which is where the smaller
//! tile wins.
//!
//! Layouts: V[ξ][ci][tile] (input), U[co][ξ][ci] (weights: each GEMM reads its [co][ci]
//! matrix at a row stride, so the weight transform writes one contiguous block per output
//! channel), M[ξ][co][tile] (products), with ξ = side·i + j the points of a transformed tile;
//! the transforms run one channel per rayon task, the GEMMs one per task.

#![cfg(feature = "flex")]

use std::cell::RefCell;

use super::kernels::{for_each_chunk, for_each_item};

/// Both channel counts must reach this: below it the transforms cost what the GEMM saves
/// (one thread, 3×3 at 128²–256²: 16 channels no faster, 24 mixed, 32 and up 1.2–2× faster).
pub const MIN_CHANNELS: usize = 32;

/// Outputs per tile side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tile {
    /// F(2×2, 3×3): 4 × 4 transformed tiles.
    F2,
    /// F(4×4, 3×3): 6 × 6 transformed tiles.
    F4,
}

impl Tile {
    fn m(self) -> usize {
        match self {
            Tile::F2 => 2,
            Tile::F4 => 4,
        }
    }
    fn side(self) -> usize {
        self.m() + 2
    }
    fn points(self) -> usize {
        self.side() * self.side()
    }
}

/// The geometry of one image's convolution.
pub(crate) struct Winograd {
    pub cin: usize,
    pub cout: usize,
    pub h: usize,
    pub w: usize,
    pub dilation: usize,
    pub tile: Tile,
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

    /// The convolution with the tile that needs fewer GEMM multiply-adds for this image
    /// (F(4×4) only where it saves at least a fifth: its transforms cost more per point).
    pub fn new(cin: usize, cout: usize, h: usize, w: usize, dilation: usize) -> Self {
        let work = |t: Tile| {
            let n = |len| origins(len, dilation, t.m()).len();
            n(h) * n(w) * t.points()
        };
        let tile = if 5 * work(Tile::F4) <= 4 * work(Tile::F2) {
            Tile::F4
        } else {
            Tile::F2
        };
        Self {
            cin,
            cout,
            h,
            w,
            dilation,
            tile,
        }
    }

    /// `out` (cout × h × w, NCHW, every element written) = conv(x, weight) + bias for one image.
    /// `u` is [`Winograd::weights`] of the convolution's weights.
    pub fn run(&self, x: &[f32], u: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
        let m = self.tile.m();
        let (oy, ox) = (
            origins(self.h, self.dilation, m),
            origins(self.w, self.dilation, m),
        );
        let tiles = oy.len() * ox.len();
        let (cin, cout, points) = (self.cin, self.cout, self.tile.points());
        assert!(u.len() >= cout * points * cin);
        with_scratch([points * cin * tiles, points * cout * tiles], |v, mm| {
            self.input_transform(x, &oy, &ox, v);
            // The products are independent and small (tiles = h·w/m²): one single-threaded
            // GEMM per rayon task beats splitting each over the threads.
            for_each_chunk(&mut mm[..points * cout * tiles], cout * tiles, |xi, mx| {
                let v = &v[xi * cin * tiles..][..cin * tiles];
                // U[co][ξ][ci]: this point's [cout][cin] matrix has row stride points·cin.
                let u = &u[xi * cin..][..(cout - 1) * points * cin + cin];
                // SAFETY: v and mx are exactly [cin][tiles] and [cout][tiles] with unit row
                // strides, and u holds [cout][cin] at row stride points·cin, which is what
                // these strides read.
                unsafe {
                    gemm::gemm(
                        tiles,
                        cout,
                        cin,
                        mx.as_mut_ptr(),
                        tiles as isize,
                        1,
                        false,
                        v.as_ptr(),
                        tiles as isize,
                        1,
                        u.as_ptr(),
                        (points * cin) as isize,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            });
            self.output_transform(mm, bias, &oy, &ox, out);
        });
    }

    /// U = G g Gᵀ for every (co, ci) of weights `cout × cin × 3 × 3`, laid out U[co][ξ][ci] so
    /// each output channel is one contiguous block (one rayon task). Computed separably (G g,
    /// then · Gᵀ) over [`WEIGHT_LANES`] input channels at a time, so every step is a short
    /// vector operation and each weight is read once. (Nine coefficients per point, one pass
    /// over all weights per point, was a tenth of the `paper` forward pass: its scalar gathers
    /// and 36 passes over ~10 MB of layer-4 weights.)
    pub fn weights(&self, weight: &[f32]) -> Vec<f32> {
        let (cin, points) = (self.cin, self.tile.points());
        assert!(weight.len() >= self.cout * cin * 9);
        let mut u = vec![0f32; self.cout * points * cin];
        for_each_chunk(&mut u, points * cin, |co, uc| {
            weight_points(self.tile, &weight[co * cin * 9..][..cin * 9], uc);
        });
        u
    }

    /// V = Bᵀ d B for every channel and tile: the row half over whole image rows, the column
    /// half over a row of tiles (after de-interleaving the row into its phases), both through
    /// [`input_points`].
    fn input_transform(&self, x: &[f32], oy: &[usize], ox: &[usize], v: &mut [f32]) {
        let (h, w, d, cin) = (self.h, self.w, self.dilation, self.cin);
        let (m, side, points) = (self.tile.m(), self.tile.side(), self.tile.points());
        let (nx, tiles) = (ox.len(), oy.len() * ox.len());
        let zeros = vec![0f32; w];
        // Channel ci writes V[ξ][ci][..] for every ξ: hand each channel its rows.
        let mut channels: Vec<Vec<&mut [f32]>> =
            (0..cin).map(|_| Vec::with_capacity(points)).collect();
        for (r, row) in v[..points * cin * tiles].chunks_mut(tiles).enumerate() {
            channels[r % cin].push(row);
        }
        for_each_item(&mut channels, |ci, vc| {
            let plane = &x[ci * h * w..][..h * w];
            // Bᵀ d over the tile's input rows, for every column, with d zeros before and
            // (m + 1)·d after so the column half never leaves the buffer.
            let mut t: Vec<Vec<f32>> = (0..side).map(|_| vec![0f32; w + (m + 2) * d]).collect();
            // Phase q of a transformed row: its columns x0 + q·d at the tile origins x0, with d
            // zeros on either side, so the taps x0−d … x0+m·d of every tile are shifted slices.
            let mut phase: Vec<Vec<f32>> = (0..m).map(|_| vec![0f32; nx + 2 * d]).collect();
            for (ty, &y0) in oy.iter().enumerate() {
                let rows: [&[f32]; 6] = std::array::from_fn(|k| {
                    let y = (y0 + k * d).checked_sub(d).filter(|&y| y < h);
                    y.map_or(&zeros[..], |y| &plane[y * w..][..w])
                });
                let mut t_rows = t.iter_mut();
                let mut dst: [&mut [f32]; 6] = std::array::from_fn(|_| {
                    t_rows.next().map_or(&mut [][..], |r| &mut r[d..d + w])
                });
                input_points(self.tile, &rows[..side], &mut dst[..side]);
                for (i, ti) in t.iter().enumerate() {
                    split_phases(&ti[d..], w, d, &mut phase);
                    // Tile p's columns x0−d, x0, …, x0+m·d: the last phase of the tile before
                    // (p − d in origin order), every phase of its own, phase 0 of the tile after.
                    let taps: [&[f32]; 6] = std::array::from_fn(|k| match k {
                        0 => &phase[m - 1][..nx],
                        k if k <= m => &phase[k - 1][d..d + nx],
                        _ => &phase[0][2 * d..2 * d + nx],
                    });
                    let at = ty * nx..ty * nx + nx;
                    let mut v_rows = vc[side * i..side * (i + 1)].iter_mut();
                    let mut dst: [&mut [f32]; 6] = std::array::from_fn(|_| {
                        v_rows.next().map_or(&mut [][..], |r| &mut r[at.clone()])
                    });
                    input_points(self.tile, &taps[..side], &mut dst[..side]);
                }
            }
        });
    }

    /// Y = Aᵀ M A + bias into the NCHW output: each tile's outputs, those inside the image.
    fn output_transform(
        &self,
        mm: &[f32],
        bias: Option<&[f32]>,
        oy: &[usize],
        ox: &[usize],
        out: &mut [f32],
    ) {
        let (h, w, d, cout) = (self.h, self.w, self.dilation, self.cout);
        let (m, side) = (self.tile.m(), self.tile.side());
        let (nx, tiles) = (ox.len(), oy.len() * ox.len());
        // Tile rows per pass: about a thousand tiles, so a pass's rows of Aᵀ M stay in cache.
        let band = (1024 / nx.max(1)).clamp(1, oy.len().max(1));
        for_each_chunk(&mut out[..cout * h * w], h * w, |co, plane| {
            let b = bias.map_or(0.0, |b| b[co]);
            with_rows((m * side + m) * band * nx, |buf| {
                for ty0 in (0..oy.len()).step_by(band) {
                    let rows = band.min(oy.len() - ty0);
                    let n = rows * nx;
                    let (s, cols) = buf.split_at_mut(m * side * band * nx);
                    // s[r·side + j]: row r of Aᵀ M in column j, for every tile of the band.
                    for j in 0..side {
                        let src: [&[f32]; 6] = std::array::from_fn(|i| {
                            let i = i.min(side - 1);
                            &mm[((side * i + j) * cout + co) * tiles + ty0 * nx..][..n]
                        });
                        let mut s_rows = s.chunks_mut(band * nx).skip(j).step_by(side);
                        let mut dst: [&mut [f32]; 4] = std::array::from_fn(|_| {
                            s_rows.next().map_or(&mut [][..], |r| &mut r[..n])
                        });
                        output_points(self.tile, &src[..side], &mut dst[..m], 0.0);
                    }
                    // Then the columns of each row r: output line y0 + r·d, phases x0 + q·d.
                    for r in 0..m {
                        let src: [&[f32]; 6] = std::array::from_fn(|j| {
                            &s[(r * side + j.min(side - 1)) * band * nx..][..n]
                        });
                        let mut c_rows = cols.chunks_mut(band * nx);
                        let mut dst: [&mut [f32]; 4] = std::array::from_fn(|_| {
                            c_rows.next().map_or(&mut [][..], |c| &mut c[..n])
                        });
                        output_points(self.tile, &src[..side], &mut dst[..m], b);
                        for (t, &y0) in oy[ty0..ty0 + rows].iter().enumerate() {
                            let yr = y0 + r * d;
                            if yr >= h {
                                continue;
                            }
                            let line: [&[f32]; 4] = std::array::from_fn(|q| {
                                &cols[q.min(m - 1) * band * nx + t * nx..][..nx]
                            });
                            merge_phases(&line[..m], w, d, &mut plane[yr * w..][..w]);
                        }
                    }
                }
            });
        });
    }
}

/// `dst[i][p] = Σ_k Bᵀ[i][k] · src[k][p]`: one tile axis of the input transform, for a run of
/// tiles (or columns) at once.
fn input_points(tile: Tile, src: &[&[f32]], dst: &mut [&mut [f32]]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been checked for AVX2.
        return unsafe { input_points_avx2(tile, src, dst) };
    }
    input_points_body(tile, src, dst)
}

/// The same code compiled for 8-wide AVX2 (no FMA, so results equal the SSE2 and wasm builds').
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn input_points_avx2(tile: Tile, src: &[&[f32]], dst: &mut [&mut [f32]]) {
    input_points_body(tile, src, dst)
}

#[inline(always)]
fn input_points_body(tile: Tile, src: &[&[f32]], dst: &mut [&mut [f32]]) {
    match (tile, src, dst) {
        (Tile::F2, &[a0, a1, a2, a3], [v0, v1, v2, v3]) => lanes(
            [a0, a1, a2, a3],
            [&mut **v0, &mut **v1, &mut **v2, &mut **v3],
            |[a0, a1, a2, a3]| [a0 - a2, a1 + a2, a2 - a1, a1 - a3],
        ),
        (Tile::F4, &[a0, a1, a2, a3, a4, a5], [v0, v1, v2, v3, v4, v5]) => lanes(
            [a0, a1, a2, a3, a4, a5],
            [
                &mut **v0, &mut **v1, &mut **v2, &mut **v3, &mut **v4, &mut **v5,
            ],
            |[a0, a1, a2, a3, a4, a5]| {
                [
                    4.0 * a0 - 5.0 * a2 + a4,
                    a3 + a4 - 4.0 * (a1 + a2),
                    4.0 * (a1 - a2) + a4 - a3,
                    2.0 * (a3 - a1) + a4 - a2,
                    2.0 * (a1 - a3) + a4 - a2,
                    4.0 * a1 - 5.0 * a3 + a5,
                ]
            },
        ),
        _ => unreachable!("a tile's transform has side + side slices"),
    }
}

/// Input channels per step of [`weight_points`].
const WEIGHT_LANES: usize = 16;

/// U[ξ][ci] = (G g_ci Gᵀ)[ξ] for one output channel's weights `g` (cin × 3 × 3) into `u`
/// (points × cin).
fn weight_points(tile: Tile, g: &[f32], u: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been checked for AVX2.
        return unsafe { weight_points_avx2(tile, g, u) };
    }
    weight_points_body(tile, g, u)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn weight_points_avx2(tile: Tile, g: &[f32], u: &mut [f32]) {
    weight_points_body(tile, g, u)
}

#[inline(always)]
fn weight_points_body(tile: Tile, g: &[f32], u: &mut [f32]) {
    const F2: [[f32; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    const F4: [[f32; 3]; 6] = [
        [0.25, 0.0, 0.0],
        [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
        [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
        [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
        [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
        [0.0, 0.0, 1.0],
    ];
    let gm: &[[f32; 3]] = match tile {
        Tile::F2 => &F2,
        Tile::F4 => &F4,
    };
    let side = gm.len();
    let cin = g.len() / 9;
    const L: usize = WEIGHT_LANES;
    for c0 in (0..cin).step_by(L) {
        let n = L.min(cin - c0);
        // taps[a][b][l]: tap (a, b) of input channel c0 + l.
        let mut taps = [[[0f32; L]; 3]; 3];
        for (l, gc) in g[c0 * 9..(c0 + n) * 9].chunks_exact(9).enumerate() {
            for (k, &v) in gc.iter().enumerate() {
                taps[k / 3][k % 3][l] = v;
            }
        }
        for (i, gi) in gm.iter().enumerate() {
            // (G g)[i][b] = Σ_a G[i][a] g[a][b]
            let mut t = [[0f32; L]; 3];
            for (b, tb) in t.iter_mut().enumerate() {
                for l in 0..L {
                    tb[l] = gi[0] * taps[0][b][l] + gi[1] * taps[1][b][l] + gi[2] * taps[2][b][l];
                }
            }
            // U[i][j] = Σ_b (G g)[i][b] G[j][b]
            for (j, gj) in gm.iter().enumerate() {
                let mut acc = [0f32; L];
                for (l, a) in acc.iter_mut().enumerate() {
                    *a = t[0][l] * gj[0] + t[1][l] * gj[1] + t[2][l] * gj[2];
                }
                u[(i * side + j) * cin + c0..][..n].copy_from_slice(&acc[..n]);
            }
        }
    }
}

/// `dst[r][p] = Σ_i Aᵀ[r][i] · src[i][p] + bias`: one tile axis of the output transform.
fn output_points(tile: Tile, src: &[&[f32]], dst: &mut [&mut [f32]], bias: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been checked for AVX2.
        return unsafe { output_points_avx2(tile, src, dst, bias) };
    }
    output_points_body(tile, src, dst, bias)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn output_points_avx2(tile: Tile, src: &[&[f32]], dst: &mut [&mut [f32]], bias: f32) {
    output_points_body(tile, src, dst, bias)
}

#[inline(always)]
fn output_points_body(tile: Tile, src: &[&[f32]], dst: &mut [&mut [f32]], b: f32) {
    match (tile, src, dst) {
        (Tile::F2, &[m0, m1, m2, m3], [y0, y1]) => lanes(
            [m0, m1, m2, m3],
            [&mut **y0, &mut **y1],
            |[m0, m1, m2, m3]| [m0 + m1 + m2 + b, m1 - m2 - m3 + b],
        ),
        (Tile::F4, &[m0, m1, m2, m3, m4, m5], [y0, y1, y2, y3]) => lanes(
            [m0, m1, m2, m3, m4, m5],
            [&mut **y0, &mut **y1, &mut **y2, &mut **y3],
            |[m0, m1, m2, m3, m4, m5]| {
                let (even, odd) = (m1 + m2, m1 - m2);
                let (even2, odd2) = (m3 + m4, m3 - m4);
                [
                    m0 + even + even2 + b,
                    odd + 2.0 * odd2 + b,
                    even + 4.0 * even2 + b,
                    odd + 8.0 * odd2 + m5 + b,
                ]
            },
        ),
        _ => unreachable!("a tile's transform has side slices in and m out"),
    }
}

/// `dst[o][p] = f(src[0][p], …, src[I−1][p])[o]` for every p < `dst[0].len()`, in blocks of
/// eight held in local arrays: the slices never alias, but the compiler cannot know that across
/// a dozen of them, and the blocks let it keep the arithmetic in vector registers anyway.
#[inline(always)]
fn lanes<const I: usize, const O: usize>(
    src: [&[f32]; I],
    dst: [&mut [f32]; O],
    f: impl Fn([f32; I]) -> [f32; O],
) {
    const L: usize = 8;
    let n = dst[0].len();
    let src = src.map(|s| &s[..n]);
    let dst = dst.map(|d| &mut d[..n]);
    let blocks = n / L;
    for blk in 0..blocks {
        let at = blk * L;
        let x: [[f32; L]; I] =
            std::array::from_fn(|i| src[i][at..at + L].try_into().expect("L values"));
        let mut y = [[0f32; L]; O];
        for k in 0..L {
            let r = f(std::array::from_fn(|i| x[i][k]));
            for o in 0..O {
                y[o][k] = r[o];
            }
        }
        for o in 0..O {
            dst[o][at..at + L].copy_from_slice(&y[o]);
        }
    }
    for p in blocks * L..n {
        let r = f(std::array::from_fn(|i| src[i][p]));
        for o in 0..O {
            dst[o][p] = r[o];
        }
    }
}

thread_local! {
    /// V and M of the last call, kept: fresh buffers of tens of MB cost a page fault per 4 kB.
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

thread_local! {
    /// The output transform's per-task rows, kept for the same reason.
    static ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `f(buf)` on a per-thread buffer of at least `len` values (contents unspecified).
fn with_rows<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = ROWS.with(|s| std::mem::take(&mut *s.borrow_mut()));
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let r = f(&mut buf[..len]);
    ROWS.with(|s| *s.borrow_mut() = buf);
    r
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

/// `phase[q][d + p] = row[x0 + q·d]` for the tile origins x0 < w in order, m = `phase.len()`
/// phases (`row` reaches w + (m + 1)·d); the d entries either side are left as they are (zero).
fn split_phases(row: &[f32], w: usize, d: usize, phase: &mut [Vec<f32>]) {
    let m = phase.len();
    if d == 1 {
        let nx = w.div_ceil(m);
        match phase {
            [f0, f1] => {
                let (f0, f1) = (&mut f0[1..1 + nx], &mut f1[1..1 + nx]);
                for (p, c) in row[..2 * nx].chunks_exact(2).enumerate() {
                    f0[p] = c[0];
                    f1[p] = c[1];
                }
            }
            [f0, f1, f2, f3] => {
                let (f0, f1, f2, f3) = (
                    &mut f0[1..1 + nx],
                    &mut f1[1..1 + nx],
                    &mut f2[1..1 + nx],
                    &mut f3[1..1 + nx],
                );
                for (p, c) in row[..4 * nx].chunks_exact(4).enumerate() {
                    f0[p] = c[0];
                    f1[p] = c[1];
                    f2[p] = c[2];
                    f3[p] = c[3];
                }
            }
            _ => unreachable!("tiles of 2 or 4"),
        }
        return;
    }
    // Origins come in runs of d (the first d columns of every m·d), the last run possibly short.
    for (p0, start) in (0..w).step_by(m * d).enumerate().map(|(b, x)| (b * d, x)) {
        let n = d.min(w - start);
        for (q, f) in phase.iter_mut().enumerate() {
            f[d + p0..d + p0 + n].copy_from_slice(&row[start + q * d..][..n]);
        }
    }
}

/// The inverse of [`split_phases`] into an output line: `line[x0 + q·d] = cols[q][p]` where
/// that is inside the line.
fn merge_phases(cols: &[&[f32]], w: usize, d: usize, line: &mut [f32]) {
    let m = cols.len();
    if d == 1 {
        let full = w / m;
        match cols {
            [c0, c1] => {
                for (p, out) in line[..2 * full].chunks_exact_mut(2).enumerate() {
                    out[0] = c0[p];
                    out[1] = c1[p];
                }
            }
            [c0, c1, c2, c3] => {
                for (p, out) in line[..4 * full].chunks_exact_mut(4).enumerate() {
                    out[0] = c0[p];
                    out[1] = c1[p];
                    out[2] = c2[p];
                    out[3] = c3[p];
                }
            }
            _ => unreachable!("tiles of 2 or 4"),
        }
        for (q, x) in line[m * full..].iter_mut().enumerate() {
            *x = cols[q][full];
        }
        return;
    }
    for (p0, start) in (0..w).step_by(m * d).enumerate().map(|(b, x)| (b * d, x)) {
        for (q, c) in cols.iter().enumerate() {
            let at = start + q * d;
            if at >= w {
                break;
            }
            let n = d.min(w - at);
            line[at..at + n].copy_from_slice(&c[p0..p0 + n]);
        }
    }
}

/// Tile origins along an axis of `n` outputs for tiles of m: y with ⌊y/d⌋ a multiple of m,
/// each covering y, y + d, …, y + (m − 1)·d.
fn origins(n: usize, d: usize, m: usize) -> Vec<usize> {
    (0..n).filter(|&y| (y / d).is_multiple_of(m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct 3×3 "same" convolution with dilation d, in f64.
    fn direct(
        x: &[f32],
        g: &[f32],
        bias: &[f32],
        [cin, cout, h, w]: [usize; 4],
        d: usize,
    ) -> Vec<f64> {
        let mut out = vec![0f64; cout * h * w];
        for co in 0..cout {
            for y in 0..h {
                for xx in 0..w {
                    let mut acc = bias[co] as f64;
                    for ci in 0..cin {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (iy, ix) = (
                                    (y + ky * d) as isize - d as isize,
                                    (xx + kx * d) as isize - d as isize,
                                );
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    acc += g[((co * cin + ci) * 3 + ky) * 3 + kx] as f64
                                        * x[(ci * h + iy as usize) * w + ix as usize] as f64;
                                }
                            }
                        }
                    }
                    out[(co * h + y) * w + xx] = acc;
                }
            }
        }
        out
    }

    /// Deterministic values in [−1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn both_tiles_equal_a_direct_convolution() {
        // (cin, cout, h, w, d): tile rows and columns that overhang, runs of origins cut short,
        // a dilation as large as the image.
        let cases = [
            (3, 5, 17, 19, 1),
            (4, 3, 16, 16, 1),
            (2, 4, 13, 37, 3),
            (3, 3, 26, 11, 2),
            (2, 2, 9, 8, 4),
            (2, 3, 8, 9, 12),
            (1, 1, 5, 6, 1),
        ];
        for (cin, cout, h, w, d) in cases {
            let x = values(cin * h * w, 1);
            let g = values(cout * cin * 9, 2);
            let bias = values(cout, 3);
            let expected = direct(&x, &g, &bias, [cin, cout, h, w], d);
            let scale = expected.iter().fold(1f64, |m, v| m.max(v.abs()));
            for tile in [Tile::F2, Tile::F4] {
                let conv = Winograd {
                    cin,
                    cout,
                    h,
                    w,
                    dilation: d,
                    tile,
                };
                let mut out = vec![f32::NAN; cout * h * w];
                conv.run(&x, &conv.weights(&g), Some(&bias), &mut out);
                let worst = out
                    .iter()
                    .zip(&expected)
                    .map(|(&a, &b)| (a as f64 - b).abs())
                    .fold(0f64, f64::max);
                assert!(
                    worst <= 1e-5 * scale,
                    "{tile:?} cin {cin} cout {cout} {h}×{w} d{d}: off by {worst} (scale {scale})"
                );
            }
        }
    }

    #[test]
    fn the_larger_tile_only_where_it_covers_the_image_well() {
        assert_eq!(Winograd::new(48, 48, 64, 64, 1).tile, Tile::F4);
        assert_eq!(Winograd::new(48, 48, 64, 64, 4).tile, Tile::F4);
        // 24-dilated on a 32² map: 6 × 6 tiles would reach four times past the image.
        assert_eq!(Winograd::new(48, 48, 32, 32, 24).tile, Tile::F2);
        assert_eq!(Winograd::new(48, 48, 32, 32, 12).tile, Tile::F2);
    }
}
