//! FFRNet (Wang et al., IEEE TNNLS 2021) in burn, one concept per file.

pub mod autofocus;
pub mod backbone;
pub mod complexity;
pub mod config;
pub mod conv_bn;
pub mod conv_gemm;
pub mod decoder;
pub mod ffrnet;
pub mod fine_step;
pub mod fold;
pub mod gate;
pub mod kernels;
pub mod panorama;
pub mod peer_fuse;
pub mod resize;
pub mod winograd;

pub use config::{FfrNetConfig, InvalidConfig, Preset};
pub use ffrnet::FfrNet;
