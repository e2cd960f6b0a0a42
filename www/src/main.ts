// The page: opens scans, shows slices with the overlay, drives the worker, shows and exports results.

import { fromDrop, fromInput, isClutter, isNifti, scanName, type Picked } from "./files.js";
import type { BackendChoice, Reply, Request, SegmenterInfo, SeriesInfo, Statistics, VolumeInfo } from "./protocol.js";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

const ui = {
  backend: $("backend"),
  view: $<HTMLCanvasElement>("view"),
  stage: $("drop"),
  empty: $("empty"),
  readout: $("readout"),
  slice: $<HTMLInputElement>("slice"),
  sliceLabel: $("slice-label"),
  strip: $<HTMLCanvasElement>("strip"),
  file: $<HTMLInputElement>("file"),
  folder: $<HTMLInputElement>("folder"),
  seriesChoice: $("series-choice"),
  series: $<HTMLSelectElement>("series"),
  openSeries: $<HTMLButtonElement>("open-series"),
  scanWarnings: $("scan-warnings"),
  sample: $<HTMLButtonElement>("sample"),
  scanInfo: $("scan-info"),
  segment: $<HTMLButtonElement>("segment"),
  cancel: $<HTMLButtonElement>("cancel"),
  tta: $<HTMLInputElement>("tta"),
  progress: $<HTMLProgressElement>("progress"),
  progressText: $("progress-text"),
  status: $("status"),
  error: $("error"),
  lungWindow: $<HTMLButtonElement>("lung-window"),
  mediaWindow: $<HTMLButtonElement>("media-window"),
  windowText: $("window-text"),
  opacity: $<HTMLInputElement>("opacity"),
  outline: $<HTMLInputElement>("outline"),
  legend: $("legend"),
  results: $("results"),
  exportMask: $<HTMLButtonElement>("export-mask"),
  exportJson: $<HTMLButtonElement>("export-json"),
  exportCsv: $<HTMLButtonElement>("export-csv"),
  modelInfo: $("model-info"),
};

/// Colours per label (1-based); binary models use the first.
const BINARY_COLOURS: [number, number, number][] = [[255, 64, 64]];
const CLASS_COLOURS: [number, number, number][] = [[255, 214, 0], [255, 110, 40], [60, 150, 255]];
const CLASS_NAMES = ["Ground-glass", "Consolidation", "Effusion"];
const LUNG = { level: -600, width: 1500 };
const MEDIASTINAL = { level: 40, width: 350 };

const state = {
  worker: new Worker(new URL("./worker.js", import.meta.url), { type: "module" }),
  model: null as SegmenterInfo | null,
  info: null as VolumeInfo | null,
  name: "",
  k: 0,
  hu: null as Float32Array | null,
  labels: new Map<number, Uint8Array>(), // display-ordered labels per segmented slice
  window: { ...LUNG },
  zoom: 1,
  pan: [0, 0] as [number, number],
  stats: null as Statistics | null,
  csv: "",
  running: false,
  tta: false, // whether the current result used test-time augmentation
  pendingSlice: -1,
  infected: [] as number[],
};

const send = (req: Request, transfer: Transferable[] = []): void => state.worker.postMessage(req, transfer);

function showError(text: string | null): void {
  ui.error.hidden = text === null;
  ui.error.textContent = text ?? "";
}

function setStatus(text: string): void {
  ui.status.textContent = text;
}

// ---------- rendering ----------

const image = { canvas: document.createElement("canvas"), data: null as ImageData | null };

function colours(): [number, number, number][] {
  return state.model && state.model.classes > 2 ? CLASS_COLOURS : BINARY_COLOURS;
}

