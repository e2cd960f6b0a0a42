//! Which zoom the test-time augmentation's second view should use: validation Dice of a model
//! on its slices with one view, the mirror pair alone, and the mirror pair at the input side plus
//! each set of zoomed sides asked for (`pipeline::augmented`, the code `--tta` runs with 4/3).
//!
//! `cargo run --release -p native-train -- experiment tta-zoom MODEL z,z,... [SIDES ...]`
//! e.g. `... runs/lite/last.lungseg 3,4,6,8,11,13,22,33,35,41,46 448 512 576 448,512`
//! (each SIDES is a comma-separated list of zoomed sides; default 448 512 576). The word
//! `upside-down` among them adds a row: `--tta`'s four views plus the same four upside down
//! (training flips vertically too), eight in all.

use super::common;
use anyhow::Context;
use burn::prelude::*;
use lungseg::metrics::evaluate;
use lungseg::pipeline::{augmented, model_input, probabilities, slice_labels, tta_zoom_size};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let [model_path, slices, sides @ ..] = args else {
        anyhow::bail!("usage: experiment tta-zoom MODEL z,z,... [SIDES ...] [upside-down]");
    };
    let upside_down = sides.iter().any(|a| a == "upside-down");
    let sides: Vec<&String> = sides.iter().filter(|a| *a != "upside-down").collect();
    let slices = common::slices(slices)?;
    let mut sets: Vec<Vec<usize>> = sides
        .iter()
        .map(|list| {
            list.split(',')
                .map(|v| v.parse().with_context(|| format!("side {v}")))
                .collect()
        })
        .collect::<anyhow::Result<_>>()?;
    if sets.is_empty() && !upside_down {
        sets = vec![vec![448], vec![512], vec![576]];
    }
    let device = Device::flex();
    let (model, cfg) = common::model(model_path, &device)?;
    let s = cfg.input_size;
    let data = common::medseg()?;
    let (image, mapping) = (&data.image, &data.mapping);
    let truths: Vec<Vec<u8>> = slices.iter().map(|&k| data.truth(k, 2).to_vec()).collect();
    let mut rows: Vec<(String, Vec<Vec<u8>>)> = vec![
        ("one view".into(), vec![]),
        (format!("mirror pair at {s}"), vec![]),
    ];
    for set in &sets {
        let list: Vec<String> = set.iter().map(usize::to_string).collect();
        rows.push((
            format!("mirror pairs at {s} + {}", list.join(" + ")),
            vec![],
        ));
    }
    let tta_sides = [s, tta_zoom_size(s)];
    if upside_down {
        rows.push(("`--tta`'s four views".into(), vec![]));
        rows.push(("the four + the four upside down".into(), vec![]));
    }
    for &k in &slices {
        let x = model_input(image, k, mapping, &cfg);
        let tensor =
            Tensor::<1>::from_floats(x.as_slice(), &device).reshape([1, cfg.in_channels, s, s]);
        let mut probs = vec![
            probabilities(&model, &cfg, &[x], false, &device),
            augmented(&model, tensor.clone(), &[s]),
        ];
        for set in &sets {
            let all: Vec<usize> = std::iter::once(s).chain(set.iter().copied()).collect();
            probs.push(augmented(&model, tensor.clone(), &all));
        }
        if upside_down {
            let four = augmented(&model, tensor.clone(), &tta_sides);
            let flipped = augmented(&model, tensor.clone().flip([2]), &tta_sides).flip([2]);
            probs.push(four.clone());
            probs.push((four + flipped).div_scalar(2.0));
        }
        for (row, p) in rows.iter_mut().zip(probs) {
            let p = p
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            row.1
                .push(slice_labels(&p, cfg.classes, s, image, &data.field, k));
        }
    }
    println!("| views | Dice per slice | Dice pooled |");
    println!("|---|---|---|");
    for (name, preds) in rows {
        let r = evaluate(
            preds
                .iter()
                .map(Vec::as_slice)
                .zip(truths.iter().map(Vec::as_slice)),
            2,
        );
        println!(
            "| {name} | {:.4} | {:.4} |",
            r.binary.per_slice_mean.dice, r.binary.pooled.dice
        );
    }
    Ok(())
}
