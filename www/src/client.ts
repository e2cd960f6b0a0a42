// The worker client: owns the worker, sends requests (transferring buffers, never cloning
// them), streams a picked NIfTI file or DICOM folder to it with back-pressure, and replaces a
// worker that holds a large scan's memory when the next scan opens.

import { isClutter, isNifti, scanName, type Picked } from "./files.js";
import type { BackendChoice, Reply, Request } from "./protocol.js";

/** Files at or over this size are refused before they are read (the browser's ArrayBuffer limit). */
export const FILE_LIMIT = 2 ** 31;
/** DICOM files sent but not yet read by the worker before the page waits. */
const IN_FLIGHT = 8;

const tooLarge = (f: File): string => `${f.name}: ${(f.size / 2 ** 30).toFixed(1)} GB is more than this page can open (2 GB).`;
export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** What the client tells the page while it reads files. */
export interface ClientHooks {
  /** Every reply from the worker, after the client has taken what it needs from it. */
  reply(r: Reply): void;
  error(text: string | null): void;
  status(text: string): void;
  /** Files are being streamed (true) or streaming ended (false). */
  reading(busy: boolean): void;
}

/** A worker whose wasm memory has grown past this is replaced when another scan opens (wasm
 * memory never shrinks, so only a fresh worker gives a large scan's memory back). */
export const RECYCLE_BYTES = 512 * 2 ** 20;

const spawn = (): Worker => new Worker(new URL("./worker.js", import.meta.url), { type: "module" });

export class WorkerClient {
  /** The worker holding the model and the open scan. */
  private worker = spawn();
  /** A fresh worker that opens the next scan; it replaces `worker` once the scan opens, and is
   * dropped if it does not, so the open scan is never lost. */
  private next: { worker: Worker; ready: Promise<boolean> } | null = null;
  /** What `init` asked for, and the backend the model runs on (a fresh worker starts on it). */
  private backend: BackendChoice = "auto";
  /** The current worker's wasm memory, as last reported. */
  private memory = 0;
  /** Files sent to the worker but not yet read there. */
  private readonly stream = { busy: false, acked: 0, wake: null as (() => void) | null };

  constructor(private readonly hooks: ClientHooks) {
    this.worker.onmessage = (e: MessageEvent<Reply>) => this.fromCurrent(e.data);
  }

  private fromCurrent(r: Reply): void {
    if (r.type === "ready") this.backend = r.info.backend;
    if (r.type === "opened" || r.type === "segmented") this.memory = r.memory;
    this.received(r);
  }

  private received(r: Reply): void {
    if (r.type === "reading") {
      this.stream.acked = r.done;
      this.stream.wake?.();
    }
    this.hooks.reply(r);
  }

  /** Starts a fresh worker for the next scan when the current one holds a large scan's memory. */
  private async target(): Promise<Worker> {
    if (this.memory < RECYCLE_BYTES) return this.next?.worker ?? this.worker;
    if (!this.next) {
      const worker = spawn();
      const ready = new Promise<boolean>((resolve) => {
        worker.onmessage = (e: MessageEvent<Reply>) => {
          const r = e.data;
          if (r.type === "ready") return resolve(true);
          if (r.type === "error" && r.context === "init") return resolve(false);
          if (r.type === "opened") {
            // The new scan is open: the old worker and all its memory go.
            this.worker.terminate();
            this.worker = worker;
            this.next = null;
            worker.onmessage = (m: MessageEvent<Reply>) => this.fromCurrent(m.data);
            this.fromCurrent(r);
            return;
          }
          if (r.type === "error" && r.context === "open") {
            // It did not open: the scan already open stays, in the worker that holds it.
            worker.terminate();
            this.next = null;
          }
          this.received(r);
        };
      });
      worker.postMessage({ type: "init", backend: this.backend } satisfies Request);
      this.next = { worker, ready };
    }
    const next = this.next;
    if (await next.ready) return next.worker;
    // No fresh worker could start: open in the current one, as before.
    next.worker.terminate();
    if (this.next === next) this.next = null;
    this.memory = 0;
    return this.worker;
  }

  /** Whether files are being streamed to the worker now. */
  get busy(): boolean {
    return this.stream.busy;
  }

  send(req: Request, transfer: Transferable[] = []): void {
    if (req.type === "init") this.backend = req.backend;
    // A series chosen from a folder goes to the worker that read the folder.
    const to = req.type === "dicom-series" ? (this.next?.worker ?? this.worker) : this.worker;
    to.postMessage(req, transfer);
  }

  /** One NIfTI file, or else the files of a DICOM series (one file or a folder's worth). */
  async open(all: Picked[]): Promise<void> {
    const { error, status } = this.hooks;
    error(null);
    const picked = all.filter((p) => !isClutter(p.path));
    if (picked.length === 0) {
      error(all.length ? "The folder holds only hidden files." : "Nothing to open: the folder is empty.");
      return;
    }
    const [first] = picked;
    if (picked.length === 1 && isNifti(first!.file.name)) {
      const file = first!.file;
      if (file.size >= FILE_LIMIT) return error(tooLarge(file));
      status(`Reading ${file.name}…`);
      try {
        await this.openFile(file.name, file);
      } catch (e) {
        error(`${file.name}: ${errorText(e)}`);
      }
      return;
    }
    await this.sendDicom(scanName(picked), picked);
  }

  /** A NIfTI file, handed to the worker that will hold the scan: the worker reads it a chunk at
   * a time, so the file's bytes are never held whole next to the scan. */
  async openFile(name: string, file: Blob): Promise<void> {
    (await this.target()).postMessage({ type: "open", name, file } satisfies Request);
  }

  /** Streams the files to the worker one at a time; each file's bytes are transferred, not copied. */
  private async sendDicom(name: string, picked: Picked[]): Promise<void> {
    const stream = this.stream;
    stream.busy = true;
    stream.acked = 0;
    this.hooks.reading(true);
    this.hooks.status(`Reading ${picked.length} files…`);
    try {
      const to = await this.target();
      const post = (req: Request, transfer: Transferable[] = []): void => to.postMessage(req, transfer);
      post({ type: "dicom-begin", name, total: picked.length });
      for (const [i, { file, path }] of picked.entries()) {
        while (i - stream.acked >= IN_FLIGHT) await new Promise<void>((r) => (stream.wake = r));
        // A file the browser cannot read still counts, as an empty one the worker skips with a reason.
        const bytes = file.size >= FILE_LIMIT ? new ArrayBuffer(0) : await file.arrayBuffer().catch(() => new ArrayBuffer(0));
        post({ type: "dicom-file", name: path, bytes }, [bytes]);
      }
      post({ type: "dicom-end" });
    } finally {
      stream.busy = false;
      stream.wake = null;
      this.hooks.reading(false);
    }
  }
}
