"""Full-file 834s (BGN08 RX or 4, loops 030): compared with the roster, new members added,
plan differences reported, and members left out terminated only when the group says so,
within its safety share; beyond it the whole file waits for a rep's decision."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.services.dates import add_months
from api.services.eligibility_files import jobs
from api.settings import Settings
from db.models import (
    AuditEvent,
    Coverage,
    EligibilityFile,
    EligibilityFileProblem,
    FileStatus,
    Group,
    GroupPlan,
    Member,
    Plan,
    Relationship,
)
from tests.eligibility_support import group_and_plans
from tests.helpers import Tokens, global_id, graphql, graphql_ok
from tests.test_x12_834 import START, plan, run_file
from tests.x12_corpus import Family834, Person834, family, interchange

AS_OF = add_months(START, 1)
"""The full files' DTP*007: the roster as of the month after the families start."""
LAST_DAY = AS_OF - dt.timedelta(days=1)
"""Where a member left out of such a file is terminated."""


def audit(families: list[Family834]) -> list[Family834]:
    """The same families as a full file lists them (maintenance 030)."""
    return [dataclasses.replace(fam, maintenance="030") for fam in families]


RELATIONSHIP_CODES = {Relationship.SPOUSE: "01", Relationship.DOMESTIC_PARTNER: "53",
                      Relationship.CHILD: "19"}  # fmt: skip


