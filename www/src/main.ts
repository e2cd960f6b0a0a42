// The page: wires the viewer, the worker client, the results and the controls together, and
// turns the worker's replies into what the page shows.

import { errorText, WorkerClient } from "./client.js";
import { setStatus, showError, ui } from "./dom.js";
import { fromDrop, fromInput, type Picked } from "./files.js";
import { renderLegend } from "./overlay.js";
import type { BackendChoice, Reply, SegmenterInfo, Statistics, VolumeInfo } from "./protocol.js";
import { download, showResults, stem } from "./results.js";
import { offerSeries, seriesLabel, showWarnings } from "./series.js";
import { Viewer } from "./viewer.js";

const state = {
  model: null as SegmenterInfo | null,
  name: "",
  stats: null as Statistics | null,
  csv: "",
  running: false,
  tta: false, // whether the current result used test-time augmentation
};

const client = new WorkerClient({
  reply: onReply,
  error: showError,
  status: setStatus,
  reading: (busy) => {
    if (busy) {
      ui.file.disabled = ui.folder.disabled = true;
      ui.seriesChoice.hidden = true;
    } else {
      setRunning(state.running);
    }
  },
});
const viewer = new Viewer(ui, (k) => client.send({ type: "slice", k }));

function setRunning(running: boolean): void {
  state.running = running;
  ui.segment.disabled = running || !viewer.scanInfo || !state.model;
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

function modelReady(info: SegmenterInfo, reason: string | null): void {
  state.model = info;
  const because = info.fallback_reason ?? reason;
  const why = because ? ` — ${info.fallback_reason ? "WebGPU failed: " : ""}${because}` : "";
  ui.backend.textContent = `Backend: ${info.backend === "webgpu" ? "WebGPU" : "CPU (flex)"} · ${info.adapter}${why}`;
  ui.backend.dataset["backend"] = info.backend;
  ui.modelInfo.textContent = `FFRNet ${info.preset}, ${info.classes === 2 ? "infection vs background" : "ground-glass / consolidation / effusion"}, ${(info.parameters / 1e6).toFixed(1)} M parameters`;
  viewer.setClasses(info.classes);
  renderLegend(ui.legend, info.classes);
  setRunning(false);
}

function scanOpened(name: string, info: VolumeInfo): void {
  state.name = name;
  state.stats = null;
  viewer.open(info);
  const [nx, ny, nz] = info.dims;
  const sp = info.spacing_known ? `${info.spacing.map((s) => s.toFixed(3)).join(" × ")} mm` : "spacing unknown";
  const kind = info.intensity.kind === "hounsfield" ? "Hounsfield units" : "8-bit windowed image";
  const series = info.series ? ` DICOM series ${seriesLabel(info.series)}, UID ${info.series.uid}.` : "";
  ui.scanInfo.textContent = `${name}: ${nx} × ${ny} × ${nz} ${info.source_type}, ${sp}, ${kind}. Orientation ${info.orientation}.${series} Lung in ${info.lung_slices} of ${nz} slices.`;
  showWarnings(ui.scanWarnings, info.warnings);
  ui.seriesChoice.hidden = true;
  ui.empty.hidden = true;
  ui.results.textContent = "Segment the scan to see infection volumes.";
  ui.results.classList.add("muted");
  ui.progress.value = 0;
  ui.progressText.textContent = "";
  setStatus("");
  showError(null);
  setRunning(false);
}

function onReply(r: Reply): void {
  switch (r.type) {
    case "ready":
      modelReady(r.info, r.reason);
      break;
    case "opened":
      scanOpened(r.name, r.info);
      break;
    case "slice":
      viewer.sliceArrived(r.k, r.hu, r.labels);
      break;
    case "progress": {
      ui.progress.max = r.total;
      ui.progress.value = r.done;
      const left = (r.ms / r.done) * (r.total - r.done);
      ui.progressText.textContent = `${r.done} / ${r.total} slices · ${(r.ms / r.done / 1000).toFixed(2)} s per slice · ${Math.ceil(left / 1000)} s left`;
      viewer.setLabels(r.k, r.infected, r.labels);
      break;
    }
    case "segmented": {
      state.stats = r.stats;
      state.csv = r.csv;
      viewer.setInfected(r.stats.infected_per_slice);
      const info = viewer.scanInfo;
      const total = info ? info.dims[2] : r.done;
      const partial = r.cancelled ? `Partial: ${r.done} of ${total} slices were segmented before Cancel.` : null;
      showResults(ui.results, r.stats, { tta: state.tta, hounsfield: info?.intensity.kind === "hounsfield", partial });
      setStatus(r.cancelled ? "Cancelled" : "Done");
      ui.progressText.textContent = `${r.done} / ${total} slices in ${(r.ms / 1000).toFixed(1)} s on ${state.model?.backend === "webgpu" ? "WebGPU" : "CPU"}`;
      setRunning(false);
      break;
    }
    case "reading":
      ui.progress.max = r.total;
      ui.progress.value = r.done;
      ui.progressText.textContent = `Reading ${r.done} / ${r.total} files: ${r.images} images${r.skipped ? `, ${r.skipped} skipped` : ""}`;
      break;
    case "series":
      offerSeries(ui.seriesChoice, ui.series, r.series);
      ui.progressText.textContent = "";
      setStatus(`${r.name}: ${r.series.length} series${r.skipped.length ? ` (${r.skipped.length} files skipped)` : ""}; choose one to open.`);
      break;
    case "mask":
      download(r.name, r.bytes, "application/gzip");
      break;
    case "error":
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

// ---------- opening scans ----------

const open = (picked: Picked[]): void => {
  if (!state.running && !client.busy) void client.open(picked);
};

for (const input of [ui.file, ui.folder]) {
  input.addEventListener("change", () => {
    const picked = fromInput(input);
    input.value = "";
    if (picked.length) open(picked);
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
  fromDrop(data).then(open, (err: unknown) => showError(`The dropped files could not be read: ${errorText(err)}`));
});

ui.openSeries.addEventListener("click", () => {
  if (ui.series.value) client.send({ type: "dicom-series", uid: ui.series.value });
});

ui.sample.addEventListener("click", async () => {
  showError(null);
  const response = await fetch("samples/lidc_chest_2slices_hu.nii.gz");
  if (!response.ok) {
    showError(`The sample scan could not be loaded (${response.status}).`);
    return;
  }
  await client.openFile("lidc_chest_2slices_hu.nii.gz", await response.blob());
});

// ---------- segmenting and export ----------

ui.segment.addEventListener("click", () => {
  if (!viewer.scanInfo || state.running) return;
  viewer.clearLabels();
  state.stats = null;
  showError(null);
  setStatus("Segmenting…");
  ui.progress.value = 0;
  state.tta = ui.tta.checked;
  setRunning(true);
  client.send({ type: "segment", tta: state.tta });
});

ui.cancel.addEventListener("click", () => client.send({ type: "cancel" }));
ui.exportMask.addEventListener("click", () => client.send({ type: "export" }));
ui.exportJson.addEventListener("click", () => {
  if (state.stats) download(`${stem(state.name)}_stats.json`, JSON.stringify({ scan: state.name, model: state.model?.preset, tta: state.tta, ...state.stats }, null, 2), "application/json");
});
ui.exportCsv.addEventListener("click", () => {
  if (state.csv) download(`${stem(state.name)}_stats.csv`, state.csv, "text/csv");
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

renderLegend(ui.legend, 2);
setRunning(false);
const wanted = new URLSearchParams(location.search).get("backend");
const backend: BackendChoice = wanted === "cpu" ? "flex" : wanted === "webgpu" ? "webgpu" : "auto";
client.send({ type: "init", backend });
