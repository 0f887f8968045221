import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_CAP_DROPS, createMeter, spentOf } from "../../src/frame/meter.js";
import { memoryStore } from "../../src/frame/store.js";

const CH = "A".repeat(64);
const CH2 = "B".repeat(64);

describe("meter", () => {
  let store;
  let meter;
  beforeEach(async () => {
    store = memoryStore();
    meter = createMeter({ store });
    await meter.sync(CH, { fundedDrops: 1_000_000n, acceptedDrops: 0n, status: "open" });
  });

  it("starts with the default cap and nothing spent", async () => {
    const rec = await meter.snapshot();
    expect(rec.capDrops).toBe(DEFAULT_CAP_DROPS);
    expect(spentOf(rec)).toBe(0n);
  });

  it("reserves the next cumulative amount and commits it", async () => {
    expect(await meter.reserve(CH, 200_000n)).toBe(200_000n);
    await meter.commit(CH, 200_000n);
    expect(await meter.reserve(CH, 150_000n)).toBe(350_000n);
    await meter.commit(CH, 350_000n);
    expect((await meter.channel(CH)).acceptedDrops).toBe(350_000n);
    expect(spentOf(await meter.snapshot())).toBe(350_000n);
  });

  it("refuses past the cap, before anything is reserved", async () => {
    await meter.setCap(300_000n);
    await meter.reserve(CH, 200_000n);
    await meter.commit(CH, 200_000n);
    await expect(meter.reserve(CH, 150_000n)).rejects.toMatchObject({ code: "cap_exceeded" });
    await expect(meter.checkCap(150_000n)).rejects.toMatchObject({ code: "cap_exceeded" });
    await expect(meter.checkCap(100_000n)).resolves.toBeUndefined();
    expect((await meter.channel(CH)).pendingDrops).toBe(0n);
  });

  it("counts every channel and pending claims against the cap", async () => {
    await meter.setCap(500_000n);
    await meter.sync(CH2, { fundedDrops: 1_000_000n, acceptedDrops: 300_000n, status: "closing" });
    await meter.reserve(CH, 150_000n); // pending, not yet accepted
    await expect(meter.checkCap(100_000n)).rejects.toMatchObject({ code: "cap_exceeded" });
    await expect(meter.checkCap(50_000n)).resolves.toBeUndefined();
  });

  it("refuses more than the channel holds", async () => {
    await meter.setCap(10_000_000n);
    await expect(meter.reserve(CH, 1_000_001n)).rejects.toMatchObject({ code: "channel_exhausted" });
    expect(await meter.reserve(CH, 1_000_000n)).toBe(1_000_000n);
  });

  it("refuses a second reservation while a claim is in doubt, until a sync", async () => {
    await meter.reserve(CH, 100_000n);
    await expect(meter.reserve(CH, 100_000n)).rejects.toMatchObject({ code: "claim_pending" });
    await meter.sync(CH, { fundedDrops: 1_000_000n, acceptedDrops: 100_000n, status: "open" });
    expect(await meter.reserve(CH, 100_000n)).toBe(200_000n);
  });

  it("release forgets a refused claim", async () => {
    await meter.reserve(CH, 100_000n);
    await meter.release(CH);
    expect(await meter.reserve(CH, 100_000n)).toBe(100_000n);
  });

  it("refuses closing and unknown channels", async () => {
    await meter.sync(CH2, { fundedDrops: 1_000_000n, acceptedDrops: 0n, status: "closing" });
    await expect(meter.reserve(CH2, 1n)).rejects.toMatchObject({ code: "channel_closing" });
    await expect(meter.reserve("C".repeat(64), 1n)).rejects.toMatchObject({ code: "channel_not_found" });
    await expect(meter.reserve(CH, 0n)).rejects.toMatchObject({ code: "invalid_price" });
  });

  it("persists across meters on the same store", async () => {
    await meter.setCap(700_000n);
    await meter.reserve(CH, 100_000n);
    await meter.commit(CH, 100_000n);
    const again = createMeter({ store });
    const rec = await again.snapshot();
    expect(rec.capDrops).toBe(700_000n);
    expect(rec.channels[CH]).toEqual({ fundedDrops: 1_000_000n, acceptedDrops: 100_000n, pendingDrops: 0n, status: "open" });
  });

  it("commit never lowers what was accepted", async () => {
    await meter.sync(CH, { fundedDrops: 1_000_000n, acceptedDrops: 500_000n, status: "open" });
    await meter.commit(CH, 100_000n);
    expect((await meter.channel(CH)).acceptedDrops).toBe(500_000n);
  });
});
