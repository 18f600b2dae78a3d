"""The `portal` command and a real server, end to end, as `make run` uses them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

PORTAL = [sys.executable, "-m", "api.cli"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PORTAL, *args], env=env, capture_output=True, text=True, check=False)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "PORTAL_DEV_KEY_FILE": str(tmp_path / "signing-key.json"),
    }


def test_every_command_has_help() -> None:
    for command in ("serve", "migrate", "seed", "schema"):
        result = _run([command, "--help"], dict(os.environ))
        assert result.returncode == 0
        assert "usage: portal" in result.stdout


def test_migrate_then_seed_then_seed_if_empty_is_a_no_op(sqlite_env: dict[str, str]) -> None:
    assert _run(["migrate"], sqlite_env).returncode == 0
    first = _run(["seed", "--groups", "3", "--members", "60"], sqlite_env)
    assert first.returncode == 0, first.stderr
    assert "groups=3" in first.stdout
    again = _run(["seed", "--if-empty"], sqlite_env)
    assert again.returncode == 0
    assert "not seeding" in again.stdout
    refused = _run(["seed"], sqlite_env)
    assert refused.returncode == 1
    assert "portal seed:" in refused.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(sqlite_env: dict[str, str]) -> Iterator[str]:
    """`portal serve` on loopback over a migrated, seeded SQLite file."""
    assert _run(["migrate"], sqlite_env).returncode == 0
    assert _run(["seed", "--groups", "2", "--members", "40"], sqlite_env).returncode == 0
    port = _free_port()
    process = subprocess.Popen(
        [*PORTAL, "serve", "--port", str(port), "--quiet"],
        env=sqlite_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not become ready")


def test_served_api_answers_a_roster_query_over_http(
    server: str, sqlite_env: dict[str, str]
) -> None:
    env = sqlite_env
    query = (
        '{ group(groupNumber: "G100001") { members(first: 5) { totalCount '
        "edges { node { memberId coverages { tier plan { code } } } } } } }"
    )
    token = _run(
        ["token", "--user", "leader@demo.test", "--scope", "group:read eligibility:read"], env
    )
    assert token.returncode == 0, token.stderr
    response = httpx.post(
        f"{server}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token.stdout.strip()}"},
    )
    assert response.status_code == 200
    members = response.json()["data"]["group"]["members"]
    assert members["totalCount"] > 0
    assert members["edges"][0]["node"]["coverages"]
