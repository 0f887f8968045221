"""The publisher page links each article's machine URL and marks the paid part in JSON-LD."""

from __future__ import annotations

import json
import re

from scripts.demo_content import ARTICLES
from scripts.demo_site import render_page


def test_page_links_machine_urls_and_marks_paid_parts() -> None:
    page = render_page(paywall="http://127.0.0.1:8000", publisher="pub_demoDailyDrop")
    for article in ARTICLES:
        assert (
            'rel="alternate" type="application/json" title="'
            f'{article.slug}" href="http://127.0.0.1:8000/api/v1/agents/pub_demoDailyDrop/'
            f'articles/{article.slug}"'
        ) in page
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert [d["isAccessibleForFree"] for d in data] == [False] * len(ARTICLES)
    assert data[0]["hasPart"]["cssSelector"].endswith("[data-paywall-content]")
