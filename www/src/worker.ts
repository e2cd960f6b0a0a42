// The worker owns the wasm module, the model and the open scan, so segmentation never blocks
// the page. It answers the requests in protocol.ts.

import init, { DicomFiles, Scan, Segmenter } from "../pkg/lungseg.js";
import type { Backend, BackendChoice, Reply, Request, SegmenterInfo, SeriesInfo, SkippedFile, Statistics, VolumeInfo } from "./protocol.js";

const MODEL_URL = new URL("../model/lite.lungseg", import.meta.url);
/// The small card `export` writes beside the weights; its `weights_sha256` says which weights ship.
const CARD_URL = new URL("../model/lite.card.json", import.meta.url);
const CACHE = "lungseg-model-v1";

/** Workers read files synchronously (the DOM library the page is typed with leaves it out). */
declare const FileReaderSync: { new (): { readAsArrayBuffer(blob: Blob): ArrayBuffer } };

let segmenter: Segmenter | null = null;
let scan: Scan | null = null;
let scanName = "";
/// What `scan.info()` said when it opened (it reads every voxel for the value range: once).
let scanInfo: VolumeInfo | null = null;
/// 1 where slice k has labels (the label volume itself is the scan's, in wasm memory).
let segmented: Uint8Array | null = null;
/// The slice the page last asked for: the one it shows.
let shownSlice = -1;
let cancelRequested = false;
let tta = false; // how the labels were made
let running = false;
/// A DICOM folder being read, or read and waiting for the user to choose a series.
let dicom: { files: DicomFiles; name: string; total: number; done: number } | null = null;
/// The module's memory: it grows to the largest scan held and never shrinks, so the page reads
/// its size to know when a fresh worker would give memory back.
let wasmMemory: WebAssembly.Memory | null = null;
const memoryBytes = (): number => wasmMemory?.buffer.byteLength ?? 0;

const post = (reply: Reply, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(reply, transfer);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/// The hash of the weights the site ships now, read from the card (always revalidated: it is
/// tiny); null offline or when the card names none.
async function shippedHash(): Promise<string | null> {
  try {
    const response = await fetch(CARD_URL, { cache: "no-cache" });
    if (!response.ok) return null;
    const card = (await response.json()) as { weights_sha256?: unknown };
    return typeof card.weights_sha256 === "string" ? card.weights_sha256 : null;
  } catch {
    return null;
  }
}

/// SHA-256 in hex; null where the browser offers no WebCrypto (pages not served securely).
async function sha256Hex(bytes: ArrayBuffer): Promise<string | null> {
  if (!self.crypto?.subtle) return null;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/// Model bytes from the Cache API when the cached copy is the one the site ships (no second
/// download), or whatever copy is cached when the site cannot be reached; otherwise downloaded,
/// checked against the card's hash, and cached in place of any older model.
async function modelBytes(): Promise<Uint8Array> {
  const cache = "caches" in self ? await caches.open(CACHE).catch(() => null) : null;
  const want = await shippedHash();
  const key = want ? `${MODEL_URL.href}?sha256=${want}` : null;
  if (cache) {
    // Without the card (offline): whichever model is cached; there is only ever one.
    const [first] = key ? [] : await cache.keys();
    const hit = key ? await cache.match(key) : first && (await cache.match(first));
    if (hit) return new Uint8Array(await hit.arrayBuffer());
  }
  let response: Response;
  try {
    response = await fetch(MODEL_URL, { cache: "no-cache" });
  } catch (e) {
    throw new Error(`the model could not be downloaded (${message(e)}); check the connection and reload`);
  }
  if (!response.ok) throw new Error(`the model could not be loaded (${response.status} ${response.statusText})`);
  const bytes = await response.arrayBuffer();
  const got = want ? await sha256Hex(bytes) : null;
  if (got !== null && got !== want) {
    throw new Error("the downloaded model is incomplete or corrupt (its SHA-256 is not the one lite.card.json names); reload to try again");
  }
  if (cache && key) {
    // One model at a time: drop older ones first, so a full quota never keeps a stale one.
    for (const old of await cache.keys()) await cache.delete(old);
    await cache.put(key, new Response(bytes)).catch(() => undefined);
  }
  return new Uint8Array(bytes);
}

interface GpuProbe {
  requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string } } | null>;
}

