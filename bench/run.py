"""Benchmark the Group Portal API: roster pages and the groups list, in process and over HTTP.

Not a test: it measures and reports, and asserts nothing about timing. It prepares a seeded
database (a SQLite file under ``bench/.data/`` by default, reused between runs), then sends
each scenario's requests through the ASGI app in process (sequentially) and to a real
``portal serve`` on loopback (concurrently), checks every response, and writes the results
to ``bench/results/`` as JSON and Markdown.

Usage: ``make bench`` or ``.venv/bin/python -m bench.run --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.auth.access_tokens import TokenIssuer
from api.auth.keys import load_signing_keys
from api.auth.policy import ALL_SCOPES
from api.services.users import email_key
from api.settings import Settings
from db.demo_identity import PORTAL_CLIENT, seed_demo_identity
from db.migrate import upgrade
from db.models import Group, Member, User
from db.seed import SeedSummary, database_is_empty, seed
from db.session import create_engine, create_sessionmaker, is_sqlite
from tests.helpers import StatementCounter

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"
SERVER_LOG = DATA_DIR / "server.log"
SIGNING_KEY = DATA_DIR / "signing-key.json"
BENCH_USER = "rep@demo.test"
"""The caller: a group-accounts rep, internal staff who may read every group."""
TOKEN_SECONDS = 3600
LOOPBACK = "127.0.0.1"
WARM_UP_REQUESTS = 20
TOP_GROUPS = 10
SEED = 42
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 120.0

ROSTER_QUERY = """
query Roster($groupNumber: String!) {
  group(groupNumber: $groupNumber) {
    members(first: 100) {
      totalCount
      edges { node {
        memberId firstName lastName relationship status
        dependents {
          memberId firstName relationship
          coverages { plan { code name } tier effectiveDate terminationDate }
        }
        coverages { plan { code name } tier effectiveDate terminationDate }
      } }
    }
  }
}
"""

GROUPS_QUERY = """
query Groups($after: String) {
  groups(first: 100, after: $after) {
    totalCount
    edges { node { groupNumber name status billingMode effectiveDate plans { code } } }
  }
}
"""

GROUP_PAGES_QUERY = """
query GroupPages($after: String) {
  groups(first: 100, after: $after) { pageInfo { hasNextPage endCursor } }
}
"""


class BenchmarkError(Exception):
    """The benchmark cannot give meaningful numbers (failed request, bad database...)."""


@dataclass(frozen=True)
class Options:
    """What to benchmark, from the command line and the environment."""

    database_url: str
    groups: int
    members: int
    requests: int
    concurrency: int
    reseed: bool


@dataclass(frozen=True)
class Scenario:
    """One GraphQL query, sent with each of ``variables`` in turn."""

    name: str
    query: str
    variables: list[dict[str, Any]]
    connection: tuple[str, ...]
    """Path from ``data`` to the connection whose edges must not be empty."""

    def payload(self, index: int) -> dict[str, Any]:
        return {"query": self.query, "variables": self.variables[index % len(self.variables)]}


@dataclass(frozen=True)
class Timing:
    """Latency of each measured request and the wall time of the whole run, in seconds."""

    latencies: list[float]
    seconds: float


@dataclass(frozen=True)
class Measurement:
    """One row of the results table."""

    scenario: str
    mode: str
    requests: int
    concurrency: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests_per_s: float
    sql_statements: int


@dataclass(frozen=True)
class DatabaseInfo:
    """The database measured; ``seed_seconds`` is None when an existing one was reused."""

    kind: str
    url: str
    groups: int
    members: int
    seed_seconds: float | None


@dataclass(frozen=True)
class InProcess:
    """What the in-process phase found and measured; the HTTP phase reuses the scenarios."""

    database: DatabaseInfo
    scenarios: list[Scenario]
    measurements: list[Measurement]
    sql: dict[str, list[str]]


@dataclass(frozen=True)
class Report:
    """Everything written to ``bench/results/``."""

    generated_at: str
    database: DatabaseInfo
    machine: dict[str, Any]
    measurements: list[Measurement]
    sql: dict[str, list[str]]
    """The statements one request of each scenario sent, in order."""


# Options ----------------------------------------------------------------------------


def _positive(value: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def default_database_url(groups: int, members: int) -> str:
    """A SQLite file per data size, so a run reuses the database of the same size."""
    return f"sqlite+aiosqlite:///{DATA_DIR / f'bench-{groups}-{members}.db'}"


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Options; BENCH_GROUPS, BENCH_MEMBERS and PORTAL_BENCH_DATABASE_URL set the defaults."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PORTAL_BENCH_DATABASE_URL"),
        help="SQLAlchemy URL (default: a SQLite file bench/.data/bench-GROUPS-MEMBERS.db)",
    )
    env = os.environ.get
    parser.add_argument("--groups", type=_positive, default=env("BENCH_GROUPS", "1000"))
    parser.add_argument("--members", type=_positive, default=env("BENCH_MEMBERS", "100000"))
    parser.add_argument(
        "--requests", type=_positive, default=300, help="per scenario and mode (default 300)"
    )
    parser.add_argument("--concurrency", type=_positive, default=8, help="HTTP mode (default 8)")
    parser.add_argument("--reseed", action="store_true", help="start from a fresh database")
    args = parser.parse_args(argv)
    url = args.database_url or default_database_url(args.groups, args.members)
    return Options(url, args.groups, args.members, args.requests, args.concurrency, args.reseed)


def _say(message: str) -> None:
    """Progress and notes go to stderr; stdout carries only the results table."""
    sys.stderr.write(f"bench: {message}\n")


# Database ---------------------------------------------------------------------------


def prepare_database(options: Options) -> float | None:
    """Migrate and seed when needed; returns the seed time, or None for a reused database.
    Blocking: ``upgrade`` runs its own event loop."""
    if is_sqlite(options.database_url):
        return _prepare_sqlite(options)
    return _prepare_postgresql(options)


def _prepare_sqlite(options: Options) -> float | None:
    """Reuse a seeded file; otherwise start a new file (a failed seed leaves no groups)."""
    database = make_url(options.database_url).database
    if not database or database == ":memory:":
        raise BenchmarkError("SQLite benchmarks need a database file (the server shares it)")
    path = Path(database)
    if path.exists() and not options.reseed and not asyncio.run(_needs_seed(options.database_url)):
        _say(f"reusing {path} (pass --reseed for a fresh database)")
        upgrade(options.database_url)
        return None
    for stale in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(options.database_url)
    return _timed_seed(options)


def _prepare_postgresql(options: Options) -> float | None:
    """Reuse a seeded database; otherwise drop schema public, migrate and seed."""
    if not options.reseed and not asyncio.run(_needs_seed(options.database_url)):
        _say("reusing the seeded PostgreSQL database (pass --reseed for a fresh one)")
        upgrade(options.database_url)
        return None
    _say("dropping and recreating schema public")
    asyncio.run(_reset_schema(options.database_url))
    upgrade(options.database_url)
    return _timed_seed(options)


async def _needs_seed(url: str) -> bool:
    """True when the database has no groups table yet or no group in it."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            migrated = await conn.run_sync(lambda sync: inspect(sync).has_table("groups"))
        return not migrated or await database_is_empty(engine)
    finally:
        await engine.dispose()


