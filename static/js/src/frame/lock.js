/**
 * Mutual exclusion for money-moving flows, across every tab of the reader on this site: the
 * Web Locks API where the browser has it (two tabs must never sign the same next claim), an
 * in-page queue otherwise.
 */
export function createLock(name, { locks = globalThis.navigator && globalThis.navigator.locks } = {}) {
  let tail = Promise.resolve();
  return {
    /** Run `fn` while holding the lock; resolves or rejects with its outcome. */
    run(fn) {
      if (locks && typeof locks.request === "function") {
        return locks.request(name, { mode: "exclusive" }, () => fn());
      }
      const result = tail.then(() => fn());
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
