//! Whether averaging several models' probabilities beats each of them: validation Dice of every
//! model alone and of their mean, with one view and with `--tta`'s four views, on the slices
//! asked for (the same labels, lung-region filter and metric code as `eval`).
//!
//! `cargo run --release -p native-train -- experiment ensemble MODEL,MODEL[,...] z,z,...`
//! e.g. two runs of one fold, each at epoch 100:
//! `... runs/a/last.lungseg,runs/b/last.lungseg 3,4,6,8,11,13,22,33,35,41,46`

use super::common;
use burn::prelude::*;
use lungseg::metrics::evaluate;
use lungseg::pipeline::{model_input, probabilities, slice_labels};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let [models, slices] = args else {
        anyhow::bail!("usage: experiment ensemble MODEL,MODEL[,...] z,z,...");
    };
    let slices = common::slices(slices)?;
    let device = Device::flex();
    let mut loaded = Vec::new();
    for path in models.split(',') {
        let (net, cfg) = common::model(path, &device)?;
        loaded.push((path.to_string(), net, cfg));
    }
    let cfg = loaded[0].2.clone();
    if let Some((path, ..)) = loaded.iter().find(|(_, _, c)| {
        (c.input_size, c.classes, c.in_channels) != (cfg.input_size, cfg.classes, cfg.in_channels)
    }) {
        anyhow::bail!("{path}: input size or classes differ from the first model's");
    }
    let data = common::medseg()?;
    let (image, mapping) = (&data.image, &data.mapping);
    let truths: Vec<Vec<u8>> = slices.iter().map(|&k| data.truth(k, 2).to_vec()).collect();
    // Rows: each model alone, then the mean; each with one view and with the four views.
    let names: Vec<String> = loaded
        .iter()
        .map(|(p, ..)| p.clone())
        .chain(std::iter::once(format!("mean of the {}", loaded.len())))
        .collect();
    let mut preds = vec![[Vec::new(), Vec::new()]; names.len()];
    for &k in &slices {
        let x = model_input(image, k, mapping, &cfg);
        for (v, tta) in [false, true].into_iter().enumerate() {
            let probs: Vec<Tensor<4>> = loaded
                .iter()
                .map(|(_, m, _)| probabilities(m, &cfg, std::slice::from_ref(&x), tta, &device))
                .collect();
            let mean = probs
                .iter()
                .cloned()
                .reduce(|a, b| a + b)
                .expect("at least one model")
                .div_scalar(probs.len() as f32);
            for (row, p) in preds.iter_mut().zip(probs.into_iter().chain([mean])) {
                let p = p
                    .into_data()
                    .try_into_vec::<f32>()
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                row[v].push(slice_labels(
                    &p,
                    cfg.classes,
                    cfg.input_size,
                    image,
                    &data.field,
                    k,
                ));
            }
        }
    }
    println!("| model | one view: Dice per slice / pooled | four views (`--tta`) |");
    println!("|---|---|---|");
    for (name, [one, four]) in names.iter().zip(&preds) {
        let score = |p: &Vec<Vec<u8>>| {
            let r = evaluate(
                p.iter()
                    .map(Vec::as_slice)
                    .zip(truths.iter().map(Vec::as_slice)),
                2,
            );
            format!(
                "{:.4} / {:.4}",
                r.binary.per_slice_mean.dice, r.binary.pooled.dice
            )
        };
        println!("| {name} | {} | {} |", score(one), score(four));
    }
    Ok(())
}
