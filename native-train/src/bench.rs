//! `bench`: burn `flex` against PyTorch CPU on the same network, thread count and shapes, side
//! by side in one run. Every measurement runs in its own process (this binary again, or
//! `py/bench_torch.py`), so its peak resident memory is its own.

use anyhow::Context;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use clap::Args;
use lungseg::loss::{LossWeights, segmentation_loss};
use lungseg::model::Preset;

use crate::backend;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Presets to measure.
    #[arg(long, value_delimiter = ',', default_value = "lite,paper")]
    pub presets: Vec<String>,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Python with torch (see py/requirements.txt); skipped when absent.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// burn's backend: flex (CPU), or a GPU backend compiled in with `--features wgpu|vulkan|cuda`.
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// PyTorch's device: cpu or cuda.
    #[arg(long, default_value = "cpu")]
    pub torch_device: String,
    /// The device's peak FP32 throughput in TFLOP/s: adds the share of it each forward pass reaches.
    #[arg(long)]
    pub peak_tflops: Option<f64>,
    /// Internal: run one burn measurement (`forward|train,SIZE,BATCH`) and print JSON.
    #[arg(long, hide = true)]
    pub one: Option<String>,
}

fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure_burn(
    preset: Preset,
    (mode, size, batch): (&str, usize, usize),
    repeats: usize,
    device: &Device,
) -> f64 {
    let config = preset.config();
    let mut times = Vec::new();
    if mode.starts_with("forward") {
        let device = device.clone();
        let model = config.init(&device);
        let model = if mode == "forward-folded" {
            model.fold_batch_norm()
        } else {
            model
        };
        let x = Tensor::<4>::random(
            [batch, config.in_channels, size, size],
            burn::tensor::Distribution::Default,
            &device,
        );
        for _ in 0..=repeats {
            let t = Instant::now();
            let _ = model.forward(x.clone()).into_data();
            times.push(t.elapsed().as_secs_f64());
        }
    } else {
        let device = device.clone().autodiff();
        let mut model = config.init(&device);
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        let x = Tensor::<4>::random(
            [batch, config.in_channels, size, size],
            burn::tensor::Distribution::Default,
            &device,
        );
        let y = Tensor::<4>::random(
            [batch, 1, size, size],
            burn::tensor::Distribution::Default,
            &device,
        )
        .greater_elem(0.7)
        .int()
        .reshape([batch, size, size]);
        for _ in 0..=repeats {
            let t = Instant::now();
            let terms = segmentation_loss(
                model.forward(x.clone()),
                y.clone(),
                None,
                LossWeights::default(),
            );
            let grads = GradientsParams::from_grads(terms.total.backward(), &model);
            model = optim.step(1e-3, model, grads);
            let _ = model.decoder.classifier.weight.val().into_data();
            times.push(t.elapsed().as_secs_f64());
        }
    }
    median(times[1..].to_vec())
}

struct Row {
    label: String,
    burn: (f64, f64),
    torch: Option<(f64, f64)>,
    /// Floating-point operations of the workload (forward passes only).
    gflop: Option<f64>,
}