/// Grey levels through the window, then the overlay (filled or outlined) for this slice.
function paint(): void {
  const info = state.info;
  const hu = state.hu;
  if (!info || !hu) return;
  const [h, w] = info.display_size;
  if (image.canvas.width !== w || image.canvas.height !== h) {
    image.canvas.width = w;
    image.canvas.height = h;
    image.data = null;
  }
  const ctx2 = image.canvas.getContext("2d");
  if (!ctx2) return;
  image.data ??= ctx2.createImageData(w, h);
  const px = image.data.data;
  const lo = state.window.level - state.window.width / 2;
  const scale = 255 / state.window.width;
  const labels = state.labels.get(state.k);
  const alpha = Number(ui.opacity.value);
  const outline = ui.outline.checked;
  const cols = colours();
  for (let i = 0; i < w * h; i++) {
    let g = (hu[i]! - lo) * scale;
    g = g < 0 ? 0 : g > 255 ? 255 : g;
    let r = g, gg = g, b = g;
    const l = labels ? labels[i]! : 0;
    if (l > 0) {
      const edge = !outline || isEdge(labels!, i, w, h);
      if (edge) {
        const c = cols[Math.min(l, cols.length) - 1]!;
        const a = outline ? Math.max(alpha, 0.85) : alpha;
        r = r * (1 - a) + c[0] * a;
        gg = gg * (1 - a) + c[1] * a;
        b = b * (1 - a) + c[2] * a;
      }
    }
    px[4 * i] = r;
    px[4 * i + 1] = gg;
    px[4 * i + 2] = b;
    px[4 * i + 3] = 255;
  }
  ctx2.putImageData(image.data, 0, 0);
  draw();
}

function isEdge(l: Uint8Array, i: number, w: number, h: number): boolean {
  const x = i % w, y = (i - x) / w, v = l[i];
  return x === 0 || y === 0 || x === w - 1 || y === h - 1 || l[i - 1] !== v || l[i + 1] !== v || l[i - w] !== v || l[i + w] !== v;
}

/// Fits the slice into the canvas, then applies zoom and pan.
function draw(): void {
  const c = ui.view;
  const dpr = window.devicePixelRatio || 1;
  const cw = Math.round(c.clientWidth * dpr), ch = Math.round(c.clientHeight * dpr);
  if (c.width !== cw || c.height !== ch) {
    c.width = cw;
    c.height = ch;
  }
  const ctx = c.getContext("2d");
  if (!ctx || !state.info) return;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, cw, ch);
  const t = transform();
  ctx.imageSmoothingEnabled = t.s < 2;
  ctx.setTransform(t.s, 0, 0, t.s, t.x, t.y);
  ctx.drawImage(image.canvas, 0, 0);
}

/// Image → canvas pixels.
function transform(): { s: number; x: number; y: number } {
  const [h, w] = state.info ? state.info.display_size : [1, 1];
  const dpr = window.devicePixelRatio || 1;
  const cw = ui.view.clientWidth * dpr, ch = ui.view.clientHeight * dpr;
  const s = Math.min(cw / w, ch / h) * state.zoom;
  return { s, x: (cw - w * s) / 2 + state.pan[0] * dpr, y: (ch - h * s) / 2 + state.pan[1] * dpr };
}

function paintStrip(): void {
  const c = ui.strip;
  const n = state.info ? state.info.dims[2] : 0;
  c.width = Math.max(1, c.clientWidth);
  const ctx = c.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, c.width, c.height);
  if (!n) return;
  for (const [k, v] of state.infected.entries()) {
    if (!v) continue;
    ctx.fillStyle = "#ff5050";
    ctx.fillRect(Math.floor((k / n) * c.width), 0, Math.max(2, Math.ceil(c.width / n)), c.height);
  }
  ctx.fillStyle = "#4aa3ff";
  ctx.fillRect(Math.floor((state.k / n) * c.width), 0, 2, c.height);
}

function updateLegend(): void {
  ui.legend.replaceChildren();
  const names = state.model && state.model.classes > 2 ? CLASS_NAMES : ["Infection"];
  names.forEach((name, i) => {
    const li = document.createElement("li");
    const sw = document.createElement("i");
    const c = colours()[i]!;
    sw.style.background = `rgb(${c[0]},${c[1]},${c[2]})`;
    li.append(sw, name);
    ui.legend.append(li);
  });
}

