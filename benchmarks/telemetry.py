"""Telemetry benchmark: events ingested per second through the websocket, and the p99
feature-plus-score time per batch.

    .venv/bin/python benchmarks/telemetry.py              # about 30 s
    .venv/bin/python benchmarks/telemetry.py --seconds 5  # smoke run

prints ONE JSON object on stdout; progress goes to stderr. See benchmarks/README.md.

- `per_batch`: in one process, every batch of real SapiMouse traces (cut into the page
  script's 250 ms batches) goes through what the socket does with it: JSON decoding,
  validation and delta decoding (fraud.telemetry), then features and score
  (fraud.services.telemetry.telemetry_batch_apply: rules on every batch, the mouse model
  after every 32 new moves). `ms` is the thread's CPU time per batch (what one core spends,
  unaffected by other processes on a shared machine), `wall_ms` the elapsed time;
  p50/p99/max; target p99 < 2 ms.
- `websocket`: a fresh data dir, `manage.py migrate`, a publisher, then ONE uvicorn worker
  (the embedded default: SQLite, in-memory cache) and `--connections` websockets clients, each
  replaying a different trace as fast as the server acks (the per-page rate limit is lifted
  for the run; features are still persisted every second per session). `events_per_second`
  counts acked events over the wall time; `events_per_cpu_second` divides them by the
  server process's CPU time (user + system), i.e. per core. Target: >= 20,000 per core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("benchmarks.telemetry")

SITE = "https://news.example"
UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FINGERPRINT: dict[str, Any] = {
    "canvas": "a" * 64,
    "webgl": "b" * 64,
    "webgl_vendor": "Google Inc. (NVIDIA)",
    "webgl_renderer": "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)",
    "screen": [1920, 1080, 1920, 1040, 1, 24],
    "tz": "Europe/Berlin",
    "tz_offset": -60,
    "languages": ["en-US", "en"],
    "hw_concurrency": 8,
    "device_memory": 8,
    "touch_points": 0,
    "platform": "Win32",
    "webdriver": False,
    "automation": [],
    "worker": None,
}


def sapimouse_dir() -> Path:
    default = ROOT.parent / "shared" / "data" / "sapimouse"
    return Path(os.environ.get("DROPGATE_SAPIMOUSE_DIR", str(default)))


def trace_files(limit: int) -> list[Path]:
    files = sorted(sapimouse_dir().glob("user*/session_*3min.csv"))
    if not files:
        raise SystemExit(f"no SapiMouse traces under {sapimouse_dir()}")
    return files[:limit]


def trace_batches(path: Path, window_ms: int, max_events: int = 500) -> list[dict[str, Any]]:
    """The page script's batches of one trace: mouse deltas, clicks, one per window."""
    batches: list[dict[str, Any]] = []
    last = (0, 0, 0)
    current: dict[str, Any] | None = None
    window_end = 0
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        for t_s, button, state, x_s, y_s in rows:
            t, x, y = int(t_s), int(x_s), int(y_s)
            if current is None or t >= window_end or len(current["mouse"]) >= 3 * max_events:
                current = {"type": "batch", "seq": len(batches), "mouse": [], "clicks": []}
                batches.append(current)
                window_end = t + window_ms
            if state in ("Move", "Drag"):
                current["mouse"] += [t - last[0], x - last[1], y - last[2]]
                last = (t, x, y)
            elif state == "Pressed":
                current["clicks"].append([t, x, y, 2 if button == "Right" else 0, 0])
    if batches:
        batches[0]["fingerprint"] = FINGERPRINT
    return batches


def events_of(batch: dict[str, Any]) -> int:
    return len(batch["mouse"]) // 3 + len(batch["clicks"])


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50": round(at(0.50), 4),
        "p90": round(at(0.90), 4),
        "p99": round(at(0.99), 4),
        "max": round(ordered[-1], 4),
        "mean": round(statistics.fmean(ordered), 4),
    }


# --- per batch (in process) -----------------------------------------------------------------


