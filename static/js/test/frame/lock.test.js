import { describe, expect, it, vi } from "vitest";
import { createLock } from "../../src/frame/lock.js";

describe("lock", () => {
  it("uses the Web Locks API when the browser has it", async () => {
    const locks = { request: vi.fn((name, options, fn) => fn()) };
    const lock = createLock("dropgate:pub_a", { locks });
    expect(await lock.run(async () => 42)).toBe(42);
    expect(locks.request).toHaveBeenCalledWith("dropgate:pub_a", { mode: "exclusive" }, expect.any(Function));
  });

  it("otherwise runs one task at a time, in order, surviving failures", async () => {
    const lock = createLock("x", { locks: null });
    const order = [];
    let release;
    const first = lock.run(() => new Promise((r) => (release = r)).then(() => order.push("first")));
    const failing = lock.run(async () => {
      order.push("second");
      throw new Error("boom");
    });
    const third = lock.run(async () => order.push("third"));
    await Promise.resolve();
    expect(order).toEqual([]);
    release();
    await first;
    await expect(failing).rejects.toThrow("boom");
    await third;
    expect(order).toEqual(["first", "second", "third"]);
  });
});