function updateWindowText(): void {
  ui.windowText.textContent = `Window ${Math.round(state.window.width)} / level ${Math.round(state.window.level)} HU (drag on the image to change)`;
  ui.lungWindow.setAttribute("aria-pressed", String(state.window.level === LUNG.level && state.window.width === LUNG.width));
  ui.mediaWindow.setAttribute("aria-pressed", String(state.window.level === MEDIASTINAL.level && state.window.width === MEDIASTINAL.width));
}

// ---------- slices ----------

function goTo(k: number): void {
  if (!state.info) return;
  const n = state.info.dims[2];
  k = Math.max(0, Math.min(n - 1, Math.round(k)));
  state.k = k;
  ui.slice.value = String(k);
  ui.sliceLabel.textContent = `${k + 1} / ${n}`;
  paintStrip();
  // One request in flight; the latest wish wins.
  if (state.pendingSlice === -1) {
    state.pendingSlice = k;
    send({ type: "slice", k });
  } else {
    state.pendingSlice = k;
  }
}

// ---------- results ----------

function fmtAmount(a: { voxels: number; ml: number | null }): string {
  return a.ml === null ? `${a.voxels.toLocaleString()} vox` : `${a.ml.toFixed(1)} mL`;
}

function showResults(stats: Statistics, partial: string | null): void {
  const rows: [string, string, string, string][] = [
    ["", "Total", "Right", "Left"],
    ["Infection", fmtAmount(stats.infection.total), fmtAmount(stats.infection.right), fmtAmount(stats.infection.left)],
    ["Lung", fmtAmount(stats.lung.total), fmtAmount(stats.lung.right), fmtAmount(stats.lung.left)],
    ["Involved", ...stats.percent_involved.map((p) => `${p.toFixed(1)} %`)] as [string, string, string, string],
  ];
  const table = document.createElement("table");
  rows.forEach((r, i) => {
    const tr = document.createElement("tr");
    r.forEach((cell, j) => {
      const td = document.createElement(i === 0 || j === 0 ? "th" : "td");
      td.textContent = cell;
      if (i > 0 && j > 0) td.className = "num";
      tr.append(td);
    });
    table.append(tr);
  });
  const parts: Node[] = [table];
  if (stats.classes.length > 1) {
    const ul = document.createElement("ul");
    for (const c of stats.classes) {
      const li = document.createElement("li");
      li.textContent = `${c.name.replace("_", "-")}: ${fmtAmount(c.amount)}`;
      ul.append(li);
    }
    parts.push(ul);
  }
  const note = document.createElement("p");
  note.className = "small";
  note.textContent = [
    stats.spacing_known ? "" : "This file records no voxel spacing: sizes are in voxels, not mL.",
    partial ?? "",
    state.tta ? "Test-time augmented (each slice segmented as given, mirrored and zoomed; probabilities averaged)." : "",
    `Lung found in ${stats.lung_slices} of ${stats.infected_per_slice.length} slices; only those were segmented.`,
    state.info?.intensity.kind === "hounsfield"
      ? "Right and left are the patient's; the lung field is the aerated lung found in 3-D (bowel gas, the trachea and air outside the body left out), with the infection added back."
      : "Right and left are the patient's; the lung field is a threshold mask of each slice (this 8-bit image has no HU), with the infection added back.",
  ].filter(Boolean).join(" ");
  parts.push(note);
  ui.results.classList.remove("muted");
  ui.results.replaceChildren(...parts);
}

function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function stem(): string {
  return state.name.replace(/\.nii(\.gz)?$/i, "");
}

