/**
 * `npm run build`: bundles the two entry points with esbuild (IIFE, minified, es2020, no
 * source maps) and writes, next to this file,
 *
 *   paywall.js, paywall.<version>.js   the page script (current, and the copy publishers pin)
 *   frame.js,   frame.<version>.js     the signer frame
 *   worker.js,  worker.<version>.js    the frame's fingerprint worker (started by the frame,
 *                                      same origin as it; a Worker takes no SRI, see
 *                                      docs/sdk-protocol.md, "Fingerprint")
 *   sri.json                           {"version", "files": {name: "sha384-<base64>"}}
 *
 * The output is deterministic: the same sources and version give the same bytes (nothing
 * time- or path-dependent is embedded), so the SRI hashes are reproducible.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
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
// it is first called: nearly all of the page script runs at load. Not for frame.js, most of
// which only runs once the reader pays.
const COMPILE_HINT = "//# allFunctionsCalledOnLoad\n";
const BUNDLES = [
  { name: "paywall", entry: "src/paywall/index.js", hint: COMPILE_HINT },
  { name: "frame", entry: "src/frame/index.js", hint: "" },
  { name: "worker", entry: "src/worker/index.js", hint: "" },
];

// Neither bundle may need 'unsafe-eval' or 'unsafe-inline' from a CSP.
const FORBIDDEN = [/\beval\s*\(/, /\bnew\s+Function\s*\(/, /\.setAttribute\(\s*["']style["']/, /createElement\(\s*["']style["']\s*\)/];

async function bundle({ name, entry, hint }) {
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
    define: { __DROPGATE_VERSION__: JSON.stringify(version) },
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
for (const spec of BUNDLES) {
  const bytes = await bundle(spec);
  for (const fileName of [`${spec.name}.js`, `${spec.name}.${version}.js`]) {
    await writeFile(join(outDir, fileName), bytes);
    files[fileName] = sri(bytes);
  }
  console.log(`${spec.name}.js  ${bytes.length} bytes  ${files[`${spec.name}.js`]}`);
}
await writeFile(join(outDir, "sri.json"), `${JSON.stringify({ version, files }, null, 2)}\n`);
console.log(`sri.json  version ${version}`);
