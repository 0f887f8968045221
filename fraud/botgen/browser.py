"""Scripted Playwright mouse sessions recorded in Debian's Chromium (bot kind `playwright`).

The page `static/js/tools/recorder.html` records the mousemove/mousedown/mouseup events its
own listeners receive, so the CSV is what a page script on a real site would see from a
Playwright bot: `page.mouse.move(x, y, steps=N)`, `page.mouse.click`, `page.click(selector)`,
drags, with waits in between. Needs the `playwright` package and a Chromium binary (browser
downloads are not used).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path

RECORDER_HTML = Path(__file__).resolve().parents[2] / "static" / "js" / "tools" / "recorder.html"
HEADER = "client timestamp,button,state,x,y"


@dataclass(frozen=True)
class PlaywrightProfile:
    session_s: tuple[float, float]
    steps: tuple[int, int]
    pause_ms: tuple[float, float]


PLAYWRIGHT_PROFILES = {
    "train": PlaywrightProfile((10, 22), (1, 40), (100, 1200)),
    "heldout": PlaywrightProfile((8, 28), (1, 80), (50, 2000)),
}


async def _session(browser: object, rng: random.Random, profile: PlaywrightProfile) -> str:
    width, height = rng.randint(1024, 1920), rng.randint(640, 1080)
    context = await browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = await context.new_page()
    await page.goto(RECORDER_HTML.as_uri())
    n_buttons = rng.randint(3, 10)
    buttons = [
        [i, rng.randint(10, width - 140), rng.randint(10, height - 50)] for i in range(n_buttons)
    ]
    await page.evaluate("b => window.__layout(b)", buttons)
    loop = asyncio.get_running_loop()
    until = loop.time() + rng.uniform(*profile.session_s)
    while loop.time() < until:
        r = rng.random()
        x, y = rng.uniform(0, width - 1), rng.uniform(0, height - 1)
        if r < 0.45:
            await page.mouse.move(x, y, steps=rng.randint(*profile.steps))
        elif r < 0.7:
            await page.mouse.move(x, y, steps=rng.randint(*profile.steps))
            await page.mouse.click(x, y, delay=rng.uniform(0, 150))
        elif r < 0.85:
            await page.click(f"#b{rng.randrange(n_buttons)}", delay=rng.uniform(0, 120))
        else:
            await page.mouse.down()
            await page.mouse.move(x, y, steps=rng.randint(*profile.steps))
            await page.mouse.up()
        await page.wait_for_timeout(rng.uniform(*profile.pause_ms))
    rows = await page.evaluate("() => window.__rec")
    await context.close()
    return "\n".join([HEADER, *(",".join(str(v) for v in row) for row in rows)]) + "\n"


async def _record(
    out: Path, *, count: int, seed: int, profile: str, parallel: int, executable: str
) -> list[Path]:
    from playwright.async_api import async_playwright

    prof = PLAYWRIGHT_PROFILES[profile]
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        sem = asyncio.Semaphore(parallel)

        async def one(i: int) -> None:
            async with sem:
                rng = random.Random(f"{profile}-{seed}-{i}")
                text = await _session(browser, rng, prof)
                path = out / f"{profile}-s{seed}-{i:03d}.csv"
                path.write_text(text)
                written.append(path)

        await asyncio.gather(*(one(i) for i in range(count)))
        await browser.close()
    return sorted(written)


def playwright_record(
    out: Path, *, count: int, seed: int, profile: str = "train", parallel: int = 4,
    executable: str = "/usr/bin/chromium",
) -> list[Path]:  # fmt: skip
    """Record `count` Playwright sessions into `out`; returns the files written."""
    return asyncio.run(
        _record(
            out, count=count, seed=seed, profile=profile, parallel=parallel, executable=executable
        )
    )
