// Whole-scan test of the served page (Playwright, Debian's Chromium): a real-size chest CT,
// 512 × 512 × 600 int16, built from the two real LIDC slices (each copy shifted sideways by a few
// pixels), is opened, scrolled, segmented to "Done" on the CPU fallback and exported, and the mask
// must equal native `predict` on the same file. On WebGPU (SwiftShader here, ~16 s a slice) the
// same volume is opened and segmented until Cancel, and the slices it did must equal native's; then
// a 600-slice scan with lung in two slices only goes to Done on WebGPU and exports native's mask.
// Then: Cancel in the middle, segment again, open another scan: no stale result, one worker, and
// the renderer's memory back near where it was. Peak memory (the renderer process's high-water
// RSS: JS heaps, the worker's wasm memory, buffers) is printed against the scan's int16 size.
// Usage: node www/tests/whole-scan.mjs [slices]   (after scripts/build-web.sh and a release build)
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, servePage } from "./browser.mjs";
import { parseNifti, repeatedLidc, sharedData } from "./nifti.mjs";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const shared = sharedData(repo);
const out = join(repo, "target/whole-scan");
mkdirSync(out, { recursive: true });
const SLICES = Number(process.argv[2] || 600);

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/** Resident and peak resident memory of Chromium's renderer processes (the page and its worker live in one). */
function rendererMemory() {
  let rss = 0, hwm = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      if (!cmd.includes("chrom") || !cmd.includes("--type=renderer")) continue;
      const status = readFileSync(`/proc/${pid}/status`, "latin1");
      const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
      rss = Math.max(rss, kb("VmRSS"));
      hwm = Math.max(hwm, kb("VmHWM"));
    } catch {
      // The process ended while it was read.
    }
  }
  return { rss, hwm };
}


