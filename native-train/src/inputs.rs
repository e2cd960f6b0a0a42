//! Reading what a command is pointed at: a scan (a NIfTI file or a DICOM folder) and a model
//! file, with the path in every error.

use anyhow::Context;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use lungseg::model::FfrNet;
use lungseg::volume::{DicomSet, Volume, read_nifti};
use lungseg::weights::{ModelCard, load_for_inference, load_model};

pub(crate) fn load(path: &Path, device: &Device) -> anyhow::Result<(FfrNet, ModelCard)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    load_model(&bytes, device).with_context(|| format!("reading {}", path.display()))
}

/// [`load`] with BatchNorm folded, for `eval` and `predict`.
pub(crate) fn load_inference(path: &Path, device: &Device) -> anyhow::Result<(FfrNet, ModelCard)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    load_for_inference(&bytes, device).with_context(|| format!("reading {}", path.display()))
}

/// The scan at `path`: a NIfTI file, or DICOM (one file or a folder of them).
pub(crate) fn read_input(path: &Path, series: Option<&str>) -> anyhow::Result<Volume> {
    let at = || format!("reading {}", path.display());
    let mut files = Vec::new();
    if path.is_dir() {
        collect_files(path, &mut files).with_context(at)?;
        files.sort();
    } else {
        let bytes = std::fs::read(path).with_context(at)?;
        if !lungseg::volume::dicom_io::looks_like_dicom(&bytes) {
            return read_nifti(&bytes).with_context(at);
        }
        files.push(path.to_path_buf());
    }
    let mut set = DicomSet::new();
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.strip_prefix(path).unwrap_or(f).display().to_string();
        set.add(&name, &bytes);
    }
    let opened = set.volume(series).with_context(at)?;
    eprintln!(
        "DICOM series {} (\"{}\"): {}×{}×{} from {} file(s)",
        opened.series.uid,
        opened.series.description,
        opened.volume.dims()[0],
        opened.volume.dims()[1],
        opened.volume.dims()[2],
        set.image_count()
    );
    for w in &opened.warnings {
        eprintln!("warning: {w}");
    }
    Ok(opened.volume)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase());
        // Hidden files and folder indexes (.DS_Store, Thumbs.db) are no one's scan; the page
        // passes over the same ones.
        if name.is_some_and(|n| n.starts_with('.') || n == "thumbs.db" || n == "desktop.ini") {
            continue;
        }
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
