/**
 * Batches of the telemetry protocol (docs/sdk-protocol.md, "Batch"): the buffered samples,
 * oldest first, encoded into one `{"type": "batch", ...}` text frame within the server's
 * limits (`max_events` events, `max_batch_bytes` UTF-8 bytes).
 *
 * Mouse samples are delta-encoded: `[dt, dx, dy]` from the previous sample *sent*, starting
 * from (t 0, x 0, y 0) for the session — so the first sample is absolute, and a sample dropped
 * from a full buffer leaves no error behind (the next delta is taken from what the server
 * has). One event = one mouse sample, click, scroll position, key interval, focus change or
 * dwell entry. The state (seq, last sample) only moves when the caller commits a sent batch.
 */
import { stringify } from "../natives.js";

export const LISTS = ["mouse", "clicks", "scroll", "keys", "focus", "dwell"];
/** Most articles one batch's `dwell` may name (the server's limit); later ones wait. */
export const MAX_DWELL_ARTICLES = 64;

export function utf8Length(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function createBatcher() {
  const state = { seq: 0, t: 0, x: 0, y: 0 };

  function encode(samples, n, extra) {
    let { t, x, y } = state;
    const lists = { mouse: [], clicks: [], scroll: [], keys: [], focus: [], dwell: [] };
    const dwellAt = new Map(); // article → index: a later total replaces an earlier one
    let taken = n;
    for (let i = 0; i < n; i++) {
      const { source, data } = samples[i];
      if (source === "dwell" && !dwellAt.has(data.article) && dwellAt.size >= MAX_DWELL_ARTICLES) {
        taken = i; // this one and the rest go in the next batch
        break;
      }
      if (source === "mouse") {
        const st = Math.max(data[0], t);
        lists.mouse.push(st - t, data[1] - x, data[2] - y);
        t = st;
        x = data[1];
        y = data[2];
      } else if (source === "dwell") {
        if (dwellAt.has(data.article)) lists.dwell[dwellAt.get(data.article)] = data;
        else {
          dwellAt.set(data.article, lists.dwell.length);
          lists.dwell.push(data);
        }
      } else if (source === "clicks" || source === "scroll" || source === "focus") {
        lists[source].push([...data]);
      } else if (source === "keys") {
        lists.keys.push(data);
      }
    }
    const message = { type: "batch", seq: state.seq, ...lists, ...extra };
    return { text: stringify(message), next: { t, x, y }, taken };
  }

  return {
    get seq() {
      return state.seq;
    },
    /** A new connection numbers its batches from 0 again (the mouse deltas carry on). */
    resetSeq() {
      state.seq = 0;
    },
    /**
     * The largest batch of the oldest samples that fits (halving the count until it does).
     * `extra` ({fingerprint, integrity}) is added as is. Null when nothing fits or there is
     * nothing to send. `commit()` once it is sent; `taken` samples then leave the buffer.
     */
    build(samples, { maxEvents, maxBytes, extra = {} }) {
      let n = Math.min(samples.length, maxEvents);
      const hasExtra = Object.keys(extra).length > 0;
      if (n === 0 && !hasExtra) return null;
      for (;;) {
        const { text, next, taken } = encode(samples, n, extra);
        const bytes = utf8Length(text);
        if (bytes <= maxBytes) {
          return {
            text,
            taken,
            bytes,
            seq: state.seq,
            commit() {
              state.seq++;
              Object.assign(state, next);
            },
          };
        }
        if (n === 0) return null;
        n >>= 1;
      }
    },
  };
}
