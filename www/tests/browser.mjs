// What the browser tests and the benchmark share: the page served on a free port, and Debian's
// Chromium (never a downloaded browser), headless, with WebGPU (SwiftShader here).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** A TCP port nothing listens on now. */
export async function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => res(port));
    });
  });
}

/**
 * Serves `repo`/www (www/serve.mjs) on a free port.
 * @param {string} repo
 * @param {"inherit" | "ignore"} stdio the server's output ("ignore" for a quiet benchmark)
 */
export async function servePage(repo, stdio = "inherit") {
  const port = await freePort();
  const server = spawn(process.execPath, [join(repo, "www/serve.mjs")], { env: { ...process.env, PORT: String(port) }, stdio });
  await new Promise((r) => setTimeout(r, 500));
  return { origin: `http://127.0.0.1:${port}`, server };
}

/**
 * Malformed and escaping paths get an error status (a bare "//" is the page), and the server goes on serving the page:
 * one odd request must not take it down. Returns what failed, empty when all held.
 */
export async function checkBadPaths(origin) {
  const { request } = await import("node:http");
  const status = (path) => new Promise((resolve) => {
    const r = request(`${origin}/`, { path, method: "GET" }, (res) => { res.resume(); resolve(res.statusCode); });
    r.on("error", (e) => resolve(`error ${e.message}`));
    r.end();
  });
  const failures = [];
  for (const [path, expected] of [["//", 200], ["/%zz", 400], ["//etc/passwd", 404], ["/../Cargo.toml", 404], ["/tests/e2e.mjs", 404]]) {
    const got = await status(path);
    if (got !== expected) failures.push(`${path}: ${got}, expected ${expected}`);
  }
  const after = await status("/");
  if (after !== 200) failures.push(`the page after them: ${after}`);
  return failures;
}

/** Debian's Chromium, headless, with WebGPU enabled and nothing that would reach the network. */
export function launchChromium() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--enable-unsafe-webgpu", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--disable-quic", "--no-first-run", "--disable-default-apps", "--disable-extensions"],
  });
}
