// A tiny static server for www/: same-origin only, strict Content-Security-Policy, correct MIME
// types (application/wasm for streaming compilation). No dependencies.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL(".", import.meta.url)));
const port = Number(process.env.PORT ?? 8080);
const types = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".map": "application/json",
  ".gz": "application/gzip", ".nii": "application/octet-stream", ".lungseg": "application/octet-stream",
  ".png": "image/png", ".svg": "image/svg+xml", ".ico": "image/x-icon", ".ts": "text/plain; charset=utf-8",
};
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
  "img-src 'self' blob: data:; style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const server = createServer(async (req, res) => {
  const headers = {
    "Content-Security-Policy": CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { ...headers, Allow: "GET, HEAD" }).end();
    return;
  }
  let path;
  try {
    // Appended, not resolved against a base: "//x" would otherwise read as a host.
    path = decodeURIComponent(new URL(`http://localhost${req.url ?? "/"}`).pathname);
  } catch {
    // A malformed path ("%zz", a bare "//") must not take the server down with it.
    res.writeHead(400, headers).end("bad request");
    return;
  }
  let file = normalize(join(root, path));
  if (!file.startsWith(root) || /(^|[\\/])(node_modules|tests)([\\/]|$)/.test(file.slice(root.length))) {
    res.writeHead(404, headers).end("not found");
    return;
  }
  try {
    if ((await stat(file)).isDirectory()) file = join(file, "index.html");
    const body = await readFile(file);
    res.writeHead(200, { ...headers, "Content-Type": types[extname(file)] ?? "application/octet-stream", "Content-Length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch {
    res.writeHead(404, headers).end("not found");
  }
});

server.listen(port, "127.0.0.1", () => console.log(`lungseg: serving ${root} on http://localhost:${port}`));
