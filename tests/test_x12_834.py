"""X12 834 files through the eligibility-file job: pyx12 validates them and writes the 999,
each member loop becomes the change the portal form would make, and a broken file is
refused whole, with a report that says what to fix, changing nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.services.dates import add_months, today
from api.services.eligibility.context import ItemContext
from api.services.eligibility.engine import Submitter, submit
from api.services.eligibility.rules import Limits
from api.services.eligibility_files import jobs, x12_834
from api.services.eligibility_files.intake import Upload, receive
from api.settings import Settings
from db.models import ChangeStatus, Coverage, EligibilityFile, FileFormat, FileStatus, Group, Member
from tests.eligibility_support import group_and_plans
from tests.helpers import Tokens
from tests.test_eligibility_files import family_tiers, file_and_problems
from tests.x12_corpus import Family834, Person834, family, interchange

START = add_months(today().replace(day=1), 1)


async def plan(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with sessions() as session:
        _, plans = await group_and_plans(session)
    return plans[0]


async def run_file(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, content: bytes
) -> tuple[int, bool]:
    async with sessions.begin() as session:
        group = await session.scalar(select(Group).where(Group.group_number == "G100001"))
        assert group is not None
        upload = Upload("enroll.834", content, FileFormat.X12_834, source="EDI")
        received = await receive(session, group=group, upload=upload, max_bytes=10_000_000)
    await jobs.run_job(sessions, jobs.JobSettings.from_settings(settings), received.file.id)
    return received.file.id, received.duplicate


async def members_named(sessions: async_sessionmaker[AsyncSession], prefix: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(Member.last_name.startswith(prefix))
        )
    return int(count or 0)


async def test_an_834_of_new_families_is_applied_and_acknowledged(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given an 834 adding three families (a couple with a child; a subscriber alone)
    code = await plan(sessions)
    families = [family(n, plan=code, start=START) for n in (1, 2)]
    families.append(family(3, plan=code, start=START, spouse=False, children=0))
    # when its job runs
    file_id, _ = await run_file(sessions, settings, interchange(families, group_number="G100001"))
    # then every member is covered, at the tier their family makes, and the 999 accepts it
    file, problems = await file_and_problems(sessions, file_id)
    assert (file.status, file.applied_count, problems) == (FileStatus.COMPLETED, 7, [])
    assert file.acknowledgment is not None
    assert "AK9*A*1*1*1" in file.acknowledgment
    assert (file.interchange_sender, file.interchange_control) == ("BENEFITSCO", "000000001")
    async with sessions() as session:
        first = await family_tiers(session, "Xfam1")
        alone = await family_tiers(session, "Xfam3")
    assert first[0] == ("Kid0", "FAMILY")
    assert alone == [("Pat", "EMPLOYEE")]


async def test_terminations_and_plan_changes_name_the_member_id(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given a family enrolled by one 834
    code = await plan(sessions)
    await run_file(
        sessions, settings, interchange([family(7, plan=code, start=START)], group_number="G100001")
    )
    async with sessions() as session:
        subscriber = await session.scalar(
            select(Member.member_id).where(Member.last_name == "Xfam7", Member.first_name == "Pat")
        )
    assert subscriber is not None
    # when a second 834 ends the subscriber's coverage at the end of the month
    end = add_months(START, 1) - dt.timedelta(days=1)
    person = Person834("Pat", "Xfam7", dt.date(1980, 8, 8), member_id=subscriber)
    ending = Family834(person, [], code, START, "024", "08", "E00000007", end=end)
    file_id, _ = await run_file(
        sessions, settings, interchange([ending], group_number="G100001", control=2)
    )
    # then the whole family's coverage ends that day
    file, problems = await file_and_problems(sessions, file_id)
    assert (file.status, file.applied_count, problems) == (FileStatus.COMPLETED, 1, [])
    async with sessions() as session:
        ends = await session.scalars(
            select(Coverage.termination_date)
            .join(Member, Member.id == Coverage.member_id)
            .where(Member.last_name == "Xfam7")
        )
        assert set(ends) == {end}, "no span of the family stays open or runs past the end"


async def test_the_same_interchange_control_number_is_not_applied_twice(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    code = await plan(sessions)
    first, _ = await run_file(
        sessions,
        settings,
        interchange([family(11, plan=code, start=START)], group_number="G100001"),
    )
    # a different file (another family) under the control number the sender already used
    again, duplicate = await run_file(
        sessions,
        settings,
        interchange([family(12, plan=code, start=START)], group_number="G100001"),
    )
    assert (again, duplicate) == (first, True)
    assert await members_named(sessions, "Xfam12") == 0


def _damaged(good: bytes, damage: str) -> bytes:
    text = good.decode()
    lines = text.split("\n")
    edits = {
        "bad envelope": lambda: text.replace("*ZZ*BENEFITSCO     *", "*ZZ*BENEFITSCO*", 1),
        "mismatched control numbers": lambda: text.replace("IEA*1*000000001", "IEA*1*000000009"),
        "wrong version": lambda: text.replace("005010X220A1", "004010X095A1"),
        "missing required segment": lambda: "\n".join(
            line for line in lines if not line.startswith("NM1*IL*1*XFAM21*SAM")
        ),
        "unknown relationship": lambda: text.replace("INS*N*01*", "INS*N*99*", 1),
        "unknown coverage level": lambda: text.replace("*FAM~", "*XXX~", 1),
        "subscriber with no coverage": lambda: "\n".join(
            line for line in lines if not line.startswith(("HD*", "DTP*348"))
        ),
        "truncated": lambda: text[: len(text) // 2],
    }
    return edits[damage]().encode()


@pytest.mark.parametrize(
    ("damage", "code", "acknowledged"),
    [
        ("bad envelope", "NOT_AN_INTERCHANGE", False),
        ("mismatched control numbers", "CONTROL_NUMBER_MISMATCH", False),
        ("wrong version", "WRONG_VERSION", False),
        ("missing required segment", "INTERCHANGE_REJECTED", True),
        ("unknown relationship", "INTERCHANGE_REJECTED", True),
        ("unknown coverage level", "INTERCHANGE_REJECTED", True),
        ("subscriber with no coverage", "INTERCHANGE_REJECTED", True),
        ("truncated", "INTERCHANGE_REJECTED", True),
    ],
)
async def test_a_broken_834_is_rejected_whole_with_a_clear_report(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    damage: str,
    code: str,
    acknowledged: bool,
) -> None:
    # given a good 834, damaged
    plan_code = await plan(sessions)
    good = interchange([family(21, plan=plan_code, start=START)], group_number="G100001")
    # when its job runs
    file_id, _ = await run_file(sessions, settings, _damaged(good, damage))
    # then it is rejected with the reason first, a 999 that rejects it when there can be
    # one, and no member added
    file, problems = await file_and_problems(sessions, file_id)
    assert file.status is FileStatus.REJECTED
    assert problems[0] == (0, None, code)
    assert file.error
    assert (file.acknowledgment is not None) == acknowledged
    if acknowledged:
        assert "AK9*R" in (file.acknowledgment or "")
    assert await members_named(sessions, "Xfam21") == 0


async def test_bytes_that_are_not_x12_text_are_rejected(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    good = interchange([family(31, plan=await plan(sessions), start=START)], group_number="G100001")
    file_id, _ = await run_file(sessions, settings, good.replace(b"ELM", b"\xffLM"))
    file, problems = await file_and_problems(sessions, file_id)
    assert (file.status, problems) == (FileStatus.REJECTED, [(0, None, "NOT_X12_TEXT")])


async def test_a_dependent_before_its_subscriber_is_reported_and_the_rest_applies(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given a family whose child comes first, so it names a subscriber not yet enrolled
    code = await plan(sessions)
    fam = family(41, plan=code, start=START, spouse=False)
    child_first = Family834(fam.dependents[0], [], code, START, subscriber_ref=fam.subscriber_ref)
    content = interchange(
        [child_first, dataclasses.replace(fam, dependents=[])], group_number="G100001"
    )
    content = content.replace(b"INS*Y*19*", b"INS*N*19*")  # the child's loop is a dependent's
    # when the job runs
    file_id, _ = await run_file(sessions, settings, content)
    # then the child is refused with a reason, and the subscriber is enrolled
    file, problems = await file_and_problems(sessions, file_id)
    assert file.status is FileStatus.COMPLETED_WITH_ERRORS
    assert [p[1:] for p in problems] == [("Kid0 Xfam41", "MEMBER_NOT_FOUND")]
    assert await members_named(sessions, "Xfam41") == 1


async def test_a_thousand_member_834_is_processed(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    code = await plan(sessions)
    families = [family(1000 + n, plan=code, start=START, children=2) for n in range(250)]
    file_id, _ = await run_file(sessions, settings, interchange(families, group_number="G100001"))
    file, problems = await file_and_problems(sessions, file_id)
    assert (file.status, file.members_processed, file.applied_count) == (
        FileStatus.COMPLETED, 250, 1000,
    )  # fmt: skip
    assert problems == []
    async with sessions() as session:
        stored = await session.get_one(EligibilityFile, file_id)
        assert stored.members_total == 250


async def test_the_999_downloads_for_those_who_may_see_the_file(
    anonymous: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tokens: Tokens,
) -> None:
    # given a processed 834 of G100001
    sent = interchange([family(51, plan=await plan(sessions), start=START)], group_number="G100001")
    file_id, _ = await run_file(sessions, settings, sent)
    path = f"/exports/eligibility-files/{file_id}/999.x12"
    # when its benefit leader asks for its 999
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    response = await anonymous.get(path, headers={"Authorization": f"Bearer {leader}"})
    # then the one gets the acknowledgment, and nobody gets it without a token
    assert response.status_code == 200
    assert "ST*999*" in response.text
    assert "AK9*A" in response.text
    assert (await anonymous.get(path)).status_code == 401


async def test_an_834_gives_the_same_roster_as_the_portal_form(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given the same two families, once as an 834 for G100001, once submitted to G100002
    async with sessions() as session:
        _, plans_1 = await group_and_plans(session, "G100001")
        group_2, plans_2 = await group_and_plans(session, "G100002")
    as_file = [family(61, plan=plans_1[0], start=START), family(62, plan=plans_1[0], start=START)]
    as_form = [dataclasses.replace(f, plan=plans_2[0]) for f in as_file]
    for fam in as_form:
        fam.subscriber = dataclasses.replace(fam.subscriber, last=_other(fam.subscriber.last))
        fam.dependents = [dataclasses.replace(d, last=_other(d.last)) for d in fam.dependents]
    # when the file's job runs, and the form path gets the very changes the file reads into
    file_id, _ = await run_file(sessions, settings, interchange(as_file, group_number="G100001"))
    parsed = x12_834.parse(
        interchange(as_form, group_number="G100002", control=9), ssn_key=_key(settings)
    )
    statuses = []
    async with sessions.begin() as session:
        now = dt.datetime.now(dt.UTC)
        ctx = ItemContext(session, group_2, now.date(), now, Limits())
        for index, unit in enumerate(parsed.parsed.units):
            result = await submit(
                ctx, key=f"form-{index}", changes=unit.changes, submitter=Submitter(None, None)
            )
            statuses += [item.status for item in result.items]
    # then coverage and outcomes are the same
    async with sessions() as session:
        for n in (61, 62):
            via_file = await family_tiers(session, f"Xfam{n}")
            assert via_file == await family_tiers(session, f"Yfam{n}")
            assert via_file, "the family is covered"
    file, _ = await file_and_problems(sessions, file_id)
    assert (file.applied_count, file.rejected_count) == (
        statuses.count(ChangeStatus.APPLIED), statuses.count(ChangeStatus.REJECTED),
    )  # fmt: skip


def _other(last_name: str) -> str:
    return last_name.replace("Xfam", "Yfam")


def _key(settings: Settings) -> str:
    return settings.ssn_hash_key.get_secret_value()
