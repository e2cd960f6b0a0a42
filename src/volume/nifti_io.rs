//! NIfTI-1 (`.nii`, `.nii.gz`) from bytes, and label masks back to `.nii.gz` bytes.
//!
//! Browsers hand us bytes, not paths, so everything works on slices. The header is parsed and
//! checked before any voxel memory is allocated, so a header that lies or a 2 GB scan is
//! refused cheaply.

use std::io::{BufRead, Read, Write};

use flate2::Compression;
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use nifti::{NiftiHeader, NiftiType};

use super::error::VolumeError;
use super::{Geometry, Volume, Voxels};

/// The most voxels we open: 2^28 (a 512×512×1024 scan), 1 GiB as f32.
pub const MAX_VOXELS: u64 = 1 << 28;
/// The most bytes of stored voxel data we decompress.
pub const MAX_DATA_BYTES: u64 = 1 << 30;
pub const MAX_SIDE: usize = 4096;
/// A `.nii.gz` may expand to at most this many times its size (or [`GZIP_FLOOR`], whichever is
/// larger) before it is refused as a decompression bomb. Real CT expands 1.4–2.5×, sparse
/// label masks 10–60×; deflate itself cannot pass ~1,030×.
pub const GZIP_RATIO: u64 = 400;
/// Small files may expand this far whatever their ratio.
pub const GZIP_FLOOR: u64 = 64 << 20;
const HEADER_LEN: usize = 348;

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
}

/// Reads at most `limit` bytes, mapping gzip failures to a readable error.
fn read_up_to(reader: &mut impl Read, limit: u64, gz: bool) -> Result<Vec<u8>, VolumeError> {
    let mut out = Vec::new();
    reader.take(limit).read_to_end(&mut out).map_err(|e| {
        if gz {
            VolumeError::CorruptGzip(e.to_string())
        } else {
            VolumeError::NotNifti(e.to_string())
        }
    })?;
    Ok(out)
}

/// Parses a NIfTI-1 volume (3-D, or 4-D with one time point) from `.nii` or `.nii.gz` bytes.
pub fn read_nifti(bytes: &[u8]) -> Result<Volume, VolumeError> {
    read_nifti_from(bytes, bytes.len() as u64)
}

/// [`read_nifti`] from a stream of `len` bytes, read once from the front, so a caller (the page)
/// need not hold the file's bytes next to the scan made of them.
pub fn read_nifti_from(mut source: impl BufRead, len: u64) -> Result<Volume, VolumeError> {
    if len == 0 {
        return Err(VolumeError::Empty);
    }
    // The gzip magic, read (not peeked) so a source with a one-byte buffer is sniffed right.
    let mut magic = [0u8; 2];
    let got = fill(&mut source, &mut magic).map_err(|e| VolumeError::NotNifti(e.to_string()))?;
    let gz = is_gzip(&magic[..got]);
    let source = (&magic[..got]).chain(source);
    let mut reader: Box<dyn Read + '_> = if gz {
        Box::new(MultiGzDecoder::new(source))
    } else {
        Box::new(source)
    };
    let head = read_up_to(&mut reader, HEADER_LEN as u64, gz)?;
    if head.len() < HEADER_LEN {
        return Err(VolumeError::NotNifti(format!(
            "{} bytes is shorter than a NIfTI-1 header (348)",
            head.len()
        )));
    }
    let header = parse_header(&head)?;
    let geometry = Geometry::from_header(&header)?;
    let dtype = header
        .data_type()
        .map_err(|e| VolumeError::DataType(e.to_string()))?;
    let elem = element_size(dtype)?;
    let [nx, ny, nz] = geometry.dims;
    let data_len = (nx * ny * nz) as u64 * elem as u64;
    if data_len > MAX_DATA_BYTES {
        let voxels = (nx * ny * nz) as u64;
        return Err(VolumeError::TooLarge {
            nx,
            ny,
            nz,
            voxels,
            limit: MAX_DATA_BYTES / elem as u64,
        });
    }
    let offset = header.vox_offset as u64;
    // vox_offset counts from the start of the file; we already consumed the header.
    let skip = offset - HEADER_LEN as u64;
    let limit = GZIP_FLOOR.max(GZIP_RATIO.saturating_mul(len));
    if gz && skip + data_len > limit {
        return Err(VolumeError::GzipBomb {
            compressed: len,
            claimed: skip + data_len,
            limit,
        });
    }
    let io_err = |e: std::io::Error| {
        if gz {
            VolumeError::CorruptGzip(e.to_string())
        } else {
            VolumeError::NotNifti(e.to_string())
        }
    };
    let skipped =
        std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink()).map_err(io_err)?;
    let big_endian = header.endianness == nifti::Endianness::Big;
    let data = read_voxels(
        &mut reader,
        dtype,
        big_endian,
        data_len,
        skipped < skip,
        scaling(&header),
        io_err,
    )?;
    if gz {
        // Drain the stream so the gzip trailer's CRC is checked: flipped bytes inside a deflate
        // stream often still decode, and only the checksum catches them.
        std::io::copy(&mut reader.take(64 << 20), &mut std::io::sink())
            .map_err(|e| VolumeError::CorruptGzip(e.to_string()))?;
    }
    Ok(Volume {
        geometry,
        data,
        source_type: format!("{dtype:?}").to_lowercase(),
        series: None,
    })
}

