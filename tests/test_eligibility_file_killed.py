"""A file job whose process is killed mid-way (SIGKILL, no clean-up) is taken up again once
its lease runs out, and ends as one uninterrupted run would: every family once, none
twice. Runs `portal import-eligibility` as a real process on a SQLite file of its own."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from api.services.dates import add_months, today
from tests.live_server import PORTAL, portal_env, run_portal
from tests.x12_corpus import family, interchange

FAMILIES = 120


def _one(database: Path, sql: str) -> tuple[object, ...] | None:
    with contextlib.closing(sqlite3.connect(database)) as db:
        row: tuple[object, ...] | None = db.execute(sql).fetchone()
    return row


def _progress(database: Path) -> tuple[object, ...] | None:
    return _one(database, "SELECT status, members_processed FROM eligibility_files")


def _plan_of_first_group(database: Path) -> str:
    row = _one(
        database,
        "SELECT p.code FROM plans p JOIN group_plans gp ON gp.plan_id = p.id "
        "JOIN groups g ON g.id = gp.group_id WHERE g.group_number = 'G100001' "
        "ORDER BY p.code LIMIT 1",
    )
    assert row is not None
    return str(row[0])


def _kill_when_applying(process: subprocess.Popen[bytes], database: Path) -> int:
    """SIGKILL the import once some (not all) families are applied; how many were."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = _progress(database)
        if state is not None and state[0] == "APPLYING" and int(str(state[1])) >= 5:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            return int(str(state[1]))
        assert process.poll() is None, "the import ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("the import never started applying")


def test_a_killed_import_resumes_and_applies_every_family_once(tmp_path: Path) -> None:
    # given a seeded database, a short job lease, and an 834 of 120 new families
    env = {**portal_env(tmp_path), "PORTAL_FILE_JOB_LEASE_SECONDS": "2"}
    database = tmp_path / "portal.db"
    assert run_portal(["migrate"], env).returncode == 0
    assert run_portal(["seed", "--groups", "2", "--members", "30"], env).returncode == 0
    start = add_months(today().replace(day=1), 1)
    plan = _plan_of_first_group(database)
    families = [family(9000 + n, plan=plan, start=start, spouse=False, children=0)
                for n in range(FAMILIES)]  # fmt: skip
    path = tmp_path / "enroll.834"
    path.write_bytes(interchange(families, group_number="G100001"))
    # when the import is killed while applying, and run again after the lease ran out
    command = [*PORTAL, "import-eligibility", str(path), "--group", "G100001"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    applied_before_kill = _kill_when_applying(process, database)
    assert applied_before_kill < FAMILIES
    time.sleep(2.5)
    again = run_portal(["import-eligibility", str(path), "--group", "G100001"], env)
    # then the job completed, with every family exactly once
    assert again.returncode == 0, again.stderr
    assert "received before" in again.stderr
    assert _progress(database) == ("COMPLETED", FAMILIES)
    with sqlite3.connect(database) as db:
        members = db.execute(
            "SELECT count(*) FROM members WHERE last_name LIKE 'Xfam9%'"
        ).fetchone()
        attempts = db.execute("SELECT attempts, applied_count FROM eligibility_files").fetchone()
    assert members == (FAMILIES,)
    assert attempts == (2, FAMILIES)
