/** Test doubles shared by the frame tests: a scripted fetch and a controllable WebSocket. */

export function jsonResponse(status, body, headers = {}) {
  return new Response(body === undefined ? "" : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function errorBody(code, message = code, extra = {}) {
  return { error: { code, message, ...extra } };
}

/**
 * A fetch that answers from `routes`: { "POST unlocks": (req) => Response | [status, body] }.
 * Keys are "METHOD path" with the API base stripped (query strings kept). Records calls.
 */
export function fakeFetch(routes, { base = "https://pay.example/api/v1/" } = {}) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const path = url.startsWith(base) ? url.slice(base.length) : url;
    const method = init.method || "GET";
    const body = init.body ? JSON.parse(init.body) : undefined;
    const call = { method, path, url, headers: init.headers || {}, body, init };
    calls.push(call);
    const key = `${method} ${path}`;
    const handler = routes[key] ?? routes[`${method} ${path.split("?")[0]}`];
    if (handler === undefined) return jsonResponse(404, { error: { code: "not_found", message: key } });
    const out = typeof handler === "function" ? await handler(call, calls) : handler;
    if (out instanceof Response) return out;
    if (out instanceof Error) throw out;
    const [status, payload, headers] = out;
    return jsonResponse(status, payload, headers);
  };
  return { fetch, calls };
}

/** A WebSocket double: tests drive the server side with open/receive/serverClose. */
export class FakeSocket {
  static instances = [];
  static reset() {
    FakeSocket.instances = [];
  }
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    FakeSocket.instances.push(this);
  }
  send(data) {
    if (this.closed) throw new Error("closed");
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    if (this.closed) return;
    this.closed = true;
    const handler = this.onclose;
    Promise.resolve().then(() => handler && handler({ code }));
  }
  // server side
  open() {
    this.onopen && this.onopen({});
  }
  receive(message) {
    this.onmessage && this.onmessage({ data: JSON.stringify(message) });
  }
  serverClose(code) {
    this.closed = true;
    this.onclose && this.onclose({ code });
  }
  /** Open, answer the auth frame with ready. */
  accept() {
    this.open();
    this.receive({ type: "ready" });
  }
}

export const flush = async (n = 10) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};