/// Voxels read, scaled and stored a chunk at a time, straight from the (decompressing) reader:
/// the scan is never held twice (stored bytes, then values), only its values (at the narrowest
/// exact type, see [`Voxels`]) and one chunk.
fn read_voxels(
    reader: &mut impl Read,
    t: NiftiType,
    big_endian: bool,
    data_len: u64,
    ended: bool,
    (slope, inter): (f32, f32),
    io_err: impl Fn(std::io::Error) -> VolumeError,
) -> Result<Voxels, VolumeError> {
    const CHUNK: usize = 1 << 20;
    let elem = element_size(t)?;
    let mut data = Voxels::with_capacity((data_len / elem as u64) as usize);
    let mut chunk = vec![0u8; CHUNK.min(data_len as usize)];
    let mut values = Vec::with_capacity(chunk.len() / elem);
    let mut read = 0u64;
    while read < data_len && !ended {
        let want = ((data_len - read) as usize).min(CHUNK);
        let got = fill(reader, &mut chunk[..want]).map_err(&io_err)?;
        values.clear();
        decode(&chunk[..got - got % elem], t, big_endian, &mut values);
        if slope != 1.0 || inter != 0.0 {
            values.iter_mut().for_each(|v| *v = *v * slope + inter);
        }
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            return Err(VolumeError::Header(format!(
                "voxel {} is not a finite number",
                data.len() + bad
            )));
        }
        data.extend_from_slice(&values);
        read += got as u64;
        if got < want {
            break;
        }
    }
    if read < data_len {
        return Err(VolumeError::Truncated {
            expected: data_len,
            available: read,
        });
    }
    Ok(data)
}

/// Reads until `buf` is full or the stream ends; returns how much was read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Stored voxels of type `t` (whole elements) appended to `out` as f32.
fn decode(bytes: &[u8], t: NiftiType, big_endian: bool, out: &mut Vec<f32>) {
    macro_rules! each {
        ($ty:ty) => {
            out.extend(bytes.chunks_exact(std::mem::size_of::<$ty>()).map(|b| {
                let b = b.try_into().expect("an element");
                (if big_endian {
                    <$ty>::from_be_bytes(b)
                } else {
                    <$ty>::from_le_bytes(b)
                }) as f32
            }))
        };
    }
    match t {
        NiftiType::Uint8 => each!(u8),
        NiftiType::Int8 => each!(i8),
        NiftiType::Int16 => each!(i16),
        NiftiType::Uint16 => each!(u16),
        NiftiType::Int32 => each!(i32),
        NiftiType::Uint32 => each!(u32),
        NiftiType::Float32 => each!(f32),
        NiftiType::Float64 => each!(f64),
        // element_size refused every other type before anything was read.
        _ => unreachable!("unsupported NIfTI type {t:?}"),
    }
}