def per_batch(files: list[Path], window_ms: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paywall.settings")
    import django

    django.setup()
    from fraud.features.fingerprint import fingerprint_reasons
    from fraud.scoring import mouse_model
    from fraud.services.telemetry import SessionState, batch_limits, telemetry_batch_apply
    from fraud.telemetry import batch_parse, frame_load

    limits = batch_limits()
    mouse_model()  # loaded at start in a server too; not a batch's cost
    timings: list[float] = []
    walls: list[float] = []
    sizes: list[int] = []
    # The first pass warms caches (imports, the parsed User-Agent) and is not counted.
    for n, path in enumerate([files[0], *files]):
        frames = [json.dumps(b, separators=(",", ":")) for b in trace_batches(path, window_ms)]
        state = SessionState(
            pk=0,
            public_id=f"tls_bench{n:018d}",
            publisher_ref="pub_bench",
            user_agent=UA,
            accept_language="en-US,en;q=0.9",
            resumed=False,
            next_seq=0,
            ua_reasons=fingerprint_reasons({}, user_agent=UA),
        )
        for text in frames:
            started, wall = time.thread_time_ns(), time.perf_counter_ns()
            content = frame_load(text, None, max_bytes=limits.max_batch_bytes)
            batch = batch_parse(
                content,
                limits=limits,
                expected_seq=state.next_seq,
                mouse_origin=state.mouse_origin,
            )
            telemetry_batch_apply(state, batch)
            if n:
                timings.append((time.thread_time_ns() - started) / 1e6)
                walls.append((time.perf_counter_ns() - wall) / 1e6)
                sizes.append(batch.events)
    model = mouse_model()
    stats = percentiles(timings)
    return {
        "batches": len(timings),
        "window_ms": window_ms,
        "events_per_batch": percentiles([float(s) for s in sizes]),
        "ms": stats,
        "wall_ms": percentiles(walls),
        "model_version": None if model is None else model.version,
        "meets_target": stats["p99"] < 2.0,
    }


# --- through the websocket --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_setup(out: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paywall.settings")
    import django

    django.setup()
    from paywall.services.publishers import publisher_create

    publisher = publisher_create(name="Telemetry bench", allowed_origins=[SITE])
    out.write_text(json.dumps({"publisher": publisher.key}))


async def _replay(
    uri: str, frames: list[tuple[str, int]], deadline: float, counts: list[int]
) -> None:
    from websockets.asyncio.client import connect

    while time.monotonic() < deadline:
        async with connect(
            uri,
            origin=SITE,
            user_agent_header=UA,
            max_size=2**20,
            compression=None,  # type: ignore[arg-type]
        ) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            for text, events in frames:
                if time.monotonic() >= deadline:
                    break
                await ws.send(text)
                ack = json.loads(await ws.recv())
                if ack.get("type") != "ack":
                    raise RuntimeError(f"unexpected reply {ack}")
                counts[0] += events
                counts[1] += 1


async def _drive(uri: str, traces: list[list[tuple[str, int]]], connections: int, seconds: float):
    counts = [0, 0]
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(_replay(uri, traces[i % len(traces)], deadline, counts) for i in range(connections))
    )
    return counts


def websocket(files: list[Path], opts: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dropgate-telemetry-bench-") as tmp:
        env = {
            **os.environ,
            "DROPGATE_DATA_DIR": tmp,
            "DJANGO_SETTINGS_MODULE": "paywall.settings",
            "DROPGATE_TELEMETRY_MIN_INTERVAL_MS": "1",
            "DROPGATE_TELEMETRY_BURST": "1000000",
            "DROPGATE_LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        logs = Path(tmp) / "logs"
        logs.mkdir()
        log.info("migrate")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        setup_file = Path(tmp) / "setup.json"
        subprocess.run(
            [sys.executable, __file__, "_setup", str(setup_file)], cwd=ROOT, env=env, check=True
        )
        publisher = json.loads(setup_file.read_text())["publisher"]
        port = free_port()
        with (logs / "web.log").open("ab") as out:
            server = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "paywall.asgi:application",
                    "--host", "127.0.0.1", "--port", str(port),
                    "--lifespan", "off", "--no-access-log", "--log-level", "warning",
                ],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                    break
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((logs / "web.log").read_text()[-3000:])
                time.sleep(0.1)
            traces = [
                [(json.dumps(b, separators=(",", ":")), events_of(b)) for b in trace_batches(p, opts.ws_window_ms)]
                for p in files
            ]  # fmt: skip
            uri = f"ws://127.0.0.1:{port}/ws/telemetry/?publisher={publisher}"
            log.info("warm-up")
            asyncio.run(_drive(uri, traces, 2, 2.0))
            log.info("load: %d connections for %.0f s", opts.connections, opts.seconds)
            cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
            events, batches = asyncio.run(_drive(uri, traces, opts.connections, opts.seconds))
            wall, cpu = time.perf_counter() - wall0, cpu_seconds(server.pid) - cpu0
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
    per_cpu = events / cpu if cpu > 0 else 0.0
    return {
        "connections": opts.connections,
        "seconds": round(wall, 2),
        "window_ms": opts.ws_window_ms,
        "events": events,
        "batches": batches,
        "events_per_batch": round(events / batches, 1) if batches else 0,
        "events_per_second": round(events / wall),
        "server_cpu_seconds": round(cpu, 2),
        "events_per_cpu_second": round(per_cpu),
        "meets_target": per_cpu >= 20_000,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_setup"]:
        child_setup(Path(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the load phase")
    parser.add_argument("--connections", type=int, default=16, help="websocket clients at once")
    parser.add_argument("--traces", type=int, default=12, help="SapiMouse sessions to replay")
    parser.add_argument("--window-ms", type=int, default=250, help="per-batch window (page)")
    parser.add_argument(
        "--ws-window-ms", type=int, default=1000, help="batch window for the websocket phase"
    )
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    files = trace_files(opts.traces)
    result: dict[str, Any] = {
        "benchmark": "telemetry",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "traces": len(files),
    }
    with tempfile.TemporaryDirectory(prefix="dropgate-telemetry-micro-") as tmp:
        os.environ["DROPGATE_DATA_DIR"] = tmp
        log.info("per batch")
        result["per_batch"] = per_batch(files, opts.window_ms)
    result["websocket"] = websocket(files, opts)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
