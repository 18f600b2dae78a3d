"""Activating a group (SPEC §2 Groups): "a group cannot be activated until each offered plan
has a rate schedule covering the effective date and at least one subscriber is enrolled".

Activation tells EDI operations to load the group's initial eligibility. The email is
recorded in the activation's own transaction (the outbox) and sent after it commits.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.services.mail import enqueue_email
from api.services.rules import Problem, refuse_if
from db.models import (
    Coverage,
    Group,
    GroupPlan,
    GroupStatus,
    Member,
    MemberStatus,
    Plan,
    RateSchedule,
    Relationship,
)

EDI_EMAIL_KIND = "edi.initial_eligibility"


async def activate_group(session: AsyncSession, group: Group, *, edi_operations: str) -> None:
    """PENDING_SETUP -> ACTIVE, and an email to ``edi_operations`` with the group's number,
    plans and effective date. Refuses with one problem per unmet precondition."""
    if group.status is not GroupStatus.PENDING_SETUP:
        message = f"{group.group_number} is {group.status}; only PENDING_SETUP groups activate."
        refuse_if([Problem("NOT_PENDING_SETUP", message, ("id",))])
    plans = await offered_plans(session, group)
    refuse_if(await activation_problems(session, group, plans))
    group.status = GroupStatus.ACTIVE
    notify_edi(session, group, [plan for _, plan in plans], to=edi_operations)
    await session.flush()


async def offered_plans(session: AsyncSession, group: Group) -> list[tuple[int, Plan]]:
    """(group plan id, plan) of each plan the group offers, by plan code."""
    stmt = (
        select(GroupPlan.id, Plan)
        .join(Plan, Plan.id == GroupPlan.plan_id)
        .where(GroupPlan.group_id == group.id)
        .order_by(Plan.code)
    )
    return [(group_plan_id, plan) for group_plan_id, plan in await session.execute(stmt)]


async def activation_problems(
    session: AsyncSession, group: Group, plans: list[tuple[int, Plan]]
) -> list[Problem]:
    """One problem per unmet precondition; a plan without rates names its code."""
    problems = []
    if not plans:
        problems.append(Problem("NO_PLANS_OFFERED", "Add at least one plan (groupPlanAdd)."))
    rated = await _rated_group_plans(session, group, [gp for gp, _ in plans])
    day = group.effective_date.isoformat()
    problems += [
        Problem(
            "PLAN_WITHOUT_RATES",
            f"{plan.code} has no rate schedule covering {day}; create one (rateScheduleCreate).",
            ("plans", plan.code),
        )
        for group_plan_id, plan in plans
        if group_plan_id not in rated
    ]
    if not await _has_enrolled_subscriber(session, group):
        message = "Enroll at least one subscriber with coverage before activating."
        problems.append(Problem("NO_SUBSCRIBER_ENROLLED", message))
    return problems


async def _rated_group_plans(
    session: AsyncSession, group: Group, group_plan_ids: list[int]
) -> set[int]:
    """Those of ``group_plan_ids`` with a schedule covering the group's effective date."""
    stmt = select(RateSchedule.group_plan_id).where(
        RateSchedule.group_plan_id.in_(group_plan_ids),
        RateSchedule.effective_from <= group.effective_date,
        RateSchedule.effective_to >= group.effective_date,
    )
    return set(await session.scalars(stmt))


async def _has_enrolled_subscriber(session: AsyncSession, group: Group) -> bool:
    """A subscriber of the group (not a merged duplicate) with coverage that has not ended
    before the group's effective date."""
    stmt = (
        select(Member.id)
        .join(Coverage, Coverage.member_id == Member.id)
        .where(
            Member.group_id == group.id,
            Member.relationship == Relationship.SUBSCRIBER,
            Member.status != MemberStatus.MERGED,
            or_(
                Coverage.termination_date.is_(None),
                Coverage.termination_date >= group.effective_date,
            ),
        )
        .limit(1)
    )
    return await session.scalar(stmt) is not None


def notify_edi(session: AsyncSession, group: Group, plans: list[Plan], *, to: str) -> None:
    """Queue the "load initial eligibility" email to EDI operations."""
    day = group.effective_date.isoformat()
    lines = [
        f"Group {group.group_number} is now active. Please load its initial eligibility.",
        "",
        f"Group number: {group.group_number}",
        f"Group name: {group.name}",
        f"Effective date: {day}",
        f"Billing mode: {group.billing_mode}",
        "Plans:",
        *(f"  - {plan.code}: {plan.name}" for plan in plans),
    ]
    enqueue_email(
        session,
        kind=EDI_EMAIL_KIND,
        to=to,
        subject=f"Load initial eligibility: group {group.group_number}, effective {day}",
        body_text="\n".join(lines) + "\n",
        related_type="Group",
        related_id=group.group_number,
    )
