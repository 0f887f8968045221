import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

function buildInto() {
  const dir = mkdtempSync(join(tmpdir(), "dropgate-build-"));
  execFileSync(process.execPath, [join(root, "build.mjs"), "--outdir", dir], { stdio: "pipe" });
  return dir;
}

describe("bundle", () => {
  let a;
  let b;
  beforeAll(() => {
    a = buildInto();
    b = buildInto();
  }, 60_000);

  it("writes the current and versioned bundles and sri.json", () => {
    expect(readdirSync(a).sort()).toEqual(
      ["frame.js", `frame.${version}.js`, "paywall.js", `paywall.${version}.js`, "worker.js", `worker.${version}.js`, "sri.json"].sort(),
    );
  });

  it("is deterministic: two builds, the same bytes", () => {
    for (const name of readdirSync(a)) {
      expect(readFileSync(join(b, name)).equals(readFileSync(join(a, name))), name).toBe(true);
    }
  });

  it("publishes sha384 SRI hashes of exactly those bytes", () => {
    const sri = JSON.parse(readFileSync(join(a, "sri.json"), "utf8"));
    expect(sri.version).toBe(version);
    expect(Object.keys(sri.files).sort()).toEqual(["frame.js", `frame.${version}.js`, "paywall.js", `paywall.${version}.js`, "worker.js", `worker.${version}.js`].sort());
    for (const [name, hash] of Object.entries(sri.files)) {
      const digest = createHash("sha384").update(readFileSync(join(a, name))).digest("base64");
      expect(hash).toBe(`sha384-${digest}`);
    }
    expect(readFileSync(join(a, "paywall.js")).equals(readFileSync(join(a, `paywall.${version}.js`)))).toBe(true);
  });

  it("is an IIFE without eval, inline styles or source maps, and paywall.js stays within 15 KB gzipped", () => {
    for (const name of ["paywall.js", "frame.js", "worker.js"]) {
      const text = readFileSync(join(a, name), "utf8");
      expect(text).not.toMatch(/sourceMappingURL/);
      expect(text).not.toMatch(/\beval\(|new Function\(/);
      expect(text).not.toMatch(/^\s*(import|export)\s/m);
      expect(text).toContain(`Dropgate ${name} ${version}`);
    }
    expect(gzipSync(readFileSync(join(a, "paywall.js"))).length).toBeLessThanOrEqual(15 * 1024);
  });

  it("starts no blob: worker (which a CSP would have to allow); the worker is its own file", () => {
    for (const name of ["paywall.js", "frame.js", "worker.js"]) {
      expect(readFileSync(join(a, name), "utf8")).not.toMatch(/createObjectURL|blob:/);
    }
    const worker = readFileSync(join(a, "worker.js"), "utf8");
    expect(worker).not.toMatch(/fetch\(|XMLHttpRequest|WebSocket|importScripts/);
  });

  it("opens paywall.js with V8's compile hint, so its functions compile with the script", () => {
    expect(readFileSync(join(a, "paywall.js"), "utf8").startsWith("//# allFunctionsCalledOnLoad\n/*! Dropgate")).toBe(true);
    expect(readFileSync(join(a, "frame.js"), "utf8")).not.toContain("allFunctionsCalledOnLoad");
  });
});
