// What is shown about an opened scan's DICOM origin: the series chooser and the warnings.

import type { SeriesInfo } from "./protocol.js";

/** One line per series: number, description, files, size, modality and thickness. */
export function seriesLabel(s: SeriesInfo): string {
  const number = s.series_number !== null ? `#${s.series_number} ` : "";
  const thickness = s.thickness_mm !== null ? `, ${s.thickness_mm} mm` : "";
  return `${number}"${s.description || "no description"}" (${s.files} file${s.files === 1 ? "" : "s"}, ${s.size[1]} × ${s.size[0]}, ${s.modality ?? "no modality"}${thickness})`;
}

/** Fills the chooser with the series in the worker's order (largest first) and shows it. */
export function offerSeries(chooser: HTMLElement, select: HTMLSelectElement, series: SeriesInfo[]): void {
  select.replaceChildren(...series.map((s) => {
    const o = document.createElement("option");
    o.value = s.uid;
    o.textContent = seriesLabel(s);
    return o;
  }));
  chooser.hidden = false;
  select.focus();
}

/** Lists what was irregular about the series (gaps, tilt, skipped files); hidden when nothing was. */
export function showWarnings(list: HTMLElement, warnings: string[]): void {
  list.replaceChildren(...warnings.map((w) => {
    const li = document.createElement("li");
    li.textContent = w;
    return li;
  }));
  list.hidden = warnings.length === 0;
}
