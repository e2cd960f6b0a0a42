//! lungseg: COVID-19 lung-infection segmentation of CT scans with FFRNet, one crate for the
//! native trainer and the browser.
//!
//! Data flows one way: bytes → [`volume`] → [`intensity`] windowed slices → [`model`] →
//! probabilities → masks → [`metrics`] / statistics / export.

/// Where the build found the project's shared real data (`shared/data`), for tests and
/// benchmarks; see `build.rs`.
pub const SHARED_DATA: &str = env!("LUNGSEG_SHARED_DATA");

pub mod edt;
pub mod fixed_weights;
pub mod intensity;
pub mod loss;
pub mod lung_field;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod quantify;
pub mod resample;
pub mod volume;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
