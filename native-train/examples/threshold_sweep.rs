//! Where the binary infection threshold should sit: for a model on its validation slices, one
//! view and `--tta`, the true/false positives and misses of every slice at each threshold on the
//! infection probability (0.5 is what argmax does), and at 0.5 after dropping predicted regions
//! smaller than a minimum area; each with regions touching the image border dropped, as `predict`
//! and the page do, and kept: one CSV row per view, threshold, minimum area, border rule and slice.
//!
//! `cargo run --release -p native-train --example threshold_sweep -- MODEL z,z,... > OUT.csv`

use burn::prelude::*;
use lungseg::intensity::{detect, lung_window};
use lungseg::pipeline::{display_labels, model_input, probabilities};
use lungseg::quantify::{components, drop_border_components, lung_slice};
use lungseg::volume::read_nifti;
use lungseg::weights::load_for_inference;
use std::path::PathBuf;

fn read(path: PathBuf) -> Result<lungseg::volume::Volume, String> {
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_nifti(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_path, slices] = args.as_slice() else {
        return Err("usage: threshold_sweep MODEL z,z,...".into());
    };
    let slices: Vec<usize> = slices
        .split(',')
        .map(|z| z.parse().map_err(|e| format!("slice {z}: {e}")))
        .collect::<Result<_, _>>()?;
    let device = Device::flex();
    let bytes = std::fs::read(model_path).map_err(|e| format!("{model_path}: {e}"))?;
    let (model, card) = load_for_inference(&bytes, &device).map_err(|e| e.to_string())?;
    let cfg = card.config;
    if cfg.classes != 2 {
        return Err("a binary model is needed".into());
    }
    let s = cfg.input_size;
    let plane = s * s;
    let dir = PathBuf::from(lungseg::SHARED_DATA).join("medseg/train");
    let image = read(dir.join("image.nii.gz"))?;
    let masks = read(dir.join("mask_binary.nii.gz"))?;
    let mapping = detect(&image, lung_window()).map_err(|e| e.to_string())?;
    println!("view,threshold,min_area,border,z,tp,fp,fn");
    let g = &image.geometry;
    let [h, w] = g.view.display_size(g.dims);
    for &k in &slices {
        let truth: Vec<bool> = masks.slice(k).iter().map(|&v| v > 0.5).collect();
        let x = model_input(&image, k, &mapping, &cfg);
        let hu: Vec<f32> = g
            .view
            .to_display(g.dims, image.slice(k))
            .into_iter()
            .map(|v| mapping.to_hu(v))
            .collect();
        let field: Vec<bool> = lung_slice(&hu, &vec![false; h * w], h, w, 0.49)
            .into_iter()
            .map(|l| l != 0)
            .collect();
        for (view, tta) in [("one", false), ("tta", true)] {
            let p = probabilities(&model, &cfg, std::slice::from_ref(&x), tta, &device)
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| format!("{e:?}"))?;
            let infection = &p[plane..2 * plane];
            // Thresholds 0.20, 0.25, ..., 0.80 (twentieths).
            for i in 4..=16 {
                let t = i as f32 / 20.0;
                // A constant background map of t: the argmax is then "infection > t".
                let mut maps = vec![t; plane];
                maps.extend_from_slice(infection);
                let kept = display_labels(&maps, 2, s, &image);
                let mut dropped = kept.clone();
                drop_border_components(&mut dropped, h, w);
                let lung = lung_rule(&kept, &field, h, w, false);
                let border_lung = lung_rule(&kept, &field, h, w, true);
                for (border, display) in [
                    ("dropped", dropped),
                    ("kept", kept),
                    ("lung", lung),
                    ("border-unless-lung", border_lung),
                ] {
                    let labels = g.view.to_stored(g.dims, &display);
                    let on: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
                    let areas: &[usize] = if i == 10 {
                        &[0, 10, 25, 50, 100, 200, 400]
                    } else {
                        &[0]
                    };
                    // Stored slices are nx wide (i fastest), ny high.
                    let (id, sizes) = components(&on, g.dims[1], g.dims[0]);
                    for &min_area in areas {
                        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
                        for (&c, &infected) in id.iter().zip(&truth) {
                            let on = c != u32::MAX && sizes[c as usize] >= min_area;
                            match (on, infected) {
                                (true, true) => tp += 1,
                                (true, false) => fp += 1,
                                (false, true) => fn_ += 1,
                                _ => {}
                            }
                        }
                        println!("{view},{t:.2},{min_area},{border},{k},{tp},{fp},{fn_}");
                    }
                }
            }
        }
    }
    Ok(())
}

/// Keeps the predicted regions that overlap the lung field (with `only_border`, drops only the
/// regions that touch the image border and do not overlap it).
fn lung_rule(labels: &[u8], field: &[bool], h: usize, w: usize, only_border: bool) -> Vec<u8> {
    let on: Vec<bool> = labels.iter().map(|&l| l != 0).collect();
    let (id, sizes) = components(&on, h, w);
    let mut overlaps = vec![false; sizes.len()];
    let mut border = vec![false; sizes.len()];
    for (p, &c) in id.iter().enumerate() {
        if c == u32::MAX {
            continue;
        }
        let (r, col) = (p / w, p % w);
        overlaps[c as usize] |= field[p];
        border[c as usize] |= r == 0 || col == 0 || r + 1 == h || col + 1 == w;
    }
    labels
        .iter()
        .zip(&id)
        .map(|(&l, &c)| {
            let c = c as usize;
            let keep = l == 0 || overlaps[c] || (only_border && !border[c]);
            if keep { l } else { 0 }
        })
        .collect()
}
