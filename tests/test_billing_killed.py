"""A billing run whose process is killed mid-way (SIGKILL, no clean-up) leaves no
half-built invoice, and running the month again after its lease lapsed completes it: every
billable group has one invoice whose total is the sum of its lines. Runs `portal bill` as a
real process on a SQLite file of its own."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.live_server import PORTAL, portal_env, run_portal

GROUPS = 150
MONTH = "2026-12"


def _one(database: Path, sql: str) -> tuple[object, ...]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        row: tuple[object, ...] | None = db.execute(sql).fetchone()
    assert row is not None, sql
    return row


def _kill_mid_run(process: subprocess.Popen[bytes], database: Path) -> int:
    """SIGKILL the run once some (not all) groups are billed; how many were."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(sqlite3.OperationalError):  # the table may not exist yet
            done = int(str(_one(database, "SELECT count(*) FROM invoices")[0]))
            if done >= 5:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                return int(str(_one(database, "SELECT count(*) FROM invoices")[0]))
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("the run never built an invoice")


def _whole(database: Path) -> bool:
    """Every invoice's total is the sum of its lines, and every invoice has lines."""
    broken = _one(
        database,
        "SELECT count(*) FROM invoices i WHERE i.total_cents <> "
        "(SELECT coalesce(sum(l.amount_cents), 0) FROM invoice_lines l WHERE l.invoice_id = i.id) "
        "OR NOT EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id)",
    )
    return broken == (0,)


def test_a_killed_billing_run_leaves_whole_invoices_and_a_rerun_completes_the_month(
    tmp_path: Path,
) -> None:
    # given a seeded database of 150 groups and a short job lease
    env = {**portal_env(tmp_path), "PORTAL_BILLING_JOB_LEASE_SECONDS": "2"}
    database = tmp_path / "portal.db"
    assert run_portal(["migrate"], env).returncode == 0
    seeded = run_portal(["seed", "--groups", str(GROUPS), "--members", "3000"], env)
    assert seeded.returncode == 0, seeded.stderr
    billable = int(str(_one(
        database,
        "SELECT count(*) FROM groups WHERE billing_mode = 'LIST_BILL' "
        "AND status IN ('ACTIVE', 'DELINQUENT', 'SUSPENDED') AND effective_date <= '2026-12-01'",
    )[0]))  # fmt: skip
    # when the run is killed part-way
    process = subprocess.Popen(
        [*PORTAL, "bill", "--month", MONTH], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    built_before_kill = _kill_mid_run(process, database)
    # then what it built is whole, and the run is left RUNNING for another worker
    assert built_before_kill < billable
    assert _whole(database)
    assert _one(database, "SELECT status FROM billing_runs") == ("RUNNING",)
    # when the month is run again once the lease lapsed
    time.sleep(2.5)
    again = run_portal(["bill", "--month", MONTH], env)
    # then the same run completes, each billable group with exactly one invoice
    assert again.returncode == 0, again.stderr
    assert "completed" in again.stdout
    assert _one(database, "SELECT count(*), max(attempts), max(status) FROM billing_runs") == (
        1, 2, "COMPLETED",
    )  # fmt: skip
    run = _one(
        database,
        "SELECT groups_total, groups_done, unchanged_count, created_count + unchanged_count, "
        "empty_count FROM billing_runs",
    )
    assert run[:3] == (billable, billable, built_before_kill)  # the resumed run recounts
    invoices = _one(database, "SELECT count(*), count(DISTINCT group_id) FROM invoices")
    assert invoices == (run[3], run[3])
    assert int(str(run[3])) + int(str(run[4])) == billable  # a group without subscribers: none
    assert _whole(database)
