/**
 * The meter: what this reader has spent on this site, channel by channel, and the spending
 * cap. It is the only way to get an amount to sign (`reserve`), and it refuses before
 * anything is signed when the cap or the channel's funding would be passed.
 *
 * Persisted record (key `meter`), amounts as bigint drops:
 *   { capDrops, channels: { <channel id>: { fundedDrops, acceptedDrops, pendingDrops, status } } }
 *
 * - `acceptedDrops`: the highest cumulative claim the server accepted on the channel.
 * - `pendingDrops`: a claim signed and sent whose outcome is not known yet (0n when none).
 *   While it is set the channel takes no new reservation; `sync` with the server's view
 *   (GET /api/v1/channels/{id}) clears it.
 * - The cap bounds the total spent on this site over all channels, pending claims included.
 *   It is the reader's own setting (the frame's cap form), never the page's.
 *
 * Every change is one IndexedDB transaction, so two tabs never interleave a read-modify-write.
 */
import { SdkError } from "./errors.js";
import { formatXrp, parseDrops } from "../shared/drops.js";

export const DEFAULT_CAP_DROPS = 2_000_000n; // 2 XRP until the reader sets a cap
const KEY = "meter";

function empty() {
  return { capDrops: DEFAULT_CAP_DROPS, channels: {} };
}

function normalise(record) {
  return record && typeof record === "object" && record.channels ? record : empty();
}

function max(a, b) {
  return a > b ? a : b;
}

/** Total spent over all channels, counting a pending claim as spent. */
export function spentOf(record) {
  let total = 0n;
  for (const ch of Object.values(normalise(record).channels)) {
    total += max(ch.acceptedDrops, ch.pendingDrops);
  }
  return total;
}

export function capExceeded(record, priceDrops) {
  const rec = normalise(record);
  const spent = spentOf(rec);
  return new SdkError(
    "cap_exceeded",
    `This unlock (${formatXrp(priceDrops)} XRP) would take your spending on this site past ` +
      `your cap of ${formatXrp(rec.capDrops)} XRP (spent ${formatXrp(spent)} XRP).`,
  );
}

export function createMeter({ store }) {
  const update = (fn) => store.update(KEY, (current) => fn(normalise(current)));

  return {
    /** The whole record (a copy). */
    async snapshot() {
      return normalise(await store.get(KEY));
    },

    async channel(channelId) {
      const rec = normalise(await store.get(KEY));
      return rec.channels[channelId] || null;
    },

    /** Throws cap_exceeded unless `priceDrops` more stays within the cap. */
    async checkCap(priceDrops) {
      const price = parseDrops(priceDrops);
      const rec = normalise(await store.get(KEY));
      if (spentOf(rec) + price > rec.capDrops) throw capExceeded(rec, price);
    },

    async setCap(capDrops) {
      const cap = parseDrops(capDrops);
      return update((rec) => ({ ...rec, capDrops: cap }));
    },

    /**
     * Reserve the next cumulative claim on a channel: accepted + price. Checks, in order, that
     * no earlier claim is still in doubt, that the channel is open, the cap, and the funding.
     * Resolves with the amount to sign (bigint); the reservation is stored before resolving.
     */
    async reserve(channelId, priceDrops) {
      const price = parseDrops(priceDrops);
      if (price < 1n) throw new SdkError("invalid_price", "The server quoted no price.");
      let amount;
      await update((rec) => {
        const ch = rec.channels[channelId];
        if (!ch) throw new SdkError("channel_not_found", "The frame does not know this channel.");
        if (ch.pendingDrops > 0n) {
          throw new SdkError("claim_pending", "An earlier payment is still being confirmed.");
        }
        if (ch.status !== "open") {
          throw new SdkError("channel_closing", "The channel is closing; open a new one.");
        }
        if (spentOf(rec) + price > rec.capDrops) throw capExceeded(rec, price);
        amount = ch.acceptedDrops + price;
        if (amount > ch.fundedDrops) {
          throw new SdkError(
            "channel_exhausted",
            `The channel has ${formatXrp(ch.fundedDrops - ch.acceptedDrops)} XRP left, ` +
              `less than the price of ${formatXrp(price)} XRP.`,
          );
        }
        return {
          ...rec,
          channels: { ...rec.channels, [channelId]: { ...ch, pendingDrops: amount } },
        };
      });
      return amount;
    },

    /** The server accepted the claim for `amountDrops` (cumulative). */
    async commit(channelId, amountDrops) {
      const amount = parseDrops(amountDrops);
      return update((rec) => {
        const ch = rec.channels[channelId];
        if (!ch) return rec;
        const next = { ...ch, acceptedDrops: max(ch.acceptedDrops, amount), pendingDrops: 0n };
        return { ...rec, channels: { ...rec.channels, [channelId]: next } };
      });
    },

    /** The server definitely refused the pending claim: forget it. */
    async release(channelId) {
      return update((rec) => {
        const ch = rec.channels[channelId];
        if (!ch) return rec;
        return { ...rec, channels: { ...rec.channels, [channelId]: { ...ch, pendingDrops: 0n } } };
      });
    },

    /** Take the server's view of a channel (ChannelOut) as the truth; clears any pending claim. */
    async sync(channelId, { fundedDrops, acceptedDrops, status }) {
      const funded = parseDrops(fundedDrops);
      const accepted = parseDrops(acceptedDrops);
      return update((rec) => ({
        ...rec,
        channels: {
          ...rec.channels,
          [channelId]: { fundedDrops: funded, acceptedDrops: accepted, pendingDrops: 0n, status },
        },
      }));
    },
  };
}
