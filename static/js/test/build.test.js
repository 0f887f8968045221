import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const CHUNKS = ["telemetry", "challenge", "wallet"];
const OUTPUTS = ["paywall", ...CHUNKS.map((c) => `paywall-${c}`), "frame", "worker"].flatMap((name) => [`${name}.js`, `${name}.${version}.js`]);

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
    expect(readdirSync(a).sort()).toEqual([...OUTPUTS, "sri.json"].sort());
  });

  it("is deterministic: two builds, the same bytes", () => {
    for (const name of readdirSync(a)) {
      expect(readFileSync(join(b, name)).equals(readFileSync(join(a, name))), name).toBe(true);
    }
  });

  it("publishes sha384 SRI hashes of exactly those bytes", () => {
    const sri = JSON.parse(readFileSync(join(a, "sri.json"), "utf8"));
    expect(sri.version).toBe(version);
    expect(Object.keys(sri.files).sort()).toEqual([...OUTPUTS].sort());
    for (const [name, hash] of Object.entries(sri.files)) {
      const digest = createHash("sha384").update(readFileSync(join(a, name))).digest("base64");
      expect(hash).toBe(`sha384-${digest}`);
    }
    expect(readFileSync(join(a, "paywall.js")).equals(readFileSync(join(a, `paywall.${version}.js`)))).toBe(true);
  });

  it("builds the chunks' names and SRI hashes into paywall.js, which loads them as scripts with integrity", () => {
    const sri = JSON.parse(readFileSync(join(a, "sri.json"), "utf8"));
    const page = readFileSync(join(a, "paywall.js"), "utf8");
    for (const chunk of CHUNKS) {
      const file = `paywall-${chunk}.${version}.js`;
      expect(page).toContain(file);
      expect(page).toContain(sri.files[file]);
      // each chunk hands its exports to the loader, and none is part of the first script
      expect(readFileSync(join(a, file), "utf8")).toContain("dropgate:chunk");
    }
    expect(page).toContain("integrity");
    expect(page).not.toContain("/ws/telemetry/");
    expect(page).not.toContain("Press and hold");
    expect(page).not.toContain("Spending cap");
  });

  it("keeps older versioned copies listed in sri.json, never rebuilt", () => {
    const dir = buildInto();
    const old = join(dir, "paywall.0.0.1.js");
    writeFileSync(old, "/* an old pinned copy */");
    execFileSync(process.execPath, [join(root, "build.mjs"), "--outdir", dir], { stdio: "pipe" });
    const sri = JSON.parse(readFileSync(join(dir, "sri.json"), "utf8"));
    expect(readFileSync(old, "utf8")).toBe("/* an old pinned copy */");
    expect(sri.files["paywall.0.0.1.js"]).toBe(`sha384-${createHash("sha384").update("/* an old pinned copy */").digest("base64")}`);
  }, 60_000);

  it("is an IIFE without eval, inline styles or source maps, and paywall.js stays within 8 KB gzipped", () => {
    for (const name of OUTPUTS.filter((n) => !/\d\.js$/.test(n))) {
      const text = readFileSync(join(a, name), "utf8");
      expect(text).not.toMatch(/sourceMappingURL/);
      expect(text).not.toMatch(/\beval\(|new Function\(/);
      expect(text).not.toMatch(/^\s*(import|export)\s/m);
      expect(text).toContain(`Dropgate ${name} ${version}`);
    }
    expect(gzipSync(readFileSync(join(a, "paywall.js"))).length).toBeLessThanOrEqual(8 * 1024);
  });

  it("starts no blob: worker (which a CSP would have to allow); the worker is its own file", () => {
    for (const name of ["paywall.js", ...CHUNKS.map((c) => `paywall-${c}.js`), "frame.js", "worker.js"]) {
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
