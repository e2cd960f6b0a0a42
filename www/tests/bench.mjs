// Benchmark (not a test): per-slice inference time of the shipped model in the browser on
// WebGPU and on the CPU fallback, and native `flex` on the same slices, side by side.
// Usage: node www/tests/bench.mjs [scan.nii.gz] [slices]   (after scripts/build-web.sh and a release build)
// LUNGSEG_BENCH_WEBGPU=0 leaves out the WebGPU row (minutes per run on a software adapter).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { sharedData, sliceSlab } from "./nifti.mjs";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const out = join(repo, "target/bench");
mkdirSync(out, { recursive: true });
const source = process.argv[2] || join(sharedData(repo), "medseg/train/image.nii.gz");
const count = Number(process.argv[3] || 4);
const scan = join(out, "bench_scan.nii.gz");
writeFileSync(scan, sliceSlab(readFileSync(source), 20, 20 + count));

const port = 18000 + Math.floor(Math.random() * 1000);
const server = spawn(process.execPath, [join(repo, "www/serve.mjs")], { env: { ...process.env, PORT: String(port) }, stdio: "ignore" });
await new Promise((r) => setTimeout(r, 500));
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
  args: ["--enable-unsafe-webgpu", "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"] });

async function inBrowser(backend, tta = false) {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/?backend=${backend}`);
  await page.waitForFunction(() => document.getElementById("backend")?.dataset["backend"] !== undefined, null, { timeout: 180_000 });
  const adapter = await page.locator("#backend").textContent();
  await page.locator('input[type="file"]').setInputFiles(scan);
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
await browser.close();
server.kill();

console.log(`\n${count} slices of ${source} (512×512), seconds per slice; ratio = steady ÷ native flex\n`);
console.log("| path | first run | steady | ratio |\n|---|---|---|---|");
for (const { name, first, steady } of rows) console.log(`| ${name} | ${first.toFixed(2)} | ${steady.toFixed(2)} | ${(steady / nat).toFixed(2)}× |`);
