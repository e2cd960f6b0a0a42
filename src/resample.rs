//! Resizing 2-D slices on the CPU: images with an antialiased bilinear (triangle) filter,
//! label masks with nearest neighbour. One implementation serves training-data preparation,
//! inference and mapping predictions back to the scan's grid.

/// Filter taps of one output coordinate: first input index and weights.
struct Taps {
    start: usize,
    weights: Vec<f32>,
}

/// Triangle-filter taps (half-pixel centres), widened when shrinking so every input pixel
/// contributes (as PIL's bilinear resize does).
fn taps(input: usize, output: usize) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
    let support = scale.max(1.0);
    (0..output)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let lo = ((centre - support).floor().max(0.0)) as usize;
            let hi = ((centre + support).ceil() as usize).min(input);
            let mut weights: Vec<f32> = (lo..hi)
                .map(|i| {
                    let d = ((i as f64 + 0.5 - centre) / support).abs();
                    (1.0 - d).max(0.0) as f32
                })
                .collect();
            let sum: f32 = weights.iter().sum();
            if sum > 0.0 {
                weights.iter_mut().for_each(|w| *w /= sum);
            } else {
                let nearest = (centre.floor() as usize).min(input - 1);
                return Taps {
                    start: nearest,
                    weights: vec![1.0],
                };
            }
            Taps { start: lo, weights }
        })
        .collect()
}

/// Resizes a row-major `from = [h, w]` image to `to = [h, w]`.
pub fn resize_bilinear(src: &[f32], from: [usize; 2], to: [usize; 2]) -> Vec<f32> {
    let ([h, w], [oh, ow]) = (from, to);
    assert_eq!(
        src.len(),
        h * w,
        "image has {} pixels, expected {h}×{w}",
        src.len()
    );
    if from == to {
        return src.to_vec();
    }
    let (tx, ty) = (taps(w, ow), taps(h, oh));
    let mut tmp = vec![0.0f32; h * ow];
    for r in 0..h {
        let row = &src[r * w..(r + 1) * w];
        for (c, t) in tx.iter().enumerate() {
            tmp[r * ow + c] = t
                .weights
                .iter()
                .enumerate()
                .map(|(k, wt)| wt * row[t.start + k])
                .sum();
        }
    }
    let mut out = vec![0.0f32; oh * ow];
    for (r, t) in ty.iter().enumerate() {
        let dst = &mut out[r * ow..(r + 1) * ow];
        for (k, wt) in t.weights.iter().enumerate() {
            let srow = &tmp[(t.start + k) * ow..(t.start + k + 1) * ow];
            dst.iter_mut().zip(srow).for_each(|(d, s)| *d += wt * s);
        }
    }
    out
}

/// Nearest-neighbour resize (half-pixel centres) for label masks.
pub fn resize_nearest<T: Copy>(src: &[T], from: [usize; 2], to: [usize; 2]) -> Vec<T> {
    let ([h, w], [oh, ow]) = (from, to);
    assert_eq!(
        src.len(),
        h * w,
        "mask has {} pixels, expected {h}×{w}",
        src.len()
    );
    let map = |o: usize, n: usize, on: usize| {
        (((o as f64 + 0.5) * n as f64 / on as f64) as usize).min(n - 1)
    };
    let cols: Vec<usize> = (0..ow).map(|c| map(c, w, ow)).collect();
    let mut out = Vec::with_capacity(oh * ow);
    for r in 0..oh {
        let sr = map(r, h, oh);
        out.extend(cols.iter().map(|&sc| src[sr * w + sc]));
    }
    out
}
