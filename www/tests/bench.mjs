// Benchmark (not a test): per-slice inference time of the shipped model in the browser on
// WebGPU and on the CPU fallback, and native `flex` on the same slices, side by side.
// Usage: node www/tests/bench.mjs [scan.nii.gz] [slices]   (after scripts/build-web.sh and a release build)
// LUNGSEG_BENCH_WEBGPU=0 leaves out the WebGPU rows (minutes per slice on a software adapter).
// Then the whole-volume rows: a 512 × 512 × LUNGSEG_BENCH_VOLUME (default 300; 0 leaves them out)
// int16 chest CT built from the real LIDC slices, opened, segmented to Done (one view, then
// test-time augmentation) and exported on the CPU fallback; on WebGPU the first
// LUNGSEG_BENCH_WEBGPU_SLICES (default 2) slices are timed and the volume extrapolated from them.
// Native `predict --timings` on the same volume gives each stage's share of the whole.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, servePage } from "./browser.mjs";
import { repeatedLidc, sharedData, sliceSlab } from "./nifti.mjs";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const out = join(repo, "target/bench");
mkdirSync(out, { recursive: true });
const source = process.argv[2] || join(sharedData(repo), "medseg/train/image.nii.gz");
const count = Number(process.argv[3] || 4);
const scan = join(out, "bench_scan.nii.gz");
writeFileSync(scan, sliceSlab(readFileSync(source), 20, 20 + count));

const { origin, server } = await servePage(repo, "ignore");
const browser = await launchChromium();

async function inBrowser(backend, tta = false) {
  const page = await browser.newPage();
  await page.goto(`${origin}/?backend=${backend}`);
  await page.waitForFunction(() => document.getElementById("backend")?.dataset["backend"] !== undefined, null, { timeout: 180_000 });
  const adapter = await page.locator("#backend").textContent();
  await page.locator("#file").setInputFiles(scan);
  await page.getByRole("button", { name: "Segment" }).waitFor();
  await page.waitForFunction(() => !document.getElementById("segment")?.hasAttribute("disabled"));
  await page.getByLabel(/Test-time augmentation/).setChecked(tta);
  // Warm-up run (shader compilation, allocation), then the timed run.
  const timed = [];
  for (let run = 0; run < 2; run++) {
    const t0 = Date.now();
    await page.getByRole("button", { name: "Segment" }).click();
    await page.getByRole("status").filter({ hasText: "Done" }).waitFor({ timeout: 1_800_000 });
    timed.push((Date.now() - t0) / 1000 / count);
    await page.evaluate(() => { document.getElementById("status").textContent = ""; });
  }
  await page.close();
  return { adapter, first: timed[0], steady: timed[1] };
}

function native() {
  const t0 = Date.now();
  execFileSync(join(repo, "target/release/native-train"), ["predict", "--input", scan, "--output", join(out, "native_mask.nii.gz"), "--batch", "1"], { stdio: "ignore" });
  return (Date.now() - t0) / 1000 / count;
}

/** @type {{ name: string, first: number, steady: number }[]} */
const rows = [];
const nat = native();
rows.push({ name: "native flex (CLI, incl. start-up)", first: nat, steady: nat });
const cpu = await inBrowser("cpu");
rows.push({ name: "browser CPU fallback (wasm flex)", first: cpu.first, steady: cpu.steady });
const cpuTta = await inBrowser("cpu", true);
rows.push({ name: "browser CPU fallback, test-time augmentation (mirror + zoom)", first: cpuTta.first, steady: cpuTta.steady });
if (process.env.LUNGSEG_BENCH_WEBGPU !== "0") {
  const gpu = await inBrowser("webgpu");
  rows.push({ name: `browser WebGPU — ${gpu.adapter?.replace(/^Backend: /, "")}`, first: gpu.first, steady: gpu.steady });
}

