//! Where the shipped model and the shared training data are, as this build found them.

use std::path::PathBuf;

/// The model the web page ships, used when no --model is given.
pub const DEFAULT_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../www/model/lite.lungseg");

pub fn default_model() -> PathBuf {
    PathBuf::from(DEFAULT_MODEL)
}

/// `shared/data/medseg/train`, where the build found the shared data (see the root build.rs).
pub fn default_data() -> PathBuf {
    PathBuf::from(lungseg::SHARED_DATA).join("medseg/train")
}
