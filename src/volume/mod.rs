//! A CT volume in memory: voxel values (int16 where they fit, else f32) plus the geometry needed
//! to show slices the right way up and to write masks that overlay the scan.

pub mod dicom_io;
mod dicom_lengths;
pub mod error;
pub mod nifti_io;
pub mod orientation;
mod voxels;

pub use dicom_io::{DicomSet, DicomVolume, SeriesInfo, SkippedFile};
pub use error::VolumeError;
pub use nifti_io::{read_nifti, read_nifti_from, write_mask_nifti};
pub use orientation::SliceView;
pub use voxels::Voxels;

use std::borrow::Cow;

use nifti::NiftiHeader;
use serde::Serialize;

/// Where voxels sit in the world: dimensions, spacing, affine, and the source header
/// (kept so a written mask carries exactly the scan's qform/sform).
#[derive(Debug, Clone)]
pub struct Geometry {
    pub dims: [usize; 3],
    /// Voxel size in mm along i, j, k.
    pub spacing: [f32; 3],
    /// False when the file records no real spacing (identity geometry, as in images exported
    /// from JPEGs); volumes are then reported in voxels, not mL.
    pub spacing_known: bool,
    /// Voxel index → world (RAS+, mm) from the sform, else the qform, else the spacing.
    pub affine: [[f64; 4]; 4],
    pub view: SliceView,
    pub header: NiftiHeader,
}

/// A scan: geometry and voxel values (i fastest, then j, then k).
#[derive(Clone)]
pub struct Volume {
    pub geometry: Geometry,
    pub data: Voxels,
    /// Voxel type on disk (e.g. "int16"), for the user's information.
    pub source_type: String,
    /// The DICOM series it was assembled from; `None` for a NIfTI file.
    pub series: Option<SeriesInfo>,
}

/// What the user interface shows about a loaded volume.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeInfo {
    pub dims: [usize; 3],
    pub spacing: [f32; 3],
    pub spacing_known: bool,
    pub source_type: String,
    pub min: f32,
    pub max: f32,
    /// Size of a displayed slice (rows, columns).
    pub display_size: [usize; 2],
    pub orientation: String,
    pub series: Option<SeriesInfo>,
}

impl Geometry {
    pub fn from_header(header: &NiftiHeader) -> Result<Self, VolumeError> {
        let dims = nifti_io::checked_dims(header)?;
        let pixdim = [header.pixdim[1], header.pixdim[2], header.pixdim[3]];
        let affine = affine_of(header);
        let identity =
            (0..3).all(|r| (0..4).all(|c| affine[r][c] == if r == c { 1.0 } else { 0.0 }));
        let spacing_ok = pixdim.iter().all(|p| p.is_finite() && p.abs() > 1e-6);
        let spacing = if spacing_ok {
            pixdim.map(f32::abs)
        } else {
            [1.0; 3]
        };
        Ok(Self {
            dims,
            spacing,
            spacing_known: spacing_ok && !identity,
            affine,
            view: SliceView::from_affine(&affine, header.sform_code > 0 || header.qform_code > 0),
            header: header.clone(),
        })
    }

    pub fn voxel_count(&self) -> usize {
        self.dims.iter().product()
    }

    /// Volume of one voxel in mL (mm³ / 1000).
    pub fn voxel_ml(&self) -> f64 {
        self.spacing.iter().map(|&s| s as f64).product::<f64>() / 1000.0
    }
}

/// The sform if set, else the qform, else a scaling by pixdim (NIfTI-1 methods 3, 2, 1).
fn affine_of(h: &NiftiHeader) -> [[f64; 4]; 4] {
    if h.sform_code > 0 {
        let r = |row: [f32; 4]| row.map(f64::from);
        return [r(h.srow_x), r(h.srow_y), r(h.srow_z), [0.0, 0.0, 0.0, 1.0]];
    }
    let p = h.pixdim.map(f64::from);
    if h.qform_code > 0 {
        let (b, c, d) = (h.quatern_b as f64, h.quatern_c as f64, h.quatern_d as f64);
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let qfac = if p[0] < 0.0 { -1.0 } else { 1.0 };
        let rot = [
            [
                a * a + b * b - c * c - d * d,
                2.0 * (b * c - a * d),
                2.0 * (b * d + a * c),
            ],
            [
                2.0 * (b * c + a * d),
                a * a + c * c - b * b - d * d,
                2.0 * (c * d - a * b),
            ],
            [
                2.0 * (b * d - a * c),
                2.0 * (c * d + a * b),
                a * a + d * d - c * c - b * b,
            ],
        ];
        let scale = [p[1], p[2], p[3] * qfac];
        let off = [h.quatern_x as f64, h.quatern_y as f64, h.quatern_z as f64];
        let mut m = [[0.0; 4]; 4];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] = rot[r][c] * scale[c];
            }
            m[r][3] = off[r];
        }
        m[3][3] = 1.0;
        return m;
    }
    [
        [p[1], 0.0, 0.0, 0.0],
        [0.0, p[2], 0.0, 0.0],
        [0.0, 0.0, p[3], 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
}

impl std::fmt::Debug for Volume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Volume")
            .field("dims", &self.geometry.dims)
            .field("spacing", &self.geometry.spacing)
            .field("source_type", &self.source_type)
            .finish_non_exhaustive()
    }
}

impl Volume {
    pub fn dims(&self) -> [usize; 3] {
        self.geometry.dims
    }

    /// The stored slice k (i fastest) as f32.
    pub fn slice(&self, k: usize) -> Cow<'_, [f32]> {
        let [nx, ny, _] = self.geometry.dims;
        self.data.range(k * nx * ny..(k + 1) * nx * ny)
    }

    pub fn info(&self) -> VolumeInfo {
        let (min, max) = self
            .data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let g = &self.geometry;
        VolumeInfo {
            dims: g.dims,
            spacing: g.spacing,
            spacing_known: g.spacing_known,
            source_type: self.source_type.clone(),
            min,
            max,
            display_size: g.view.display_size(g.dims),
            orientation: g.view.describe(),
            series: self.series.clone(),
        }
    }
}
