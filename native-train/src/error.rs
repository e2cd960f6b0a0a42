//! The trainer's own kinds of failure. Errors of the layers below keep their types
//! ([`lungseg::volume::VolumeError`], [`lungseg::weights::ModelFileError`], [`crate::data::DataError`]);
//! the commands add which file they were reading or writing (anyhow context) and `main` prints
//! the chain on one line.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Options that cannot work, alone or together (`--max-iterations 0`, `--crop` too large).
    #[error("{0}")]
    Options(String),
    /// A backend that is unknown, not compiled in, or whose device does not open.
    #[error("{0}")]
    Backend(String),
    /// A file that is readable but not what the command needs: a checkpoint of another run, a
    /// teacher or `--init` of another network, a prediction of other dimensions.
    #[error("{}: {problem}", path.display())]
    Mismatch { path: PathBuf, problem: String },
    /// A training step that failed on one or more devices.
    #[error("training step failed on {0}")]
    Step(String),
}

impl TrainError {
    pub fn mismatch(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        TrainError::Mismatch {
            path: path.into(),
            problem: problem.into(),
        }
    }
}
