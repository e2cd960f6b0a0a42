//! Showing a stored axial slice the right way up.
//!
//! The display convention is the radiological one used for CT: anterior at the top, the
//! patient's right on the viewer's left. Where the file carries a real orientation (an sform or
//! qform that is more than a positive scaling), we honour it. Many research exports (MedSeg,
//! naive DICOM→NIfTI scripts) write a bare positive diagonal and store the image in display
//! order, rows along the second axis; for those the stored order *is* the display, so we show
//! it as stored and say that the orientation is unrecorded.

use serde::Serialize;

/// How display pixels (row, column) map to stored voxels (i, j) of a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SliceView {
    /// Rows run along i (and columns along j) instead of the other way round.
    pub transpose: bool,
    pub flip_rows: bool,
    pub flip_cols: bool,
    /// Whether the file recorded an orientation we could honour.
    pub from_affine: bool,
}

impl SliceView {
    /// Stored order: columns along i, rows along j.
    pub const STORED: SliceView = SliceView {
        transpose: false,
        flip_rows: false,
        flip_cols: false,
        from_affine: false,
    };

    pub fn from_affine(a: &[[f64; 4]; 4], has_code: bool) -> Self {
        let naive = (0..3).all(|r| {
            (0..3).all(|c| {
                if r == c {
                    a[r][c] > 0.0
                } else {
                    a[r][c] == 0.0
                }
            })
        }) && (0..3).all(|r| a[r][3] == 0.0);
        if !has_code || naive {
            return Self::STORED;
        }
        // Columns follow whichever in-plane axis points most along world x (right–left).
        let transpose = a[0][1].abs() > a[0][0].abs();
        let (col_axis, row_axis) = if transpose { (1, 0) } else { (0, 1) };
        Self {
            transpose,
            // RAS+: columns must run towards the patient's left (−x), rows towards posterior (−y).
            flip_cols: a[0][col_axis] > 0.0,
            flip_rows: a[1][row_axis] > 0.0,
            from_affine: true,
        }
    }

    /// (rows, columns) of a displayed slice of a volume with dimensions `dims`.
    pub fn display_size(&self, dims: [usize; 3]) -> [usize; 2] {
        if self.transpose {
            [dims[0], dims[1]]
        } else {
            [dims[1], dims[0]]
        }
    }

    /// Index into the stored slice (i fastest) of display pixel (r, c).
    #[inline]
    pub fn stored_index(&self, dims: [usize; 3], r: usize, c: usize) -> usize {
        let [h, w] = self.display_size(dims);
        let r = if self.flip_rows { h - 1 - r } else { r };
        let c = if self.flip_cols { w - 1 - c } else { c };
        let (i, j) = if self.transpose { (r, c) } else { (c, r) };
        i + j * dims[0]
    }

    /// A stored slice (i fastest) rearranged into display order (row-major).
    pub fn to_display<T: Copy>(&self, dims: [usize; 3], stored: &[T]) -> Vec<T> {
        let [h, w] = self.display_size(dims);
        let mut out = Vec::with_capacity(h * w);
        for r in 0..h {
            for c in 0..w {
                out.push(stored[self.stored_index(dims, r, c)]);
            }
        }
        out
    }

    /// The inverse of [`SliceView::to_display`].
    pub fn to_stored<T: Copy + Default>(&self, dims: [usize; 3], display: &[T]) -> Vec<T> {
        let [h, w] = self.display_size(dims);
        let mut out = vec![T::default(); dims[0] * dims[1]];
        for r in 0..h {
            for c in 0..w {
                out[self.stored_index(dims, r, c)] = display[r * w + c];
            }
        }
        out
    }

    pub fn describe(&self) -> String {
        if self.from_affine {
            "from the file's orientation (radiological: patient's right on the left, anterior up)"
                .into()
        } else {
            "not recorded in the file: shown in stored order".into()
        }
    }
}