/// "auto": WebGPU on a hardware adapter; the CPU build when there is none or it is a software
/// renderer (SwiftShader runs WebGPU on the CPU, far slower than the wasm CPU build).
async function chooseBackend(choice: BackendChoice): Promise<{ backend: Backend; reason: string | null }> {
  if (choice !== "auto") return { backend: choice, reason: null };
  const gpu = (navigator as unknown as { gpu?: GpuProbe }).gpu;
  if (!gpu) return { backend: "flex", reason: "this browser has no WebGPU" };
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return { backend: "flex", reason: "no WebGPU adapter is available" };
  if (adapter.info?.isFallbackAdapter) {
    const name = [adapter.info.vendor, adapter.info.architecture].filter(Boolean).join(" ");
    return { backend: "flex", reason: `the WebGPU adapter (${name || "software"}) is a software renderer, slower than the CPU build` };
  }
  return { backend: "webgpu", reason: null };
}

async function handle(req: Request): Promise<void> {
  switch (req.type) {
    case "init": {
      const t0 = performance.now();
      try {
        wasmMemory = (await init({ module_or_path: new URL("../pkg/lungseg_bg.wasm", import.meta.url) })).memory;
        const bytes = await modelBytes();
        const { backend, reason } = await chooseBackend(req.backend);
        segmenter?.free();
        segmenter = await Segmenter.create(bytes, backend);
        post({ type: "ready", info: segmenter.info() as SegmenterInfo, ms: performance.now() - t0, reason });
      } catch (e) {
        post({ type: "error", context: "init", message: message(e) });
      }
      return;
    }
    case "open": {
      if (running) {
        post({ type: "error", context: "open", message: "Cancel the running segmentation before opening another scan." });
        return;
      }
      dropDicom();
      // Lung window; the page re-windows for display itself.
      const file = req.file;
      const reader = new FileReaderSync();
      const read = (at: number, n: number): Uint8Array => new Uint8Array(reader.readAsArrayBuffer(file.slice(at, at + n)));
      opened(req.name, () => new Scan(read, file.size, -600, 1500));
      return;
    }
    case "dicom-begin": {
      dropDicom();
      if (running) {
        post({ type: "error", context: "open", message: "Cancel the running segmentation before opening another scan." });
        return;
      }
      dicom = { files: new DicomFiles(), name: req.name, total: req.total, done: 0 };
      return;
    }
    case "dicom-file": {
      if (!dicom) return;
      dicom.files.add(req.name, new Uint8Array(req.bytes));
      dicom.done += 1;
      const skipped = dicom.done - dicom.files.image_count();
      post({ type: "reading", done: dicom.done, total: dicom.total, images: dicom.files.image_count(), skipped });
      return;
    }
    case "dicom-end": {
      if (!dicom) return;
      const series = dicom.files.series() as SeriesInfo[];
      if (series.length > 1) {
        post({ type: "series", name: dicom.name, series, skipped: dicom.files.skipped() as SkippedFile[] });
        return;
      }
      openSeries(undefined);
      return;
    }
    case "dicom-series":
      openSeries(req.uid);
      return;
    case "slice": {
      if (!scan) return;
      shownSlice = req.k;
      try {
        const hu = new Float32Array(scan.display_hu(req.k));
        let l: Uint8Array | null = null;
        if (segmented?.[req.k]) l = new Uint8Array(scan.display_labels(req.k));
        post({ type: "slice", k: req.k, hu, labels: l }, l ? [hu.buffer, l.buffer] : [hu.buffer]);
      } catch (e) {
        post({ type: "error", context: "slice", message: message(e) });
      }
      return;
    }
    case "segment":
      await segment(req.tta);
      return;
    case "cancel":
      cancelRequested = true;
      return;
    case "export": {
      if (!scan || !segmented || !segmenter) return;
      try {
        const stem = scanName.replace(/\.nii(\.gz)?$/i, "");
        const bytes = new Uint8Array(scan.write_mask(segmenter.mask_description(tta)));
        post({ type: "mask", name: `${stem}_mask.nii.gz`, bytes }, [bytes.buffer]);
      } catch (e) {
        post({ type: "error", context: "export", message: message(e) });
      }
      return;
    }
  }
}

