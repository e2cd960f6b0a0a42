// The slice viewer: one object that owns the canvas, the window/level, zoom and pan, slice
// navigation (keys, wheel, slider, the overview strip) and the labels drawn over each slice.

import { colours, shadeInto } from "./overlay.js";
import type { VolumeInfo } from "./protocol.js";

export interface WindowLevel { level: number; width: number }
export const LUNG: WindowLevel = { level: -600, width: 1500 };
export const MEDIASTINAL: WindowLevel = { level: 40, width: 350 };

/** The elements the viewer draws into and listens to. */
export interface ViewerElements {
  view: HTMLCanvasElement;
  readout: HTMLElement;
  slice: HTMLInputElement;
  sliceLabel: HTMLElement;
  strip: HTMLCanvasElement;
  opacity: HTMLInputElement;
  outline: HTMLInputElement;
  windowText: HTMLElement;
  lungWindow: HTMLButtonElement;
  mediaWindow: HTMLButtonElement;
}

export class Viewer {
  private info: VolumeInfo | null = null;
  private k = 0;
  private hu: Float32Array | null = null;
  /** The shown slice's labels, display-ordered; the worker keeps those of the whole scan and
   * sends a slice's labels with its values, so the page never holds a second copy. */
  private labels: { k: number; values: Uint8Array } | null = null;
  /** 1 where a slice holds infection. */
  private infected: number[] = [];
  private window: WindowLevel = { ...LUNG };
  private zoom = 1;
  private pan: [number, number] = [0, 0];
  private classes = 2;
  /** The slice asked of the worker and not yet shown; -1 when none is awaited. */
  private pendingSlice = -1;
  private readonly image = { canvas: document.createElement("canvas"), data: null as ImageData | null };
  private drag: { x: number; y: number; mode: "window" | "pan" } | null = null;

  /** `requestSlice` asks the worker for slice k's HU values and labels; `sliceArrived` takes the answer. */
  constructor(private readonly el: ViewerElements, private readonly requestSlice: (k: number) => void) {
    this.listen();
    this.updateWindowText();
  }

  /** A newly opened scan: no labels, whole slice in view, the middle slice shown. */
  open(info: VolumeInfo): void {
    this.info = info;
    this.labels = null;
    this.infected = [];
    this.zoom = 1;
    this.pan = [0, 0];
    const nz = info.dims[2];
    this.el.slice.max = String(nz - 1);
    this.el.slice.disabled = false;
    this.goTo(Math.floor(nz / 2));
  }

  /** How many labels the model gives (background included): picks the overlay colours. */
  setClasses(classes: number): void {
    this.classes = classes;
  }

  get scanInfo(): VolumeInfo | null {
    return this.info;
  }

  get slice(): number {
    return this.k;
  }

  goTo(k: number): void {
    if (!this.info) return;
    const n = this.info.dims[2];
    k = Math.max(0, Math.min(n - 1, Math.round(k)));
    this.k = k;
    this.el.slice.value = String(k);
    this.el.sliceLabel.textContent = `${k + 1} / ${n}`;
    this.paintStrip();
    // One request in flight; the latest wish wins.
    if (this.pendingSlice === -1) {
      this.pendingSlice = k;
      this.requestSlice(k);
    } else {
      this.pendingSlice = k;
    }
  }

  /** The worker's answer to `requestSlice`. */
  sliceArrived(k: number, hu: Float32Array, labels: Uint8Array | null): void {
    const wanted = this.pendingSlice;
    this.pendingSlice = -1;
    if (k === this.k) {
      this.hu = hu;
      if (labels) this.labels = { k, values: labels };
      else if (this.labels?.k !== k) this.labels = null;
      this.paint();
    }
    if (wanted !== -1 && wanted !== k) this.goTo(wanted);
  }

  /** One slice segmented: whether it holds infection, and its labels when it is the one shown. */
  setLabels(k: number, infected: boolean, labels: Uint8Array | null): void {
    this.infected[k] = infected ? 1 : 0;
    if (labels && k === this.k) {
      this.labels = { k, values: labels };
      this.paint();
    }
    this.paintStrip();
  }

