"""The demo publisher's news site, served on its own origin with the Dropgate script tag.

Pages are static HTML with no inline script or style, served under a strict CSP that allows
only the paywall origin's script and frames — the CSP a publisher adds (see README).
"""

from __future__ import annotations

import argparse
import html
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from scripts.demo_content import ARTICLES

STYLESHEET = (Path(__file__).resolve().parent / "demo_site.css").read_text()


def render_page(*, paywall: str, publisher: str) -> str:
    articles = "\n".join(
        f"""<article class="story" data-paywall-article="{html.escape(a.slug)}">
  <p class="section">{html.escape(a.section)}</p>
  <h2>{html.escape(a.title)}</h2>
  <p class="teaser">{html.escape(a.teaser)}</p>
  <div data-paywall-content></div>
</article>"""
        for a in ARTICLES
    )
    # Each article's machine URL (agents pay there over HTTP 402), and JSON-LD marking the paid
    # part, so search engines do not take the paywall for cloaking. A JSON-LD block is data,
    # never executed: the CSP's script-src does not apply to it.
    alternates = "\n".join(
        f'<link rel="alternate" type="application/json" title="{html.escape(a.slug)}" '
        f'href="{html.escape(paywall)}/api/v1/agents/{html.escape(publisher)}/articles/{html.escape(a.slug)}">'
        for a in ARTICLES
    )
    structured = json.dumps(
        [
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": a.title,
                "isAccessibleForFree": False,
                "hasPart": {
                    "@type": "WebPageElement",
                    "isAccessibleForFree": False,
                    "cssSelector": f'[data-paywall-article="{a.slug}"] [data-paywall-content]',
                },
            }
            for a in ARTICLES
        ]
    ).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Daily Drop</title>
<link rel="stylesheet" href="/site.css">
<link rel="icon" href="data:,">
{alternates}
<script type="application/ld+json">{structured}</script>
<script src="{html.escape(paywall)}/static/js/paywall.js" data-publisher="{html.escape(publisher)}" async></script>
</head>
<body>
<header><h1>The Daily Drop</h1><p>Independent news, paid by the article.</p></header>
<main>
{articles}
</main>
<footer><p>A demo publisher for Dropgate. Articles unlock with XRP payment-channel claims.</p></footer>
</body>
</html>
"""


def make_handler(*, paywall: str, publisher: str) -> type[BaseHTTPRequestHandler]:
    page = render_page(paywall=paywall, publisher=publisher).encode()
    csp = (
        "default-src 'self'; "
        f"script-src 'self' {paywall}; "
        f"connect-src 'self' {paywall} {paywall.replace('http', 'ws', 1)}; "
        f"frame-src {paywall}; "
        "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", page)
            elif self.path == "/site.css":
                self._send(200, "text/css; charset=utf-8", STYLESHEET.encode())
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", csp)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--paywall", required=True, help="the paywall service origin")
    parser.add_argument("--publisher", required=True, help="the publisher key (pub_…)")
    args = parser.parse_args()
    handler = make_handler(paywall=args.paywall.rstrip("/"), publisher=args.publisher)
    ThreadingHTTPServer(("127.0.0.1", args.port), handler).serve_forever()


if __name__ == "__main__":
    main()
