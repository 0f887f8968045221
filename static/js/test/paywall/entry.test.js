// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { errorBody, fakeFetch, flush } from "../helpers.js";

describe("paywall.js entry", () => {
  it("finds its own tag, reads data-publisher and starts", async () => {
    document.body.innerHTML = `<article data-paywall-article="a"><div data-paywall-content></div></article>`;
    const script = document.createElement("script");
    script.setAttribute("data-publisher", "pub_a");
    script.setAttribute("src", "https://pay.example/static/js/paywall.js");
    script.setAttribute("type", "text/plain"); // keep happy-dom from fetching it
    document.head.append(script);
    const { fetch, calls } = fakeFetch(
      { "GET publishers/pub_a/articles?slugs=a": [403, errorBody("origin_not_allowed")] },
      { base: "https://pay.example/api/v1/" },
    );
    vi.stubGlobal("fetch", fetch);
    window.fetch = fetch;
    await import("../../src/paywall/index.js");
    expect(window.Dropgate.publisher).toBe("pub_a");
    expect(window.Dropgate.version).toBe("0.3.0");
    await flush(30);
    expect(calls.map((c) => c.url)).toEqual(["https://pay.example/api/v1/publishers/pub_a/articles?slugs=a"]);
    expect(document.querySelector("article").getAttribute("data-paywall-state")).toBe("error");
  });
});
