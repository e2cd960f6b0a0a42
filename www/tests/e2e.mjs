// End-to-end test of the served page in Debian's Chromium (playwright-core, WebGPU on
// SwiftShader): real scans in, segmentation, export, re-read, compared with the native
// `predict`; bad files; and a record of every network request to prove nothing leaves.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkBadPaths, launchChromium, servePage } from "./browser.mjs";
import { dice, parseNifti, sharedData, sliceSlab } from "./nifti.mjs";

const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const shared = sharedData(repo);
const out = join(repo, "target/e2e");
mkdirSync(out, { recursive: true });
const nativeTrain = join(repo, "target/release/native-train");

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}


/** The native `predict` mask for a scan file, parsed. */
function nativePredict(scanPath, name, extra = []) {
  const mask = join(out, `${name}_native_mask.nii.gz`);
  execFileSync(nativeTrain, ["predict", "--input", scanPath, "--output", mask, ...extra], { stdio: "inherit" });
  return parseNifti(readFileSync(mask));
}

/** A NIfTI header's `descrip` text. */
function description(nii) {
  const bytes = nii.raw.subarray(148, 228);
  return Buffer.from(bytes.subarray(0, Math.max(0, bytes.indexOf(0)) || 80)).toString("latin1");
}

const { origin, server } = await servePage(repo);
const badPaths = await checkBadPaths(origin);
check(badPaths.length === 0, `the server answers malformed and escaping paths and keeps serving${badPaths.length ? `: ${badPaths.join("; ")}` : ""}`);

const browser = await launchChromium();

/** Every request the page makes: it must be a same-origin GET of a static asset. */
const requests = [];
const staticAsset = /^\/(|index\.html|style\.css|dist\/[\w.-]+\.js(\.map)?|pkg\/lungseg(_bg)?\.(js|wasm)|model\/lite\.(lungseg|card\.json)|samples\/[\w.-]+\.nii\.gz|favicon\.ico)$/;

async function openPage(query = "") {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on("request", (r) => requests.push({ url: r.url(), method: r.method() }));
  page.on("console", (m) => { if (m.type() === "error") console.log(`  [page error] ${m.text()}`); });
  page.on("pageerror", (e) => console.log(`  [page exception] ${e.message}`));
  await page.goto(`${origin}/${query}`);
  await page.waitForFunction(() => document.getElementById("backend")?.dataset["backend"] !== undefined, null, { timeout: 180_000 });
  return page;
}

async function openScan(page, file) {
  const before = await page.locator("#scan-info").textContent();
  await page.locator("#file").setInputFiles(file);
  await page.waitForFunction((b) => {
    const t = document.getElementById("scan-info")?.textContent;
    return (t !== b && t !== "No scan open.") || !document.getElementById("error")?.hidden;
  }, before, { timeout: 60_000 });
}

async function openFolder(page, dir) {
  const before = await page.locator("#scan-info").textContent();
  await page.locator("#folder").setInputFiles(dir);
  await page.waitForFunction((b) => {
    const t = document.getElementById("scan-info")?.textContent;
    return t !== b || !document.getElementById("error")?.hidden;
  }, before, { timeout: 120_000 });
}

async function segmentAndExport(page, name) {
  const t0 = Date.now();
  await page.getByRole("button", { name: "Segment" }).click();
  await page.getByRole("status").filter({ hasText: "Done" }).waitFor({ timeout: 900_000 });
  const seconds = (Date.now() - t0) / 1000;
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export mask" }).click()]);
  const path = join(out, `${name}_browser_mask.nii.gz`);
  await download.saveAs(path);
  check(download.suggestedFilename() === `${name}_mask.nii.gz`, `export is named ${name}_mask.nii.gz (${download.suggestedFilename()})`);
  return { mask: parseNifti(readFileSync(path)), seconds };
}

