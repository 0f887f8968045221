"""`make demo`: the whole product on one machine, with nothing installed beforehand.

Starts the sandbox ledger, the paywall service (ASGI), a Celery worker and beat on the
brokerless filesystem transport, and the demo publisher site on a second origin. Prints both
origins and the admin login, then supervises the processes until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


SANDBOX_PORT = _port("DEMO_SANDBOX_PORT", 5006)
PAYWALL_PORT = _port("DEMO_PAYWALL_PORT", 8000)
SITE_PORT = _port("DEMO_SITE_PORT", 8001)
PAYWALL_ORIGIN = f"http://127.0.0.1:{PAYWALL_PORT}"
SITE_ORIGIN = f"http://127.0.0.1:{SITE_PORT}"


def demo_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DROPGATE_DATA_DIR", str(ROOT / "var" / "demo"))
    env.setdefault("XRPL_URL", f"http://127.0.0.1:{SANDBOX_PORT}/")
    env.setdefault("XRPL_LEDGER_KIND", "sandbox")
    env.setdefault("DROPGATE_DEMO_SITE_ORIGIN", SITE_ORIGIN)
    env.setdefault("DROPGATE_PUBLIC_URL", PAYWALL_ORIGIN)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _log(message: str) -> None:
    print(message, flush=True)


def _wait_http(url: str, *, body: bytes | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, data=body, method="POST" if body else "GET")  # noqa: S310
            request.add_header("Content-Type", "application/json")
            with urllib.request.urlopen(request, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up within {timeout:.0f}s") from None
            time.sleep(0.3)


def _print_banner(env: dict[str, str], credentials: dict[str, str], logs: Path) -> None:
    """Both origins as plain lines, and the admin login (its second factor: demo only)."""
    _log("Dropgate demo is running.")
    _log("Demo publisher site (open this):")
    _log(f"{SITE_ORIGIN}/")
    _log("Paywall service:")
    _log(f"{PAYWALL_ORIGIN}/")
    _log(
        f"Admin: {PAYWALL_ORIGIN}/admin/  user: {credentials['admin_user']}  password: {credentials['admin_password']}"
    )
    # Demo only: staff sign in with a TOTP code too. A real deployment enrols each staff
    # user's own device with `manage.py staff_otp_enrol`.
    python = Path(PYTHON)
    python_shown = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    _log(
        f"Admin one-time code (demo only): {credentials['admin_otp_code']} now; a fresh one: "
        f"{python_shown} -m scripts.totp {credentials['admin_otp_secret']}"
    )
    _log(f"Admin authenticator URI (demo only): {credentials['admin_otp_uri']}")
    _log(f"Sandbox ledger JSON-RPC: {env['XRPL_URL']}   logs: {logs}")


def main() -> int:
    env = demo_env()
    Path(env["DROPGATE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    logs = Path(env["DROPGATE_DATA_DIR"]) / "logs"
    logs.mkdir(exist_ok=True)
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(name: str, argv: list[str]) -> None:
        log = (logs / f"{name}.log").open("ab")
        processes.append(
            (name, subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        )

    def stop(*_: object) -> None:
        for _name, process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for _name, process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    manage = [PYTHON, "manage.py"]
    try:
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        start("sandbox", [*manage, "xrpl_sandbox", "--port", str(SANDBOX_PORT)])
        _wait_http(
            env["XRPL_URL"], body=json.dumps({"method": "server_info", "params": [{}]}).encode()
        )
        subprocess.run(
            [*manage, "platform_bootstrap"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seed = subprocess.run(
            [*manage, "demo_seed", "--site-origin", SITE_ORIGIN],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        credentials = json.loads(seed.stdout.strip().splitlines()[-1])
        start(
            "web",
            # uvicorn with the service's limits (websocket message size, no proxy headers).
            [*manage, "serve", "--host", "127.0.0.1", "--port", str(PAYWALL_PORT)],
        )
        start(
            "worker",
            [PYTHON, "-m", "celery", "-A", "paywall", "worker", "--pool=solo", "-l", "info"],
        )
        start(
            "beat",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "paywall",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(Path(env["DROPGATE_DATA_DIR"]) / "celerybeat-schedule"),
            ],
        )
        start(
            "site",
            [
                PYTHON,
                "-m",
                "scripts.demo_site",
                "--port",
                str(SITE_PORT),
                "--paywall",
                PAYWALL_ORIGIN,
                "--publisher",
                credentials["publisher"],
            ],
        )
        _wait_http(f"{PAYWALL_ORIGIN}/api/schema/")
        _wait_http(f"{SITE_ORIGIN}/")
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        _log(f"demo failed to start: {exc}; logs are in {logs}")
        stop()
        return 1

    _print_banner(env, credentials, logs)
    _log("Press Ctrl-C to stop.")
    try:
        while all(process.poll() is None for _name, process in processes):
            time.sleep(1)
        dead = [name for name, process in processes if process.poll() is not None]
        _log(f"demo process exited: {', '.join(dead)}; see {logs}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
