// The infection overlay: a colour per label, outlines, and the legend that names them.

export type Rgb = [number, number, number];

/// Colours per label (1-based); binary models use the first.
const BINARY_COLOURS: Rgb[] = [[255, 64, 64]];
const CLASS_COLOURS: Rgb[] = [[255, 214, 0], [255, 110, 40], [60, 150, 255]];
const CLASS_NAMES = ["Ground-glass", "Consolidation", "Effusion"];

/** The colours of a model with `classes` outputs (background included). */
export const colours = (classes: number): Rgb[] => (classes > 2 ? CLASS_COLOURS : BINARY_COLOURS);

/** Whether pixel `i` lies on the border of its label region (or of the image). */
export function isEdge(l: Uint8Array, i: number, w: number, h: number): boolean {
  const x = i % w, y = (i - x) / w, v = l[i];
  return x === 0 || y === 0 || x === w - 1 || y === h - 1 || l[i - 1] !== v || l[i + 1] !== v || l[i - w] !== v || l[i + w] !== v;
}

/** How labels are drawn over the grey image. */
export interface OverlayStyle { alpha: number; outline: boolean; colours: Rgb[] }

/** Writes pixel `i` (grey level `g`) into `px` as RGBA: the grey, or the grey blended with its label's colour. */
export function shadeInto(px: Uint8ClampedArray, i: number, g: number, labels: Uint8Array | undefined, w: number, h: number, style: OverlayStyle): void {
  let r = g, gg = g, b = g;
  const l = labels ? labels[i]! : 0;
  if (l > 0 && (!style.outline || isEdge(labels!, i, w, h))) {
    const c = style.colours[Math.min(l, style.colours.length) - 1]!;
    const a = style.outline ? Math.max(style.alpha, 0.85) : style.alpha;
    r = r * (1 - a) + c[0] * a;
    gg = gg * (1 - a) + c[1] * a;
    b = b * (1 - a) + c[2] * a;
  }
  px[4 * i] = r;
  px[4 * i + 1] = gg;
  px[4 * i + 2] = b;
  px[4 * i + 3] = 255;
}

/** Fills `list` with one entry per label: a swatch of its colour and its name. */
export function renderLegend(list: HTMLElement, classes: number): void {
  const names = classes > 2 ? CLASS_NAMES : ["Infection"];
  list.replaceChildren(...names.map((name, i) => {
    const li = document.createElement("li");
    const sw = document.createElement("i");
    const c = colours(classes)[i]!;
    sw.style.background = `rgb(${c[0]},${c[1]},${c[2]})`;
    li.append(sw, name);
    return li;
  }));
}
