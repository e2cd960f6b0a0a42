//! Training augmentation on model-sized slices: the paper's geometry (flips, zoom/crop,
//! ±10° rotation) plus intensity changes (window jitter, gamma, noise) so the model holds up on
//! HU scans windowed by our own code rather than by the exporter of its training JPEGs, and
//! optionally a random window of the result (patch training).

use lungseg::intensity::lung_window;

use crate::data::Sample;
use crate::rng::Rng;

/// Switches, so an ablation can turn a family off.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    pub geometric: bool,
    pub intensity: bool,
    /// Train on random C × C windows of the (augmented) slice instead of the whole of it: the
    /// network learns at the full input resolution for the price of a C² step (nnU-Net's patch
    /// training). Left out when None, so earlier runs keep their fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<usize>,
}

impl Augment {
    pub fn apply(&self, s: &Sample, size: usize, rng: &mut Rng) -> Sample {
        let mut out = if self.geometric {
            geometric(s, size, rng)
        } else {
            s.clone()
        };
        if let Some(c) = self.crop {
            out = crop(&out, size, c, rng);
        }
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

/// A C × C window of an N × N sample. A third of the windows are centred (as far as the edges
/// allow) on a random infected pixel, the rest lie anywhere: most of a chest slice is air, body
/// wall and healthy lung, and a uniform window would rarely hold a small lesion.
fn crop(s: &Sample, n: usize, c: usize, rng: &mut Rng) -> Sample {
    assert!(c <= n, "a {c}² window of a {n}² slice");
    let span = (n - c) as f32;
    let uniform = |rng: &mut Rng| (rng.range(0.0, span + 1.0).floor() as usize).min(n - c);
    let infected: Vec<usize> = (0..s.labels.len()).filter(|&i| s.labels[i] != 0).collect();
    let (x0, y0) = if !infected.is_empty() && rng.coin(1.0 / 3.0) {
        let nth = rng.range(0.0, infected.len() as f32).floor() as usize;
        let i = infected[nth.min(infected.len() - 1)];
        let centre = |p: usize| p.saturating_sub(c / 2).min(n - c);
        (centre(i % n), centre(i / n))
    } else {
        (uniform(rng), uniform(rng))
    };
    let mut image = Vec::with_capacity(c * c);
    let mut labels = Vec::with_capacity(c * c);
    for y in y0..y0 + c {
        image.extend_from_slice(&s.image[y * n + x0..y * n + x0 + c]);
        labels.extend_from_slice(&s.labels[y * n + x0..y * n + x0 + c]);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16 × 16 sample whose pixel values name their position, with one infected pixel.
    fn numbered(infected: usize) -> Sample {
        let mut labels = vec![0u8; 256];
        labels[infected] = 1;
        Sample {
            image: (0..256).map(|i| i as f32).collect(),
            labels,
        }
    }

    #[test]
    fn crops_are_windows_and_a_third_hold_the_infection() {
        let s = numbered(5 * 16 + 3); // row 5, column 3: near the top-left corner
        let mut rng = Rng::new(7);
        let mut holding = 0;
        let trials = 300;
        for _ in 0..trials {
            let w = crop(&s, 16, 8, &mut rng);
            assert_eq!((w.image.len(), w.labels.len()), (64, 64));
            // Image and labels are the same window, and it is a contiguous block of the slice.
            let (x0, y0) = (w.image[0] as usize % 16, w.image[0] as usize / 16);
            assert!(x0 <= 8 && y0 <= 8);
            for y in 0..8 {
                for x in 0..8 {
                    let i = (y0 + y) * 16 + x0 + x;
                    assert_eq!(w.image[y * 8 + x], i as f32);
                    assert_eq!(w.labels[y * 8 + x], s.labels[i]);
                }
            }
            holding += usize::from(w.labels.contains(&1));
        }
        // Centred windows (about a third) always hold it; uniform ones do a quarter of the time
        // here (x0 ≤ 3 and y0 ≤ 5 of 9 × 9 origins, 24 of 81): about ½ in all.
        let share = holding as f64 / trials as f64;
        assert!((0.4..0.62).contains(&share), "{share}");
        // Without infection every window is uniform: each corner origin turns up.
        let clean = Sample {
            image: s.image.clone(),
            labels: vec![0; 256],
        };
        let origins: std::collections::HashSet<usize> = (0..400)
            .map(|_| crop(&clean, 16, 8, &mut rng).image[0] as usize)
            .collect();
        for corner in [0, 8, 8 * 16, 8 * 16 + 8] {
            assert!(origins.contains(&corner), "{corner}");
        }
    }

    #[test]
    fn crop_is_off_unless_asked_and_seeded() {
        let s = numbered(100);
        let plain = Augment {
            geometric: true,
            intensity: true,
            crop: None,
        };
        let windowed = Augment {
            crop: Some(8),
            ..plain
        };
        assert_eq!(plain.apply(&s, 16, &mut Rng::new(3)).image.len(), 256);
        let a = windowed.apply(&s, 16, &mut Rng::new(3));
        let b = windowed.apply(&s, 16, &mut Rng::new(3));
        assert_eq!(a.image.len(), 64);
        assert_eq!((a.image, a.labels), (b.image, b.labels));
    }
}
