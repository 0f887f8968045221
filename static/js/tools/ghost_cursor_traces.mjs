// Records real ghost-cursor (npm ghost-cursor 1.4.x) mouse paths, driven through puppeteer-core
// against Debian's Chromium, as SapiMouse-format CSV files (bot training/evaluation data).
//
//   node static/js/tools/ghost_cursor_traces.mjs --out fraud/training_data/bots/ghost_cursor \
//        --count 10 --seed 1 --profile train [--parallel 4] [--chromium /usr/bin/chromium]
//
// The page (tools/recorder.html) records the mousemove/mousedown/mouseup events its own
// listeners receive (event timeStamp, clientX/Y), so the trace is what a page script sees.
// Math.random is replaced by a seeded generator so ghost-cursor's own randomness is
// reproducible; event timing still depends on the machine.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

import { createCursor } from "ghost-cursor";
import puppeteer from "puppeteer-core";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    out: { type: "string" },
    count: { type: "string", default: "10" },
    seed: { type: "string", default: "1" },
    profile: { type: "string", default: "train" },
    parallel: { type: "string", default: "4" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});
if (!args.out) {
  console.error("--out DIR is required");
  process.exit(2);
}

function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(Number(args.seed) * 7919 + (args.profile === "heldout" ? 104729 : 0));
Math.random = rand;
const uni = (lo, hi) => lo + (hi - lo) * rand();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// TRAIN and HELD-OUT use different ranges so held-out evaluation is honest.
const PROFILES = {
  train: { session: [12, 25], pause: [100, 1200], speed: [5, 40], buttons: [4, 10] },
  heldout: { session: [10, 30], pause: [60, 2000], speed: [2, 80], buttons: [3, 14] },
};
const prof = PROFILES[args.profile];
if (!prof) {
  console.error(`unknown --profile ${args.profile}`);
  process.exit(2);
}

async function session(browser, index) {
  const width = Math.round(uni(1024, 1920));
  const height = Math.round(uni(640, 1080));
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width, height });
  await page.goto(pathToFileURL(join(here, "recorder.html")).href);
  const nButtons = Math.round(uni(...prof.buttons));
  const buttons = [];
  for (let i = 0; i < nButtons; i++) {
    buttons.push([i, Math.round(uni(10, width - 140)), Math.round(uni(10, height - 50))]);
  }
  await page.evaluate((b) => window.__layout(b), buttons);
  const cursor = createCursor(page, { x: uni(0, width), y: uni(0, height) });
  const until = Date.now() + uni(...prof.session) * 1000;
  while (Date.now() < until) {
    const r = rand();
    const opts = {
      moveSpeed: rand() < 0.5 ? undefined : uni(...prof.speed),
      useTimestamps: rand() < 0.5,
    };
    if (r < 0.5) {
      const id = `#b${Math.floor(rand() * nButtons)}`;
      await cursor.click(id, {
        ...opts,
        hesitate: uni(0, 300),
        waitForClick: uni(20, 200),
        moveDelay: uni(0, 800),
        randomizeMoveDelay: true,
        paddingPercentage: uni(0, 60),
      });
    } else if (r < 0.85) {
      await cursor.moveTo({ x: uni(0, width - 1), y: uni(0, height - 1) }, opts);
    } else {
      await cursor.move(`#b${Math.floor(rand() * nButtons)}`, { ...opts, moveDelay: uni(0, 500) });
    }
    await sleep(uni(...prof.pause));
  }
  const rec = await page.evaluate(() => window.__rec);
  await context.close();
  const lines = ["client timestamp,button,state,x,y", ...rec.map((r) => r.join(","))];
  return lines.join("\n") + "\n";
}

const browser = await puppeteer.launch({
  executablePath: args.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const outDir = resolve(args.out);
  mkdirSync(outDir, { recursive: true });
  const count = Number(args.count);
  const parallel = Math.max(1, Number(args.parallel));
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      const csv = await session(browser, i);
      const file = join(outDir, `${args.profile}-s${args.seed}-${String(i).padStart(3, "0")}.csv`);
      writeFileSync(file, csv);
      console.log(file, csv.split("\n").length - 2, "rows");
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker));
} finally {
  await browser.close();
}
