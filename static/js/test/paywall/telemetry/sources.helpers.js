/** Helpers for the source tests: events with a chosen timeStamp, and a recording emit. */
export function at(event, t) {
  Object.defineProperty(event, "timeStamp", { value: t, configurable: true });
  return event;
}

/**
 * An `emit` as the registry gives it (`emit(a, b, …)`, `emit.amend(…)`, `emit.text(s)`),
 * recording each sample as the batch would carry it: one number, the numbers, or what the
 * source's `shape` makes of them.
 */
export function recorder(shape = null) {
  const samples = [];
  const texts = [];
  const record = (values) => (shape ? shape(values, (id) => texts[id]) : values.length === 1 ? values[0] : values);
  const emit = (...values) => void samples.push(record(values));
  emit.amend = (...values) => {
    samples[samples.length - 1] = record(values);
  };
  emit.text = (s) => (texts.includes(s) ? texts.indexOf(s) : texts.push(s) - 1);
  return { samples, emit };
}
