/** Helpers for the source tests: events with a chosen timeStamp, and a recording emit. */
export function at(event, t) {
  Object.defineProperty(event, "timeStamp", { value: t, configurable: true });
  return event;
}

export function recorder() {
  const samples = [];
  const emit = (data) => samples.push(data);
  return { samples, emit };
}
