/**
 * The frame's persistent state: one IndexedDB object store of structured-clone values
 * (CryptoKey objects included, so private keys are stored without ever being exported).
 *
 * Keys are namespaced by publisher: the frame of every publisher lives on the paywall origin,
 * and a site embedding two publishers would otherwise share one partition.
 *
 * There is deliberately no in-memory fallback in the browser: losing the funding key on
 * reload would strand the reader's XRP, so an unusable IndexedDB is an error
 * (`storage_unavailable`). `memoryStore()` exists for tests.
 */
import { SdkError } from "./errors.js";

const DB_NAME = "dropgate";
const DB_VERSION = 1;
const STORE = "kv";

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function unavailable(cause) {
  return new SdkError(
    "storage_unavailable",
    "This browser does not let the payment frame keep its keys (IndexedDB is unavailable).",
    { cause },
  );
}

/** Open the database; resolves with a Store. */
export async function openIdbStore({ namespace, indexedDB = globalThis.indexedDB } = {}) {
  if (!indexedDB) throw unavailable();
  let db;
  try {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
    };
    db = await promisify(request);
  } catch (cause) {
    throw unavailable(cause);
  }
  const prefix = `${namespace}:`;

  /** Run `fn(objectStore)` in one transaction; resolves with fn's result once committed. */
  function transact(mode, fn) {
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      let result;
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
      try {
        fn(tx.objectStore(STORE), (value) => {
          result = value;
        });
      } catch (err) {
        tx.abort();
        reject(err);
      }
    });
  }

  return {
    get(key) {
      return transact("readonly", (os, done) => {
        const req = os.get(prefix + key);
        req.onsuccess = () => done(req.result);
      });
    },
    set(key, value) {
      return transact("readwrite", (os) => os.put(value, prefix + key));
    },
    delete(key) {
      return transact("readwrite", (os) => os.delete(prefix + key));
    },
    /** Store `value` unless the key holds something already; resolves with what is stored. */
    putIfAbsent(key, value) {
      return transact("readwrite", (os, done) => {
        const req = os.get(prefix + key);
        req.onsuccess = () => {
          if (req.result === undefined) {
            os.put(value, prefix + key);
            done(value);
          } else {
            done(req.result);
          }
        };
      });
    },
    /**
     * Read-modify-write in one transaction (atomic against other tabs). `fn` is synchronous:
     * it gets the current value and returns the new one.
     */
    update(key, fn) {
      let thrown;
      return transact("readwrite", (os, done) => {
        const req = os.get(prefix + key);
        req.onsuccess = () => {
          let next;
          try {
            next = fn(req.result);
          } catch (err) {
            thrown = err;
            req.transaction.abort();
            return;
          }
          os.put(next, prefix + key);
          done(next);
        };
      }).catch((err) => {
        throw thrown || err;
      });
    },
  };
}

/** The same interface in memory, cloning values as IndexedDB would. For tests. */
export function memoryStore() {
  const map = new Map();
  const clone = (v) => (v === undefined ? undefined : structuredClone(v));
  return {
    map,
    async get(key) {
      return clone(map.get(key));
    },
    async set(key, value) {
      map.set(key, clone(value));
    },
    async delete(key) {
      map.delete(key);
    },
    async putIfAbsent(key, value) {
      if (!map.has(key)) map.set(key, clone(value));
      return clone(map.get(key));
    },
    async update(key, fn) {
      const next = fn(clone(map.get(key)));
      map.set(key, clone(next));
      return clone(next);
    },
  };
}
