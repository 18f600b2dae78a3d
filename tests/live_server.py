"""`portal` as a subprocess, and `portal serve` on a free loopback port, as `make run` runs
them (for end-to-end tests and the browser test)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PORTAL = [sys.executable, "-m", "api.cli"]


def portal_env(directory: Path) -> dict[str, str]:
    """Environment for a throwaway service whose files live in ``directory``."""
    return {
        **os.environ,
        "PORTAL_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'portal.db'}",
        "PORTAL_DEV_KEY_FILE": str(directory / "signing-key.json"),
    }


def run_portal(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PORTAL, *args], env=env, capture_output=True, text=True, check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(env: dict[str, str]) -> Iterator[str]:
    """Migrate, seed a small demo, serve; yields the base URL and stops the server after."""
    assert run_portal(["migrate"], env).returncode == 0
    seeded = run_portal(["seed", "--groups", "2", "--members", "40"], env)
    assert seeded.returncode == 0, seeded.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [*PORTAL, "serve", "--port", str(port), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not become ready")
