// Minimal NIfTI-1 helpers for the end-to-end test: parse a (gzipped) uint8/int16 volume and
// cut a slab of slices out of one, so the test can feed real scans and read back exports.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";

/** The shared real data: $LUNGSEG_SHARED_DATA, ../shared/data beside the checkout, or /work/shared/data. */
export function sharedData(repo) {
  const candidates = [process.env.LUNGSEG_SHARED_DATA, resolve(repo, "../shared/data"), "/work/shared/data"];
  const found = candidates.find((p) => p && existsSync(resolve(p, "medseg/train/image.nii.gz")));
  if (!found) throw new Error("shared data not found: set LUNGSEG_SHARED_DATA");
  return found;
}

/** @param {Uint8Array} bytes */
export function parseNifti(bytes) {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : Buffer.from(bytes);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dv.getInt32(0, true) !== 348) throw new Error("not a little-endian NIfTI-1 file");
  const dims = [1, 2, 3].map((i) => dv.getInt16(40 + 2 * i, true));
  const datatype = dv.getInt16(70, true);
  const pixdim = [1, 2, 3].map((i) => dv.getFloat32(76 + 4 * i, true));
  const voxOffset = dv.getFloat32(108, true);
  const srow = [280, 296, 312].map((o) => [0, 1, 2, 3].map((i) => dv.getFloat32(o + 4 * i, true)));
  const codes = { qform: dv.getInt16(252, true), sform: dv.getInt16(254, true) };
  const n = dims[0] * dims[1] * dims[2];
  const size = { 2: 1, 4: 2 }[datatype];
  if (!size) throw new Error(`datatype ${datatype} not handled by the test helper`);
  const data = raw.subarray(voxOffset, voxOffset + n * size);
  return { raw, dims, datatype, pixdim, srow, codes, voxOffset, data, size };
}

/** A copy of `nii` holding slices [k0, k1) only, gzipped. */
export function sliceSlab(bytes, k0, k1) {
  const v = parseNifti(bytes);
  const plane = v.dims[0] * v.dims[1] * v.size;
  const header = Buffer.from(v.raw.subarray(0, v.voxOffset));
  header.writeInt16LE(k1 - k0, 46);
  const body = v.raw.subarray(v.voxOffset + k0 * plane, v.voxOffset + k1 * plane);
  return gzipSync(Buffer.concat([header, body]));
}

/** Binary Dice between two label arrays (non-zero = infection). */
export function dice(a, b) {
  let inter = 0, sa = 0, sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0, y = b[i] !== 0;
    if (x) sa++;
    if (y) sb++;
    if (x && y) inter++;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

/** A real-size chest CT for the whole-scan test and benchmark: 512 × 512 × n int16 from the two
 * real LIDC slices, copy k being slice k % 2 rolled sideways by (k % 9) − 4 pixels; gzipped
 * (level 1), with its int16 size. With `lungIn`, only the copies it names keep their air: in the
 * others every value from −1500 to +40 HU is raised to +40 (soft tissue; the −2000 padding beyond
 * the scanner's circular field of view stays), so they hold no lung and the page skips them, as
 * it skips the slices below the diaphragm of a chest–abdomen scan.
 * @param {string} shared
 * @param {number} n
 * @param {number[]} [lungIn]
 */
export function repeatedLidc(shared, n, lungIn) {
  const lidc = parseNifti(readFileSync(resolve(shared, "fixtures/lidc_chest_2slices_hu.nii.gz")));
  const [nx, ny] = lidc.dims;
  if (lidc.datatype !== 4) throw new Error("the LIDC fixture is expected as int16");
  const src = new Int16Array(lidc.data.buffer.slice(lidc.data.byteOffset, lidc.data.byteOffset + lidc.data.byteLength));
  const plane = nx * ny;
  const body = new Int16Array(plane * n);
  for (let k = 0; k < n; k++) {
    const base = (k % 2) * plane, shift = (k % 9) - 4, dst = k * plane;
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) body[dst + y * nx + x] = src[base + y * nx + ((x - shift + nx) % nx)];
    }
    if (lungIn && !lungIn.includes(k)) {
      for (let i = dst; i < dst + plane; i++) if (body[i] > -1500 && body[i] < 40) body[i] = 40;
    }
  }
  const header = Buffer.from(lidc.raw.subarray(0, lidc.voxOffset));
  header.writeInt16LE(n, 46);
  return { bytes: gzipSync(Buffer.concat([header, Buffer.from(body.buffer)]), { level: 1 }), int16Bytes: body.byteLength };
}
