//! DICOM CT series from a set of files (name + bytes), as a scanner or PACS exports them: one
//! file per slice, often several series in one folder, often with compressed pixel data.
//!
//! Files are parsed with dicom-rs (its pure-Rust decoders, so the same code runs in the
//! browser). Series are assembled the way dcm2niix and ITK do it: grouped by SeriesInstanceUID
//! (or, in anonymised exports without one, by study, series number, orientation and size),
//! sorted along the slice normal from ImageOrientationPatient / ImagePositionPatient, spaced by
//! the positions, rescaled by RescaleSlope / RescaleIntercept, and given the affine that puts an
//! exported mask on the series in 3D Slicer and ITK-SNAP. What is irregular is said, not guessed.

use std::collections::BTreeMap;

use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use nifti::NiftiHeader;
use serde::Serialize;

use super::dicom_lengths::check_lengths;
use super::error::VolumeError;
use super::nifti_io::{MAX_SIDE, MAX_VOXELS};
use super::{Geometry, Volume, Voxels};

/// The series a volume came from, for the page, the statistics and the exports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeriesInfo {
    /// SeriesInstanceUID, or a key built from what an anonymised export kept.
    pub uid: String,
    pub description: String,
    pub series_number: Option<i32>,
    pub modality: Option<String>,
    /// Image files in the series (before localizers and duplicates are dropped).
    pub files: usize,
    /// Rows × columns of its images.
    pub size: [u32; 2],
    /// SliceThickness as recorded, in mm.
    pub thickness_mm: Option<f64>,
}

/// A file that is not part of any series, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SkippedFile {
    pub name: String,
    pub reason: String,
}

/// One image file's header, read once when the file is added.
#[derive(Debug, Clone)]
struct SliceHeader {
    series_key: String,
    series_number: Option<i32>,
    description: String,
    modality: Option<String>,
    sop_uid: Option<String>,
    instance: Option<i32>,
    rows: u32,
    cols: u32,
    orientation: Option<[f64; 6]>,
    position: Option<[f64; 3]>,
    pixel_spacing: Option<[f64; 2]>,
    thickness: Option<f64>,
    localizer: bool,
}

/// One accepted image: its header and its pixels, already decoded and rescaled to HU, so a
/// broken file is found (and skipped) when it is added and its bytes need not be kept.
struct SliceFile {
    name: String,
    header: SliceHeader,
    values: Voxels,
    stored: String,
}

/// The files of a drop or a folder, read one at a time (so a page can show progress and drop
/// each file's bytes on its side), then turned into the volume of one series.
#[derive(Default)]
pub struct DicomSet {
    files: Vec<SliceFile>,
    skipped: Vec<SkippedFile>,
}

/// A series made into a volume, with what was irregular about it.
#[derive(Debug)]
pub struct DicomVolume {
    pub volume: Volume,
    pub series: SeriesInfo,
    /// Things a user should know: gaps, tilt, dropped localizers and duplicates, files skipped.
    pub warnings: Vec<String>,
}

/// Whether bytes look like a DICOM file (Part 10 with its "DICM" marker, or a meta group
/// without the preamble), so a folder's other files can be told apart from broken DICOM.
pub fn looks_like_dicom(bytes: &[u8]) -> bool {
    (bytes.len() >= 132 && &bytes[128..132] == b"DICM")
        || (bytes.len() >= 8 && bytes[0..4] == [0x02, 0x00, 0x00, 0x00] && &bytes[4..6] == b"UL")
}