function setRunning(running: boolean): void {
  state.running = running;
  ui.segment.disabled = running || !state.info || !state.model;
  ui.cancel.disabled = !running;
  ui.tta.disabled = running;
  ui.file.disabled = running;
  ui.folder.disabled = running;
  ui.openSeries.disabled = running;
  ui.sample.disabled = running;
  const hasResult = !running && state.stats !== null;
  ui.exportMask.disabled = !hasResult;
  ui.exportJson.disabled = !hasResult;
  ui.exportCsv.disabled = !hasResult;
}

// ---------- worker replies ----------

state.worker.onmessage = (e: MessageEvent<Reply>) => {
  const r = e.data;
  switch (r.type) {
    case "ready": {
      state.model = r.info;
      const reason = r.info.fallback_reason ?? r.reason;
      const why = reason ? ` — ${r.info.fallback_reason ? "WebGPU failed: " : ""}${reason}` : "";
      ui.backend.textContent = `Backend: ${r.info.backend === "webgpu" ? "WebGPU" : "CPU (flex)"} · ${r.info.adapter}${why}`;
      ui.backend.dataset["backend"] = r.info.backend;
      ui.modelInfo.textContent = `FFRNet ${r.info.preset}, ${r.info.classes === 2 ? "infection vs background" : "ground-glass / consolidation / effusion"}, ${(r.info.parameters / 1e6).toFixed(1)} M parameters`;
      updateLegend();
      setRunning(false);
      break;
    }
    case "opened": {
      state.info = r.info;
      state.name = r.name;
      state.labels.clear();
      state.stats = null;
      state.infected = [];
      state.zoom = 1;
      state.pan = [0, 0];
      const [nx, ny, nz] = r.info.dims;
      const sp = r.info.spacing_known ? `${r.info.spacing.map((s) => s.toFixed(3)).join(" × ")} mm` : "spacing unknown";
      const kind = r.info.intensity.kind === "hounsfield" ? "Hounsfield units" : "8-bit windowed image";
      const series = r.info.series ? ` DICOM series ${seriesLabel(r.info.series)}, UID ${r.info.series.uid}.` : "";
      ui.scanInfo.textContent = `${r.name}: ${nx} × ${ny} × ${nz} ${r.info.source_type}, ${sp}, ${kind}. Orientation ${r.info.orientation}.${series} Lung in ${r.info.lung_slices} of ${nz} slices.`;
      showWarnings(r.info.warnings);
      ui.seriesChoice.hidden = true;
      ui.empty.hidden = true;
      ui.slice.max = String(nz - 1);
      ui.slice.disabled = false;
      ui.results.textContent = "Segment the scan to see infection volumes.";
      ui.results.classList.add("muted");
      ui.progress.value = 0;
      ui.progressText.textContent = "";
      setStatus("");
      showError(null);
      setRunning(false);
      goTo(Math.floor(nz / 2));
      break;
    }
    case "slice": {
      const wanted = state.pendingSlice;
      state.pendingSlice = -1;
      if (r.k === state.k) {
        state.hu = r.hu;
        if (r.labels) state.labels.set(r.k, r.labels);
        paint();
      }
      if (wanted !== -1 && wanted !== r.k) goTo(wanted);
      break;
    }
    case "progress": {
      state.labels.set(r.k, r.labels);
      state.infected[r.k] = r.labels.some((v) => v !== 0) ? 1 : 0;
      ui.progress.max = r.total;
      ui.progress.value = r.done;
      const left = (r.ms / r.done) * (r.total - r.done);
      ui.progressText.textContent = `${r.done} / ${r.total} slices · ${(r.ms / r.done / 1000).toFixed(2)} s per slice · ${Math.ceil(left / 1000)} s left`;
      if (r.k === state.k) paint();
      paintStrip();
      break;
    }
    case "segmented": {
      state.stats = r.stats;
      state.csv = r.csv;
      state.infected = r.stats.infected_per_slice;
      paintStrip();
      const total = state.info ? state.info.dims[2] : r.done;
      showResults(r.stats, r.cancelled ? `Partial: ${r.done} of ${total} slices were segmented before Cancel.` : null);
      setStatus(r.cancelled ? "Cancelled" : "Done");
      ui.progressText.textContent = `${r.done} / ${total} slices in ${(r.ms / 1000).toFixed(1)} s on ${state.model?.backend === "webgpu" ? "WebGPU" : "CPU"}`;
      setRunning(false);
      break;
    }
    case "reading":
      ui.progress.max = r.total;
      ui.progress.value = r.done;
      ui.progressText.textContent = `Reading ${r.done} / ${r.total} files: ${r.images} images${r.skipped ? `, ${r.skipped} skipped` : ""}`;
      reading.acked = r.done;
      reading.wake?.();
      break;
    case "series":
      chooseSeries(r.name, r.series, r.skipped.length);
      break;
    case "mask":
      download(r.name, r.bytes, "application/gzip");
      break;
    case "error": {
      showError(r.context === "init" ? `The model could not start: ${r.message}` : r.message);
      if (r.context === "init" && ui.backend.dataset["backend"] === undefined) {
        ui.backend.textContent = "Backend: unavailable";
      }
      if (r.context === "segment") setStatus("Failed");
      if (r.context === "open") {
        setStatus("");
        ui.progressText.textContent = "";
      }
      setRunning(false);
      break;
    }
  }
};