const t0 = Date.now();
const { bytes, int16Bytes } = repeatedLidc(shared, SLICES);
const scanPath = join(out, `lidc_repeated_${SLICES}.nii.gz`);
writeFileSync(scanPath, bytes);
console.log(`  built ${scanPath}: 512 × 512 × ${SLICES} int16 (${mb(int16Bytes)} as int16, ${mb(bytes.length)} gzipped) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const nativeMask = join(out, "native_mask.nii.gz");
const tn = Date.now();
execFileSync(join(repo, "target/release/native-train"), ["predict", "--input", scanPath, "--output", nativeMask], { stdio: "inherit" });
const nativeSeconds = (Date.now() - tn) / 1000;
const native = parseNifti(readFileSync(nativeMask));
console.log(`  native predict: ${nativeSeconds.toFixed(1)} s (${(nativeSeconds / SLICES).toFixed(3)} s per slice)`);

const { origin, server } = await servePage(repo);
const browser = await launchChromium();

async function openPage(query) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") console.log(`  [page error] ${m.text()}`); });
  page.on("pageerror", (e) => console.log(`  [page exception] ${e.message}`));
  await page.goto(`${origin}/${query}`);
  await page.waitForFunction(() => document.getElementById("backend")?.dataset["backend"] !== undefined, null, { timeout: 180_000 });
  return page;
}

/** Opens a file and waits until the scan line names it (or an error shows); returns the seconds it took. */
async function openScan(page, file, slices) {
  const t = Date.now();
  await page.locator("#file").setInputFiles(file);
  await page.waitForFunction(([name, n]) => (document.getElementById("scan-info")?.textContent ?? "").startsWith(`${name}: `)
    && new RegExp(`× ${n} int16`).test(document.getElementById("scan-info")?.textContent ?? "")
    || !document.getElementById("error")?.hidden, [basename(file), slices], { timeout: 600_000 });
  return (Date.now() - t) / 1000;
}

async function exportMask(page, name) {
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 300_000 }), page.getByRole("button", { name: "Export mask" }).click()]);
  const path = join(out, `${name}.nii.gz`);
  await download.saveAs(path);
  return parseNifti(readFileSync(path));
}

const plane = 512 * 512;
const sameSlices = (a, b, slices) => slices.every((k) => a.data.subarray(k * plane, (k + 1) * plane).every((v, i) => v === b.data[k * plane + i]));

try {
  // 1. The CPU fallback: open, scroll, Cancel in the middle, segment again to Done, export.
  const page = await openPage("?backend=cpu");
  check(/CPU/.test((await page.locator("#backend").textContent()) ?? ""), "CPU fallback active");
  const idle = rendererMemory();
  const openSeconds = await openScan(page, scanPath, SLICES);
  const info = (await page.locator("#scan-info").textContent()) ?? "";
  check(new RegExp(`512 × 512 × ${SLICES} int16`).test(info), `the whole scan opens: "${info}"`);
  check(new RegExp(`Lung in ${SLICES} of ${SLICES} slices`).test(info), "lung found in every slice");
  const opened = rendererMemory();
  console.log(`  opened in ${openSeconds.toFixed(1)} s; renderer RSS ${mb(idle.rss)} before, ${mb(opened.rss)} after (peak ${mb(opened.hwm)})`);

  await page.locator("#slice").fill(String(SLICES - 1));
  await page.waitForFunction((n) => document.getElementById("slice-label")?.textContent === `${n} / ${n}`, SLICES);
  await page.locator("#view").hover();
  await page.keyboard.press("PageDown");
  await page.waitForFunction((n) => document.getElementById("slice-label")?.textContent === `${n - 10} / ${n}`, SLICES);
  await page.mouse.wheel(0, -100);
  await page.waitForFunction((n) => document.getElementById("slice-label")?.textContent === `${n - 11} / ${n}`, SLICES);
  check(true, "scrolls: the slider to the last slice, PageDown 10 back, the wheel one more");

  await page.getByRole("button", { name: "Segment" }).click();
  await page.waitForFunction(() => /^(2\d) \//.test(document.getElementById("progress-text")?.textContent ?? ""), null, { timeout: 300_000 });
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("status").filter({ hasText: "Cancelled" }).waitFor({ timeout: 300_000 });
  const partial = (await page.locator("#results").textContent()) ?? "";
  check(new RegExp(`Partial: [23]\\d of ${SLICES} slices`).test(partial), `Cancel in the middle keeps a partial result: "${/Partial: [^.]*/.exec(partial)?.[0]}"`);

  const ts = Date.now();
  await page.getByRole("button", { name: "Segment" }).click();
  await page.getByRole("status").filter({ hasText: "Done" }).waitFor({ timeout: 1_800_000 });
  const cpuSeconds = (Date.now() - ts) / 1000;
  const segmented = rendererMemory();
  const cpuMask = await exportMask(page, "cpu_mask");
  const all = Array.from({ length: SLICES }, (_, k) => k);
  check(JSON.stringify(cpuMask.dims) === JSON.stringify(native.dims), `mask dimensions ${cpuMask.dims}`);
  check(sameSlices(cpuMask, native, all), `CPU fallback, all ${SLICES} slices after a Cancel: the mask equals native predict's voxel for voxel`);
  // The high-water mark of the whole run so far: opening (reading, the 3-D lung field) may be it.
  const peak = Math.max(opened.hwm, rendererMemory().hwm);
  console.log(`  CPU fallback: ${cpuSeconds.toFixed(1)} s for ${SLICES} slices (${(cpuSeconds / SLICES).toFixed(3)} s per slice)`);
  console.log(`  memory: renderer peak ${mb(peak)} = ${(peak / int16Bytes).toFixed(2)}× the scan's int16 size (${mb(int16Bytes)}); ` +
    `above the idle page: ${mb(peak - idle.rss)} = ${((peak - idle.rss) / int16Bytes).toFixed(2)}×; resident after segmenting ${mb(segmented.rss)}`);

  // 2. Another scan after the big one: nothing of the old result shows, one worker, memory released.
  await openScan(page, join(shared, "fixtures/lidc_chest_2slices_hu.nii.gz"), 2);
  check(/× 2 int16/.test((await page.locator("#scan-info").textContent()) ?? ""), "another scan opens after the whole scan");
  check(/Segment the scan/.test((await page.locator("#results").textContent()) ?? ""), "no stale result: the results wait for a new segmentation");
  check(await page.getByRole("button", { name: "Export mask" }).isDisabled(), "no stale export");
  check(page.workers().length === 1, `one worker (${page.workers().length})`);
  await page.waitForTimeout(2000);
  const after = rendererMemory();
  console.log(`  after opening the 2-slice scan: renderer RSS ${mb(after.rss)} (idle page ${mb(idle.rss)}, with the whole scan ${mb(segmented.rss)})`);
  check(after.rss < idle.rss + int16Bytes / 4, `memory back near the idle page's after another scan opens (${mb(after.rss)} vs ${mb(idle.rss)})`);
  await page.context().close();

  // 3. WebGPU: the same volume opens and segments until Cancel; the slices done equal native's.
  const gpu = await openPage("?backend=webgpu");
  check(/WebGPU/.test((await gpu.locator("#backend").textContent()) ?? ""), "WebGPU backend active");
  await openScan(gpu, scanPath, SLICES);
  check(new RegExp(`512 × 512 × ${SLICES} int16`).test((await gpu.locator("#scan-info").textContent()) ?? ""), "the whole scan opens on the WebGPU page");
  const tg = Date.now();
  await gpu.getByRole("button", { name: "Segment" }).click();
  await gpu.waitForFunction(() => /^2 \//.test(document.getElementById("progress-text")?.textContent ?? ""), null, { timeout: 600_000 });
  const gpuSeconds = (Date.now() - tg) / 1000;
  await gpu.getByRole("button", { name: "Cancel" }).click();
  await gpu.getByRole("status").filter({ hasText: "Cancelled" }).waitFor({ timeout: 600_000 });
  const gpuMask = await exportMask(gpu, "webgpu_partial_mask");
  // The page starts in the middle of the scan and fans out: slices mid and mid − 1 come first.
  const mid = Math.floor(SLICES / 2);
  check(sameSlices(gpuMask, native, [mid - 1, mid]), `WebGPU on the whole scan: the first two slices segmented (${mid - 1}, ${mid}) equal native predict's`);
  console.log(`  WebGPU (${(await gpu.locator("#backend").textContent())?.split("·")[1]?.trim()}): 2 slices in ${gpuSeconds.toFixed(1)} s`);
  console.log(`  renderer peak on the WebGPU page: ${mb(rendererMemory().hwm)}`);

  // 4. WebGPU to Done on a whole-size scan: a network pass for every slice of 600 takes hours on
  // SwiftShader, so only the two middle slices hold lung; the page walks all 600, skips the
  // others as it skips the abdomen, and the whole mask must equal native predict's.
  const fewPath = join(out, `lidc_repeated_${SLICES}_lung_in_2.nii.gz`);
  writeFileSync(fewPath, repeatedLidc(shared, SLICES, [mid - 1, mid]).bytes);
  const fewNative = join(out, "native_mask_lung_in_2.nii.gz");
  execFileSync(join(repo, "target/release/native-train"), ["predict", "--input", fewPath, "--output", fewNative], { stdio: "ignore" });
  await openScan(gpu, fewPath, SLICES);
  const fewInfo = (await gpu.locator("#scan-info").textContent()) ?? "";
  check(new RegExp(`Lung in 2 of ${SLICES} slices`).test(fewInfo), `WebGPU page: the scan with lung in two slices opens ("${/Lung in [^.]*/.exec(fewInfo)?.[0]}")`);
  const tf = Date.now();
  await gpu.getByRole("button", { name: "Segment" }).click();
  await gpu.getByRole("status").filter({ hasText: "Done" }).waitFor({ timeout: 600_000 });
  const fewSeconds = (Date.now() - tf) / 1000;
  const fewMask = await exportMask(gpu, "webgpu_mask_lung_in_2");
  const fewWant = parseNifti(readFileSync(fewNative));
  check(JSON.stringify(fewMask.dims) === JSON.stringify(fewWant.dims) && sameSlices(fewMask, fewWant, Array.from({ length: SLICES }, (_, k) => k)),
    `WebGPU to Done on 512 × 512 × ${SLICES}: the exported mask equals native predict's voxel for voxel (${fewSeconds.toFixed(1)} s)`);
  check(fewMask.data.subarray((mid - 1) * plane, (mid + 1) * plane).some((v) => v !== 0), "the two slices with lung carry labels (the comparison is not of empty masks)");
  await gpu.context().close();
} catch (e) {
  console.log(`FAIL ${e instanceof Error ? e.stack : e}`);
  failures++;
} finally {
  await browser.close();
  server.kill();
}
console.log(failures ? `${failures} check(s) failed` : "all whole-scan checks passed");
process.exit(failures ? 1 : 0);
