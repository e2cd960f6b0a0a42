// The worker client: owns the worker, sends requests (transferring buffers, never cloning
// them) and streams a picked NIfTI file or DICOM folder to it with back-pressure.

import { isClutter, isNifti, scanName, type Picked } from "./files.js";
import type { Reply, Request } from "./protocol.js";

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

export class WorkerClient {
  private readonly worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  /** Files sent to the worker but not yet read there. */
  private readonly stream = { busy: false, acked: 0, wake: null as (() => void) | null };

  constructor(private readonly hooks: ClientHooks) {
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const r = e.data;
      if (r.type === "reading") {
        this.stream.acked = r.done;
        this.stream.wake?.();
      }
      hooks.reply(r);
    };
  }

  /** Whether files are being streamed to the worker now. */
  get busy(): boolean {
    return this.stream.busy;
  }

  send(req: Request, transfer: Transferable[] = []): void {
    this.worker.postMessage(req, transfer);
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
        const bytes = await file.arrayBuffer();
        this.send({ type: "open", name: file.name, bytes }, [bytes]);
      } catch (e) {
        error(`${file.name}: ${errorText(e)}`);
      }
      return;
    }
    await this.sendDicom(scanName(picked), picked);
  }

  /** Streams the files to the worker one at a time; each file's bytes are transferred, not copied. */
  private async sendDicom(name: string, picked: Picked[]): Promise<void> {
    const stream = this.stream;
    stream.busy = true;
    stream.acked = 0;
    this.hooks.reading(true);
    this.hooks.status(`Reading ${picked.length} files…`);
    try {
      this.send({ type: "dicom-begin", name, total: picked.length });
      for (const [i, { file, path }] of picked.entries()) {
        while (i - stream.acked >= IN_FLIGHT) await new Promise<void>((r) => (stream.wake = r));
        // A file the browser cannot read still counts, as an empty one the worker skips with a reason.
        const bytes = file.size >= FILE_LIMIT ? new ArrayBuffer(0) : await file.arrayBuffer().catch(() => new ArrayBuffer(0));
        this.send({ type: "dicom-file", name: path, bytes }, [bytes]);
      }
      this.send({ type: "dicom-end" });
    } finally {
      stream.busy = false;
      stream.wake = null;
      this.hooks.reading(false);
    }
  }
}