pub fn bench(a: BenchArgs) -> anyhow::Result<()> {
    if let Some(spec) = &a.one {
        let p: Vec<&str> = spec.split(',').collect();
        let preset = Preset::parse(p[0]).context("preset")?;
        let device = backend::device(&a.backend)?;
        let secs = measure_burn(
            preset,
            (p[1], p[2].parse().unwrap(), p[3].parse().unwrap()),
            a.repeats,
            &device,
        );
        println!(
            "{}",
            serde_json::json!({ "seconds": secs, "peak_mb": peak_mb() })
        );
        return Ok(());
    }
    // A backend this build lacks is refused here, before any measurement.
    backend::device(&a.backend)?;
    let exe = std::env::current_exe()?;
    let py_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../py");
    let torch_ok = Command::new(&a.python)
        .args(["-c", "import torch"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !torch_ok {
        eprintln!(
            "note: `{} -c 'import torch'` failed: PyTorch columns are skipped",
            a.python
        );
    }
    let mut rows = Vec::new();
    for name in &a.presets {
        let preset = Preset::parse(name).with_context(|| format!("unknown preset `{name}`"))?;
        let cfg_path = std::env::temp_dir().join(format!("lungseg-bench-{name}.json"));
        std::fs::write(&cfg_path, serde_json::to_string(&preset.config()).unwrap())?;
        let gflop_256 = preset
            .config()
            .init(&Device::flex())
            .complexity([256, 256])
            .gflops();
        for (mode, size, batch) in [
            ("forward", 256, 1),
            ("forward-folded", 256, 1),
            ("forward", 512, 1),
            ("forward-folded", 512, 1),
            ("train", 256, a.batch),
        ] {
            let parse = |out: std::process::Output| -> Option<(f64, f64)> {
                let text = String::from_utf8_lossy(&out.stdout);
                let v: serde_json::Value = serde_json::from_str(text.lines().last()?).ok()?;
                Some((v["seconds"].as_f64()?, v["peak_mb"].as_f64()?))
            };
            let burn = Command::new(&exe)
                .args([
                    "bench",
                    "--backend",
                    &a.backend,
                    "--repeats",
                    &a.repeats.to_string(),
                    "--one",
                    &format!("{name},{mode},{size},{batch}"),
                ])
                .env("RAYON_NUM_THREADS", a.threads.to_string())
                .output()
                .map(parse)?
                .context("burn measurement failed")?;
            let torch_mode = if mode == "train" { "train" } else { "forward" };
            let torch = if torch_ok {
                Command::new(&a.python)
                    .arg(py_dir.join("bench_torch.py"))
                    .arg(&cfg_path)
                    .args([
                        torch_mode,
                        &size.to_string(),
                        &batch.to_string(),
                        &a.threads.to_string(),
                        &a.repeats.to_string(),
                        &a.torch_device,
                    ])
                    .env("OMP_NUM_THREADS", a.threads.to_string())
                    .output()
                    .ok()
                    .and_then(parse)
            } else {
                None
            };
            let what = match mode {
                "forward" => "forward",
                "forward-folded" => "forward, BN folded",
                _ => "train step",
            };
            let label = format!("{name}: {what} {size}², batch {batch}");
            eprintln!(
                "{label}: burn {:.3} s, torch {:?}",
                burn.0,
                torch.map(|t| t.0)
            );
            // Multiply-adds grow with the pixels; a training step is not counted.
            let gflop = mode
                .starts_with("forward")
                .then(|| gflop_256 * (size * size * batch) as f64 / (256.0 * 256.0));
            rows.push(Row {
                label,
                burn,
                torch,
                gflop,
            });
        }
    }
    println!(
        "\n{} threads, median of {} runs after one warm-up; burn on {}, PyTorch on {}\n",
        a.threads, a.repeats, a.backend, a.torch_device
    );
    let share = |gflop: Option<f64>, secs: f64| -> String {
        match (gflop, a.peak_tflops) {
            (Some(g), Some(peak)) => format!(
                "{:.3} ({:.1} %)",
                g / secs / 1e3,
                100.0 * g / secs / 1e3 / peak
            ),
            (Some(g), None) => format!("{:.3}", g / secs / 1e3),
            _ => "–".into(),
        }
    };
    println!(
        "| workload | burn {} (s) | PyTorch {} (s) | burn ÷ torch | burn peak MB | torch peak MB | burn TFLOP/s | torch TFLOP/s |",
        a.backend, a.torch_device
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let (t, ratio, tm, tf) = match r.torch {
            Some((s, m)) => (
                format!("{s:.3}"),
                format!("{:.2}×", r.burn.0 / s),
                format!("{m:.0}"),
                share(r.gflop, s),
            ),
            None => ("–".into(), "–".into(), "–".into(), "–".into()),
        };
        println!(
            "| {} | {:.3} | {t} | {ratio} | {:.0} | {tm} | {} | {tf} |",
            r.label,
            r.burn.0,
            r.burn.1,
            share(r.gflop, r.burn.0)
        );
    }
    Ok(())
}