// ---------- input ----------

const FILE_LIMIT = 2 ** 31;
const tooLarge = (f: File): string => `${f.name}: ${(f.size / 2 ** 30).toFixed(1)} GB is more than this page can open (2 GB).`;
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** One NIfTI file, or else the files of a DICOM series (one file or a folder's worth). */
async function openPicked(all: Picked[]): Promise<void> {
  if (state.running || reading.busy) return;
  showError(null);
  const picked = all.filter((p) => !isClutter(p.path));
  if (picked.length === 0) {
    showError(all.length ? "The folder holds only hidden files." : "Nothing to open: the folder is empty.");
    return;
  }
  const [first] = picked;
  if (picked.length === 1 && isNifti(first!.file.name)) {
    const file = first!.file;
    if (file.size >= FILE_LIMIT) return showError(tooLarge(file));
    setStatus(`Reading ${file.name}…`);
    try {
      const bytes = await file.arrayBuffer();
      send({ type: "open", name: file.name, bytes }, [bytes]);
    } catch (e) {
      showError(`${file.name}: ${errorText(e)}`);
    }
    return;
  }
  await sendDicom(scanName(picked), picked);
}

/** Files sent to the worker but not yet read there; the page waits when too many are. */
const reading = { busy: false, acked: 0, wake: null as (() => void) | null };
const IN_FLIGHT = 8;

/** Streams the files to the worker one at a time; each file's bytes are transferred, not copied. */
async function sendDicom(name: string, picked: Picked[]): Promise<void> {
  reading.busy = true;
  reading.acked = 0;
  ui.file.disabled = ui.folder.disabled = true;
  ui.seriesChoice.hidden = true;
  setStatus(`Reading ${picked.length} files…`);
  try {
    send({ type: "dicom-begin", name, total: picked.length });
    for (const [i, { file, path }] of picked.entries()) {
      while (i - reading.acked >= IN_FLIGHT) await new Promise<void>((r) => (reading.wake = r));
      // A file the browser cannot read still counts, as an empty one the worker skips with a reason.
      const bytes = file.size >= FILE_LIMIT ? new ArrayBuffer(0) : await file.arrayBuffer().catch(() => new ArrayBuffer(0));
      send({ type: "dicom-file", name: path, bytes }, [bytes]);
    }
    send({ type: "dicom-end" });
  } finally {
    reading.busy = false;
    reading.wake = null;
    setRunning(state.running);
  }
}

function seriesLabel(s: SeriesInfo): string {
  const number = s.series_number !== null ? `#${s.series_number} ` : "";
  const thickness = s.thickness_mm !== null ? `, ${s.thickness_mm} mm` : "";
  return `${number}"${s.description || "no description"}" (${s.files} file${s.files === 1 ? "" : "s"}, ${s.size[1]} × ${s.size[0]}, ${s.modality ?? "no modality"}${thickness})`;
}

/** Several series in one folder: the user picks one, the largest offered first. */
function chooseSeries(name: string, series: SeriesInfo[], skipped: number): void {
  ui.series.replaceChildren(...series.map((s) => {
    const o = document.createElement("option");
    o.value = s.uid;
    o.textContent = seriesLabel(s);
    return o;
  }));
  ui.seriesChoice.hidden = false;
  ui.progressText.textContent = "";
  setStatus(`${name}: ${series.length} series${skipped ? ` (${skipped} files skipped)` : ""}; choose one to open.`);
  ui.series.focus();
}

function showWarnings(warnings: string[]): void {
  ui.scanWarnings.replaceChildren(...warnings.map((w) => {
    const li = document.createElement("li");
    li.textContent = w;
    return li;
  }));
  ui.scanWarnings.hidden = warnings.length === 0;
}

ui.openSeries.addEventListener("click", () => {
  if (ui.series.value) send({ type: "dicom-series", uid: ui.series.value });
});

for (const input of [ui.file, ui.folder]) {
  input.addEventListener("change", () => {
    const picked = fromInput(input);
    input.value = "";
    if (picked.length) void openPicked(picked);
  });
}

ui.stage.addEventListener("dragover", (e) => {
  e.preventDefault();
  ui.stage.classList.add("dragover");
});
ui.stage.addEventListener("dragleave", () => ui.stage.classList.remove("dragover"));
ui.stage.addEventListener("drop", (e) => {
  e.preventDefault();
  ui.stage.classList.remove("dragover");
  const data = e.dataTransfer;
  if (!data) return;
  fromDrop(data).then(openPicked, (err: unknown) => showError(`The dropped files could not be read: ${errorText(err)}`));
});

ui.sample.addEventListener("click", async () => {
  showError(null);
  const response = await fetch("samples/lidc_chest_2slices_hu.nii.gz");
  if (!response.ok) {
    showError(`The sample scan could not be loaded (${response.status}).`);
    return;
  }
  const bytes = await response.arrayBuffer();
  send({ type: "open", name: "lidc_chest_2slices_hu.nii.gz", bytes }, [bytes]);
});

ui.segment.addEventListener("click", () => {
  if (!state.info || state.running) return;
  state.labels.clear();
  state.infected = [];
  state.stats = null;
  showError(null);
  setStatus("Segmenting…");
  ui.progress.value = 0;
  state.tta = ui.tta.checked;
  setRunning(true);
  send({ type: "segment", tta: state.tta });
});

ui.cancel.addEventListener("click", () => send({ type: "cancel" }));
ui.exportMask.addEventListener("click", () => send({ type: "export" }));
ui.exportJson.addEventListener("click", () => {
  if (state.stats) download(`${stem()}_stats.json`, JSON.stringify({ scan: state.name, model: state.model?.preset, tta: state.tta, ...state.stats }, null, 2), "application/json");
});
ui.exportCsv.addEventListener("click", () => {
  if (state.csv) download(`${stem()}_stats.csv`, state.csv, "text/csv");
});

ui.slice.addEventListener("input", () => goTo(Number(ui.slice.value)));
ui.strip.addEventListener("click", (e) => {
  if (!state.info) return;
  const n = state.info.dims[2];
  const x = e.offsetX / ui.strip.clientWidth;
  // Jump to the nearest slice with infection, or to where was clicked.
  const target = Math.floor(x * n);
  let best = target, dist = Infinity;
  state.infected.forEach((v, k) => {
    if (v && Math.abs(k - target) < dist) {
      best = k;
      dist = Math.abs(k - target);
    }
  });
  goTo(dist <= Math.max(2, n / 20) ? best : target);
});
ui.opacity.addEventListener("input", paint);
ui.outline.addEventListener("change", paint);
ui.lungWindow.addEventListener("click", () => {
  state.window = { ...LUNG };
  updateWindowText();
  paint();
});
ui.mediaWindow.addEventListener("click", () => {
  state.window = { ...MEDIASTINAL };
  updateWindowText();
  paint();
});

ui.view.addEventListener("wheel", (e) => {
  e.preventDefault();
  if (e.ctrlKey) {
    state.zoom = Math.max(0.5, Math.min(16, state.zoom * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
    draw();
  } else {
    goTo(state.k + (e.deltaY > 0 ? 1 : -1));
  }
}, { passive: false });

window.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLInputElement && e.target.type !== "range") return;
  if (e.key === "ArrowUp" || e.key === "ArrowRight") goTo(state.k + 1);
  else if (e.key === "ArrowDown" || e.key === "ArrowLeft") goTo(state.k - 1);
  else if (e.key === "PageUp") goTo(state.k + 10);
  else if (e.key === "PageDown") goTo(state.k - 10);
  else return;
  e.preventDefault();
});