  /** Which slices hold infection, from the final statistics. */
  setInfected(perSlice: number[]): void {
    this.infected = perSlice;
    this.paintStrip();
  }

  clearLabels(): void {
    this.labels = null;
    this.infected = [];
  }

  setWindow(w: WindowLevel): void {
    this.window = { ...w };
    this.updateWindowText();
    this.paint();
  }

  /** Grey levels through the window, then the overlay (filled or outlined) for this slice. */
  paint(): void {
    const info = this.info;
    const hu = this.hu;
    if (!info || !hu) return;
    const [h, w] = info.display_size;
    const image = this.image;
    if (image.canvas.width !== w || image.canvas.height !== h) {
      image.canvas.width = w;
      image.canvas.height = h;
      image.data = null;
    }
    const ctx2 = image.canvas.getContext("2d");
    if (!ctx2) return;
    image.data ??= ctx2.createImageData(w, h);
    const px = image.data.data;
    const lo = this.window.level - this.window.width / 2;
    const scale = 255 / this.window.width;
    const labels = this.labels?.k === this.k ? this.labels.values : undefined;
    const style = { alpha: Number(this.el.opacity.value), outline: this.el.outline.checked, colours: colours(this.classes) };
    for (let i = 0; i < w * h; i++) {
      let g = (hu[i]! - lo) * scale;
      g = g < 0 ? 0 : g > 255 ? 255 : g;
      shadeInto(px, i, g, labels, w, h, style);
    }
    ctx2.putImageData(image.data, 0, 0);
    this.draw();
  }

