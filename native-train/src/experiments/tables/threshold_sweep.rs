//! Where the binary infection threshold should sit: for a model on its validation slices, one
//! view and `--tta`, the true/false positives and misses of every slice at each threshold on the
//! infection probability (0.5 is what argmax does), and at 0.5 after dropping predicted regions
//! smaller than a minimum area; each with the regions apart from the lung field dropped, as
//! `predict` and the page do (`lung`), with no filter (`none`), and with the rule used before,
//! which dropped every region touching the image border (`border`): one CSV row per view,
//! threshold, minimum area, filter and slice.
//!
//! `cargo run --release -p native-train -- experiment threshold-sweep MODEL z,z,... > OUT.csv`

use super::common;
use burn::prelude::*;
use lungseg::lung_field::{components, pixel_mm2};
use lungseg::pipeline::{display_labels, model_input, probabilities};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let [model_path, slices] = args else {
        anyhow::bail!("usage: experiment threshold-sweep MODEL z,z,...");
    };
    let slices = common::slices(slices)?;
    let device = Device::flex();
    let (model, cfg) = common::model(model_path, &device)?;
    if cfg.classes != 2 {
        anyhow::bail!("a binary model is needed");
    }
    let s = cfg.input_size;
    let plane = s * s;
    let data = common::medseg()?;
    let (image, mapping) = (&data.image, &data.mapping);
    println!("view,threshold,min_area,filter,z,tp,fp,fn");
    let g = &image.geometry;
    let [h, w] = g.view.display_size(g.dims);
    let mm2 = pixel_mm2(image);
    for &k in &slices {
        let truth = data.truth(k, 2);
        let x = model_input(image, k, mapping, &cfg);
        for (view, tta) in [("one", false), ("tta", true)] {
            let p = probabilities(&model, &cfg, std::slice::from_ref(&x), tta, &device)
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let infection = &p[plane..2 * plane];
            // Thresholds 0.20, 0.25, ..., 0.80 (twentieths).
            for i in 4..=16 {
                let t = i as f32 / 20.0;
                // A constant background map of t: the argmax is then "infection > t".
                let mut maps = vec![t; plane];
                maps.extend_from_slice(infection);
                let none = display_labels(&maps, 2, s, image);
                let mut lung = none.clone();
                data.field.keep_lung_regions(&mut lung, k, mm2);
                let border = border_rule(&none, h, w);
                for (filter, display) in [("lung", lung), ("none", none), ("border", border)] {
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
                        for (&c, &infected) in id.iter().zip(truth) {
                            let infected = infected != 0;
                            let on = c != u32::MAX && sizes[c as usize] >= min_area;
                            match (on, infected) {
                                (true, true) => tp += 1,
                                (true, false) => fp += 1,
                                (false, true) => fn_ += 1,
                                _ => {}
                            }
                        }
                        println!("{view},{t:.2},{min_area},{filter},{k},{tp},{fp},{fn_}");
                    }
                }
            }
        }
    }
    Ok(())
}

/// The filter used before `keep_lung_regions`: every region touching the image border dropped.
fn border_rule(labels: &[u8], h: usize, w: usize) -> Vec<u8> {
    let on: Vec<bool> = labels.iter().map(|&l| l != 0).collect();
    let (id, sizes) = components(&on, h, w);
    let mut border = vec![false; sizes.len()];
    for (p, &c) in id.iter().enumerate() {
        let (r, col) = (p / w, p % w);
        if c != u32::MAX && (r == 0 || col == 0 || r + 1 == h || col + 1 == w) {
            border[c as usize] = true;
        }
    }
    labels
        .iter()
        .zip(&id)
        .map(|(&l, &c)| {
            if c != u32::MAX && border[c as usize] {
                0
            } else {
                l
            }
        })
        .collect()
}