const volumeSlices = Number(process.env.LUNGSEG_BENCH_VOLUME ?? 300);
/** @type {{ name: string, seconds: number, note: string }[]} */
const volumeRows = [];
let nativeStages = "";
if (volumeSlices > 0) {
  const whole = join(out, `whole_${volumeSlices}.nii.gz`);
  writeFileSync(whole, repeatedLidc(sharedData(repo), volumeSlices).bytes);
  const t0 = Date.now();
  const run = spawnSync(join(repo, "target/release/native-train"), ["predict", "--input", whole, "--output", join(out, "whole_native_mask.nii.gz"), "--timings"], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`native predict failed: ${run.stderr}`);
  volumeRows.push({ name: "native flex (CLI, 2 threads), one view", seconds: (Date.now() - t0) / 1000, note: "" });
  nativeStages = run.stderr.split("\n").filter((l) => / s +[\d.]+ %$| total: /.test(l)).join("\n");

  const page = await browser.newPage();
  await page.goto(`${origin}/?backend=cpu`);
  await page.waitForFunction(() => document.getElementById("backend")?.dataset["backend"] !== undefined, null, { timeout: 180_000 });
  let t = Date.now();
  await page.locator("#file").setInputFiles(whole);
  await page.waitForFunction((n) => new RegExp(`× ${n} int16`).test(document.getElementById("scan-info")?.textContent ?? ""), volumeSlices, { timeout: 600_000 });
  const openSeconds = (Date.now() - t) / 1000;
  for (const tta of [false, true]) {
    await page.getByLabel(/Test-time augmentation/).setChecked(tta);
    t = Date.now();
    await page.getByRole("button", { name: "Segment" }).click();
    await page.getByRole("status").filter({ hasText: "Done" }).waitFor({ timeout: 3_600_000 });
    const seconds = (Date.now() - t) / 1000;
    volumeRows.push({ name: `browser CPU fallback, ${tta ? "test-time augmentation (mirror + zoom)" : "one view"}`, seconds, note: `${(seconds / volumeSlices).toFixed(3)} s per slice` });
    await page.evaluate(() => { document.getElementById("status").textContent = ""; });
    if (!tta) {
      t = Date.now();
      await Promise.all([page.waitForEvent("download", { timeout: 300_000 }), page.getByRole("button", { name: "Export mask" }).click()]);
      const exportSeconds = (Date.now() - t) / 1000;
      volumeRows.push({ name: "browser: open the scan (read, decode, lung field)", seconds: openSeconds, note: `${(100 * openSeconds / (openSeconds + seconds)).toFixed(1)} % of open + segment` });
      volumeRows.push({ name: "browser: export the mask", seconds: exportSeconds, note: `${(100 * exportSeconds / (openSeconds + seconds + exportSeconds)).toFixed(1)} % of open + segment + export` });
    }
  }
  await page.close();

  if (process.env.LUNGSEG_BENCH_WEBGPU !== "0") {
    const gpuSlices = Number(process.env.LUNGSEG_BENCH_WEBGPU_SLICES || 2);
    const gpu = await browser.newPage();
    await gpu.goto(`${origin}/?backend=webgpu`);
    await gpu.waitForFunction(() => document.getElementById("backend")?.dataset["backend"] !== undefined, null, { timeout: 180_000 });
    const adapter = (await gpu.locator("#backend").textContent())?.replace(/^Backend: /, "");
    await gpu.locator("#file").setInputFiles(whole);
    await gpu.waitForFunction((n) => new RegExp(`× ${n} int16`).test(document.getElementById("scan-info")?.textContent ?? ""), volumeSlices, { timeout: 600_000 });
    for (const tta of [false, true]) {
      await gpu.getByLabel(/Test-time augmentation/).setChecked(tta);
      t = Date.now();
      await gpu.getByRole("button", { name: "Segment" }).click();
      await gpu.waitForFunction((m) => new RegExp(`^${m} /`).test(document.getElementById("progress-text")?.textContent ?? ""), gpuSlices, { timeout: 3_600_000 });
      const perSlice = (Date.now() - t) / 1000 / gpuSlices;
      await gpu.getByRole("button", { name: "Cancel" }).click();
      await gpu.getByRole("status").filter({ hasText: "Cancelled" }).waitFor({ timeout: 3_600_000 });
      volumeRows.push({ name: `browser WebGPU — ${adapter}, ${tta ? "test-time augmentation" : "one view"}`, seconds: perSlice * volumeSlices, note: `extrapolated from the first ${gpuSlices} slices (${perSlice.toFixed(1)} s each, first-run shader compilation included)` });
    }
    await gpu.close();
  }
}
await browser.close();
server.kill();

console.log(`\n${count} slices of ${source} (512×512), seconds per slice; ratio = steady ÷ native flex\n`);
console.log("| path | first run | steady | ratio |\n|---|---|---|---|");
for (const { name, first, steady } of rows) console.log(`| ${name} | ${first.toFixed(2)} | ${steady.toFixed(2)} | ${(steady / nat).toFixed(2)}× |`);
if (volumeRows.length) {
  console.log(`\nWhole volume: 512×512×${volumeSlices} int16 (repeated real LIDC slices), seconds per volume\n`);
  console.log("| path | seconds | |\n|---|---|---|");
  for (const { name, seconds, note } of volumeRows) console.log(`| ${name} | ${seconds.toFixed(1)} | ${note} |`);
  console.log(`\nNative predict --timings on the same volume (each stage's share of the whole):\n${nativeStages}`);
}
