//! The browser boundary: a thin `wasm-bindgen` layer over the plain pipeline. Nothing here
//! computes anything the native build does not; it converts types and awaits read-backs.

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::*;
use js_sys::Promise;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::intensity::{IntensityMapping, Window, detect};
use crate::lung_field::LungField;
use crate::model::FfrNet;
use crate::model::complexity::trainable_params;
use crate::pipeline::{mask_description, model_input, place_labels, probabilities};
use crate::quantify::{Statistics, statistics};
use crate::volume::{DicomSet, Volume, VolumeInfo, read_nifti_from, write_mask_nifti};
use crate::weights::{ModelCard, load_for_inference};

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    // gemm ships 128-bit SIMD kernels for wasm (already in the module, so the page already needs a
    // browser with wasm SIMD, as every WebGPU-capable one has) but runs its scalar ones unless told.
    gemm::set_wasm_simd128(true);
}

thread_local! {
    /// burn's WebGPU runtime may be initialised once per page.
    static WEBGPU: RefCell<Option<(Device, String)>> = const { RefCell::new(None) };
}

/// Initialises WebGPU once and checks it computes correctly (a small conv against `flex`).
pub async fn webgpu_device() -> Result<(Device, String), String> {
    if let Some(d) = WEBGPU.with(|c| c.borrow().clone()) {
        return Ok(d);
    }
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| format!("WebGPU is not available: {e}"))?;
    let info = setup.adapter.get_info();
    let adapter = if info.name.is_empty() {
        "browser WebGPU adapter".to_string()
    } else {
        info.name.clone()
    };
    self_test(&device).await?;
    WEBGPU.with(|c| *c.borrow_mut() = Some((device.clone(), adapter.clone())));
    Ok((device, adapter))
}

async fn self_test(device: &Device) -> Result<(), String> {
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    let run = |d: &Device| {
        let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], d)
            .reshape([1, 1, 3, 3]);
        let w = Tensor::<1>::from_floats([1.0, -1.0, 0.5, 2.0], d).reshape([1, 1, 2, 2]);
        conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
    };
    let gpu = run(device)
        .into_data_async()
        .await
        .map_err(|e| format!("WebGPU read-back failed: {e:?}"))?;
    let cpu = run(&Device::flex()).into_data();
    let (g, c) = (
        gpu.iter::<f32>().collect::<Vec<_>>(),
        cpu.iter::<f32>().collect::<Vec<_>>(),
    );
    if g.len() != c.len() || g.iter().zip(&c).any(|(a, b)| (a - b).abs() > 1e-4) {
        return Err(format!("WebGPU self-test computed {g:?}, expected {c:?}"));
    }
    Ok(())
}

/// A file read from the front through a JS function `read(at, n) -> Uint8Array`.
struct JsFile<'a> {
    read: &'a js_sys::Function,
    len: u64,
    at: u64,
}

impl std::io::Read for JsFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = (self.len - self.at).min(buf.len() as u64);
        if want == 0 {
            return Ok(0);
        }
        let chunk = self
            .read
            .call2(
                &JsValue::NULL,
                &JsValue::from(self.at as f64),
                &JsValue::from(want as f64),
            )
            .map_err(|e| std::io::Error::other(format!("the file could not be read: {e:?}")))?;
        let chunk = js_sys::Uint8Array::new(&chunk);
        let n = (chunk.length() as usize).min(want as usize);
        if n == 0 {
            return Err(std::io::Error::other("the file ended before its size"));
        }
        chunk.subarray(0, n as u32).copy_to(&mut buf[..n]);
        self.at += n as u64;
        Ok(n)
    }
}

/// A scan opened in the page.
#[wasm_bindgen]
pub struct Scan {
    volume: Rc<Volume>,
    /// Where the lungs are, and (`field.mapping`) how the values read as HU.
    field: Rc<LungField>,
    warnings: Vec<String>,
    /// The segmentation's label volume (stored order), once one has started: the scan's only
    /// copy of it. `Segmenter::segment` writes each slice into it after its read-back, and
    /// statistics and export read it where it is, so no slice's labels pass through JS.
    labels: Rc<RefCell<Vec<u8>>>,
}

#[derive(Serialize)]
struct ScanInfo<'a> {
    #[serde(flatten)]
    volume: VolumeInfo,
    intensity: IntensityMapping,
    /// What was irregular about a DICOM series (gaps, tilt, skipped files); empty for NIfTI.
    warnings: &'a [String],
    /// Slices that hold lung (the others are not segmented).
    lung_slices: usize,
}

/// What [`Scan::statistics`] returns.
#[derive(Serialize)]
struct Report {
    statistics: Statistics,
    csv: String,
}

