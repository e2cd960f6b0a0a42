//! Training checkpoints: model, optimiser, scheduler and loop state in one file, written to a
//! temporary file and renamed, so an interrupted run always keeps its last complete checkpoint.

use crate::error::TrainError;
use anyhow::Context;
use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use lungseg::model::FfrNet;
use serde::{Deserialize, Serialize};

use crate::poly_lr::PolyLr;
use crate::rng::Rng;

const MAGIC: &[u8; 8] = b"LSCKPT1\0";

/// Where the loop stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoopState {
    /// Epochs completed.
    pub epoch: usize,
    pub rng: Rng,
    pub best_dice: f64,
    pub best_epoch: usize,
    /// The run's arguments, so `--resume` can refuse a different run.
    pub fingerprint: String,
}

impl LoopState {
    /// Before the first epoch.
    pub fn start(seed: u64, fingerprint: &str) -> Self {
        Self {
            epoch: 0,
            rng: Rng::new(seed),
            best_dice: -1.0,
            best_epoch: 0,
            fingerprint: fingerprint.to_string(),
        }
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn section(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

pub fn save(
    path: &Path,
    model: &FfrNet,
    optim: &ModuleOptimizer,
    sched: &PolyLr,
    state: &LoopState,
    ema: Option<&FfrNet>,
) -> anyhow::Result<()> {
    let mut out = MAGIC.to_vec();
    section(&mut out, &serde_json::to_vec(state)?);
    section(&mut out, &record_bytes(model)?);
    section(&mut out, &optim.into_bytes()?);
    section(&mut out, &sched.to_record_bytes()?);
    if let Some(ema) = ema {
        section(&mut out, &record_bytes(ema)?);
    }
    write_atomic(path, &out).with_context(|| format!("writing {}", path.display()))
}

fn record_bytes(model: &FfrNet) -> anyhow::Result<Bytes> {
    model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(anyhow::Error::from)
}

fn sections(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?) as usize;
        out.push(rest.get(8..8 + len)?);
        rest = &rest[8 + len..];
    }
    Some(out)
}

/// What [`load`] restores.
pub struct Restored {
    pub model: FfrNet,
    pub optim: ModuleOptimizer,
    pub state: LoopState,
    /// The weight average, when the run keeps one.
    pub ema: Option<FfrNet>,
}

/// Restores what [`save`] wrote into a freshly built model and optimiser (and `ema`, a freshly
/// built model for the weight average, when the run keeps one), refusing a checkpoint whose
/// run had another `fingerprint` (other options, another split).
pub fn load(
    path: &Path,
    fingerprint: &str,
    model: FfrNet,
    optim: ModuleOptimizer,
    sched: &mut PolyLr,
    ema: Option<FfrNet>,
) -> anyhow::Result<Restored> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bad =
        |what: &str| TrainError::mismatch(path, format!("not a complete checkpoint ({what})"));
    let parts = sections(&bytes)
        .filter(|p| matches!(p.len(), 4 | 5))
        .ok_or_else(|| bad("framing"))?;
    let state: LoopState = serde_json::from_slice(parts[0]).map_err(|e| bad(&e.to_string()))?;
    if state.fingerprint != fingerprint {
        return Err(TrainError::mismatch(
            path,
            "the checkpoint belongs to a run with other options or another split",
        )
        .into());
    }
    let load_model = |model: FfrNet, bytes: &[u8]| {
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
            .map_err(|e| bad(&e.to_string()))?;
        model
            .try_load_record(record)
            .map_err(|e| bad(&e.to_string()))
    };
    let model = load_model(model, parts[1])?;
    let optim = optim
        .from_bytes(Bytes::from_bytes_vec(parts[2].to_vec()))
        .map_err(|e| bad(&e.to_string()))?;
    sched.iteration = serde_json::from_slice::<usize>(parts[3]).map_err(|e| bad(&e.to_string()))?;
    // A run's fingerprint says whether it keeps an average, so the caller compares that first.
    let ema = match (ema, parts.get(4)) {
        (Some(m), Some(bytes)) => Some(load_model(m, bytes)?),
        _ => None,
    };
    Ok(Restored {
        model,
        optim,
        state,
        ema,
    })
}

impl PolyLr {
    fn to_record_bytes(&self) -> anyhow::Result<Vec<u8>> {
        Ok(serde_json::to_vec(&self.iteration)?)
    }
}
