"""One-time invitation links (SPEC §2 Web access): issuing, emailing and accepting them.

- The link carries 256 random bits (``secrets.token_urlsafe(32)``); only their SHA-256 is
  stored, so a copy of the table cannot be turned into working links. A fast hash is
  enough at that entropy (the same reasoning as SP 800-63B-4 §3.1.2.2 for look-up secrets).
- A link expires after ``settings.invitation_days`` (7 by default), works once, and stops
  working when a newer one is sent: a user has at most one live invitation.
- The token alone says whose invitation it is: the acceptance form has no user field that
  could be changed to set someone else's password.
- The email is recorded in the inviting transaction (``api.services.mail``, the outbox):
  no invitation without its email, and no email for an invitation that was rolled back.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.passwords import PasswordProblem, hash_password, password_problems
from api.services.mail import enqueue_email
from api.settings import Settings
from db.models import Group, Invitation, User, UserStatus

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100
ACCEPT_PATH = "/invitations/accept"
INVITATION_EMAIL = "invitation"
ACCESS_GRANTED_EMAIL = "access_granted"


class LinkRefusal(enum.StrEnum):
    """Why a one-time link (an invitation, a password reset) does not work, for the page
    to explain; never whose link it was."""

    UNKNOWN = "UNKNOWN"
    EXPIRED = "EXPIRED"
    USED = "USED"
    WITHDRAWN = "WITHDRAWN"


InvitationRefusal = LinkRefusal


@dataclass(frozen=True, slots=True)
class OpenInvitation:
    invitation: Invitation
    user: User


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The outcome of an attempt: ``refusal`` or password ``problems``, else done."""

    user: User | None = None
    refusal: InvitationRefusal | None = None
    problems: tuple[PasswordProblem, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.refusal is None and not self.problems


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def accept_url(settings: Settings, token: str) -> str:
    """The link in the email: the acceptance page on the public base URL (the issuer)."""
    return f"{settings.issuer.rstrip('/')}{ACCEPT_PATH}?{urlencode({'token': token})}"


async def revoke_invitations(session: AsyncSession, user_id: int, now: dt.datetime) -> None:
    """Every unused link of the user stops working."""
    await session.execute(
        update(Invitation)
        .where(
            Invitation.user_id == user_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


async def issue_invitation(
    session: AsyncSession,
    *,
    user: User,
    group: Group,
    invited_by: int | None,
    settings: Settings,
    now: dt.datetime,
) -> Invitation:
    """A new link for ``user`` (earlier ones revoked) and its email, in the caller's
    transaction. The token exists only in the email."""
    await revoke_invitations(session, user.id, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation(
        token_hash=token_hash(token),
        user_id=user.id,
        group_id=group.id,
        invited_by_user_id=invited_by,
        expires_at=now + dt.timedelta(days=settings.invitation_days),
    )
    session.add(invitation)
    await session.flush()
    enqueue_email(
        session,
        kind=INVITATION_EMAIL,
        to=user.email,
        subject=f"Set up your Group Portal account for {group.name}"[:300],
        body_text=_invitation_text(user, group, accept_url(settings, token), invitation),
        related_type="Invitation",
        related_id=str(invitation.id),
        now=now,
    )
    return invitation


def _invitation_text(user: User, group: Group, link: str, invitation: Invitation) -> str:
    expires = invitation.expires_at.strftime("%B %d, %Y at %H:%M UTC")
    return (
        f"Hello {user.name},\n\n"
        f"You have been given access to the Group Portal for {group.name} "
        f"({group.group_number}), where you can see bills, payments and eligibility.\n\n"
        f"Choose your password here:\n{link}\n\n"
        f"The link works once and expires on {expires}. If it has expired, ask your "
        "group's portal administrator or the carrier's representative to send a new one.\n\n"
        "If you did not expect this email, you can ignore it: nothing happens until the "
        "link is used.\n"
    )


def announce_access(
    session: AsyncSession, *, user: User, group: Group, settings: Settings, now: dt.datetime
) -> None:
    """A user who already has an account is told about the new group (no link to accept)."""
    enqueue_email(
        session,
        kind=ACCESS_GRANTED_EMAIL,
        to=user.email,
        subject=f"You now have Group Portal access to {group.name}"[:300],
        body_text=(
            f"Hello {user.name},\n\n"
            f"You now have access to {group.name} ({group.group_number}) in the Group "
            f"Portal. Sign in as usual: {settings.issuer.rstrip('/')}/signin\n"
        ),
        related_type="Group",
        related_id=group.group_number,
        now=now,
    )


async def open_invitation(
    session: AsyncSession, token: str, now: dt.datetime
) -> OpenInvitation | InvitationRefusal:
    """The live invitation this token belongs to, or why it does not work."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return InvitationRefusal.UNKNOWN
    found = (
        await session.execute(
            select(Invitation, User)
            .join(User, User.id == Invitation.user_id)
            .where(Invitation.token_hash == token_hash(token))
        )
    ).first()
    if found is None:
        return InvitationRefusal.UNKNOWN
    invitation, user = found
    if invitation.accepted_at is not None:
        return InvitationRefusal.USED
    if invitation.revoked_at is not None or user.status is not UserStatus.INVITED:
        return InvitationRefusal.WITHDRAWN
    if invitation.expires_at <= now:
        return InvitationRefusal.EXPIRED
    return OpenInvitation(invitation, user)


async def accept_invitation(
    session: AsyncSession, *, token: str, password: str, now: dt.datetime
) -> Acceptance:
    """Sets the invited user's password and activates them, spending the link.

    The password must pass ``password_problems`` (SP 800-63B-4); a refused password leaves
    the link usable. The link is spent by a conditional UPDATE, so of two concurrent
    submissions only one succeeds."""
    found = await open_invitation(session, token, now)
    if isinstance(found, InvitationRefusal):
        return Acceptance(refusal=found)
    user = found.user
    if problems := password_problems(password, email=user.email, name=user.name):
        return Acceptance(user=user, problems=tuple(problems))
    if not await _spend(session, found.invitation, now):
        return Acceptance(refusal=InvitationRefusal.USED)
    user.password_hash = hash_password(password)
    user.status = UserStatus.ACTIVE
    await revoke_invitations(session, user.id, now)
    await session.flush()
    return Acceptance(user=user)


async def _spend(session: AsyncSession, invitation: Invitation, now: dt.datetime) -> bool:
    spent = await session.scalar(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
        .returning(Invitation.id)
    )
    return spent is not None
