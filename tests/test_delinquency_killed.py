"""A delinquency run whose process is killed mid-way (SIGKILL, no clean-up) leaves every
group either assessed whole or not at all, and running the date again after its lease
lapsed completes it: each group past due has one open episode with each stage recorded
once and one letter. Runs `portal delinquency` as a real process on a SQLite file of its
own, after the November invoices of a seeded database were issued and left unpaid."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from api.services import billing_run, invoices
from api.services.audit import Actor
from api.services.bank_data import cipher_for
from api.services.dates import utc_now
from api.settings import DEV_BANK_DATA_KEY
from db.session import create_engine, create_sessionmaker
from tests.ledger_support import trail
from tests.live_server import PORTAL, portal_env, run_portal

GROUPS = 200
NOVEMBER = dt.date(2026, 11, 1)
AS_OF = "2026-11-20"  # day 19 past due: DELINQUENT and the second notice


def _one(database: Path, sql: str) -> tuple[object, ...]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        row: tuple[object, ...] | None = db.execute(sql).fetchone()
    assert row is not None, sql
    return row


async def _issue_november(url: str) -> None:
    """Bill and issue November for every billable group."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    try:
        await billing_run.run_month(sessions, NOVEMBER, actor=Actor(None, "test"))
        async with sessions.begin() as session:
            for invoice_id in await invoices.drafts_of(session, NOVEMBER):
                draft = await invoices.locked_invoice(session, invoice_id)
                await invoices.issue(session, draft, user_id=None, audit=trail(),
                                     now=utc_now(), carrier="Carrier",
                                     cipher=cipher_for(DEV_BANK_DATA_KEY))  # fmt: skip
    finally:
        await engine.dispose()


def _kill_mid_run(process: subprocess.Popen[bytes], database: Path) -> int:
    """SIGKILL the run once some (not all) groups are assessed; how many were."""
    deadline = time.monotonic() + 120
    count = "SELECT count(*) FROM delinquency_episodes"
    while time.monotonic() < deadline:
        with contextlib.suppress(sqlite3.OperationalError):  # locked by the writer
            if int(str(_one(database, count)[0])) >= 5:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                return int(str(_one(database, count)[0]))
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.01)
    raise AssertionError("the run never assessed a group")


def _whole(database: Path) -> bool:
    """Every episode has its two stage transitions and its one letter, and its group is
    DELINQUENT: a group's assessment is one transaction."""
    broken = _one(
        database,
        "SELECT count(*) FROM delinquency_episodes e JOIN groups g ON g.id = e.group_id "
        "WHERE g.status <> 'DELINQUENT' OR e.stage <> 'SECOND_NOTICE' "
        "OR (SELECT count(*) FROM delinquency_transitions t WHERE t.episode_id = e.id) <> 2 "
        "OR (SELECT count(*) FROM delinquency_letters l WHERE l.episode_id = e.id) <> 1",
    )
    return broken == (0,)


def test_a_killed_delinquency_run_leaves_whole_groups_and_a_rerun_completes_it(
    tmp_path: Path,
) -> None:
    # given a seeded database whose November invoices are issued and unpaid
    env = {**portal_env(tmp_path), "PORTAL_DELINQUENCY_JOB_LEASE_SECONDS": "2"}
    database = tmp_path / "portal.db"
    assert run_portal(["migrate"], env).returncode == 0
    seeded = run_portal(["seed", "--groups", str(GROUPS), "--members", "2000"], env)
    assert seeded.returncode == 0, seeded.stderr
    asyncio.run(_issue_november(env["PORTAL_DATABASE_URL"]))
    issued = int(str(_one(database, "SELECT count(*) FROM invoices WHERE status = 'ISSUED'")[0]))
    assert issued > 20
    # when the run is killed part-way
    process = subprocess.Popen(
        [*PORTAL, "delinquency", "--as-of", AS_OF], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assessed_before_kill = _kill_mid_run(process, database)
    # then what it assessed is whole, and the run is left RUNNING for another worker
    assert assessed_before_kill < issued
    assert _whole(database)
    assert _one(database, "SELECT status FROM delinquency_runs") == ("RUNNING",)
    # when the date is run again once the lease lapsed
    time.sleep(2.5)
    again = run_portal(["delinquency", "--as-of", AS_OF], env)
    # then the same run completes: one episode per unpaid group, nothing twice
    assert again.returncode == 0, again.stderr
    assert "completed" in again.stdout
    assert _one(database, "SELECT count(*), max(attempts), max(status) FROM delinquency_runs") == (
        1, 2, "COMPLETED",
    )  # fmt: skip
    left = issued - assessed_before_kill  # the groups assessed before the kill are done
    assert _one(database, "SELECT groups_total, groups_done FROM delinquency_runs") == (left, left)
    episodes = "SELECT count(*), count(DISTINCT group_id) FROM delinquency_episodes"
    assert _one(database, episodes) == (issued, issued)
    assert _whole(database)
