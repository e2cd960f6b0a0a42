// The page's elements, looked up once by id; a missing one is a broken page, said at load.

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

export const ui = {
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

export type Ui = typeof ui;

/** Shows an error line, or hides it when `text` is null. */
export function showError(text: string | null): void {
  ui.error.hidden = text === null;
  ui.error.textContent = text ?? "";
}

export function setStatus(text: string): void {
  ui.status.textContent = text;
}