/// Makes `make()` the open scan; when it throws, the scan already open stays open.
function opened(name: string, make: () => Scan): boolean {
  try {
    const next = make();
    scan?.free();
    scan = next;
    scanName = name;
    scanInfo = scan.info() as VolumeInfo;
    segmented = null;
    post({ type: "opened", name, info: scanInfo, memory: memoryBytes() });
    return true;
  } catch (e) {
    post({ type: "error", context: "open", message: `${name}: ${message(e)}` });
    return false;
  }
}

/// Opens one series of the DICOM files read (or the only one). The decoded files are freed
/// once a series is open, or when none can be; they stay while a choice of series is pending.
function openSeries(uid: string | undefined): void {
  if (!dicom || running) return;
  const files = dicom.files;
  const ok = opened(dicom.name, () => files.scan(uid, -600, 1500));
  if (ok || (files.series() as SeriesInfo[]).length <= 1) dropDicom();
}

function dropDicom(): void {
  dicom?.files.free();
  dicom = null;
}

async function segment(augment: boolean): Promise<void> {
  if (!scan || !segmenter || running) return;
  tta = augment;
  const nz = scanInfo!.dims[2];
  scan.clear_labels();
  segmented = new Uint8Array(nz);
  running = true;
  cancelRequested = false;
  const t0 = performance.now();
  let done = 0;
  try {
    // Start in the middle of the scan, where the lungs are, then fan out.
    const mid = Math.floor(nz / 2);
    const order = Array.from({ length: nz }, (_, i) => (i % 2 === 0 ? mid + i / 2 : mid - (i + 1) / 2)).filter((k) => k >= 0 && k < nz);
    for (const k of order) {
      if (cancelRequested) break;
      // The labels go into the scan's label volume in wasm, not through JS.
      const infected = (await segmenter.segment(scan, k, k + 1, tta)) as boolean;
      segmented[k] = 1;
      done += 1;
      // The slice's labels go to the page only when it is the one shown: for the others the
      // strip needs one flag, and 600 slices' labels would be 150 MB of short-lived buffers.
      const display = k === shownSlice ? new Uint8Array(scan.display_labels(k)) : null;
      post({ type: "progress", done, total: nz, k, infected, labels: display, ms: performance.now() - t0 }, display ? [display.buffer] : []);
      // Yield so a Cancel message can be handled between slices.
      await new Promise((r) => setTimeout(r, 0));
    }
    const { statistics: stats, csv } = scan.statistics(segmenter.classes()) as { statistics: Statistics; csv: string };
    post({ type: "segmented", stats, csv, cancelled: cancelRequested, done, ms: performance.now() - t0, memory: memoryBytes() });
  } catch (e) {
    post({ type: "error", context: "segment", message: message(e) });
  } finally {
    running = false;
  }
}

// Requests run one after another, except Cancel, which must get through while a segmentation runs.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (e: MessageEvent<Request>) => {
  if (e.data.type === "cancel") {
    cancelRequested = true;
    return;
  }
  if (e.data.type === "slice" && running) {
    void handle(e.data);
    return;
  }
  queue = queue.then(() => handle(e.data));
};