function compareWithNative(browserMask, scanPath, name, backend, extra = []) {
  const native = nativePredict(scanPath, `${name}_${backend}`, extra);
  check(description(browserMask) === description(native), `${name}: the header says what made the mask ("${description(browserMask)}")`);
  const scan = parseNifti(readFileSync(scanPath));
  check(JSON.stringify(browserMask.dims) === JSON.stringify(scan.dims), `${name}: mask dimensions ${browserMask.dims} equal the scan's`);
  check(JSON.stringify(browserMask.srow) === JSON.stringify(scan.srow) && JSON.stringify(browserMask.pixdim) === JSON.stringify(scan.pixdim),
    `${name}: mask carries the scan's affine and spacing`);
  check(browserMask.codes.sform === scan.codes.sform && browserMask.codes.qform === scan.codes.qform, `${name}: qform/sform codes kept`);
  const d = dice(browserMask.data, native.data);
  const same = browserMask.data.every((v, i) => v === native.data[i]);
  check(d >= 0.99, `${name} on ${backend}: Dice(browser, native predict) = ${d.toFixed(5)}${same ? " (identical)" : ""}`);
}

try {
  // 0. By default a software WebGPU adapter (SwiftShader here) is passed over for the faster CPU build, with the reason shown.
  const auto = await openPage();
  const autoText = (await auto.locator("#backend").textContent()) ?? "";
  console.log(`  default: ${autoText}`);
  check(/CPU/.test(autoText) && /software renderer/.test(autoText), "default backend: CPU, because the WebGPU adapter is a software renderer");
  await auto.context().close();

  // 1. WebGPU (forced): the LIDC HU fixture and a MedSeg slab.
  const page = await openPage("?backend=webgpu");
  const backendText = await page.locator("#backend").textContent();
  console.log(`  ${backendText}`);
  check(/WebGPU/.test(backendText ?? ""), "WebGPU backend active in headless Chromium");

  const lidc = join(shared, "fixtures/lidc_chest_2slices_hu.nii.gz");
  await openScan(page, lidc);
  check(/512 × 512 × 2 int16/.test((await page.locator("#scan-info").textContent()) ?? ""), "LIDC scan opened");
  const r1 = await segmentAndExport(page, "lidc_chest_2slices_hu");
  console.log(`  LIDC: ${r1.seconds.toFixed(1)} s for 2 slices`);
  compareWithNative(r1.mask, lidc, "lidc_chest_2slices_hu", "webgpu");
  check(/Lung/.test((await page.locator("#results").textContent()) ?? ""), "results show lung volume");

  const slabPath = join(out, "medseg_slab.nii.gz");
  writeFileSync(slabPath, sliceSlab(readFileSync(join(shared, "medseg/train/image.nii.gz")), 20, 23));
  await openScan(page, slabPath);
  const r2 = await segmentAndExport(page, "medseg_slab");
  console.log(`  MedSeg slab: ${r2.seconds.toFixed(1)} s for 3 slices`);
  compareWithNative(r2.mask, slabPath, "medseg_slab", "webgpu");
  await page.screenshot({ path: join(out, "result.png") });
  console.log(`  screenshot: ${join(out, "result.png")}`);

  // Cancel stops a running segmentation between slices and keeps what was done.
  await page.getByRole("button", { name: "Segment" }).click();
  await page.waitForFunction(() => /^1 \/ 3 slices/.test(document.getElementById("progress-text")?.textContent ?? ""), null, { timeout: 300_000 });
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("status").filter({ hasText: "Cancelled" }).waitFor({ timeout: 300_000 });
  const partial = (await page.locator("#results").textContent()) ?? "";
  check(/Partial: [12] of 3 slices/.test(partial), "Cancel stops after the running slice and reports a partial result");
  check(!(await page.getByRole("button", { name: "Segment" }).isDisabled()), "Segment is available again after Cancel");

  // 2. Bad files: clear message, the open scan stays, the page keeps working.
  const infoBefore = await page.locator("#scan-info").textContent();
  const corrupt = join(out, "corrupt.nii.gz");
  writeFileSync(corrupt, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  await openScan(page, corrupt);
  const err1 = (await page.locator("#error").textContent()) ?? "";
  check(/corrupt\.nii\.gz: .*not a NIfTI/.test(err1), `corrupt file: "${err1}"`);
  const truncated = join(out, "truncated.nii.gz");
  const gz = readFileSync(lidc);
  writeFileSync(truncated, gz.subarray(0, gz.length >> 1));
  await openScan(page, truncated);
  const err2 = (await page.locator("#error").textContent()) ?? "";
  check(/truncated\.nii\.gz: .*(truncated|gzip)/.test(err2), `truncated file: "${err2}"`);
  check((await page.locator("#scan-info").textContent()) === infoBefore, "the previous scan stays open");
  await page.locator("#slice").fill("0");
  await page.waitForTimeout(300);
  check((await page.locator("#slice-label").textContent()) === "1 / 3", "the viewer still responds");
  check(!(await page.getByRole("button", { name: "Export mask" }).isDisabled()), "the previous result can still be exported");

  // 2b. A DICOM folder (a subfolder, a truncated file, a text file, a hidden file): the series
  // opens, the broken files are named, and the mask equals native `predict` on the same folder.
  const dicomDir = join(out, "dicom_lidc");
  rmSync(dicomDir, { recursive: true, force: true });
  mkdirSync(join(dicomDir, "sub"), { recursive: true });
  const slice0 = readFileSync(join(shared, "fixtures/lidc_chest_slice0.dcm"));
  copyFileSync(join(shared, "fixtures/lidc_chest_slice1.dcm"), join(dicomDir, "IM0002"));
  writeFileSync(join(dicomDir, "sub/IM0001.dcm"), slice0);
  writeFileSync(join(dicomDir, "broken.dcm"), slice0.subarray(0, slice0.length >> 1));
  writeFileSync(join(dicomDir, "README.txt"), "exported from PACS\n");
  writeFileSync(join(dicomDir, ".DS_Store"), "\x00\x00\x00\x01Bud1");
  await openFolder(page, dicomDir);
  const dicomInfo = (await page.locator("#scan-info").textContent()) ?? "";
  check(/512 × 512 × 2 DICOM int16/.test(dicomInfo) && /DICOM series/.test(dicomInfo), `DICOM folder opened: "${dicomInfo}"`);
  const warnings = (await page.locator("#scan-warnings").textContent()) ?? "";
  check(/2 file\(s\) skipped/.test(warnings) && /broken\.dcm/.test(warnings) && /README\.txt/.test(warnings) && !/DS_Store/.test(warnings),
    `the broken and the non-DICOM file are named, the hidden file ignored: "${warnings}"`);
  const rd = await segmentAndExport(page, "dicom_lidc");
  const nd = nativePredict(dicomDir, "dicom_lidc_webgpu");
  check(JSON.stringify(rd.mask.dims) === JSON.stringify(nd.dims) && JSON.stringify(rd.mask.srow) === JSON.stringify(nd.srow)
    && rd.mask.codes.sform === nd.codes.sform && rd.mask.codes.qform === nd.codes.qform,
    `DICOM: the mask has native predict's geometry (dims ${rd.mask.dims}, srow_x ${rd.mask.srow?.[0]})`);
  const dd = dice(rd.mask.data, nd.data);
  check(dd >= 0.99, `DICOM folder on webgpu: Dice(browser, native predict) = ${dd.toFixed(5)}${rd.mask.data.every((v, i) => v === nd.data[i]) ? " (identical)" : ""}`);
  check(rd.mask.codes.sform === 1 && rd.mask.srow[0][0] < 0 && rd.mask.srow[1][1] < 0,
    "DICOM: the mask carries the series' scanner (RAS) affine, x and y flipped from DICOM's LPS");
  const [jsonDownload] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export JSON" }).click()]);
  const statsJson = JSON.parse(readFileSync(await jsonDownload.path(), "utf8"));
  check(typeof statsJson.series?.uid === "string" && dicomInfo.includes(statsJson.series.uid) && statsJson.series.files === 2,
    `the JSON export names the series (${statsJson.series?.uid}, ${statsJson.series?.files} files)`);
  const [csvDownload] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
  check(readFileSync(await csvDownload.path(), "utf8").startsWith(`# series_uid,${statsJson.series?.uid}\n`), "the CSV export names the series");

  // Two series in one folder: the page lists them and opens the one chosen.
  const twoDir = join(out, "dicom_two_series");
  rmSync(twoDir, { recursive: true, force: true });
  mkdirSync(twoDir, { recursive: true });
  copyFileSync(join(shared, "fixtures/lidc_chest_slice1.dcm"), join(twoDir, "a1"));
  writeFileSync(join(twoDir, "a0"), slice0);
  copyFileSync(join(shared, "fixtures/pydicom_CT_small.dcm"), join(twoDir, "b0"));
  await page.locator("#folder").setInputFiles(twoDir);
  await page.locator("#series-choice").waitFor({ state: "visible", timeout: 60_000 });
  const options = await page.locator("#series option").allTextContents();
  check(options.length === 2 && /2 files/.test(options[0] ?? "") && /1 file,/.test(options[1] ?? ""), `two series listed, largest first: ${JSON.stringify(options)}`);
  check((await page.locator("#scan-info").textContent()) === dicomInfo, "while the series is chosen, the open scan stays open");
  await page.locator("#series").selectOption({ index: 1 });
  await page.getByRole("button", { name: "Open series" }).click();
  await page.waitForFunction(() => /128 × 128 × 1/.test(document.getElementById("scan-info")?.textContent ?? ""), null, { timeout: 60_000 });
  check(await page.locator("#series-choice").isHidden(), "the chosen series opens (128 × 128 × 1) and the choice closes");

  // A folder with no DICOM image in it: a message, and the open scan stays.
  const junkDir = join(out, "dicom_junk");
  rmSync(junkDir, { recursive: true, force: true });
  mkdirSync(junkDir, { recursive: true });
  writeFileSync(join(junkDir, "notes.txt"), "no images here\n");
  const infoBeforeJunk = await page.locator("#scan-info").textContent();
  await openFolder(page, junkDir);
  const err3 = (await page.locator("#error").textContent()) ?? "";
  check(/notes\.txt: not a DICOM file/.test(err3) && (await page.locator("#scan-info").textContent()) === infoBeforeJunk, `a folder without images: "${err3}"`);

  // 3. The CPU fallback (flex in wasm) gives the native mask too.
  const cpu = await openPage("?backend=cpu");
  check(/CPU/.test((await cpu.locator("#backend").textContent()) ?? ""), "CPU fallback selected with ?backend=cpu");
  await cpu.getByRole("button", { name: "Try a sample scan" }).click();
  await cpu.waitForFunction(() => /512 × 512 × 2/.test(document.getElementById("scan-info")?.textContent ?? ""), null, { timeout: 60_000 });
  const r3 = await segmentAndExport(cpu, "lidc_chest_2slices_hu");
  console.log(`  LIDC on CPU fallback: ${r3.seconds.toFixed(1)} s for 2 slices`);
  compareWithNative(r3.mask, lidc, "lidc_chest_2slices_hu", "flex");

  // Test-time augmentation (mirror and zoom) on the same scan gives native `predict --tta`'s mask.
  await cpu.getByLabel(/Test-time augmentation/).check();
  const r4 = await segmentAndExport(cpu, "lidc_chest_2slices_hu");
  console.log(`  LIDC on CPU fallback with test-time augmentation: ${r4.seconds.toFixed(1)} s for 2 slices`);
  compareWithNative(r4.mask, lidc, "lidc_chest_2slices_hu", "flex_tta", ["--tta"]);
  check(/TTA \(mirror \+ zoom\)/.test(description(r4.mask)) && !/TTA/.test(description(r3.mask)), "only the augmented export is marked as such");
  check(r4.mask.data.some((v, i) => v !== r3.mask.data[i]), "test-time augmentation changes the mask");
  check(/Test-time augmented/.test((await cpu.locator("#results").textContent()) ?? ""), "the results say they are test-time augmented");
  await cpu.reload();
  await cpu.waitForFunction(() => document.getElementById("backend")?.dataset["backend"] !== undefined, null, { timeout: 180_000 });
  check(await cpu.getByLabel(/Test-time augmentation/).isChecked(), "the test-time augmentation choice is remembered on the next visit");

  // 4. The model cache is keyed by the hash the card beside the weights names: a visit reuses the
  // cached weights, a stale copy (an older release) is replaced, a download that does not match
  // the card is refused, and the page still starts offline from the cache.
  const card = JSON.parse(readFileSync(join(repo, "www/model/lite.card.json"), "utf8"));
  const shipped = `${origin}/model/lite.lungseg?sha256=${card.weights_sha256}`;
  const cachedModels = async () => JSON.stringify(await cpu.evaluate(async () => (await (await caches.open("lungseg-model-v1")).keys()).map((r) => r.url)));
  const downloads = () => requests.filter((r) => new URL(r.url).pathname === "/model/lite.lungseg").length;
  const visit = async () => {
    const before = downloads();
    await cpu.reload();
    await cpu.waitForFunction(() => document.getElementById("backend")?.dataset["backend"] !== undefined || !document.getElementById("error")?.hidden, null, { timeout: 180_000 });
    return { downloaded: downloads() - before, error: (await cpu.locator("#error").isHidden()) ? "" : await cpu.locator("#error").textContent() };
  };
  check(await cachedModels() === JSON.stringify([shipped]), `the cached model is keyed by the card's hash (${await cachedModels()})`);
  const again = await visit();
  check(again.downloaded === 0 && again.error === "", `a second visit loads the model from the cache (${again.downloaded} downloads)`);
  await cpu.evaluate(async () => {
    const c = await caches.open("lungseg-model-v1");
    for (const k of await c.keys()) await c.delete(k);
    await c.put(new URL("/model/lite.lungseg?sha256=older", location.href).href, new Response("an older model"));
  });
  const stale = await visit();
  check(stale.downloaded === 1 && stale.error === "" && await cachedModels() === JSON.stringify([shipped]), "a stale cached model is replaced by the shipped one");
  await cpu.context().route("**/model/lite.card.json", (r) => r.fulfill({ json: { ...card, weights_sha256: "0".repeat(64) } }));
  const mismatch = await visit();
  check(mismatch.downloaded === 1 && /incomplete or corrupt/.test(mismatch.error ?? "") && await cachedModels() === JSON.stringify([shipped]),
    `a download that does not match the card is refused and the cached model kept: "${mismatch.error}"`);
  await cpu.context().unroute("**/model/lite.card.json");
  await cpu.context().route("**/model/**", (r) => r.abort());
  const offline = await visit();
  check(offline.downloaded === 0 && offline.error === "" && /CPU/.test((await cpu.locator("#backend").textContent()) ?? ""), "offline, the page starts from the cached model");
  await cpu.context().unroute("**/model/**");

  // 5. Privacy: nothing but same-origin GETs of static assets, from page load to export.
  const bad = requests.filter((r) => !r.url.startsWith("blob:") && (r.method !== "GET" || !r.url.startsWith(origin) || !staticAsset.test(new URL(r.url).pathname)));
  check(requests.length > 5 && bad.length === 0, `privacy: ${requests.length} requests, all same-origin GETs of static assets${bad.length ? `; offending: ${JSON.stringify(bad)}` : ""}`);
} catch (e) {
  console.error(e);
  failures++;
} finally {
  await browser.close();
  server.kill();
}
if (failures) {
  console.error(`${failures} end-to-end check(s) failed`);
  process.exit(1);
}
console.log("end-to-end: all checks passed");