async def _reset_schema(url: str) -> None:
    """An empty schema public: the benchmark database is the benchmark's own."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def _timed_seed(options: Options) -> float:
    """Seed the migrated, empty database; returns the seconds ``seed`` took."""
    summary, seconds = asyncio.run(_seed(options))
    _say(f"seeded in {seconds:.1f} s: {summary}")
    return seconds


async def _seed(options: Options) -> tuple[SeedSummary, float]:
    """``db.seed.seed`` with the options' sizes, then the demo users and clients (as
    ``portal seed`` does), timed together; progress goes to stderr."""
    engine = create_engine(options.database_url)
    key = bench_settings(options.database_url).ssn_hash_key.get_secret_value()
    try:
        started = time.perf_counter()
        summary = await seed(
            engine,
            groups=options.groups,
            members=options.members,
            seed=SEED,
            ssn_hash_key=key,
            progress=lambda line: _say(f"  seed: {line}"),
        )
        async with create_sessionmaker(engine)() as session:
            await seed_demo_identity(session)
            await session.commit()
        return summary, time.perf_counter() - started
    finally:
        await engine.dispose()


async def describe_database(
    engine: AsyncEngine, url: str, seed_seconds: float | None
) -> DatabaseInfo:
    """What is actually in the database (a reused one may differ from the options)."""
    async with engine.connect() as conn:
        groups = await conn.scalar(select(func.count()).select_from(Group))
        members = await conn.scalar(select(func.count()).select_from(Member))
    parsed = make_url(url)
    return DatabaseInfo(
        kind="sqlite" if is_sqlite(url) else "postgresql",
        url=parsed.render_as_string(hide_password=True),
        groups=groups or 0,
        members=members or 0,
        seed_seconds=None if seed_seconds is None else round(seed_seconds, 1),
    )


def bench_settings(url: str) -> Settings:
    """The service's settings for ``url``: development (its signing key lives in
    ``SIGNING_KEY``, shared with the server), quiet logs, hour-long access tokens."""
    return Settings(
        database_url=url,
        env="development",
        log_level="WARNING",
        dev_key_file=str(SIGNING_KEY),
        access_token_seconds=TOKEN_SECONDS,
    )


def bench_token(url: str) -> str:
    """An access token of ``BENCH_USER`` for every scope (effective: the rep's), signed
    with the key the in-process app and the server both verify with (created if missing)."""
    user_id = asyncio.run(_bench_user_id(url))
    if user_id is None:
        raise BenchmarkError(f"no user {BENCH_USER} in the database: rerun with --reseed")
    settings = bench_settings(url)
    SIGNING_KEY.parent.mkdir(parents=True, exist_ok=True)
    issuer = TokenIssuer(
        keys=load_signing_keys(settings),
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime_seconds=settings.access_token_seconds,
    )
    scope = " ".join(sorted(ALL_SCOPES))
    return issuer.issue(
        subject=f"user:{user_id}", client_id=PORTAL_CLIENT, scope=scope, family=None
    )


async def _bench_user_id(url: str) -> int | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            user_id: int | None = await conn.scalar(
                select(User.id).where(User.email_key == email_key(BENCH_USER))
            )
            return user_id
    finally:
        await engine.dispose()


# Scenarios and checks ---------------------------------------------------------------


async def largest_groups(engine: AsyncEngine) -> list[str]:
    """Numbers of the groups with the most members, largest first."""
    stmt = (
        select(Group.group_number)
        .join(Member, Member.group_id == Group.id)
        .group_by(Group.id, Group.group_number)
        .order_by(func.count().desc(), Group.group_number)
        .limit(TOP_GROUPS)
    )
    async with engine.connect() as conn:
        return list((await conn.scalars(stmt)).all())


async def group_page_cursors(client: httpx.AsyncClient) -> list[str | None]:
    """The ``after`` of every page of the groups list, walking it once."""
    cursors: list[str | None] = [None]
    while True:
        payload = {"query": GROUP_PAGES_QUERY, "variables": {"after": cursors[-1]}}
        data = graphql_data(await client.post("/graphql", json=payload), "groups pages")
        page_info = data["groups"]["pageInfo"]
        if not page_info["hasNextPage"]:
            return cursors
        cursors.append(page_info["endCursor"])


async def build_scenarios(engine: AsyncEngine, client: httpx.AsyncClient) -> list[Scenario]:
    """The roster of the largest groups, and every page of the groups list."""
    numbers = await largest_groups(engine)
    if not numbers:
        raise BenchmarkError("the database has no members: reseed it (--reseed)")
    cursors = await group_page_cursors(client)
    return [
        Scenario(
            "roster page",
            ROSTER_QUERY,
            [{"groupNumber": number} for number in numbers],
            ("group", "members"),
        ),
        Scenario("groups list", GROUPS_QUERY, [{"after": c} for c in cursors], ("groups",)),
    ]


def graphql_data(response: httpx.Response, label: str) -> dict[str, Any]:
    """The ``data`` of a successful response; aborts the benchmark on anything else."""
    if response.status_code != 200:
        raise BenchmarkError(f"{label}: HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    if body.get("errors") or not body.get("data"):
        raise BenchmarkError(f"{label}: GraphQL errors or no data: {str(body)[:500]}")
    data: dict[str, Any] = body["data"]
    return data


def check(response: httpx.Response, scenario: Scenario, index: int) -> None:
    """A benchmark of errors is worthless: the response must carry a non-empty page."""
    label = f"{scenario.name} with {scenario.payload(index)['variables']}"
    node: Any = graphql_data(response, label)
    for key in scenario.connection:
        node = node.get(key) if isinstance(node, dict) else None
    if not (isinstance(node, dict) and node.get("edges")):
        raise BenchmarkError(f"{label}: no edges at data.{'.'.join(scenario.connection)}")


# Measuring --------------------------------------------------------------------------


async def timed_request(client: httpx.AsyncClient, scenario: Scenario, index: int) -> float:
    """Send request ``index`` of ``scenario``, check the answer, return its latency (s)."""
    started = time.perf_counter()
    try:
        response = await client.post("/graphql", json=scenario.payload(index))
    except httpx.HTTPError as exc:
        raise BenchmarkError(f"{scenario.name}: request failed: {exc!r}") from exc
    latency = time.perf_counter() - started
    check(response, scenario, index)
    return latency


async def warm_up(client: httpx.AsyncClient, scenario: Scenario) -> None:
    """Unmeasured requests first: caches, pools and lazy imports settle."""
    for index in range(WARM_UP_REQUESTS):
        await timed_request(client, scenario, index)


async def run_sequential(client: httpx.AsyncClient, scenario: Scenario, requests: int) -> Timing:
    """Warm up, then ``requests`` requests one after the other."""
    await warm_up(client, scenario)
    started = time.perf_counter()
    latencies = [await timed_request(client, scenario, index) for index in range(requests)]
    return Timing(latencies, time.perf_counter() - started)


async def run_concurrent(
    client: httpx.AsyncClient, scenario: Scenario, requests: int, concurrency: int
) -> Timing:
    """Warm up, then ``requests`` requests shared by ``concurrency`` workers."""
    await warm_up(client, scenario)
    indexes = iter(range(requests))
    latencies: list[float] = []

    async def worker() -> None:
        for index in indexes:
            latencies.append(await timed_request(client, scenario, index))

    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as tasks:
            for _ in range(concurrency):
                tasks.create_task(worker())
    except* BenchmarkError as failures:
        raise failures.exceptions[0] from None
    return Timing(latencies, time.perf_counter() - started)


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest rank: the smallest value with ``percent`` % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def summarize(
    scenario: Scenario, mode: str, concurrency: int, timing: Timing, statements: int
) -> Measurement:
    """The table row of one run: percentiles in ms, throughput over the run's wall time."""
    latencies = timing.latencies
    return Measurement(
        scenario=scenario.name,
        mode=mode,
        requests=len(latencies),
        concurrency=concurrency,
        p50_ms=round(percentile(latencies, 50) * 1000, 2),
        p95_ms=round(percentile(latencies, 95) * 1000, 2),
        p99_ms=round(percentile(latencies, 99) * 1000, 2),
        requests_per_s=round(len(latencies) / timing.seconds, 1),
        sql_statements=statements,
    )


async def statements_of(
    client: httpx.AsyncClient, engine: AsyncEngine, scenario: Scenario
) -> list[str]:
    """The SQL statements one request of ``scenario`` sends."""
    with StatementCounter(engine) as counter:
        await timed_request(client, scenario, 0)
    return list(counter.statements)


@contextlib.asynccontextmanager
async def in_process_client(
    settings: Settings, engine: AsyncEngine, token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The ASGI app on ``engine``, called through httpx without a network."""
    app = create_app(settings, sessions=create_sessionmaker(engine))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://portal.bench",
        headers=bearer(token),
        timeout=REQUEST_TIMEOUT_S,
    ) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def measure_in_process(options: Options, seed_seconds: float | None, token: str) -> InProcess:
    """Scenarios, SQL statements per request and sequential latencies, all in process."""
    settings = bench_settings(options.database_url)
    engine = create_engine(options.database_url, pool_size=settings.db_pool_size)
    try:
        database = await describe_database(engine, options.database_url, seed_seconds)
        async with in_process_client(settings, engine, token) as client:
            scenarios = await build_scenarios(engine, client)
            sql = {s.name: await statements_of(client, engine, s) for s in scenarios}
            measurements = [
                await _measure_sequential(
                    client, scenario, options.requests, len(sql[scenario.name])
                )
                for scenario in scenarios
            ]
    finally:
        await engine.dispose()
    return InProcess(database, scenarios, measurements, sql)


async def _measure_sequential(
    client: httpx.AsyncClient, scenario: Scenario, requests: int, statements: int
) -> Measurement:
    """One scenario in process, sequentially."""
    _say(f"in-process: {scenario.name}")
    timing = await run_sequential(client, scenario, requests)
    return summarize(scenario, "in-process", 1, timing, statements)


# HTTP mode --------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(database_url: str) -> dict[str, str]:
    """The caller's environment with the benchmark database; access logs off (warning)."""
    return os.environ | {
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_ENV": "development",
        "PORTAL_LOG_LEVEL": "WARNING",
        "PORTAL_DEV_KEY_FILE": str(SIGNING_KEY),
    }


@contextlib.contextmanager
def serving(database_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``portal serve`` on a free loopback port, output in ``SERVER_LOG``; stopped on exit."""
    port = free_port()
    portal = Path(sys.executable).parent / "portal"
    command = [str(portal), "serve", "--host", LOOPBACK, "--port", str(port), "--quiet"]
    SERVER_LOG.parent.mkdir(parents=True, exist_ok=True)
    with SERVER_LOG.open("wb") as log:
        process = subprocess.Popen(
            command, env=server_environment(database_url), stdout=log, stderr=log
        )
        try:
            yield f"http://{LOOPBACK}:{port}", process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    """Poll ``/readyz`` until the server answers 200; abort if it dies or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"the server exited ({process.returncode}); see {SERVER_LOG}")
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise BenchmarkError(
        f"the server was not ready after {READY_TIMEOUT_S:.0f} s; see {SERVER_LOG}"
    )


async def measure_http(
    options: Options,
    base_url: str,
    process: subprocess.Popen[bytes],
    in_process: InProcess,
    token: str,
) -> list[Measurement]:
    """Each scenario against the running server with ``options.concurrency`` workers."""
    async with httpx.AsyncClient(
        base_url=base_url,
        headers=bearer(token),
        timeout=REQUEST_TIMEOUT_S,
        limits=httpx.Limits(max_connections=options.concurrency),
    ) as client:
        await wait_ready(client, process)
        measurements = []
        for scenario in in_process.scenarios:
            _say(f"http: {scenario.name}")
            timing = await run_concurrent(client, scenario, options.requests, options.concurrency)
            statements = len(in_process.sql[scenario.name])
            measurements.append(
                summarize(scenario, "http", options.concurrency, timing, statements)
            )
    return measurements


# Results ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def render_markdown(report: Report) -> str:
    """The results table with what it was measured on."""
    db = report.database
    seeded = "reused" if db.seed_seconds is None else f"seeded in {db.seed_seconds:.1f} s"
    lines = [
        "# Group Portal API benchmark",
        "",
        f"- Run: {report.generated_at}",
        f"- Database: {db.kind}, {db.groups:,} groups, {db.members:,} members ({seeded})",
        f"- Machine: {report.machine['cpu_count']} CPUs, Python {report.machine['python']}, "
        f"{report.machine['platform']}",
        f"- Caller: {BENCH_USER} (internal staff: every group) with a bearer token; "
        "each request authenticates against the database, roster reads write an audit event",
        "- in-process: httpx ASGITransport, sequential; http: `portal serve` (one uvicorn "
        "worker, log level WARNING) on loopback, concurrent clients",
        f"- {WARM_UP_REQUESTS} warm-up requests per scenario and mode, not measured",
        "",
        "| Scenario | Mode | Requests | Concurrency | p50 ms | p95 ms | p99 ms | req/s "
        "| SQL statements/request |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {m.scenario} | {m.mode} | {m.requests} | {m.concurrency} | {m.p50_ms:.1f} "
        f"| {m.p95_ms:.1f} | {m.p99_ms:.1f} | {m.requests_per_s:.1f} | {m.sql_statements} |"
        for m in report.measurements
    ]
    return "\n".join(lines) + "\n"


def write_results(report: Report, started: dt.datetime) -> str:
    """``latest.json``, a timestamped copy and ``latest.md``; returns the Markdown."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = json.dumps(asdict(report), indent=2) + "\n"
    stamp = started.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / "latest.json").write_text(document, encoding="utf-8")
    (RESULTS_DIR / f"{stamp}-{report.database.kind}.json").write_text(document, encoding="utf-8")
    markdown = render_markdown(report)
    (RESULTS_DIR / "latest.md").write_text(markdown, encoding="utf-8")
    return markdown


def run(options: Options, started: dt.datetime) -> Report:
    """Prepare the database, measure in process, then over HTTP."""
    seed_seconds = prepare_database(options)
    token = bench_token(options.database_url)
    in_process = asyncio.run(measure_in_process(options, seed_seconds, token))
    with serving(options.database_url) as (base_url, process):
        http = asyncio.run(measure_http(options, base_url, process, in_process, token))
    return Report(
        generated_at=started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        database=in_process.database,
        machine=machine(),
        measurements=in_process.measurements + http,
        sql=in_process.sql,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the results and print the Markdown table."""
    options = parse_options(argv)
    started = dt.datetime.now(dt.UTC)
    try:
        report = run(options, started)
    except BenchmarkError as exc:
        sys.stderr.write(f"bench: aborted: {exc}\n")
        return 1
    sys.stdout.write(write_results(report, started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