fn parse_header(head: &[u8]) -> Result<NiftiHeader, VolumeError> {
    let sizeof = i32::from_le_bytes(head[0..4].try_into().expect("4 bytes"));
    if sizeof != 348 && sizeof.swap_bytes() != 348 {
        return Err(VolumeError::NotNifti(
            "the first four bytes are not a NIfTI-1 header size (348)".into(),
        ));
    }
    let magic = &head[344..348];
    if magic != b"n+1\0" && magic != b"ni1\0" {
        return Err(VolumeError::NotNifti(
            "the magic string is not \"n+1\" (NIfTI-2 and Analyze are not supported)".into(),
        ));
    }
    if magic == b"ni1\0" {
        return Err(VolumeError::NotNifti(
            "this is the header half of a .hdr/.img pair; use a single-file .nii".into(),
        ));
    }
    let header = NiftiHeader::from_reader(head).map_err(|e| VolumeError::Header(e.to_string()))?;
    if !(header.vox_offset >= HEADER_LEN as f32 && header.vox_offset < (1 << 24) as f32) {
        return Err(VolumeError::Header(format!(
            "vox_offset {} is outside the file layout",
            header.vox_offset
        )));
    }
    Ok(header)
}

fn element_size(t: NiftiType) -> Result<usize, VolumeError> {
    Ok(match t {
        NiftiType::Uint8 | NiftiType::Int8 => 1,
        NiftiType::Int16 | NiftiType::Uint16 => 2,
        NiftiType::Int32 | NiftiType::Uint32 | NiftiType::Float32 => 4,
        NiftiType::Float64 => 8,
        other => return Err(VolumeError::DataType(format!("{other:?}").to_lowercase())),
    })
}

/// The header's linear scaling (slope, intercept); NIfTI's slope 0 (or non-finite) means none.
fn scaling(header: &NiftiHeader) -> (f32, f32) {
    let (slope, inter) = (header.scl_slope, header.scl_inter);
    if slope.is_finite() && slope != 0.0 {
        (slope, if inter.is_finite() { inter } else { 0.0 })
    } else {
        (1.0, 0.0)
    }
}

/// Checks the header's dimensions before anything is allocated.
pub(super) fn checked_dims(header: &NiftiHeader) -> Result<[usize; 3], VolumeError> {
    let dim = header.dim;
    let ndim = dim[0] as usize;
    if !(1..=7).contains(&ndim) {
        return Err(VolumeError::Header(format!(
            "dim[0] = {} is not a number of dimensions",
            dim[0] as i16
        )));
    }
    if (4..=ndim).any(|d| dim[d] > 1) {
        return Err(VolumeError::Dimensions(format!(
            "a {ndim}-D image ({} time points or components); open a single 3-D volume",
            (4..=ndim).map(|d| dim[d] as usize).product::<usize>()
        )));
    }
    let side = |d: usize| if d <= ndim { dim[d] as i16 as i64 } else { 1 };
    let (nx, ny, nz) = (side(1), side(2), side(3));
    if nx < 1 || ny < 1 || nz < 1 {
        return Err(VolumeError::Header(format!(
            "dimensions {nx}×{ny}×{nz} are not positive"
        )));
    }
    let [nx, ny, nz] = [nx as usize, ny as usize, nz as usize];
    if nx < 16 || ny < 16 {
        return Err(VolumeError::Dimensions(format!(
            "slices of {nx}×{ny} voxels are too small for CT (at least 16×16)"
        )));
    }
    let voxels = (nx * ny * nz) as u64;
    if nx > MAX_SIDE || ny > MAX_SIDE || nz > MAX_SIDE * 4 || voxels > MAX_VOXELS {
        return Err(VolumeError::TooLarge {
            nx,
            ny,
            nz,
            voxels,
            limit: MAX_VOXELS,
        });
    }
    Ok([nx, ny, nz])
}

