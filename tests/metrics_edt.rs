//! Metrics against hand-computed cases and the documented empty-mask conventions; the exact EDT
//! against brute force; resampling and orientation helpers.
#![cfg(not(target_arch = "wasm32"))]

use lungseg::edt::edt;
use lungseg::metrics::{Confusion, evaluate};
use lungseg::resample::{resize_bilinear, resize_nearest};
use lungseg::volume::SliceView;

#[test]
fn metrics_match_hand_computation() {
    let truth = [1u8, 1, 1, 0, 0, 0, 0, 0];
    let pred = [1u8, 1, 0, 1, 0, 0, 0, 0];
    let c = Confusion::binary(&pred, &truth);
    assert_eq!(
        c,
        Confusion {
            tp: 2,
            fp: 1,
            fn_: 1,
            tn: 4
        }
    );
    assert!((c.dice() - 4.0 / 6.0).abs() < 1e-12);
    assert!((c.iou() - 0.5).abs() < 1e-12);
    assert!((c.sensitivity() - 2.0 / 3.0).abs() < 1e-12);
    assert!((c.specificity() - 0.8).abs() < 1e-12);
    assert!((c.precision() - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn empty_masks_follow_the_documented_conventions() {
    let empty = [0u8; 6];
    let s = Confusion::binary(&empty, &empty).scores();
    assert_eq!(
        (s.dice, s.iou, s.sensitivity, s.specificity, s.precision),
        (1.0, 1.0, 1.0, 1.0, 1.0)
    );
    let truth = [1u8, 1, 0, 0, 0, 0];
    let s = Confusion::binary(&empty, &truth).scores();
    assert_eq!(
        (s.dice, s.iou, s.sensitivity, s.specificity, s.precision),
        (0.0, 0.0, 0.0, 1.0, 1.0)
    );
    let s = Confusion::binary(&truth, &empty).scores();
    assert_eq!(
        (s.dice, s.iou, s.sensitivity, s.precision),
        (0.0, 0.0, 1.0, 0.0)
    );
}

#[test]
fn per_slice_and_pooled_differ_as_documented_and_classes_skip_unknown_subtype() {
    let (t1, p1) = ([1u8, 1, 0, 0], [1u8, 1, 0, 0]); // perfect
    let (t2, p2) = ([1u8, 0, 0, 0], [0u8, 0, 0, 0]); // missed
    let r = evaluate([(&p1[..], &t1[..]), (&p2[..], &t2[..])], 2);
    assert_eq!(r.slices, 2);
    assert!((r.binary.per_slice_mean.dice - 0.5).abs() < 1e-12);
    assert!((r.binary.pooled.dice - 0.8).abs() < 1e-12); // 2·2 / (2·2 + 0 + 1)
    assert!(r.classes.is_empty());
    // 4-class: 255 is infection for the binary counts, left out for the class counts.
    let truth = [1u8, 2, 255, 0];
    let pred = [1u8, 1, 1, 0];
    let r = evaluate([(&pred[..], &truth[..])], 4);
    assert_eq!(r.binary.pooled.dice, 1.0);
    assert_eq!(r.classes.len(), 3);
    assert!(
        (r.classes[0].pooled.dice - 2.0 / 3.0).abs() < 1e-12,
        "{:?}",
        r.classes[0].pooled
    );
    assert_eq!(r.classes[1].pooled.dice, 0.0);
    assert_eq!(r.classes[2].name, "effusion");
}

fn brute_edt(mask: &[bool], h: usize, w: usize) -> Vec<f32> {
    (0..h * w)
        .map(|p| {
            if !mask[p] {
                return 0.0;
            }
            let (r, c) = ((p / w) as f64, (p % w) as f64);
            (0..h * w)
                .filter(|&q| !mask[q])
                .map(|q| (((q / w) as f64 - r).powi(2) + ((q % w) as f64 - c).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min) as f32
        })
        .collect()
}

#[test]
fn edt_equals_brute_force_on_random_masks() {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    for trial in 0..40 {
        let (h, w) = (3 + (next() % 30) as usize, 3 + (next() % 30) as usize);
        let density = [10, 50, 80, 97][trial % 4];
        let mask: Vec<bool> = (0..h * w).map(|_| next() % 100 < density).collect();
        if mask.iter().all(|&m| m) {
            continue;
        }
        let fast = edt(&mask, h, w);
        let slow = brute_edt(&mask, h, w);
        for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
            assert!(
                (a - b).abs() < 1e-4,
                "trial {trial} {h}×{w} pixel {i}: {a} vs {b}"
            );
        }
    }
    assert_eq!(
        edt(&[true; 6], 2, 3),
        vec![5.0; 6],
        "no background: documented fallback"
    );
}

#[test]
fn resampling_preserves_constants_and_averages_when_shrinking() {
    let img = vec![0.25f32; 40 * 30];
    assert!(
        resize_bilinear(&img, [40, 30], [17, 23])
            .iter()
            .all(|v| (v - 0.25).abs() < 1e-6)
    );
    let checker: Vec<f32> = (0..64 * 64)
        .map(|i| ((i / 64 + i % 64) % 2) as f32)
        .collect();
    let half = resize_bilinear(&checker, [64, 64], [32, 32]);
    assert!(
        half.iter().all(|v| (v - 0.5).abs() < 0.02),
        "antialiased: {:?}",
        &half[..4]
    );
    let labels: Vec<u8> = (0..16).map(|i| i as u8).collect();
    assert_eq!(resize_nearest(&labels, [4, 4], [2, 2]), vec![5, 7, 13, 15]);
    assert_eq!(resize_nearest(&labels, [4, 4], [4, 4]), labels);
}

#[test]
fn slice_views_invert_and_follow_the_affine() {
    let dims = [3, 2, 1];
    let stored: Vec<u8> = (0..6).collect();
    let naive = [
        [0.7, 0.0, 0.0, 0.0],
        [0.0, 0.7, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    assert_eq!(SliceView::from_affine(&naive, true), SliceView::STORED);
    // dcm2niix-style LPS-to-RAS affine: x and y negated, real offsets → shown as stored.
    let lps = [
        [-0.7, 0.0, 0.0, 170.0],
        [0.0, -0.7, 0.0, 180.0],
        [0.0, 0.0, 1.0, -300.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let v = SliceView::from_affine(&lps, true);
    assert!(
        v.from_affine && !v.transpose && !v.flip_cols && !v.flip_rows,
        "{v:?}"
    );
    // RAS-stored (i → right, j → anterior): both axes flip for radiological display.
    let ras = [
        [0.7, 0.0, 0.0, -170.0],
        [0.0, 0.7, 0.0, -180.0],
        [0.0, 0.0, 1.0, -300.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let v = SliceView::from_affine(&ras, true);
    assert!(v.flip_cols && v.flip_rows && !v.transpose);
    assert_eq!(v.to_display(dims, &stored), vec![5, 4, 3, 2, 1, 0]);
    // Axes swapped: i runs anterior–posterior.
    let swapped = [
        [0.0, -0.7, 0.0, 0.0],
        [-0.7, 0.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let v = SliceView::from_affine(&swapped, true);
    assert!(v.transpose);
    assert_eq!(v.display_size(dims), [3, 2]);
    for v in [SliceView::STORED, SliceView::from_affine(&ras, true), v] {
        assert_eq!(v.to_stored(dims, &v.to_display(dims, &stored)), stored);
    }
}
