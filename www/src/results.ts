// Results and export: the volume table, what it rests on, and files saved from the page.

import type { Amount, Statistics } from "./protocol.js";

const fmtAmount = (a: Amount): string => (a.ml === null ? `${a.voxels.toLocaleString()} vox` : `${a.ml.toFixed(1)} mL`);

/** How the shown result was made, for the sentence under the table. */
export interface ResultContext {
  /** Test-time augmentation was used. */
  tta: boolean;
  /** The scan is in Hounsfield units (else an 8-bit windowed image). */
  hounsfield: boolean;
  /** Why the result covers only part of the scan, if it does. */
  partial: string | null;
}

/** Infection, lung and share involved (total, right, left), per class, and the caveats. */
export function showResults(into: HTMLElement, stats: Statistics, ctx: ResultContext): void {
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
    ctx.partial ?? "",
    ctx.tta ? "Test-time augmented (each slice segmented as given, mirrored and zoomed; probabilities averaged)." : "",
    `Lung found in ${stats.lung_slices} of ${stats.infected_per_slice.length} slices; only those were segmented.`,
    ctx.hounsfield
      ? "Right and left are the patient's; the lung field is the aerated lung found in 3-D (bowel gas, the trachea and air outside the body left out), with the infection added back."
      : "Right and left are the patient's; the lung field is a threshold mask of each slice (this 8-bit image has no HU), with the infection added back.",
  ].filter(Boolean).join(" ");
  parts.push(note);
  into.classList.remove("muted");
  into.replaceChildren(...parts);
}

/** Saves `data` as a file the browser downloads (nothing leaves the machine). */
export function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The scan's name without its NIfTI extension, for export file names. */
export const stem = (name: string): string => name.replace(/\.nii(\.gz)?$/i, "");