impl DicomSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one file's header. A file that cannot be part of a CT series (not DICOM, a
    /// DICOMDIR, a zip, truncated, a pixel encoding that cannot be decoded here, a report) is
    /// recorded as skipped with its reason; it never stops the rest from opening.
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        let held: u64 = self.files.iter().map(|f| f.values.len() as u64).sum();
        if held > MAX_VOXELS {
            self.skipped.push(SkippedFile {
                name: name.to_string(),
                reason: format!(
                    "the files already read hold {held} voxels, more than the {MAX_VOXELS} \
                     that can be opened at once; open one series' folder"
                ),
            });
            return;
        }
        match read_image(bytes) {
            Ok((header, values, stored)) => self.files.push(SliceFile {
                name: name.to_string(),
                header,
                values: values.into(),
                stored,
            }),
            Err(reason) => self.skipped.push(SkippedFile {
                name: name.to_string(),
                reason,
            }),
        }
    }

    pub fn skipped(&self) -> &[SkippedFile] {
        &self.skipped
    }

    /// Image files accepted so far.
    pub fn image_count(&self) -> usize {
        self.files.len()
    }

    /// The series present, largest first.
    pub fn series(&self) -> Vec<SeriesInfo> {
        let mut out: Vec<SeriesInfo> = self
            .groups()
            .into_iter()
            .map(|(key, files)| {
                let h = &files[0].header;
                SeriesInfo {
                    uid: key,
                    description: h.description.clone(),
                    series_number: h.series_number,
                    modality: h.modality.clone(),
                    files: files.len(),
                    size: [h.rows, h.cols],
                    thickness_mm: h.thickness,
                }
            })
            .collect();
        out.sort_by(|a, b| b.files.cmp(&a.files).then(a.uid.cmp(&b.uid)));
        out
    }

    fn groups(&self) -> BTreeMap<String, Vec<&SliceFile>> {
        let mut groups: BTreeMap<String, Vec<&SliceFile>> = BTreeMap::new();
        for f in &self.files {
            groups
                .entry(f.header.series_key.clone())
                .or_default()
                .push(f);
        }
        groups
    }

    /// The volume of the series `uid`, or of the only series when `uid` is `None`.
    pub fn volume(&self, uid: Option<&str>) -> Result<DicomVolume, VolumeError> {
        let series = self.series();
        let chosen = match uid {
            Some(u) => series.iter().find(|s| s.uid == u).ok_or_else(|| {
                VolumeError::Series(format!(
                    "no series {u} among the files; there is {}",
                    list(&series)
                ))
            })?,
            None => match series.as_slice() {
                [] => return Err(self.nothing_to_open()),
                [one] => one,
                _ => {
                    return Err(VolumeError::Series(format!(
                        "{} series in these files; choose one: {}",
                        series.len(),
                        list(&series)
                    )));
                }
            },
        };
        if let Some(m) = chosen.modality.as_deref().filter(|m| *m != "CT") {
            return Err(VolumeError::NotCt(format!(
                "series {} is {m} (modality), not CT",
                chosen.uid
            )));
        }
        let groups = self.groups();
        let files = &groups[&chosen.uid];
        let (volume, mut warnings) = assemble(files)?;
        if chosen.modality.is_none() {
            warnings.push(
                "the files record no Modality; they were read as CT because they hold CT image \
                 storage or HU-range values"
                    .into(),
            );
        }
        if !self.skipped.is_empty() {
            let names: Vec<String> = self
                .skipped
                .iter()
                .take(3)
                .map(|s| format!("{}: {}", s.name, s.reason))
                .collect();
            warnings.push(format!(
                "{} file(s) skipped ({}{})",
                self.skipped.len(),
                names.join("; "),
                if self.skipped.len() > 3 { "; …" } else { "" }
            ));
        }
        let mut volume = volume;
        volume.series = Some(chosen.clone());
        Ok(DicomVolume {
            volume,
            series: chosen.clone(),
            warnings,
        })
    }

    fn nothing_to_open(&self) -> VolumeError {
        match self.skipped.as_slice() {
            [] => VolumeError::Series("no files were given".into()),
            [one] => VolumeError::NotDicom(format!("{}: {}", one.name, one.reason)),
            many => VolumeError::Series(format!(
                "none of the {} files is a CT image (first: {}: {})",
                many.len(),
                many[0].name,
                many[0].reason
            )),
        }
    }
}

