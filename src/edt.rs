//! Exact 2-D Euclidean distance transform (Felzenszwalb & Huttenlocher, separable, linear time).
//!
//! Used by the structure-consistency (SCR) loss: the distance maps of the ground truth tell
//! the loss how deep inside (or how far outside) a lesion each pixel lies.

/// For each `true` pixel, its Euclidean distance (in pixels) to the nearest `false` pixel;
/// `false` pixels get 0. `mask` is row-major `h × w`. Pixels outside the image do not count
/// as background, so a mask with no background at all gets `h + w` everywhere.
pub fn edt(mask: &[bool], h: usize, w: usize) -> Vec<f32> {
    assert_eq!(
        mask.len(),
        h * w,
        "mask has {} pixels, expected {h}×{w}",
        mask.len()
    );
    if !mask.iter().any(|&m| !m) {
        return vec![(h + w) as f32; h * w];
    }
    let inf = ((h + w) * (h + w)) as f64 * 4.0;
    let mut d: Vec<f64> = mask.iter().map(|&m| if m { inf } else { 0.0 }).collect();
    let n = h.max(w);
    let (mut f, mut out, mut v, mut z) = (
        vec![0.0; n],
        vec![0.0; n],
        vec![0usize; n],
        vec![0.0; n + 1],
    );
    for x in 0..w {
        for y in 0..h {
            f[y] = d[y * w + x];
        }
        squared_1d(&f[..h], &mut out[..h], &mut v, &mut z);
        for y in 0..h {
            d[y * w + x] = out[y];
        }
    }
    for y in 0..h {
        f[..w].copy_from_slice(&d[y * w..(y + 1) * w]);
        squared_1d(&f[..w], &mut out[..w], &mut v, &mut z);
        d[y * w..(y + 1) * w].copy_from_slice(&out[..w]);
    }
    d.into_iter().map(|s| s.sqrt() as f32).collect()
}

/// 1-D squared distance transform of a sampled function: out[q] = min_p (q − p)² + f[p].
fn squared_1d(f: &[f64], out: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    let mut k = 0;
    v[0] = 0;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    let intersect = |q: usize, p: usize| {
        ((f[q] + (q * q) as f64) - (f[p] + (p * p) as f64)) / (2.0 * (q as f64 - p as f64))
    };
    for q in 1..n {
        let mut s = intersect(q, v[k]);
        while s <= z[k] {
            k -= 1;
            s = intersect(q, v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
    }
    k = 0;
    for (q, o) in out.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let dq = q as f64 - v[k] as f64;
        *o = dq * dq + f[v[k]];
    }
}