let drag: { x: number; y: number; mode: "window" | "pan" } | null = null;
ui.view.addEventListener("pointerdown", (e) => {
  drag = { x: e.clientX, y: e.clientY, mode: e.shiftKey || e.button === 1 ? "pan" : "window" };
  ui.view.setPointerCapture(e.pointerId);
});
ui.view.addEventListener("pointerup", () => (drag = null));
ui.view.addEventListener("pointermove", (e) => {
  if (drag) {
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    if (drag.mode === "pan") {
      state.pan = [state.pan[0] + dx, state.pan[1] + dy];
      draw();
    } else {
      state.window.width = Math.max(1, state.window.width + dx * 4);
      state.window.level += dy * 2;
      updateWindowText();
      paint();
    }
  }
  readout(e);
});
ui.view.addEventListener("pointerleave", () => (ui.readout.textContent = ""));
ui.view.addEventListener("dblclick", () => {
  state.zoom = 1;
  state.pan = [0, 0];
  draw();
});

/// Slice number, pixel and HU under the cursor.
function readout(e: PointerEvent): void {
  if (!state.info || !state.hu) return;
  const dpr = window.devicePixelRatio || 1;
  const t = transform();
  const x = Math.floor((e.offsetX * dpr - t.x) / t.s), y = Math.floor((e.offsetY * dpr - t.y) / t.s);
  const [h, w] = state.info.display_size;
  const base = `slice ${state.k + 1}/${state.info.dims[2]}`;
  if (x < 0 || y < 0 || x >= w || y >= h) {
    ui.readout.textContent = base;
    return;
  }
  const hu = state.hu[y * w + x]!;
  const approx = state.info.intensity.kind === "hounsfield" ? "" : " (approx., 8-bit image)";
  ui.readout.textContent = `${base}  (${x}, ${y})  ${Math.round(hu)} HU${approx}`;
}

window.addEventListener("resize", () => {
  draw();
  paintStrip();
});

// The test-time augmentation choice is kept for the next visit (only this flag is stored, never a scan).
const TTA_KEY = "lungseg-tta";
try {
  ui.tta.checked = localStorage.getItem(TTA_KEY) === "1";
} catch {
  // Storage can be disabled (private mode, policies): the box then starts unticked.
}
ui.tta.addEventListener("change", () => {
  try {
    localStorage.setItem(TTA_KEY, ui.tta.checked ? "1" : "0");
  } catch {
    // Not remembered; the choice still applies now.
  }
});

updateWindowText();
updateLegend();
setRunning(false);
const wanted = new URLSearchParams(location.search).get("backend");
const backend: BackendChoice = wanted === "cpu" ? "flex" : wanted === "webgpu" ? "webgpu" : "auto";
send({ type: "init", backend });
