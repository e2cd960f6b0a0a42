// Messages between the page and the worker that owns the wasm module, the model and the scan.

export type Backend = "webgpu" | "flex";
/** What the user asked for: "auto" picks WebGPU on a hardware adapter, else the CPU build. */
export type BackendChoice = Backend | "auto";

export interface VolumeInfo {
  dims: [number, number, number];
  spacing: [number, number, number];
  spacing_known: boolean;
  source_type: string;
  min: number;
  max: number;
  display_size: [number, number];
  orientation: string;
  intensity: { kind: "hounsfield" | "windowed8_bit"; window: { level: number; width: number } };
  /** The DICOM series the scan was assembled from; null for a NIfTI file. */
  series: SeriesInfo | null;
  /** What was irregular about the series (gaps, tilt, dropped or skipped files). */
  warnings: string[];
  /** Slices that hold lung; the others are not sent to the model. */
  lung_slices: number;
}

export interface SeriesInfo {
  uid: string;
  description: string;
  series_number: number | null;
  modality: string | null;
  files: number;
  size: [number, number];
  thickness_mm: number | null;
}

export interface SkippedFile { name: string; reason: string }

export interface SegmenterInfo {
  backend: Backend;
  adapter: string;
  fallback_reason: string | null;
  preset: string;
  classes: number;
  input_size: number;
  parameters: number;
  card: { config: { name: string }; training: Record<string, unknown> };
}

export interface Amount { voxels: number; ml: number | null }
export interface Sided { total: Amount; right: Amount; left: Amount }
export interface Statistics {
  spacing_known: boolean;
  voxel_ml: number;
  infection: Sided;
  lung: Sided;
  classes: { label: number; name: string; amount: Amount }[];
  percent_involved: [number, number, number];
  infected_per_slice: number[];
  lung_slices: number;
  series?: SeriesInfo;
}

export type Request =
  | { type: "init"; backend: BackendChoice }
  | { type: "open"; name: string; file: Blob }
  // A DICOM folder or drop, streamed one file at a time so no more than a few files' bytes are
  // held at once; "dicom-end" opens the only series or lists them, "dicom-series" opens one.
  | { type: "dicom-begin"; name: string; total: number }
  | { type: "dicom-file"; name: string; bytes: ArrayBuffer }
  | { type: "dicom-end" }
  | { type: "dicom-series"; uid: string }
  | { type: "slice"; k: number }
  | { type: "segment"; tta: boolean }
  | { type: "cancel" }
  | { type: "export" };

export type Reply =
  | { type: "ready"; info: SegmenterInfo; ms: number; reason: string | null }
  // `memory`: the worker's wasm memory in bytes, which only grows.
  | { type: "opened"; name: string; info: VolumeInfo; memory: number }
  | { type: "reading"; done: number; total: number; images: number; skipped: number }
  | { type: "series"; name: string; series: SeriesInfo[]; skipped: SkippedFile[] }
  | { type: "slice"; k: number; hu: Float32Array; labels: Uint8Array | null }
  /** `labels` (display order) only when `k` is the slice the page shows; `infected` always. */
  | { type: "progress"; done: number; total: number; k: number; infected: boolean; labels: Uint8Array | null; ms: number }
  | { type: "segmented"; stats: Statistics; csv: string; cancelled: boolean; done: number; ms: number; memory: number }
  | { type: "mask"; name: string; bytes: Uint8Array<ArrayBuffer> }
  | { type: "error"; context: "init" | "open" | "segment" | "export" | "slice"; message: string };