  /** Fits the slice into the canvas, then applies zoom and pan. */
  draw(): void {
    const c = this.el.view;
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.round(c.clientWidth * dpr), ch = Math.round(c.clientHeight * dpr);
    if (c.width !== cw || c.height !== ch) {
      c.width = cw;
      c.height = ch;
    }
    const ctx = c.getContext("2d");
    if (!ctx || !this.info) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, cw, ch);
    const t = this.transform();
    ctx.imageSmoothingEnabled = t.s < 2;
    ctx.setTransform(t.s, 0, 0, t.s, t.x, t.y);
    ctx.drawImage(this.image.canvas, 0, 0);
  }

  /** Image → canvas pixels. */
  private transform(): { s: number; x: number; y: number } {
    const [h, w] = this.info ? this.info.display_size : [1, 1];
    const dpr = window.devicePixelRatio || 1;
    const cw = this.el.view.clientWidth * dpr, ch = this.el.view.clientHeight * dpr;
    const s = Math.min(cw / w, ch / h) * this.zoom;
    return { s, x: (cw - w * s) / 2 + this.pan[0] * dpr, y: (ch - h * s) / 2 + this.pan[1] * dpr };
  }

  /** The overview strip under the slider: slices with infection in red, the current one in blue. */
  paintStrip(): void {
    const c = this.el.strip;
    const n = this.info ? this.info.dims[2] : 0;
    c.width = Math.max(1, c.clientWidth);
    const ctx = c.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, c.width, c.height);
    if (!n) return;
    for (const [k, v] of this.infected.entries()) {
      if (!v) continue;
      ctx.fillStyle = "#ff5050";
      ctx.fillRect(Math.floor((k / n) * c.width), 0, Math.max(2, Math.ceil(c.width / n)), c.height);
    }
    ctx.fillStyle = "#4aa3ff";
    ctx.fillRect(Math.floor((this.k / n) * c.width), 0, 2, c.height);
  }

  private updateWindowText(): void {
    const { windowText, lungWindow, mediaWindow } = this.el;
    const w = this.window;
    windowText.textContent = `Window ${Math.round(w.width)} / level ${Math.round(w.level)} HU (drag on the image to change)`;
    lungWindow.setAttribute("aria-pressed", String(w.level === LUNG.level && w.width === LUNG.width));
    mediaWindow.setAttribute("aria-pressed", String(w.level === MEDIASTINAL.level && w.width === MEDIASTINAL.width));
  }

  /** Slice number, pixel and HU under the cursor. */
  private readout(e: PointerEvent): void {
    if (!this.info || !this.hu) return;
    const dpr = window.devicePixelRatio || 1;
    const t = this.transform();
    const x = Math.floor((e.offsetX * dpr - t.x) / t.s), y = Math.floor((e.offsetY * dpr - t.y) / t.s);
    const [h, w] = this.info.display_size;
    const base = `slice ${this.k + 1}/${this.info.dims[2]}`;
    if (x < 0 || y < 0 || x >= w || y >= h) {
      this.el.readout.textContent = base;
      return;
    }
    const hu = this.hu[y * w + x]!;
    const approx = this.info.intensity.kind === "hounsfield" ? "" : " (approx., 8-bit image)";
    this.el.readout.textContent = `${base}  (${x}, ${y})  ${Math.round(hu)} HU${approx}`;
  }

  /** Jumps to the nearest slice with infection near a click on the strip, or to where was clicked. */
  private stripClick(e: MouseEvent): void {
    if (!this.info) return;
    const n = this.info.dims[2];
    const target = Math.floor((e.offsetX / this.el.strip.clientWidth) * n);
    let best = target, dist = Infinity;
    this.infected.forEach((v, k) => {
      if (v && Math.abs(k - target) < dist) {
        best = k;
        dist = Math.abs(k - target);
      }
    });
    this.goTo(dist <= Math.max(2, n / 20) ? best : target);
  }

  private listen(): void {
    const { view, slice, strip, opacity, outline, lungWindow, mediaWindow } = this.el;
    slice.addEventListener("input", () => this.goTo(Number(slice.value)));
    strip.addEventListener("click", (e) => this.stripClick(e));
    opacity.addEventListener("input", () => this.paint());
    outline.addEventListener("change", () => this.paint());
    lungWindow.addEventListener("click", () => this.setWindow(LUNG));
    mediaWindow.addEventListener("click", () => this.setWindow(MEDIASTINAL));

    view.addEventListener("wheel", (e) => {
      e.preventDefault();
      if (e.ctrlKey) {
        this.zoom = Math.max(0.5, Math.min(16, this.zoom * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
        this.draw();
      } else {
        this.goTo(this.k + (e.deltaY > 0 ? 1 : -1));
      }
    }, { passive: false });

    window.addEventListener("keydown", (e) => {
      if (e.target instanceof HTMLInputElement && e.target.type !== "range") return;
      if (e.key === "ArrowUp" || e.key === "ArrowRight") this.goTo(this.k + 1);
      else if (e.key === "ArrowDown" || e.key === "ArrowLeft") this.goTo(this.k - 1);
      else if (e.key === "PageUp") this.goTo(this.k + 10);
      else if (e.key === "PageDown") this.goTo(this.k - 10);
      else return;
      e.preventDefault();
    });

    // Drag: window/level; shift-drag or the middle button: pan; double-click: fit again.
    view.addEventListener("pointerdown", (e) => {
      this.drag = { x: e.clientX, y: e.clientY, mode: e.shiftKey || e.button === 1 ? "pan" : "window" };
      view.setPointerCapture(e.pointerId);
    });
    view.addEventListener("pointerup", () => (this.drag = null));
    view.addEventListener("pointermove", (e) => {
      const drag = this.drag;
      if (drag) {
        const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
        drag.x = e.clientX;
        drag.y = e.clientY;
        if (drag.mode === "pan") {
          this.pan = [this.pan[0] + dx, this.pan[1] + dy];
          this.draw();
        } else {
          this.window.width = Math.max(1, this.window.width + dx * 4);
          this.window.level += dy * 2;
          this.updateWindowText();
          this.paint();
        }
      }
      this.readout(e);
    });
    view.addEventListener("pointerleave", () => (this.el.readout.textContent = ""));
    view.addEventListener("dblclick", () => {
      this.zoom = 1;
      this.pan = [0, 0];
      this.draw();
    });
    window.addEventListener("resize", () => {
      this.draw();
      this.paintStrip();
    });
  }
}
