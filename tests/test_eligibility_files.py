"""Eligibility files in the CSV roster format: parsed into the portal's change items, applied
family by family as a job, with a report of every line that could not be applied; the same
file is never applied twice, and an interrupted job resumes without applying anything twice.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.dates import add_months, today
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import Submitter, submit
from api.services.eligibility.rules import Limits
from api.services.eligibility_files import csv_roster, jobs
from api.services.eligibility_files.intake import Upload, receive
from api.services.rules import RuleViolation
from api.settings import Settings
from db.models import (
    ChangeStatus,
    Coverage,
    EligibilityFile,
    EligibilityFileProblem,
    FileFormat,
    FileStatus,
    Group,
    Member,
)
from tests.eligibility_support import group_and_plans
from tests.live_server import portal_env, run_portal

START = add_months(today().replace(day=1), 1)
LAST_DAY = add_months(START, 1) - dt.timedelta(days=1)
HEADER = (
    "action,effective_date,reason,relationship,member_id,first_name,last_name,date_of_birth,"
    "sex,plan_code"
)


def roster(plan: str, surname: str = "Fileone") -> bytes:
    """A family of three, a subscriber with a bad date and their child, and a termination
    of a member the group does not have (lines 2 to 7)."""
    lines = [
        HEADER,
        f"ADD,{START},NEW_HIRE,SUBSCRIBER,,Ann,{surname},1985-02-03,FEMALE,{plan}",
        f"ADD,{START},NEW_HIRE,SPOUSE,,Ben,{surname},1986-03-04,MALE,",
        f"ADD,{START},NEW_HIRE,CHILD,,Cal,{surname},2015-05-06,MALE,",
        f"ADD,{START},NEW_HIRE,SUBSCRIBER,,Dee,{surname},1990-13-01,FEMALE,{plan}",
        f"ADD,{START},NEW_HIRE,CHILD,,Eve,{surname},2016-01-01,FEMALE,",
        f"TERMINATE,{LAST_DAY},END_OF_EMPLOYMENT,,99999999999,,,,,",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def job_settings(settings: Settings) -> jobs.JobSettings:
    return jobs.JobSettings.from_settings(settings)


async def received(
    sessions: async_sessionmaker[AsyncSession], number: str, content: bytes
) -> tuple[int, bool]:
    async with sessions.begin() as session:
        group = await session.scalar(select(Group).where(Group.group_number == number))
        assert group is not None
        upload = Upload("roster.csv", content, FileFormat.CSV, source="PORTAL")
        result = await receive(session, group=group, upload=upload, max_bytes=1_000_000)
        return result.file.id, result.duplicate


async def file_and_problems(
    sessions: async_sessionmaker[AsyncSession], file_id: int
) -> tuple[EligibilityFile, list[tuple[int, str | None, str]]]:
    async with sessions() as session:
        file = await session.get_one(EligibilityFile, file_id, populate_existing=True)
        rows = await session.execute(
            select(
                EligibilityFileProblem.position,
                EligibilityFileProblem.member,
                EligibilityFileProblem.code,
            )
            .where(EligibilityFileProblem.file_id == file_id)
            .order_by(EligibilityFileProblem.position)
        )
        return file, [tuple(row) for row in rows]  # type: ignore[misc]


async def family_tiers(session: AsyncSession, surname: str) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Member.first_name, Coverage.tier)
        .join(Coverage, Coverage.member_id == Member.id)
        .where(Member.last_name == surname)
        .order_by(Member.first_name, Coverage.effective_date)
    )
    return [(name, tier.value) for name, tier in rows]


async def test_a_csv_roster_is_applied_family_by_family_with_a_report(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given a received roster
    async with sessions() as session:
        _, plans = await group_and_plans(session)
    file_id, _ = await received(sessions, "G100001", roster(plans[0]))
    # when its job runs
    assert await jobs.run_job(sessions, job_settings(settings), file_id)
    # then the good family is covered at the FAMILY tier, and every other line is reported
    file, problems = await file_and_problems(sessions, file_id)
    assert file.status is FileStatus.COMPLETED_WITH_ERRORS
    assert (file.members_total, file.members_processed) == (2, 2)
    assert (file.applied_count, file.pending_count, file.rejected_count) == (3, 0, 3)
    assert problems == [
        (5, "Dee Fileone", "INVALID_DATE"),
        (6, "Eve Fileone", "SUBSCRIBER_LINE_INVALID"),
        (7, "99999999999", "MEMBER_NOT_FOUND"),
    ]
    async with sessions() as session:
        tiers = await family_tiers(session, "Fileone")
    # (the child ages out in 2041; the couple is covered on after that)
    assert tiers == [
        ("Ann", "FAMILY"), ("Ann", "EMPLOYEE_SPOUSE"),
        ("Ben", "FAMILY"), ("Ben", "EMPLOYEE_SPOUSE"),
        ("Cal", "FAMILY"),
    ]  # fmt: skip


async def test_a_file_gives_the_same_roster_as_the_portal_form(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given the same families, once as a file for G100001, once submitted to G100002
    async with sessions() as session:
        _, plans_1 = await group_and_plans(session, "G100001")
        group_2, plans_2 = await group_and_plans(session, "G100002")
    file_id, _ = await received(sessions, "G100001", roster(plans_1[0], "Viafile"))
    parsed = csv_roster.parse(roster(plans_2[0], "Viaform"), ssn_key=job_settings(settings).ssn_key)
    # when both are applied
    await jobs.run_job(sessions, job_settings(settings), file_id)
    async with sessions.begin() as session:
        statuses = []
        for index, unit in enumerate(parsed.units):
            now = dt.datetime.now(dt.UTC)
            ctx = ItemContext(session, group_2, now.date(), now, Limits())
            result = await submit(
                ctx, key=f"form-{index}", changes=unit.changes, submitter=Submitter(None, None)
            )
            statuses += [item.status for item in result.items]
    # then the resulting coverage and the statuses are the same
    async with sessions() as session:
        via_file, via_form = (
            await family_tiers(session, "Viafile"),
            await family_tiers(session, "Viaform"),
        )
    assert via_file == via_form
    file, _ = await file_and_problems(sessions, file_id)
    assert (file.applied_count, file.rejected_count - len(parsed.problems)) == (
        statuses.count(ChangeStatus.APPLIED),
        statuses.count(ChangeStatus.REJECTED),
    )


async def test_the_same_file_twice_is_applied_once(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessions() as session:
        _, plans = await group_and_plans(session)
    content = roster(plans[0], "Twice")
    first, _ = await received(sessions, "G100001", content)
    await jobs.run_job(sessions, job_settings(settings), first)
    # when the same bytes arrive again
    again, duplicate = await received(sessions, "G100001", content)
    # then they are recognised, and running the job again does nothing
    assert (again, duplicate) == (first, True)
    assert not await jobs.run_job(sessions, job_settings(settings), again)
    async with sessions() as session:
        count = await session.scalar(select(func.count()).where(Member.last_name == "Twice"))
    assert count == 3


async def test_an_interrupted_job_resumes_without_applying_anything_twice(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given a job whose worker applied the first family, then died (its lease ran out)
    async with sessions() as session:
        _, plans = await group_and_plans(session)
    file_id, _ = await received(sessions, "G100001", roster(plans[0], "Resumed"))
    job = job_settings(settings)
    parsed = csv_roster.parse(roster(plans[0], "Resumed"), ssn_key=job.ssn_key)
    assert await jobs._claim(sessions, file_id, dt.datetime.now(dt.UTC))
    await jobs._start_applying(sessions, file_id, parsed)
    await jobs._apply_family(sessions, job, file_id, 0, parsed.units[0])
    async with sessions.begin() as session:
        expired = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(
            update(EligibilityFile).where(EligibilityFile.id == file_id).values(lease_until=expired)
        )
    assert await jobs.due_files(sessions) == [file_id]
    # when a worker takes it up again
    assert await jobs.run_job(sessions, job, file_id)
    # then it completes with the same result as one clean run, and no member twice
    file, problems = await file_and_problems(sessions, file_id)
    assert (file.status, file.attempts, file.members_processed) == (
        FileStatus.COMPLETED_WITH_ERRORS, 2, 2,
    )  # fmt: skip
    assert (file.applied_count, file.rejected_count, len(problems)) == (3, 3, 3)
    async with sessions() as session:
        members = await session.scalar(select(func.count()).where(Member.last_name == "Resumed"))
        assert members == 3
        assert len(await family_tiers(session, "Resumed")) == 5  # as in the first test


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"action,effective_date\xff,reason\r\nADD,2027-01-01,NEW_HIRE\r\n", "NOT_UTF8"),
        (b"action,effective_date,reasn\r\nADD,2027-01-01,NEW_HIRE\r\n", "BAD_HEADER"),
        (b"first_name,last_name\r\nAnn,Lee\r\n", "BAD_HEADER"),
    ],
    ids=["not-utf8", "misspelt-column", "missing-columns"],
)
async def test_an_unreadable_file_is_rejected_whole_and_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, content: bytes, code: str
) -> None:
    async with sessions() as session:
        members_before = await session.scalar(select(func.count(Member.id)))
    file_id, _ = await received(sessions, "G100001", content)
    await jobs.run_job(sessions, job_settings(settings), file_id)
    file, problems = await file_and_problems(sessions, file_id)
    assert file.status is FileStatus.REJECTED
    assert problems == [(0, None, code)]
    assert file.error
    async with sessions() as session:
        assert await session.scalar(select(func.count(Member.id))) == members_before


@pytest.mark.parametrize("content", [b"", b"  \r\n"])
async def test_an_empty_upload_is_refused_at_once(
    sessions: async_sessionmaker[AsyncSession], content: bytes
) -> None:
    with pytest.raises(RuleViolation) as refused:
        await received(sessions, "G100001", content)
    assert refused.value.problems[0].code == "EMPTY_FILE"


def test_the_template_parses_into_one_family() -> None:
    parsed = csv_roster.parse(csv_roster.template().encode(), ssn_key="k" * 32)
    assert parsed.problems == []
    assert [len(unit.changes) for unit in parsed.units] == [2]


def test_portal_import_eligibility_applies_a_file_and_prints_the_report(tmp_path: Path) -> None:
    # given a migrated, seeded database and a file terminating a member it does not have
    env = portal_env(tmp_path)
    assert run_portal(["migrate"], env).returncode == 0
    assert run_portal(["seed", "--groups", "2", "--members", "30"], env).returncode == 0
    path = tmp_path / "changes.csv"
    path.write_bytes(
        b"action,effective_date,reason,member_id\r\n"
        b"TERMINATE,2026-12-31,END_OF_EMPLOYMENT,99999999999\r\n"
    )
    # when it is imported
    result = run_portal(["import-eligibility", str(path), "--group", "g100001"], env)
    # then the job ran and the report names the line and what to fix
    assert result.returncode == 0, result.stderr
    assert "COMPLETED_WITH_ERRORS" in result.stdout
    assert "line 2 (99999999999): MEMBER_NOT_FOUND" in result.stdout
    again = run_portal(["import-eligibility", str(path), "--group", "G100001"], env)
    assert "received before" in again.stderr


def test_a_family_larger_than_one_submission_is_cut_with_a_report() -> None:
    # given a subscriber followed by 100 children (a submission takes 100 changes)
    lines = [HEADER, f"ADD,{START},NEW_HIRE,SUBSCRIBER,,Big,Family,1970-01-01,F,DPPO-PLUS"]
    lines += [f"ADD,{START},NEW_HIRE,CHILD,,Kid{n},Family,2015-01-01,M," for n in range(100)]
    # when it is read
    parsed = csv_roster.parse(("\r\n".join(lines) + "\r\n").encode(), ssn_key="k" * 32)
    # then the family keeps 100 changes and the last child is reported, not dropped silently
    assert [len(unit.changes) for unit in parsed.units] == [100]
    assert [(p.position, p.code) for p in parsed.problems] == [(102, "FAMILY_TOO_LARGE")]


async def test_a_job_that_keeps_stopping_is_given_up_visibly(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # given a file whose job has stopped three times (its lease ran out each time)
    file_id, _ = await received(sessions, "G100001", b"action,effective_date,reason\r\n")
    async with sessions.begin() as session:
        await session.execute(
            update(EligibilityFile)
            .where(EligibilityFile.id == file_id)
            .values(
                status=FileStatus.APPLYING,
                attempts=jobs.MAX_ATTEMPTS,
                lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
            )
        )
    # when a worker looks for work
    due = await jobs.due_files(sessions)
    # then the file is not taken up again but rejected with the reason
    file, _ = await file_and_problems(sessions, file_id)
    assert file_id not in due
    assert file.status is FileStatus.REJECTED
    assert file.error is not None
    assert "stopped 3 times" in file.error
