//! The model file the trainer writes and the browser loads: one self-describing file.
//!
//! Layout: `b"LUNGSEG\0"`, format version (u32 LE), card length (u32 LE), the model card as
//! JSON (network config, training provenance, validation figures), then burn's burnpack record
//! of the weights in f32 (the browser's WebGPU here has no f16).

use burn::module::Module;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{FfrNet, FfrNetConfig};

const MAGIC: &[u8; 8] = b"LUNGSEG\0";
const VERSION: u32 = 1;

/// What a model file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub config: FfrNetConfig,
    /// Free-form provenance written by the trainer: data, hash, split, metrics, date.
    #[serde(default)]
    pub training: serde_json::Value,
}

#[derive(Debug, Error)]
pub enum ModelFileError {
    #[error("not a lungseg model file (wrong magic bytes)")]
    Magic,
    #[error("the model file is truncated ({0})")]
    Truncated(&'static str),
    #[error("model file format version {0} is newer than this program understands ({VERSION})")]
    Version(u32),
    #[error("the model card is unreadable: {0}")]
    Card(String),
    #[error("the model card's network is invalid: {0}")]
    Config(crate::model::InvalidConfig),
    #[error("the weights do not fit the network the card describes (another preset?): {0}")]
    Weights(String),
    #[error("the weights store `{name}` as {dtype}; this program reads float32 weights")]
    WeightType { name: String, dtype: String },
}

/// Serialises `model` with its card.
pub fn save_model(model: &FfrNet, card: &ModelCard) -> Result<Vec<u8>, ModelFileError> {
    let json = serde_json::to_vec(card).map_err(|e| ModelFileError::Card(e.to_string()))?;
    let weights = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| ModelFileError::Weights(e.to_string()))?;
    let mut out = Vec::with_capacity(16 + json.len() + weights.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&weights);
    Ok(out)
}

/// Splits a model file into its card and weight bytes, checking the framing.
pub fn read_card(bytes: &[u8]) -> Result<(ModelCard, &[u8]), ModelFileError> {
    if bytes.len() < 16 {
        return Err(
            if bytes.starts_with(&MAGIC[..bytes.len().min(8)]) && !bytes.is_empty() {
                ModelFileError::Truncated("header")
            } else {
                ModelFileError::Magic
            },
        );
    }
    if &bytes[..8] != MAGIC {
        return Err(ModelFileError::Magic);
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version > VERSION {
        return Err(ModelFileError::Version(version));
    }
    let len = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let json = bytes
        .get(16..16 + len)
        .ok_or(ModelFileError::Truncated("model card"))?;
    let card: ModelCard =
        serde_json::from_slice(json).map_err(|e| ModelFileError::Card(e.to_string()))?;
    card.config.validate().map_err(ModelFileError::Config)?;
    Ok((card, &bytes[16 + len..]))
}

/// Builds the network a model file describes and loads its weights onto `device`.
pub fn load_model(bytes: &[u8], device: &Device) -> Result<(FfrNet, ModelCard), ModelFileError> {
    let (card, weights) = read_card(bytes)?;
    if weights.is_empty() {
        return Err(ModelFileError::Truncated("weights"));
    }
    check_weight_types(weights)?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
        .map_err(|e| ModelFileError::Weights(e.to_string()))?;
    let model = card
        .config
        .init(device)
        .try_load_record(record)
        .map_err(|e| ModelFileError::Weights(e.to_string()))?;
    Ok((model, card))
}

/// Every stored tensor must be float32, as [`save_model`] writes them: burn applies a record's
/// tensors at their stored type, and an integer tensor in a float parameter panics at the first op.
fn check_weight_types(weights: &[u8]) -> Result<(), ModelFileError> {
    let tensors = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
        .and_then(burn_pack::Reader::into_tensors)
        .map_err(|e| ModelFileError::Weights(e.to_string()))?;
    match tensors.into_iter().find(|t| t.dtype != DType::F32) {
        Some(t) => Err(ModelFileError::WeightType {
            name: t.name,
            dtype: format!("{:?}", t.dtype),
        }),
        None => Ok(()),
    }
}

/// [`load_model`] for inference: BatchNorm folded into the convolutions.
pub fn load_for_inference(
    bytes: &[u8],
    device: &Device,
) -> Result<(FfrNet, ModelCard), ModelFileError> {
    load_model(bytes, device).map(|(m, card)| (m.fold_batch_norm(), card))
}
