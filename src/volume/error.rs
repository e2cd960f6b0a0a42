//! What can be wrong with a file a user drops in, in words a person understands.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum VolumeError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not a NIfTI-1 image: {0}")]
    NotNifti(String),
    #[error("the gzip stream is corrupt: {0}")]
    CorruptGzip(String),
    #[error(
        "the file is truncated: the header promises {expected} bytes of voxel data but only {available} are there"
    )]
    Truncated { expected: u64, available: u64 },
    #[error(
        "the {compressed}-byte .nii.gz claims {claimed} bytes of voxel data, more than it may expand to ({limit} bytes: {ratio}× its size, at least {floor} MiB): refused as a decompression bomb or a lying header",
        ratio = super::nifti_io::GZIP_RATIO,
        floor = super::nifti_io::GZIP_FLOOR >> 20
    )]
    GzipBomb {
        compressed: u64,
        claimed: u64,
        limit: u64,
    },
    #[error("unsupported dimensions: {0}")]
    Dimensions(String),
    #[error(
        "the volume is too large: {voxels} voxels ({nx}×{ny}×{nz}); at most {limit} voxels can be opened"
    )]
    TooLarge {
        nx: usize,
        ny: usize,
        nz: usize,
        voxels: u64,
        limit: u64,
    },
    #[error("unsupported voxel type {0}: use uint8, int16, int32, float32 or float64")]
    DataType(String),
    #[error("the header is invalid: {0}")]
    Header(String),
    #[error("this does not look like a CT scan: {0}")]
    NotCt(String),
    #[error("the file is not DICOM: {0}")]
    NotDicom(String),
    #[error("the DICOM series cannot be opened: {0}")]
    Series(String),
    #[error("cannot write the mask: {0}")]
    Write(String),
}