#[wasm_bindgen]
impl Scan {
    /// Parses a `.nii` / `.nii.gz` file of `size` bytes; refuses what is not a CT scan with a
    /// readable message. `read(at, n)` returns (a `Uint8Array` of) up to `n` bytes from offset
    /// `at`: the worker reads the `File` a chunk at a time, so its bytes are never held whole,
    /// in JS or in wasm, next to the scan made of them.
    #[wasm_bindgen(constructor)]
    pub fn new(
        read: &js_sys::Function,
        size: f64,
        window_level: f32,
        window_width: f32,
    ) -> Result<Scan, JsError> {
        let len = size as u64;
        let file = JsFile { read, len, at: 0 };
        let source = std::io::BufReader::with_capacity(1 << 20, file);
        let volume = read_nifti_from(source, len).map_err(js_err)?;
        Scan::from_volume(volume, Vec::new(), window_level, window_width)
    }

    fn from_volume(
        volume: Volume,
        warnings: Vec<String>,
        level: f32,
        width: f32,
    ) -> Result<Scan, JsError> {
        let mapping = detect(&volume, Window { level, width }).map_err(js_err)?;
        let field = LungField::of(&volume, &mapping);
        Ok(Scan {
            volume: Rc::new(volume),
            field: Rc::new(field),
            warnings,
            labels: Rc::default(),
        })
    }

    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&ScanInfo {
            volume: self.volume.info(),
            intensity: self.field.mapping,
            warnings: &self.warnings,
            lung_slices: self.field.slices_with_lung(),
        })
    }

    /// Slice `k` in display order (rows × columns), in HU (8-bit images mapped through the
    /// lung window they were exported with).
    pub fn display_hu(&self, k: usize) -> Result<Vec<f32>, JsError> {
        let g = &self.volume.geometry;
        if k >= g.dims[2] {
            return Err(js_err(format!("slice {k} is out of range")));
        }
        Ok(g.view
            .to_display(g.dims, &self.volume.slice(k))
            .into_iter()
            .map(|v| self.field.mapping.to_hu(v))
            .collect())
    }

    /// Starts a new label volume, every voxel 0 (the previous one, if any, is dropped).
    pub fn clear_labels(&mut self) {
        let mut labels = self.labels.borrow_mut();
        // Freed before the new one is allocated, so two label volumes are never held at once.
        *labels = Vec::new();
        *labels = vec![0; self.volume.data.len()];
    }

    /// The stored labels of slice `k` in display order (empty before a segmentation).
    pub fn display_labels(&self, k: usize) -> Vec<u8> {
        let g = &self.volume.geometry;
        let plane = g.dims[0] * g.dims[1];
        match self.labels.borrow().get(k * plane..(k + 1) * plane) {
            Some(labels) => g.view.to_display(g.dims, labels),
            None => Vec::new(),
        }
    }

    /// Volumes, lung involvement and per-slice infection of the label volume, as the page shows
    /// them (`statistics`) and as the CSV download (`csv`): one pass over the labels for both.
    pub fn statistics(&self, classes: usize) -> Result<JsValue, JsError> {
        let labels = self.labels()?;
        let statistics = statistics(&self.volume, &self.field, &labels, classes);
        to_js(&Report {
            csv: statistics.to_csv(),
            statistics,
        })
    }

    /// The label volume as `.nii.gz` bytes with the scan's geometry.
    pub fn write_mask(&self, description: &str) -> Result<Vec<u8>, JsError> {
        write_mask_nifti(&self.volume.geometry, &self.labels()?, description).map_err(js_err)
    }

    fn labels(&self) -> Result<std::cell::Ref<'_, Vec<u8>>, JsError> {
        let labels = self.labels.borrow();
        if labels.is_empty() {
            return Err(js_err("the scan has not been segmented"));
        }
        Ok(labels)
    }
}

/// The files of a DICOM folder or drop, added one at a time so the page can drop each file's
/// bytes and show progress, then made into the `Scan` of one series.
#[wasm_bindgen]
#[derive(Default)]
pub struct DicomFiles {
    set: DicomSet,
}

#[wasm_bindgen]
impl DicomFiles {
    #[wasm_bindgen(constructor)]
    pub fn new() -> DicomFiles {
        DicomFiles::default()
    }

    /// Reads one file; returns why it was skipped, or `undefined` when it is a CT image.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Option<String> {
        let before = self.set.skipped().len();
        self.set.add(name, bytes);
        self.set.skipped().get(before).map(|s| s.reason.clone())
    }

    /// Image files accepted so far.
    pub fn image_count(&self) -> usize {
        self.set.image_count()
    }

    /// The files skipped so far, with their reasons.
    pub fn skipped(&self) -> Result<JsValue, JsError> {
        to_js(&self.set.skipped())
    }

    /// The series among the files, largest first.
    pub fn series(&self) -> Result<JsValue, JsError> {
        to_js(&self.set.series())
    }

    /// The scan of series `uid`, or of the only series; an unclear choice is an error that
    /// lists the series.
    pub fn scan(
        &self,
        uid: Option<String>,
        window_level: f32,
        window_width: f32,
    ) -> Result<Scan, JsError> {
        let opened = self.set.volume(uid.as_deref()).map_err(js_err)?;
        Scan::from_volume(opened.volume, opened.warnings, window_level, window_width)
    }
}

