// What the user hands the page: one NIfTI file, or the files of a DICOM folder, from the file
// and folder inputs or from a drop (files, folders, or both; folders are walked recursively).

/** A file with the path it had inside what was opened (for messages about skipped files). */
export interface Picked { file: File; path: string }

export const isNifti = (name: string): boolean => /\.nii(\.gz)?$/i.test(name);

/** Files of an `<input type="file">`, with their path inside a chosen folder where there is one. */
export function fromInput(input: HTMLInputElement): Picked[] {
  return Array.from(input.files ?? [], (file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/** Everything dropped, folders walked; the browser gives folder contents in batches. */
export async function fromDrop(data: DataTransfer): Promise<Picked[]> {
  const entries = Array.from(data.items, (item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.some((e) => e === null)) return Array.from(data.files, (file) => ({ file, path: file.name }));
  const out: Picked[] = [];
  for (const entry of entries) await walk(entry!, out);
  return out;
}

async function walk(entry: FileSystemEntry, out: Picked[]): Promise<void> {
  const path = entry.fullPath.replace(/^\//, "");
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    out.push({ file, path });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) return;
    for (const e of batch) await walk(e, out);
  }
}

/** A name for what was opened: its folder when it came from one, else the first file's. */
export function scanName(picked: Picked[]): string {
  const first = picked[0]?.path ?? "scan";
  const folder = first.includes("/") ? first.slice(0, first.indexOf("/")) : "";
  return folder || (picked.length === 1 ? first : "dicom");
}

/** Hidden files and folder indexes that no one means to open (`.DS_Store`, `Thumbs.db`). */
export const isClutter = (path: string): boolean => /(^|\/)(\.[^/]*|Thumbs\.db|desktop\.ini)(\/|$)/i.test(path);