fn list(series: &[SeriesInfo]) -> String {
    if series.is_empty() {
        return "no series".into();
    }
    series
        .iter()
        .map(|s| {
            format!(
                "{} (\"{}\", {} files, {}{})",
                s.uid,
                s.description,
                s.files,
                s.modality.as_deref().unwrap_or("no modality"),
                s.thickness_mm
                    .map(|t| format!(", {t} mm"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse(bytes: &[u8]) -> Result<DefaultDicomObject, String> {
    check_lengths(bytes)?;
    let options = OpenFileOptions::new();
    // The preamble is optional in practice: some tools write the meta group at byte 0.
    let preamble = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        dicom_object::file::ReadPreamble::Always
    } else {
        dicom_object::file::ReadPreamble::Never
    };
    options
        .read_preamble(preamble)
        .from_reader(bytes)
        .map_err(|e| format!("not a readable DICOM file ({e})"))
}

fn text(obj: &DefaultDicomObject, tag: dicom_object::Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_string())
}

fn floats<const N: usize>(obj: &DefaultDicomObject, tag: dicom_object::Tag) -> Option<[f64; N]> {
    let v = obj.get(tag)?.to_multi_float64().ok()?;
    let a: [f64; N] = v.get(..N)?.try_into().ok()?;
    a.iter().all(|x| x.is_finite()).then_some(a)
}

fn int(obj: &DefaultDicomObject, tag: dicom_object::Tag) -> Option<i32> {
    obj.get(tag)?.to_int::<i32>().ok()
}

/// What a user can do with a file whose pixel encoding cannot be decoded here.
const CONVERT: &str = "convert it to an uncompressed, JPEG Lossless, RLE or JPEG 2000 syntax \
                       (e.g. `gdcmconv --raw`)";

const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const ENHANCED_CT_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2.1";
const DICOMDIR: &str = "1.2.840.10008.1.3.10";

/// A file's header, its pixels in HU (the modality LUT of this very file applied) and a note
/// of how they were stored.
fn read_image(bytes: &[u8]) -> Result<(SliceHeader, Vec<f32>, String), String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err("a zip archive: unzip it and open the folder it holds".into());
    }
    if !looks_like_dicom(bytes) {
        return Err(
            "not a DICOM file (no \"DICM\" marker at byte 128 and no file meta group)".into(),
        );
    }
    let obj = parse(bytes)?;
    let meta = obj.meta();
    let sop_class = meta
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_string();
    if sop_class == DICOMDIR {
        return Err(
            "a DICOMDIR (an index of the folder); its images are read from the folder's files"
                .into(),
        );
    }
    let ts_uid = meta.transfer_syntax().to_string();
    let mut obj = obj;
    let j2k = JPEG_2000.contains(&ts_uid.as_str());
    if j2k && obj.get(tags::PIXEL_DATA).is_some() {
        jpeg2000_to_native(&mut obj)?;
    }
    match TransferSyntaxRegistry.get(&ts_uid) {
        Some(_) if j2k => {}
        None => {
            return Err(format!(
                "its transfer syntax {ts_uid} is unknown, so its pixels cannot be decoded"
            ));
        }
        Some(ts) if !ts.can_decode_all() => {
            return Err(format!(
                "its pixel data is {} ({ts_uid}), which cannot be decoded here; {CONVERT}",
                ts.name()
            ));
        }
        Some(_) => {}
    }
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(format!(
            "no pixel data (SOP class {sop_class}: not an image, e.g. a report or structure set)"
        ));
    }
    let frames = int(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1);
    if frames > 1 || sop_class == ENHANCED_CT_STORAGE {
        return Err(format!(
            "a multi-frame image ({frames} frames, SOP class {sop_class}); multi-frame (enhanced) \
             CT is not supported yet: export the series as one file per slice"
        ));
    }
    if ts_uid == RLE_LOSSLESS {
        check_rle(&obj)?;
    }
    if JPEG_SYNTAXES.contains(&ts_uid.as_str()) {
        check_jpeg(&obj)?;
    }
    let samples = int(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if samples != 1 {
        return Err(format!(
            "a colour image ({samples} samples per pixel, {}), not CT",
            text(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default()
        ));
    }
    let rows = int(&obj, tags::ROWS).unwrap_or(0);
    let cols = int(&obj, tags::COLUMNS).unwrap_or(0);
    if !(16..=MAX_SIDE as i32).contains(&rows) || !(16..=MAX_SIDE as i32).contains(&cols) {
        return Err(format!(
            "images of {rows}×{cols} pixels are not CT slices (16 to {MAX_SIDE} a side)"
        ));
    }
    let series_uid = text(&obj, tags::SERIES_INSTANCE_UID);
    let study_uid = text(&obj, tags::STUDY_INSTANCE_UID).unwrap_or_default();
    let series_number = int(&obj, tags::SERIES_NUMBER);
    let orientation = floats::<6>(&obj, tags::IMAGE_ORIENTATION_PATIENT);
    let series_key = series_uid.clone().unwrap_or_else(|| {
        // Anonymised exports may blank the UIDs: group by what remains.
        let o = orientation
            .map(|o| {
                o.iter()
                    .map(|v| format!("{:.2}", v))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        format!(
            "no-uid:study={study_uid};series={};orientation={o};size={rows}x{cols}",
            series_number.map(|n| n.to_string()).unwrap_or_default()
        )
    });
    let image_type = obj
        .get(tags::IMAGE_TYPE)
        .and_then(|e| e.to_multi_str().ok().map(|v| v.join("\\")))
        .unwrap_or_default()
        .to_uppercase();
    let modality = text(&obj, tags::MODALITY);
    if modality.is_none() && sop_class != CT_IMAGE_STORAGE && !sop_class.is_empty() {
        // Without Modality, only CT Image Storage says what the image is.
        return Err(format!(
            "no Modality and SOP class {sop_class} (not CT Image Storage): not read as CT"
        ));
    }
    let header = SliceHeader {
        series_key,
        series_number,
        description: text(&obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        modality,
        sop_uid: text(&obj, tags::SOP_INSTANCE_UID),
        instance: int(&obj, tags::INSTANCE_NUMBER),
        rows: rows as u32,
        cols: cols as u32,
        orientation,
        position: floats::<3>(&obj, tags::IMAGE_POSITION_PATIENT),
        pixel_spacing: floats::<2>(&obj, tags::PIXEL_SPACING),
        thickness: obj
            .get(tags::SLICE_THICKNESS)
            .and_then(|e| e.to_float64().ok())
            .filter(|t| t.is_finite() && *t > 0.0),
        localizer: image_type.contains("LOCALIZER"),
    };
    fill_bit_depth(&mut obj);
    check_bit_depth(&obj)?;
    let decoded = obj
        .decode_pixel_data()
        .map_err(|e| format!("its pixel data cannot be decoded ({e})"))?;
    let stored = format!(
        "{}{}, {}",
        if decoded.pixel_representation() == dicom_pixeldata::PixelRepresentation::Signed {
            "int"
        } else {
            "uint"
        },
        decoded.bits_allocated(),
        TransferSyntaxRegistry
            .get(&ts_uid)
            .map(|t| t.name())
            .unwrap_or("unknown syntax")
    );
    // The modality LUT: RescaleSlope / RescaleIntercept of this very file.
    let values: Vec<f32> = decoded
        .to_vec_frame(0)
        .map_err(|e| format!("its pixel values cannot be read ({e})"))?;
    let expected = (rows * cols) as usize;
    if values.len() != expected {
        return Err(format!(
            "{} pixel values for a {rows}×{cols} image",
            values.len()
        ));
    }
    if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("pixel {bad} is not a finite number"));
    }
    Ok((header, values, stored))
}

/// JPEG 2000 (lossless and lossy): decoded by rust-j2k, pure Rust, so the page and `predict`
/// read these files alike (OpenJPEG, dicom-pixeldata's decoder for them, is C).
const JPEG_2000: [&str; 2] = ["1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"];
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// Decodes a one-frame JPEG 2000 image and puts its samples back as native pixel data, so
/// the modality LUT and the checks after it are the same as for uncompressed files.
fn jpeg2000_to_native(obj: &mut DefaultDicomObject) -> Result<(), String> {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    let rows = int(obj, tags::ROWS).unwrap_or(0);
    let cols = int(obj, tags::COLUMNS).unwrap_or(0);
    let allocated = int(obj, tags::BITS_ALLOCATED).unwrap_or(16);
    let signed = int(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let element = obj.get(tags::PIXEL_DATA).expect("checked by the caller");
    let fragments = element
        .value()
        .fragments()
        .ok_or("JPEG 2000 syntax but the pixel data is not encapsulated")?;
    // One frame (multi-frame files are refused later): its fragments make one codestream.
    let codestream: Vec<u8> = fragments.iter().flatten().copied().collect();
    let image = rust_j2k::decode(&codestream)
        .map_err(|e| format!("its JPEG 2000 pixel data cannot be decoded ({e})"))?;
    let c = image
        .component(0)
        .filter(|_| image.components.len() == 1)
        .ok_or("a JPEG 2000 image with more than one component (colour), not CT")?;
    if (c.width, c.height) != (cols as u32, rows as u32) {
        return Err(format!(
            "its JPEG 2000 image is {}×{}, the header says {cols}×{rows}",
            c.width, c.height
        ));
    }
    let bytes: Vec<u8> = match (allocated, signed) {
        (8, false) => c.samples.iter().map(|&v| v.clamp(0, 255) as u8).collect(),
        (16, false) => c
            .samples
            .iter()
            .flat_map(|&v| (v.clamp(0, 65535) as u16).to_le_bytes())
            .collect(),
        (16, true) => c
            .samples
            .iter()
            .flat_map(|&v| (v.clamp(-32768, 32767) as i16).to_le_bytes())
            .collect(),
        _ => {
            return Err(format!(
                "JPEG 2000 with {allocated} bits allocated ({}) is not read",
                if signed { "signed" } else { "unsigned" }
            ));
        }
    };
    let vr = if allocated == 8 { VR::OB } else { VR::OW };
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        vr,
        PrimitiveValue::from(bytes),
    ));
    obj.meta_mut().transfer_syntax = EXPLICIT_VR_LE.to_string();
    Ok(())
}

/// Minimal exports (the LIDC fixtures among them) omit BitsStored / HighBit; the decoder needs
/// them, and the standard's defaults follow from BitsAllocated.
fn fill_bit_depth(obj: &mut DefaultDicomObject) {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    let allocated = int(obj, tags::BITS_ALLOCATED).unwrap_or(16).clamp(1, 32) as u16;
    if int(obj, tags::BITS_STORED).is_none() {
        obj.put(DataElement::new(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(allocated),
        ));
    }
    if int(obj, tags::HIGH_BIT).is_none() {
        let stored = int(obj, tags::BITS_STORED)
            .unwrap_or(allocated as i32)
            .clamp(1, 32) as u16;
        obj.put(DataElement::new(
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(stored - 1),
        ));
    }
}

/// dicom-rs panics on 0 bits stored and builds a 2^bits lookup table: CT stores 8–16 bits, so
/// anything else is refused by name (a `dicom` fuzz finding).
fn check_bit_depth(obj: &DefaultDicomObject) -> Result<(), String> {
    let allocated = int(obj, tags::BITS_ALLOCATED).unwrap_or(16);
    let stored = int(obj, tags::BITS_STORED).unwrap_or(allocated);
    // High Bit is left alone: real encoders write odd values there, and dicom-rs copes.
    if !matches!(allocated, 8 | 16 | 32) || !(1..=16.min(allocated)).contains(&stored) {
        return Err(format!(
            "Bits Allocated {allocated}, Bits Stored {stored}: CT is read with 1–16 bits stored in 8, 16 or 32 allocated"
        ));
    }
    Ok(())
}

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
/// JPEG Baseline, Extended, Lossless and Lossless SV1: what dicom-rs decodes with jpeg-decoder.
const JPEG_SYNTAXES: [&str; 4] = [
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
];

/// The JPEG frame header (SOF) of the first fragment must describe the image the DICOM header
/// does: dicom-rs copies the decoded frame into a buffer sized from Rows × Columns × Bits
/// Allocated and panicked when the JPEG said more (fifth dicom fuzz finding). A stream without a
/// readable SOF is left to the decoder, which reports it.
fn check_jpeg(obj: &DefaultDicomObject) -> Result<(), String> {
    let rows = int(obj, tags::ROWS).unwrap_or(0).max(0) as usize;
    let cols = int(obj, tags::COLUMNS).unwrap_or(0).max(0) as usize;
    let bytes_allocated =
        (int(obj, tags::BITS_ALLOCATED).unwrap_or(16).max(0) as usize).div_ceil(8);
    let Some(frame) = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().fragments())
        .and_then(|f| f.first())
    else {
        return Ok(());
    };
    let Some((precision, height, width, components)) = jpeg_frame_header(frame) else {
        return Ok(());
    };
    let sample_bytes = if precision > 8 { 2 } else { 1 };
    if (height, width, components) != (rows, cols, 1) || sample_bytes > bytes_allocated {
        return Err(format!(
            "its JPEG frame is {width}×{height} with {components} component(s) of {precision} bits, \
             but the header says {cols}×{rows}, one sample of {} bits allocated: the file is corrupt",
            bytes_allocated * 8
        ));
    }
    Ok(())
}

/// (precision, height, width, components) from the first SOF marker of a JPEG stream.
fn jpeg_frame_header(jpeg: &[u8]) -> Option<(u8, usize, usize, usize)> {
    let mut at = jpeg.windows(2).position(|w| w == [0xFF, 0xD8])? + 2;
    loop {
        while *jpeg.get(at)? != 0xFF {
            at += 1;
        }
        while *jpeg.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *jpeg.get(at)?;
        let len = u16::from_be_bytes([*jpeg.get(at + 1)?, *jpeg.get(at + 2)?]) as usize;
        let sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if sof {
            let h = jpeg.get(at + 3..at + 9)?;
            return Some((
                h[0],
                u16::from_be_bytes([h[1], h[2]]) as usize,
                u16::from_be_bytes([h[3], h[4]]) as usize,
                h[5] as usize,
            ));
        }
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        at += 1 + len;
    }
}

/// dicom-rs's RLE decoder indexes past a segment that decodes short and slices by an unchecked
/// segment count (a `dicom` fuzz finding, a panic in the page's worker): each segment of the
/// frame is checked to decode to a full plane first (PackBits, DICOM PS3.5 G.3.1).
fn check_rle(obj: &DefaultDicomObject) -> Result<(), String> {
    let plane = (int(obj, tags::ROWS).unwrap_or(0).max(0) as usize)
        * (int(obj, tags::COLUMNS).unwrap_or(0).max(0) as usize);
    let fragments = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().fragments())
        .ok_or("RLE syntax but the pixel data is not encapsulated")?;
    let bad = |why: String| Err(format!("its RLE pixel data is corrupt: {why}"));
    let Some(frame) = fragments.first() else {
        return bad("no fragment".into());
    };
    if frame.len() < 64 {
        return bad(format!(
            "a {}-byte fragment has no 64-byte RLE header",
            frame.len()
        ));
    }
    let word = |i: usize| u32::from_le_bytes(frame[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    let count = word(0);
    if !(1..=15).contains(&count) {
        return bad(format!("{count} segments (1 to 15 are possible)"));
    }
    for k in 0..count {
        let (start, end) = (
            word(k + 1),
            if k + 1 < count {
                word(k + 2)
            } else {
                frame.len()
            },
        );
        let Some(segment) = frame.get(start..end) else {
            return bad(format!(
                "segment {k} spans bytes {start}..{end} of {}",
                frame.len()
            ));
        };
        let decoded = packbits_len(segment, plane);
        if decoded < plane {
            return bad(format!(
                "segment {k} decodes to {decoded} of the {plane} bytes of a plane"
            ));
        }
    }
    Ok(())
}

/// How many bytes PackBits `data` decodes to, counting no further than `limit`.
fn packbits_len(data: &[u8], limit: usize) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < data.len() && n < limit {
        let h = data[i] as i8;
        i += 1;
        match h {
            0..=127 => {
                let run = (h as usize + 1).min(data.len() - i);
                n += run;
                i += run;
            }
            -127..=-1 if i < data.len() => {
                n += 1 - h as isize as usize;
                i += 1;
            }
            _ => {}
        }
    }
    n
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

fn same_orientation(a: &[f64; 6], b: &[f64; 6]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-3)
}

/// The most common value of `key` among `files`.
fn majority<K: PartialEq + Clone>(files: &[&SliceFile], key: impl Fn(&SliceHeader) -> K) -> K {
    let mut counts: Vec<(K, usize)> = Vec::new();
    for f in files {
        let k = key(&f.header);
        match counts.iter_mut().find(|(c, _)| *c == k) {
            Some((_, n)) => *n += 1,
            None => counts.push((k, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(k, _)| k)
        .expect("a series has files")
}

fn assemble(files: &[&SliceFile]) -> Result<(Volume, Vec<String>), VolumeError> {
    let mut warnings = Vec::new();
    // Localizers (scouts) are projections, not slices of the volume.
    let mut images: Vec<&SliceFile> = files
        .iter()
        .copied()
        .filter(|f| !f.header.localizer)
        .collect();
    let localizers = files.len() - images.len();
    if images.is_empty() {
        return Err(VolumeError::Series(format!(
            "the series holds only {localizers} localizer (scout) image(s), no slices"
        )));
    }
    if localizers > 0 {
        warnings.push(format!("{localizers} localizer (scout) image(s) dropped"));
    }
    let size = majority(&images, |h| (h.rows, h.cols));
    let before = images.len();
    images.retain(|f| (f.header.rows, f.header.cols) == size);
    if images.len() < before {
        warnings.push(format!(
            "{} image(s) of another size than the series' {}×{} dropped",
            before - images.len(),
            size.0,
            size.1
        ));
    }
    let rounded = |h: &SliceHeader| h.orientation.map(|o| o.map(|v| (v * 1e3).round() as i64));
    let common = majority(&images, rounded);
    let orientation = images
        .iter()
        .find(|f| rounded(&f.header) == common)
        .and_then(|f| f.header.orientation);
    if let Some(o) = orientation {
        let before = images.len();
        images.retain(|f| {
            f.header
                .orientation
                .is_some_and(|fo| same_orientation(&fo, &o))
        });
        if images.len() < before {
            warnings.push(format!(
                "{} image(s) in another orientation dropped (localizers or reformats)",
                before - images.len()
            ));
        }
    }
    let orientation = orientation.unwrap_or([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let row_dir = [orientation[0], orientation[1], orientation[2]];
    let col_dir = [orientation[3], orientation[4], orientation[5]];
    let mut normal = cross(row_dir, col_dir);
    let n_len = norm(normal);
    if !(0.5..=1.5).contains(&n_len) {
        return Err(VolumeError::Series(format!(
            "ImageOrientationPatient {orientation:?} is not two unit directions"
        )));
    }
    normal = normal.map(|v| v / n_len);

    // Sort along the slice normal; without positions, by InstanceNumber, and say so.
    let positioned = images.iter().all(|f| f.header.position.is_some());
    let mut keyed: Vec<(f64, &SliceFile)> = if positioned {
        images
            .iter()
            .map(|f| (dot(f.header.position.expect("checked"), normal), *f))
            .collect()
    } else if images.iter().all(|f| f.header.instance.is_some()) {
        warnings.push(
            "no ImagePositionPatient: slices ordered by InstanceNumber, spacing from \
             SliceThickness"
                .into(),
        );
        images
            .iter()
            .map(|f| (f.header.instance.expect("checked") as f64, *f))
            .collect()
    } else if images.len() == 1 {
        vec![(0.0, images[0])]
    } else {
        return Err(VolumeError::Series(
            "the images record neither ImagePositionPatient nor InstanceNumber, so their order \
             is unknown"
                .into(),
        ));
    };
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));

    // Two images at one position: the same file twice (same SOP instance) or two acquisitions.
    let mut deduped: Vec<(f64, &SliceFile)> = Vec::with_capacity(keyed.len());
    let (mut copies, mut clashes) = (0, 0);
    for (d, f) in keyed {
        if let Some((pd, pf)) = deduped.last() {
            let tol = if positioned { 1e-3 } else { 0.0 };
            if (d - pd).abs() <= tol {
                if pf.header.sop_uid.is_some() && pf.header.sop_uid == f.header.sop_uid {
                    copies += 1;
                } else {
                    clashes += 1;
                }
                continue;
            }
        }
        deduped.push((d, f));
    }
    if copies > 0 {
        warnings.push(format!(
            "{copies} duplicate file(s) of the same image dropped"
        ));
    }
    if clashes > 0 {
        warnings.push(format!(
            "{clashes} image(s) at a position another image already holds dropped (the \
             first by file name was kept): the series may mix two acquisitions"
        ));
    }
    let n = deduped.len();
    let first = &deduped[0].1.header;
    let thickness = first.thickness;

    // Slice spacing from the positions (the median gap), not from SliceThickness.
    let gaps: Vec<f64> = deduped.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let spacing_z = if positioned && !gaps.is_empty() {
        let mut sorted = gaps.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    } else {
        thickness.unwrap_or(1.0)
    };
    if positioned && !gaps.is_empty() {
        let tol = (0.01 * spacing_z).max(0.01);
        let uneven: Vec<(usize, f64)> = gaps
            .iter()
            .enumerate()
            .filter(|(_, g)| (**g - spacing_z).abs() > tol)
            .map(|(i, g)| (i, *g))
            .collect();
        if !uneven.is_empty() {
            let missing: f64 = uneven
                .iter()
                .map(|(_, g)| (g / spacing_z).round() - 1.0)
                .filter(|m| *m > 0.0)
                .sum();
            let shown: Vec<String> = uneven
                .iter()
                .take(3)
                .map(|(i, g)| format!("{g:.2} mm between slices {i} and {}", i + 1))
                .collect();
            warnings.push(format!(
                "uneven slice spacing: {}{} where the others are {spacing_z:.2} mm{}; the \
                 volume uses {spacing_z:.2} mm throughout, so distances across a gap are off",
                shown.join(", "),
                if uneven.len() > 3 { ", …" } else { "" },
                if missing > 0.0 {
                    format!(" (about {missing} missing slice(s))")
                } else {
                    String::new()
                }
            ));
        }
    }

    // The step from slice to slice in space; off the normal when the gantry was tilted.
    let mut step = normal.map(|v| v * spacing_z);
    if positioned && n >= 2 {
        let (p0, p1) = (
            deduped[0].1.header.position.expect("checked"),
            deduped[n - 1].1.header.position.expect("checked"),
        );
        let along = [p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]];
        let len = norm(along);
        if len > 1e-6 {
            let cos = (dot(along, normal) / len).clamp(-1.0, 1.0);
            let tilt = cos.acos().to_degrees();
            if tilt > 0.1 {
                warnings.push(format!(
                    "gantry tilt of {tilt:.1}°: slices are stacked as acquired, so the \
                     volume is sheared; the exported mask's affine carries the shear"
                ));
                // The step along the slice positions, scaled so its normal part is spacing_z.
                step = along.map(|v| v / len * spacing_z / cos);
            }
        }
    }

    let (rows, cols) = (size.0 as usize, size.1 as usize);
    let voxels = (rows * cols * n) as u64;
    if voxels > MAX_VOXELS {
        return Err(VolumeError::TooLarge {
            nx: cols,
            ny: rows,
            nz: n,
            voxels,
            limit: MAX_VOXELS,
        });
    }
    let [dr, dc] = first.pixel_spacing.unwrap_or_else(|| {
        warnings.push("no PixelSpacing: pixels taken as 1 mm".into());
        [1.0, 1.0]
    });
    // DICOM's patient frame is LPS; NIfTI's is RAS: negate x and y.
    let origin = first.position.unwrap_or([0.0; 3]);
    let lps = [row_dir.map(|v| v * dc), col_dir.map(|v| v * dr), step];
    let mut affine = [[0.0f64; 4]; 4];
    for r in 0..3 {
        let sign = if r < 2 { -1.0 } else { 1.0 };
        for (c, axis) in lps.iter().enumerate() {
            affine[r][c] = sign * axis[r];
        }
        affine[r][3] = sign * origin[r];
    }
    affine[3][3] = 1.0;

    let mut data = Voxels::with_capacity(voxels as usize);
    for (_, f) in &deduped {
        data.extend(&f.values);
    }
    let stored = deduped[0].1.stored.clone();
    let geometry = geometry_of(
        [cols, rows, n],
        [dc as f32, dr as f32, spacing_z as f32],
        affine,
    )?;
    let volume = Volume {
        geometry,
        data,
        source_type: format!("DICOM {stored}"),
        series: None,
    };
    Ok((volume, warnings))
}

/// A NIfTI header for the series' geometry (sform, and the qform when the axes are
/// orthogonal), so masks written for it carry the same affine.
fn geometry_of(
    dims: [usize; 3],
    spacing: [f32; 3],
    affine: [[f64; 4]; 4],
) -> Result<Geometry, VolumeError> {
    let mut h = NiftiHeader {
        dim: [
            3,
            dims[0] as u16,
            dims[1] as u16,
            dims[2] as u16,
            1,
            1,
            1,
            1,
        ],
        pixdim: [1.0, spacing[0], spacing[1], spacing[2], 0.0, 0.0, 0.0, 0.0],
        sform_code: 1,
        qform_code: 0,
        srow_x: affine[0].map(|v| v as f32),
        srow_y: affine[1].map(|v| v as f32),
        srow_z: affine[2].map(|v| v as f32),
        xyzt_units: 2,
        ..NiftiHeader::default()
    };
    if let Some((q, qfac)) = quaternion(&affine) {
        h.qform_code = 1;
        h.pixdim[0] = qfac;
        [h.quatern_b, h.quatern_c, h.quatern_d] = q;
        [h.quatern_x, h.quatern_y, h.quatern_z] = [0, 1, 2].map(|r| affine[r][3] as f32);
    }
    Geometry::from_header(&h)
}

/// The NIfTI quaternion (b, c, d) and qfac of an affine's rotation, where its columns are
/// orthogonal (nifti_mat44_to_quatern); `None` for a sheared (tilted) one.
fn quaternion(a: &[[f64; 4]; 4]) -> Option<([f32; 3], f32)> {
    let mut m = [[0.0f64; 3]; 3];
    for c in 0..3 {
        let len = (0..3).map(|r| a[r][c] * a[r][c]).sum::<f64>().sqrt();
        if len < 1e-9 {
            return None;
        }
        for r in 0..3 {
            m[r][c] = a[r][c] / len;
        }
    }
    for (c1, c2) in [(0, 1), (0, 2), (1, 2)] {
        if (0..3).map(|r| m[r][c1] * m[r][c2]).sum::<f64>().abs() > 1e-4 {
            return None;
        }
    }
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let qfac = if det < 0.0 {
        for row in &mut m {
            row[2] = -row[2];
        }
        -1.0
    } else {
        1.0
    };
    let (r11, r12, r13) = (m[0][0], m[0][1], m[0][2]);
    let (r21, r22, r23) = (m[1][0], m[1][1], m[1][2]);
    let (r31, r32, r33) = (m[2][0], m[2][1], m[2][2]);
    let trace = r11 + r22 + r33 + 1.0;
    let (a, b, c, d);
    if trace > 0.5 {
        a = 0.5 * trace.sqrt();
        b = 0.25 * (r32 - r23) / a;
        c = 0.25 * (r13 - r31) / a;
        d = 0.25 * (r21 - r12) / a;
    } else {
        let xd = 1.0 + r11 - (r22 + r33);
        let yd = 1.0 + r22 - (r11 + r33);
        let zd = 1.0 + r33 - (r11 + r22);
        let (mut a2, mut b2, mut c2, mut d2);
        if xd > 1.0 {
            b2 = 0.5 * xd.sqrt();
            c2 = 0.25 * (r12 + r21) / b2;
            d2 = 0.25 * (r13 + r31) / b2;
            a2 = 0.25 * (r32 - r23) / b2;
        } else if yd > 1.0 {
            c2 = 0.5 * yd.sqrt();
            b2 = 0.25 * (r12 + r21) / c2;
            d2 = 0.25 * (r23 + r32) / c2;
            a2 = 0.25 * (r13 - r31) / c2;
        } else {
            d2 = 0.5 * zd.sqrt();
            b2 = 0.25 * (r13 + r31) / d2;
            c2 = 0.25 * (r23 + r32) / d2;
            a2 = 0.25 * (r21 - r12) / d2;
        }
        if a2 < 0.0 {
            (a2, b2, c2, d2) = (-a2, -b2, -c2, -d2);
        }
        (a, b, c, d) = (a2, b2, c2, d2);
    }
    let _ = a;
    Some(([b as f32, c as f32, d as f32], qfac))
}
