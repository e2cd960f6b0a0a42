//! Training augmentation on model-sized slices: the paper's geometry (flips, zoom/crop,
//! ±10° rotation) plus intensity changes (window jitter, gamma, noise) so the model holds up on
//! HU scans windowed by our own code rather than by the exporter of its training JPEGs.

use lungseg::intensity::lung_window;

use crate::rng::Rng;

/// One training slice at the model's input size (row-major S × S).
#[derive(Debug, Clone)]
pub struct Sample {
    pub image: Vec<f32>,
    pub labels: Vec<u8>,
}

/// Switches, so an ablation can turn a family off.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    pub geometric: bool,
    pub intensity: bool,
}

impl Augment {
    pub fn apply(&self, s: &Sample, size: usize, rng: &mut Rng) -> Sample {
        let mut out = if self.geometric {
            geometric(s, size, rng)
        } else {
            s.clone()
        };
        if self.intensity {
            intensity(&mut out.image, rng);
        }
        out
    }
}

/// Flips (p = ½ each), zoom in by 1–1.5 or a centre crop of ½–1 of each side (p = ½), a small
/// shift, and a rotation of ±10°, composed into one inverse map; bilinear image, nearest labels.
fn geometric(s: &Sample, n: usize, rng: &mut Rng) -> Sample {
    let flip_v = rng.coin(0.5);
    let flip_h = rng.coin(0.5);
    let zoom = if rng.coin(0.5) {
        if rng.coin(0.5) {
            rng.range(1.0, 1.5)
        } else {
            1.0 / rng.range(0.5, 1.0)
        }
    } else {
        1.0
    };
    let max_shift = (zoom - 1.0) / zoom * 0.5 * n as f32;
    let (sx, sy) = (
        rng.range(-max_shift, max_shift),
        rng.range(-max_shift, max_shift),
    );
    let angle = rng.range(-10.0, 10.0).to_radians();
    let (sin, cos) = angle.sin_cos();
    let c = (n as f32 - 1.0) / 2.0;
    let mut image = vec![0.0f32; n * n];
    let mut labels = vec![0u8; n * n];
    for y in 0..n {
        for x in 0..n {
            // Output → centred → unrotate → unzoom → shift → flips → source.
            let (dx, dy) = (x as f32 - c, y as f32 - c);
            let (rx, ry) = (cos * dx + sin * dy, -sin * dx + cos * dy);
            let (mut u, mut v) = (rx / zoom + c + sx, ry / zoom + c + sy);
            if flip_h {
                u = n as f32 - 1.0 - u;
            }
            if flip_v {
                v = n as f32 - 1.0 - v;
            }
            let o = y * n + x;
            image[o] = bilinear(&s.image, n, u, v);
            let (ui, vi) = (u.round(), v.round());
            if ui >= 0.0 && vi >= 0.0 && (ui as usize) < n && (vi as usize) < n {
                labels[o] = s.labels[vi as usize * n + ui as usize];
            }
        }
    }
    Sample { image, labels }
}

fn bilinear(img: &[f32], n: usize, u: f32, v: f32) -> f32 {
    if u < -0.5 || v < -0.5 || u > n as f32 - 0.5 || v > n as f32 - 0.5 {
        return 0.0;
    }
    let (u, v) = (u.clamp(0.0, n as f32 - 1.0), v.clamp(0.0, n as f32 - 1.0));
    let (x0, y0) = (u.floor() as usize, v.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(n - 1), (y0 + 1).min(n - 1));
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let top = img[y0 * n + x0] * (1.0 - fx) + img[y0 * n + x1] * fx;
    let bottom = img[y1 * n + x0] * (1.0 - fx) + img[y1 * n + x1] * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Re-windows the (lung-windowed) slice with a jittered level and width, then gamma and noise.
fn intensity(img: &mut [f32], rng: &mut Rng) {
    let w = lung_window();
    let (level, width) = (
        w.level + rng.range(-80.0, 80.0),
        w.width * rng.range(0.85, 1.15),
    );
    let gamma = if rng.coin(0.3) {
        rng.range(0.8, 1.25)
    } else {
        1.0
    };
    let sigma = if rng.coin(0.5) {
        rng.range(0.0, 0.03)
    } else {
        0.0
    };
    for v in img.iter_mut() {
        let hu = w.level - w.width / 2.0 + *v * w.width;
        let mut x = ((hu - (level - width / 2.0)) / width).clamp(0.0, 1.0);
        if gamma != 1.0 {
            x = x.powf(gamma);
        }
        if sigma > 0.0 {
            x = (x + sigma * rng.normal()).clamp(0.0, 1.0);
        }
        *v = x;
    }
}