async def seeded(sessions: async_sessionmaker[AsyncSession]) -> list[Family834]:
    """G100001's seeded families covered on AS_OF or later, by carrier member ID (ZZ)."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Member, Plan.code)
                .join(Group, Group.id == Member.group_id)
                .join(Coverage, Coverage.member_id == Member.id)
                .join(GroupPlan, GroupPlan.id == Coverage.group_plan_id)
                .join(Plan, Plan.id == GroupPlan.plan_id)
                .where(Group.group_number == "G100001", Member.last_name.not_like("Xfam%"))
                .where(or_(Coverage.termination_date.is_(None), Coverage.termination_date >= AS_OF))
                .order_by(Member.member_id)
            )
        ).all()
    families: dict[str, Family834] = {}
    for member, code in rows:
        person = Person834(
            member.first_name, member.last_name, member.date_of_birth, member.sex.value,
            RELATIONSHIP_CODES.get(member.relationship, "18"), member_id=member.member_id,
        )  # fmt: skip
        number = member.member_id[:-2]
        if member.relationship is Relationship.SUBSCRIBER:
            families.setdefault(number, Family834(person, [], code, START, subscriber_ref=number))
        elif number in families and person not in families[number].dependents:
            families[number].dependents.append(person)
    return list(families.values())


async def full_file(
    sessions: async_sessionmaker[AsyncSession],
    families: list[Family834],
    control: int,
    action: str = "RX",
) -> bytes:
    """A full file of the seeded roster and ``families``, as of AS_OF."""
    listed = audit([*await seeded(sessions), *families])
    return interchange(
        listed, group_number="G100001", control=control, action=action, effective=AS_OF
    )


async def enrolled(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, count: int, code: str
) -> list[Family834]:
    """``count`` families (subscriber, spouse, child) enrolled by a change file."""
    families = [family(100 + n, plan=code, start=START) for n in range(count)]
    file_id, _ = await run_file(sessions, settings, interchange(families, group_number="G100001"))
    file, problems = await report(sessions, file_id)
    assert (file.status, file.applied_count, problems) == (FileStatus.COMPLETED, 3 * count, [])
    return families


async def configure(
    sessions: async_sessionmaker[AsyncSession], *, terminates: bool, percent: int | None = None
) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(Group)
            .where(Group.group_number == "G100001")
            .values(full_file_terminates_missing=terminates, full_file_safety_percent=percent)
        )


async def ends(sessions: async_sessionmaker[AsyncSession], last_name: str) -> set[dt.date | None]:
    async with sessions() as session:
        found = await session.scalars(
            select(Coverage.termination_date)
            .join(Member, Member.id == Coverage.member_id)
            .where(Member.last_name == last_name)
        )
        return set(found)


async def still_covered(sessions: async_sessionmaker[AsyncSession], last_name: str) -> bool:
    """No coverage of the family ends by LAST_DAY (a child's age-out end is later)."""
    return all(end is None or end > LAST_DAY for end in await ends(sessions, last_name))


async def members_named(sessions: async_sessionmaker[AsyncSession], last_name: str) -> int:
    async with sessions() as session:
        count = await session.scalar(select(func.count()).where(Member.last_name == last_name))
    return int(count or 0)


async def report(
    sessions: async_sessionmaker[AsyncSession], file_id: int
) -> tuple[EligibilityFile, list[tuple[str, str]]]:
    """The file and its report's (code, message) lines, in file order."""
    async with sessions() as session:
        file = await session.get_one(EligibilityFile, file_id, populate_existing=True)
        rows = await session.execute(
            select(EligibilityFileProblem.code, EligibilityFileProblem.message)
            .where(EligibilityFileProblem.file_id == file_id)
            .order_by(EligibilityFileProblem.position, EligibilityFileProblem.id)
        )
        return file, [(code, message) for code, message in rows]


def codes(problems: list[tuple[str, str]]) -> list[str]:
    return [code for code, _ in problems]


async def test_a_full_file_that_matches_the_roster_changes_nothing(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given three enrolled families (matched by SSN, and the children by name and birth)
    families = await enrolled(sessions, settings, 3, await plan(sessions))
    # when a full file lists exactly them ("4": verify)
    file_id, _ = await run_file(
        sessions, settings, await full_file(sessions, families, 2, action="4")
    )
    # then it is a full file with nothing to do
    file, problems = await report(sessions, file_id)
    assert (file.status, file.full_file, file.missing_count) == (FileStatus.COMPLETED, True, 0)
    assert (file.applied_count, file.members_total, problems) == (0, 0, [])


async def test_new_members_are_added_and_those_left_out_only_reported_by_default(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given three enrolled families and a group not set up to terminate from full files
    code = await plan(sessions)
    families = await enrolled(sessions, settings, 3, code)
    # when a full file lists the first two and a new family
    newcomers = family(200, plan=code, start=START)
    file_id, _ = await run_file(
        sessions, settings, await full_file(sessions, [*families[:2], newcomers], 2)
    )
    # then the new family is enrolled, and the left-out one reported but still covered
    file, problems = await report(sessions, file_id)
    assert (file.status, file.applied_count, file.missing_count) == (FileStatus.COMPLETED, 3, 3)
    assert await members_named(sessions, "Xfam200") == 3
    assert codes(problems) == ["MISSING_FROM_FILE"] * 3
    assert all("not set up to terminate" in message for _, message in problems)
    assert await still_covered(sessions, families[2].subscriber.last)


async def test_a_configured_group_terminates_those_left_out_within_the_safety_share(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given ten enrolled families (30 members) and a group that terminates from full files
    families = await enrolled(sessions, settings, 10, await plan(sessions))
    await configure(sessions, terminates=True)
    # when a full file leaves one family out: 3 of 30 members, exactly the 10 % share
    file_id, _ = await run_file(sessions, settings, await full_file(sessions, families[:9], 2))
    # then that family's coverage ends on the last day before the file's month
    file, problems = await report(sessions, file_id)
    assert (file.status, file.applied_count, file.missing_count) == (FileStatus.COMPLETED, 1, 3)
    assert await ends(sessions, families[9].subscriber.last) == {LAST_DAY}
    assert await still_covered(sessions, families[0].subscriber.last)
    assert codes(problems) == ["MISSING_FROM_FILE"] * 3
    assert all(f"terminated on {LAST_DAY.isoformat()}" in message for _, message in problems)


async def test_an_unreadable_member_loop_keeps_everyone_left_out_covered(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given a configured group and a full file that leaves a family out and has a loop
    # with a relationship the plan does not cover (who is missing is then uncertain)
    families = await enrolled(sessions, settings, 10, await plan(sessions))
    await configure(sessions, terminates=True)
    listed = await full_file(sessions, families[:9], 2)
    content = listed.replace(b"INS*N*19*030", b"INS*N*04*030", 1)  # grandchild: not covered
    # when it runs
    file_id, _ = await run_file(sessions, settings, content)
    # then nobody is terminated, and the report says why
    file, problems = await report(sessions, file_id)
    assert file.status is FileStatus.COMPLETED_WITH_ERRORS
    assert await still_covered(sessions, families[9].subscriber.last)
    assert codes(problems).count("UNKNOWN_RELATIONSHIP") == 1
    missing = [message for code, message in problems if code == "MISSING_FROM_FILE"]
    # (the unreadable child is one of them: the file does not list them either)
    assert len(missing) == 3 + 1
    assert all("could not be read" in message for message in missing)


async def test_a_member_id_not_on_the_roster_is_refused_not_added_again(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given a family enrolled, and a full file naming a member ID nobody is covered under
    families = await enrolled(sessions, settings, 1, await plan(sessions))
    ghost = family(230, plan=await plan(sessions), start=START, spouse=False, children=0)
    ghost.subscriber = dataclasses.replace(ghost.subscriber, member_id="99999999900")
    # when it runs
    file_id, _ = await run_file(
        sessions, settings, await full_file(sessions, [*families, ghost], 2)
    )
    # then that loop is refused with what to do, and no member is created for it
    file, problems = await report(sessions, file_id)
    assert (file.status, file.applied_count) == (FileStatus.COMPLETED_WITH_ERRORS, 0)
    assert codes(problems) == ["MEMBER_NOT_ON_ROSTER"]
    assert "025 reinstatement" in problems[0][1]
    assert await members_named(sessions, "Xfam230") == 0


async def test_a_different_plan_is_reported_not_changed(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given a family enrolled on the group's first plan
    families = await enrolled(sessions, settings, 1, await plan(sessions))
    async with sessions() as session:
        _, plans = await group_and_plans(session)
    # when a full file lists the subscriber on the other plan
    moved = [dataclasses.replace(families[0], plan=plans[1])]
    file_id, _ = await run_file(sessions, settings, await full_file(sessions, moved, 2))
    # then the difference is reported and the coverage is as it was
    file, problems = await report(sessions, file_id)
    assert (file.status, file.applied_count) == (FileStatus.COMPLETED, 0)
    assert codes(problems) == ["PLAN_DIFFERS"]
    assert plans[1] in problems[0][1]
    assert plans[0] in problems[0][1]


async def test_a_resumed_full_file_applies_the_changes_decided_when_it_first_ran(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    # given a full file whose job enrolled a new family, then stopped before finishing
    code = await plan(sessions)
    families = await enrolled(sessions, settings, 2, code)
    newcomers = family(210, plan=code, start=START)
    file_id, _ = await run_file(
        sessions, settings, await full_file(sessions, [*families, newcomers], 2)
    )
    stale = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    async with sessions.begin() as session:
        await session.execute(
            update(EligibilityFile)
            .where(EligibilityFile.id == file_id)
            .values(status=FileStatus.APPLYING, lease_until=stale)
        )
    # when another worker takes it up (the roster now has the new family)
    assert await jobs.run_job(sessions, jobs.JobSettings.from_settings(settings), file_id)
    # then it replays the same family instead of comparing afresh: same counts, no duplicate
    file, problems = await report(sessions, file_id)
    assert (file.status, file.applied_count, file.members_total) == (FileStatus.COMPLETED, 3, 1)
    assert problems == []
    assert await members_named(sessions, "Xfam210") == 3


async def test_beyond_the_safety_share_the_file_waits_for_a_rep_who_approves_it(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    anonymous: httpx.AsyncClient,
    tokens: Tokens,
) -> None:
    # given ten enrolled families and a group that terminates beyond 5 % only with a rep
    code = await plan(sessions)
    families = await enrolled(sessions, settings, 10, code)
    await configure(sessions, terminates=True, percent=5)
    roster = sum(1 + len(fam.dependents) for fam in await seeded(sessions)) + 30
    # when a full file leaves two families out (6 members, over 5 % of the roster) and adds one
    newcomers = family(220, plan=code, start=START)
    file_id, _ = await run_file(
        sessions, settings, await full_file(sessions, [*families[:8], newcomers], 2)
    )
    # then nothing of it is applied and it waits, saying why
    file, problems = await report(sessions, file_id)
    assert (file.status, file.applied_count, file.missing_count) == (
        FileStatus.AWAITING_APPROVAL, 0, 6,
    )  # fmt: skip
    assert file.error is not None
    assert f"6 of {roster} covered members ({600 / roster:.1f} %)" in file.error
    assert "safety share of 5 %" in file.error
    assert codes(problems) == ["SAFETY_SHARE_EXCEEDED"] + ["MISSING_FROM_FILE"] * 6
    assert await members_named(sessions, "Xfam220") == 0
    # and a rep finds it in the list of files awaiting approval
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    listed = graphql_ok(await graphql(anonymous, AWAITING, token=rep))
    waiting = listed["eligibilityFilesAwaitingApproval"]
    assert waiting["totalCount"] == 1
    assert waiting["edges"][0]["node"]["id"] == global_id("EligibilityFile", file_id)
    # when the rep approves it
    gid = global_id("EligibilityFile", file_id)
    decided = graphql_ok(
        await graphql(anonymous, APPROVE, {"id": gid, "reason": "layoff"}, token=rep)
    )
    assert decided["eligibilityFileApprove"]["userErrors"] == []
    assert decided["eligibilityFileApprove"]["file"]["status"] == "RECEIVED"
    await jobs.run_job(sessions, jobs.JobSettings.from_settings(settings), file_id)
    # then the file is applied, terminations included, and the decision is audited
    file, _ = await report(sessions, file_id)
    assert (file.status, file.applied_count) == (FileStatus.COMPLETED, 3 + 2)
    assert await ends(sessions, families[9].subscriber.last) == {LAST_DAY}
    assert await members_named(sessions, "Xfam220") == 3
    async with sessions() as session:
        actions = await session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == str(file_id))
        )
        assert "eligibilityFile.approve" in set(actions)
    # and approving it again is refused with a clear error
    again = graphql_ok(await graphql(anonymous, APPROVE, {"id": gid, "reason": "x"}, token=rep))
    assert again["eligibilityFileApprove"]["userErrors"][0]["code"] == "NOT_AWAITING_APPROVAL"


async def test_a_rep_rejects_a_held_file_and_a_leader_cannot_decide(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    anonymous: httpx.AsyncClient,
    tokens: Tokens,
) -> None:
    # given a held file (two families left out, over the group's 5 %)
    families = await enrolled(sessions, settings, 4, await plan(sessions))
    await configure(sessions, terminates=True, percent=5)
    file_id, _ = await run_file(sessions, settings, await full_file(sessions, families[:2], 2))
    gid = global_id("EligibilityFile", file_id)
    # when a benefit leader tries to approve it, the API refuses (no rep scope)
    leader = await tokens.for_user("leader@demo.test", ALL_SCOPES)
    refused = (await graphql(anonymous, APPROVE, {"id": gid, "reason": "ok"}, token=leader)).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # and a blank reason is refused
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    blank = graphql_ok(await graphql(anonymous, REJECT, {"id": gid, "reason": " "}, token=rep))
    assert blank["eligibilityFileReject"]["userErrors"][0]["code"] == "REASON_REQUIRED"
    # when the rep rejects it
    sent = {"id": gid, "reason": "The file is missing the second location; resend it."}
    rejected = graphql_ok(await graphql(anonymous, REJECT, sent, token=rep))
    # then it is REJECTED with the rep's message and nobody lost coverage
    assert rejected["eligibilityFileReject"]["file"]["status"] == "REJECTED"
    file, _ = await report(sessions, file_id)
    assert file.status is FileStatus.REJECTED
    assert "second location" in (file.error or "")
    assert await still_covered(sessions, families[3].subscriber.last)


async def test_a_rep_sets_the_groups_full_file_policy(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    rep = await tokens.for_user("rep@demo.test", ALL_SCOPES)
    gid = global_id("Group", 1)
    sent = {"id": gid, "fullFileTerminatesMissing": True, "fullFileSafetyPercent": 5}
    done = graphql_ok(await graphql(anonymous, GROUP_UPDATE, {"input": sent}, token=rep))
    assert done["groupUpdate"]["group"] == {
        "fullFileTerminatesMissing": True, "fullFileSafetyPercent": 5,
    }  # fmt: skip
    back = {"id": gid, "fullFileSafetyPercent": None}
    done = graphql_ok(await graphql(anonymous, GROUP_UPDATE, {"input": back}, token=rep))
    assert done["groupUpdate"]["group"]["fullFileSafetyPercent"] is None
    bad = {"id": gid, "fullFileSafetyPercent": 0}
    refused = graphql_ok(await graphql(anonymous, GROUP_UPDATE, {"input": bad}, token=rep))
    assert refused["groupUpdate"]["userErrors"][0]["code"] == "INVALID_SAFETY_PERCENT"


AWAITING = "{ eligibilityFilesAwaitingApproval { totalCount edges { node { id status } } } }"
APPROVE = """mutation($id: ID!, $reason: String!) {
  eligibilityFileApprove(input: {id: $id, reason: $reason}) {
    file { status } userErrors { code message field } } }"""
REJECT = """mutation($id: ID!, $reason: String!) {
  eligibilityFileReject(input: {id: $id, reason: $reason}) {
    file { status error } userErrors { code message field } } }"""
GROUP_UPDATE = """mutation($input: GroupUpdateInput!) {
  groupUpdate(input: $input) {
    group { fullFileTerminatesMissing fullFileSafetyPercent } userErrors { code field } } }"""