/// Writes `labels` (x fastest, the volume's own voxel order) as a uint8 `.nii.gz` that carries
/// the reference geometry (dimensions, spacing, qform and sform), so it overlays the scan.
pub fn write_mask_nifti(
    geometry: &Geometry,
    labels: &[u8],
    description: &str,
) -> Result<Vec<u8>, VolumeError> {
    let [nx, ny, nz] = geometry.dims;
    if labels.len() != nx * ny * nz {
        return Err(VolumeError::Write(format!(
            "{} labels for a {nx}×{ny}×{nz} volume",
            labels.len()
        )));
    }
    let h = &geometry.header;
    let mut out = Vec::with_capacity(352 + labels.len());
    let i16le = |o: &mut Vec<u8>, v: i16| o.extend_from_slice(&v.to_le_bytes());
    let f32le = |o: &mut Vec<u8>, v: f32| o.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(&348i32.to_le_bytes());
    out.extend_from_slice(&[0u8; 10 + 18]); // data_type, db_name
    out.extend_from_slice(&0i32.to_le_bytes()); // extents
    i16le(&mut out, 0); // session_error
    out.push(b'r'); // regular
    out.push(h.dim_info);
    for v in [3, nx, ny, nz, 1, 1, 1, 1] {
        i16le(&mut out, v as i16);
    }
    for _ in 0..3 {
        f32le(&mut out, 0.0); // intent_p1..3
    }
    i16le(&mut out, 1002); // intent_code: NIFTI_INTENT_LABEL
    i16le(&mut out, 2); // datatype: uint8
    i16le(&mut out, 8); // bitpix
    i16le(&mut out, 0); // slice_start
    let mut pixdim = h.pixdim;
    pixdim[0] = if pixdim[0] == -1.0 { -1.0 } else { 1.0 };
    for v in pixdim {
        f32le(&mut out, v);
    }
    f32le(&mut out, 352.0); // vox_offset
    f32le(&mut out, 1.0); // scl_slope
    f32le(&mut out, 0.0); // scl_inter
    i16le(&mut out, 0); // slice_end
    out.push(0); // slice_code
    out.push(h.xyzt_units);
    let max_label = labels.iter().copied().max().unwrap_or(0);
    f32le(&mut out, max_label as f32); // cal_max
    f32le(&mut out, 0.0); // cal_min
    f32le(&mut out, 0.0); // slice_duration
    f32le(&mut out, 0.0); // toffset
    out.extend_from_slice(&0i32.to_le_bytes()); // glmax
    out.extend_from_slice(&0i32.to_le_bytes()); // glmin
    let mut descrip = [0u8; 80];
    let d = description.as_bytes();
    descrip[..d.len().min(79)].copy_from_slice(&d[..d.len().min(79)]);
    out.extend_from_slice(&descrip);
    out.extend_from_slice(&[0u8; 24]); // aux_file
    i16le(&mut out, h.qform_code);
    i16le(&mut out, h.sform_code);
    for v in [
        h.quatern_b,
        h.quatern_c,
        h.quatern_d,
        h.quatern_x,
        h.quatern_y,
        h.quatern_z,
    ] {
        f32le(&mut out, v);
    }
    for row in [h.srow_x, h.srow_y, h.srow_z] {
        for v in row {
            f32le(&mut out, v);
        }
    }
    out.extend_from_slice(&[0u8; 16]); // intent_name
    out.extend_from_slice(b"n+1\0");
    debug_assert_eq!(out.len(), 348);
    out.extend_from_slice(&[0u8; 4]); // no extensions
    out.extend_from_slice(labels);
    let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
    gz.write_all(&out)
        .map_err(|e| VolumeError::Write(e.to_string()))?;
    gz.finish().map_err(|e| VolumeError::Write(e.to_string()))
}
