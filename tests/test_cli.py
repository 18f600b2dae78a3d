"""The `portal` command and a real server, end to end, as `make run` uses them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server, portal_env, run_portal


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return portal_env(tmp_path)


def test_every_command_has_help() -> None:
    commands = (
        "serve",
        "migrate",
        "seed",
        "schema",
        "create-user",
        "create-client",
        "token",
        "outbox",
        "bill",
    )
    for command in commands:
        result = run_portal([command, "--help"], dict(os.environ))
        assert result.returncode == 0
        assert "usage: portal" in result.stdout


def test_migrate_then_seed_then_seed_if_empty_is_a_no_op(env: dict[str, str]) -> None:
    assert run_portal(["migrate"], env).returncode == 0
    first = run_portal(["seed", "--groups", "3", "--members", "60"], env)
    assert first.returncode == 0, first.stderr
    assert "groups=3" in first.stdout
    again = run_portal(["seed", "--if-empty"], env)
    assert again.returncode == 0
    assert "not seeding" in again.stdout
    refused = run_portal(["seed"], env)
    assert refused.returncode == 1
    assert "portal seed:" in refused.stderr


def test_create_user_and_client(env: dict[str, str]) -> None:
    assert run_portal(["migrate"], env).returncode == 0
    assert run_portal(["seed", "--groups", "2", "--members", "30"], env).returncode == 0
    weak = run_portal(
        ["create-user", "--email", "hr@acme.test", "--name", "Hana Ruiz", "--password-stdin"],
        {**env, "PYTHONIOENCODING": "utf-8"},
    )
    assert weak.returncode == 1  # no password on stdin: refused, nothing created
    user = run_portal(
        [
            "create-user",
            "--email",
            "hr@acme.test",
            "--name",
            "Hana Ruiz",
            "--invite",
            "--grant",
            "G100001:billing=VIEW,eligibility=MANAGE,admin",
        ],
        env,
    )
    assert user.returncode == 0, user.stderr
    assert "INVITED" in user.stdout
    client = run_portal(
        [
            "create-client",
            "--client-id",
            "broker-app",
            "--name",
            "Broker app",
            "--scope",
            "group:read",
            "--grant-type",
            "client_credentials",
            "--confidential",
        ],
        env,
    )
    assert client.returncode == 0, client.stderr
    assert "client secret (shown once" in client.stdout


def _production(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "PORTAL_ENV": "production",
        "PORTAL_SSN_HASH_KEY": "k" * 40,
        "PORTAL_SECRET_KEY": "s" * 40,
        "PORTAL_BANK_DATA_KEY": "b" * 40,
        "PORTAL_JWT_PRIVATE_KEY": "unused",
        "PORTAL_MAIL_MODE": "smtp",
    }


def test_token_is_refused_in_production(env: dict[str, str]) -> None:
    production = _production(env)
    result = run_portal(["token", "--user", "rep@demo.test", "--scope", "group:read"], production)
    assert result.returncode == 1
    assert "development only" in result.stderr


def test_seed_is_refused_in_production(env: dict[str, str]) -> None:
    """Demo users share a published password and demo clients published secrets."""
    result = run_portal(["seed", "--groups", "1", "--members", "10"], _production(env))
    assert result.returncode == 1
    assert "development only" in result.stderr


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[str]:
    with live_server(env) as base:
        yield base


def test_served_api_answers_a_roster_query_over_http(server: str, env: dict[str, str]) -> None:
    token = run_portal(
        ["token", "--user", "leader@demo.test", "--scope", "group:read eligibility:read"], env
    )
    assert token.returncode == 0, token.stderr
    query = (
        '{ group(groupNumber: "G100001") { members(first: 5) { totalCount '
        "edges { node { memberId coverages { tier plan { code } } } } } } }"
    )
    response = httpx.post(
        f"{server}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token.stdout.strip()}"},
    )
    assert response.status_code == 200
    members = response.json()["data"]["group"]["members"]
    assert members["totalCount"] > 0
    assert members["edges"][0]["node"]["coverages"]


def test_bill_builds_a_month_once_and_refuses_a_month_too_early(env: dict[str, str]) -> None:
    assert run_portal(["migrate"], env).returncode == 0
    assert run_portal(["seed", "--groups", "3", "--members", "60"], env).returncode == 0
    first = run_portal(["bill", "--month", "2026-12"], env)
    assert first.returncode == 0, first.stderr
    assert "of 2026-12 completed: 2 created" in first.stdout  # group 3 self-bills
    again = run_portal(["bill", "--month", "2026-12", "--group", "g100001"], env)
    assert again.returncode == 0, again.stderr
    assert "0 created, 0 rebuilt, 1 unchanged" in again.stdout
    early = run_portal(["bill", "--month", "2099-01"], env)
    assert early.returncode == 1
    assert "is generated from 2098-12-15" in early.stderr
