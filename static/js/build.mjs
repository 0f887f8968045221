/**
 * `npm run build`: bundles the entry points with esbuild (IIFE, minified, es2020, no source
 * maps) and writes, next to this file,
 *
 *   paywall.js, paywall.<version>.js   the page script, the one file every page loads
 *                                      (current, and the copy publishers pin with SRI)
 *   paywall-telemetry.<version>.js     its chunks, loaded later by the page script itself with
 *   paywall-challenge.<version>.js     the SRI hashes built into it (src/paywall/chunks.js);
 *   paywall-wallet.<version>.js        also as paywall-<name>.js, for reference
 *   frame.js,   frame.<version>.js     the signer frame
 *   worker.js,  worker.<version>.js    the frame's fingerprint worker (started by the frame,
 *                                      same origin as it; a Worker takes no SRI, see
 *                                      docs/sdk-protocol.md, "Fingerprint")
 *   sri.json                           {"version", "files": {name: "sha384-<base64>"}}: the
 *                                      files above, and every older versioned copy still in the
 *                                      folder (publishers pin those: they are never rebuilt)
 *
 * The chunks are built first: the page script carries their names and hashes.
 * The output is deterministic: the same sources and version give the same bytes (nothing
 * time- or path-dependent is embedded), so the SRI hashes are reproducible.
 */
import { createHash } from "node:crypto";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
// `node build.mjs --outdir DIR` writes elsewhere (the determinism test builds twice).
const outFlag = process.argv.indexOf("--outdir");
const outDir = outFlag > 0 ? process.argv[outFlag + 1] : here;
const { version } = JSON.parse(await readFile(join(here, "package.json"), "utf8"));
if (!/^[0-9A-Za-z.-]+$/.test(version)) throw new Error(`unsafe version for a file name: ${version}`);

// `//# allFunctionsCalledOnLoad` (V8's explicit compile hint, Chrome 136+; a plain comment
// elsewhere) must open the file. It asks V8 to compile every function of paywall.js with the
// script, off the main thread while it streams, instead of each one on the main thread when
// it is first called: most of the page script runs at load. Not for frame.js, most of which
// only runs once the reader pays.
const COMPILE_HINT = "//# allFunctionsCalledOnLoad\n";
// The page script's chunks (src/paywall/chunks.js): built before it, their hashes go into it.
const CHUNKS = [
  { name: "paywall-telemetry", chunk: "telemetry", entry: "src/paywall/chunks/telemetry.js", hint: "" },
  { name: "paywall-challenge", chunk: "challenge", entry: "src/paywall/chunks/challenge.js", hint: "" },
  { name: "paywall-wallet", chunk: "wallet", entry: "src/paywall/chunks/wallet.js", hint: "" },
];
const BUNDLES = [
  { name: "paywall", entry: "src/paywall/index.js", hint: COMPILE_HINT },
  { name: "frame", entry: "src/frame/index.js", hint: "" },
  { name: "worker", entry: "src/worker/index.js", hint: "" },
];
const VERSIONED = /^(paywall|paywall-[a-z]+|frame|worker)\.[0-9A-Za-z.-]+\.js$/;

// Neither bundle may need 'unsafe-eval' or 'unsafe-inline' from a CSP.
const FORBIDDEN = [/\beval\s*\(/, /\bnew\s+Function\s*\(/, /\.setAttribute\(\s*["']style["']/, /createElement\(\s*["']style["']\s*\)/];

async function bundle({ name, entry, hint }, chunks = {}) {
  const result = await build({
    absWorkingDir: here,
    entryPoints: [entry],
    bundle: true,
    format: "iife",
    minify: true,
    target: "es2020",
    platform: "browser",
    sourcemap: false,
    legalComments: "none",
    charset: "utf8",
    write: false,
    logLevel: "warning",
    define: { __DROPGATE_VERSION__: JSON.stringify(version), __DROPGATE_CHUNKS__: JSON.stringify(chunks) },
    banner: { js: `${hint}/*! Dropgate ${name}.js ${version} */` },
  });
  const [file] = result.outputFiles;
  const text = file.text;
  for (const pattern of FORBIDDEN) {
    if (pattern.test(text)) throw new Error(`${name}.js contains ${pattern}, which a strict CSP refuses`);
  }
  return Buffer.from(file.contents);
}

const sri = (bytes) => `sha384-${createHash("sha384").update(bytes).digest("base64")}`;

const files = {};
async function write(spec, chunks) {
  const bytes = await bundle(spec, chunks);
  for (const fileName of [`${spec.name}.js`, `${spec.name}.${version}.js`]) {
    await writeFile(join(outDir, fileName), bytes);
    files[fileName] = sri(bytes);
  }
  console.log(`${spec.name}.js  ${bytes.length} bytes  ${files[`${spec.name}.js`]}`);
}

const chunks = {};
for (const spec of CHUNKS) {
  await write(spec);
  chunks[spec.chunk] = { file: `${spec.name}.${version}.js`, integrity: files[`${spec.name}.${version}.js`] };
}
for (const spec of BUNDLES) await write(spec, chunks);
// Older versioned copies stay served and listed: publishers pin them with their hashes.
for (const fileName of (await readdir(outDir)).sort()) {
  if (VERSIONED.test(fileName) && !Object.hasOwn(files, fileName)) {
    files[fileName] = sri(await readFile(join(outDir, fileName)));
  }
}
const sorted = Object.fromEntries(Object.keys(files).sort().map((name) => [name, files[name]]));
await writeFile(join(outDir, "sri.json"), `${JSON.stringify({ version, files: sorted }, null, 2)}\n`);
console.log(`sri.json  version ${version}`);