/// The model, on WebGPU or on the `flex` CPU backend.
#[wasm_bindgen]
pub struct Segmenter {
    model: Rc<FfrNet>,
    card: ModelCard,
    device: Device,
    backend: String,
    adapter: String,
    fallback_reason: Option<String>,
}

#[derive(Serialize)]
struct SegmenterInfo<'a> {
    backend: &'a str,
    adapter: &'a str,
    fallback_reason: Option<&'a str>,
    preset: &'a str,
    classes: usize,
    input_size: usize,
    parameters: usize,
    card: &'a ModelCard,
}

#[wasm_bindgen]
impl Segmenter {
    /// Loads a model file. `backend` is "webgpu" (falls back to "flex", saying why) or "flex".
    pub async fn create(model: Vec<u8>, backend: String) -> Result<Segmenter, JsError> {
        let (device, backend, adapter, fallback_reason) = if backend == "webgpu" {
            match webgpu_device().await {
                Ok((d, adapter)) => (d, "webgpu".to_string(), adapter, None),
                Err(reason) => (
                    Device::flex(),
                    "flex".to_string(),
                    "CPU (WebAssembly)".to_string(),
                    Some(reason),
                ),
            }
        } else {
            (
                Device::flex(),
                "flex".to_string(),
                "CPU (WebAssembly)".to_string(),
                None,
            )
        };
        let (model, card) = load_for_inference(&model, &device).map_err(js_err)?;
        Ok(Segmenter {
            model: Rc::new(model),
            card,
            device,
            backend,
            adapter,
            fallback_reason,
        })
    }

    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&SegmenterInfo {
            backend: &self.backend,
            adapter: &self.adapter,
            fallback_reason: self.fallback_reason.as_deref(),
            preset: &self.card.config.name,
            classes: self.card.config.classes,
            input_size: self.card.config.input_size,
            parameters: trainable_params(self.model.as_ref()),
            card: &self.card,
        })
    }

    pub fn classes(&self) -> usize {
        self.card.config.classes
    }

    /// What an exported mask's header says made it (the same text as native `predict`'s).
    pub fn mask_description(&self, tta: bool) -> String {
        mask_description(&self.card.config.name, tta)
    }

    /// Segments slices `start..end` of `scan` into its label volume (after `clear_labels`);
    /// resolves to whether any of them holds infection. `tta` averages four views of each
    /// (mirrored, zoomed). Slices without lung are not sent to the model: their labels are 0.
    pub fn segment(&self, scan: &Scan, start: usize, end: usize, tta: bool) -> Promise {
        let config = self.card.config.clone();
        let (model, device, volume, field, into) = (
            self.model.clone(),
            self.device.clone(),
            scan.volume.clone(),
            scan.field.clone(),
            scan.labels.clone(),
        );
        future_to_promise(async move {
            let nz = volume.dims()[2];
            if start >= end || end > nz {
                return Err(JsValue::from(js_err(format!(
                    "slices {start}..{end} are outside 0..{nz}"
                ))));
            }
            if into.borrow().len() != volume.data.len() {
                return Err(JsValue::from(js_err("segment before clear_labels")));
            }
            let plane = volume.dims()[0] * volume.dims()[1];
            let range = start * plane..end * plane;
            let ks: Vec<usize> = (start..end).filter(|&k| field.has_lung(k)).collect();
            if ks.is_empty() {
                into.borrow_mut()[range].fill(0);
                return Ok(JsValue::FALSE);
            }
            let inputs: Vec<Vec<f32>> = ks
                .iter()
                .map(|&k| model_input(&volume, k, &field.mapping, &config))
                .collect();
            let probs = probabilities(&model, &config, &inputs, tta, &device)
                .into_data_async()
                .await
                .map_err(|e| JsValue::from(js_err(format!("read-back failed: {e:?}"))))?
                .try_into_vec::<f32>()
                .map_err(|e| JsValue::from(js_err(format!("{e:?}"))))?;
            // Borrowed only now, after the await: slice requests read the volume meanwhile.
            let mut labels = into.borrow_mut();
            let slices = &mut labels[range];
            slices.fill(0);
            place_labels(slices, start, &ks, &probs, &config, &volume, &field);
            Ok(JsValue::from_bool(slices.iter().any(|&l| l != 0)))
        })
    }
}
