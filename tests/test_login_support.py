"""Login troubleshooting and resets over HTTP (SPEC §2 Web access; issue 9): a user locked
by real failed sign-ins shows up locked with the reasons; support unlocks them and sends a
reset link under an access issue; MFA resets and sign-out everywhere; every refusal (staff
accounts, own account, missing or resolved issue, wrong callers); nothing secret is ever in
a response or in the schema; email changes need a rep.

Demo users: viewer@demo.test and leader@demo.test are benefit leaders (no MFA),
support@demo.test is support, rep@demo.test a rep, admin@demo.test an admin.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.auth.policy import ALL_SCOPES
from api.schema import build_schema
from api.services.mail import deliver_due
from api.services.users import create_user
from api.settings import Settings
from db.demo_identity import DEMO_PASSWORD, PORTAL_CLIENT
from db.models import (
    AccessIssue,
    AccessIssueCategory,
    AccessIssueEntry,
    AccessIssueEntryKind,
    AccessIssueStatus,
    AuditEvent,
    OutboundEmail,
    PasswordReset,
    RecoveryCode,
    Role,
    SignInSession,
    User,
    UserStatus,
)
from tests.helpers import Tokens, global_id, graphql, graphql_errors, graphql_ok
from tests.oauth_browser import Browser, code_from, enroll_totp, hidden_fields
from tests.test_invitations import Mailbox, mailbox  # noqa: F401  (the SMTP fixture)

BASE = "http://portal.test"
REDIRECT = "http://localhost:5173/callback"
REFERENCE = "AI-TEST01"
VIEW_FIELDS = """
  userId email name status staffRoles locked lockedUntil mfaEnrolled mfaEnrolledAt lastSignInAt
  recentLoginAttempts { at outcome reason ip userAgent }
  activeSessions { startedAt lastSeenAt expiresAt mfaPassed ip userAgent }
  activeTokenFamilies { clientId createdAt lastUsedAt expiresAt }
"""
TROUBLESHOOT = f"""
query ($email: String, $userId: ID) {{
  userTroubleshooting(email: $email, userId: $userId) {{ {VIEW_FIELDS} }}
}}
"""
RESET = f"""
mutation ($input: UserLoginResetInput!) {{
  userLoginReset(input: $input) {{ user {{ {VIEW_FIELDS} }} userErrors {{ field message code }} }}
}}
"""
EMAIL_CHANGE = """
mutation ($input: UserEmailChangeInput!) {
  userEmailChange(input: $input) { user { id email } userErrors { field message code } }
}
"""
WRONG = "not the password at all, clearly"


# --- helpers ----------------------------------------------------------------------------


async def staff(tokens: Tokens, email: str = "support@demo.test") -> str:
    return await tokens.for_user(email, ALL_SCOPES)


async def open_issue(
    connection: AsyncConnection,
    reference: str = REFERENCE,
    *,
    status: AccessIssueStatus = AccessIssueStatus.OPEN,
    subject_user_id: int | None = None,
) -> int:
    issue_id = await connection.scalar(
        insert(AccessIssue)
        .values(
            reference=reference, category=AccessIssueCategory.LOCKED_OUT, status=status,
            reporter_email="viewer@demo.test", reporter_email_key="viewer@demo.test",
            reporter_name="Victor Viewer", description="I am locked out of the portal.",
            subject_user_id=subject_user_id,
            first_response_due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        )
        .returning(AccessIssue.id)
    )  # fmt: skip
    assert issue_id is not None
    return int(issue_id)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """The real sign-in form, as a browser posts it."""
    page = await client.get("/signin")
    return await client.post(
        "/signin", data={**hidden_fields(page.text), "email": email, "password": password}
    )


async def lock(client: httpx.AsyncClient, email: str) -> None:
    for _ in range(5):
        assert (await sign_in(client, email, WRONG)).status_code == 400


async def view(client: httpx.AsyncClient, token: str, email: str) -> dict[str, Any]:
    data = graphql_ok(await graphql(client, TROUBLESHOOT, {"email": email}, token=token))
    found: dict[str, Any] = data["userTroubleshooting"]
    return found


async def reset(
    client: httpx.AsyncClient, token: str, user_id: int, actions: list[str], **extra: str
) -> httpx.Response:
    variables = {"userId": global_id("PortalUser", user_id), "accessIssueReference": REFERENCE}
    return await graphql(
        client, RESET, {"input": {**variables, "actions": actions, **extra}}, token=token
    )


def reset_errors(response: httpx.Response) -> list[str]:
    return [e["code"] for e in graphql_ok(response)["userLoginReset"]["userErrors"]]


async def emails_to(connection: AsyncConnection, address: str) -> list[str]:
    kinds = await connection.scalars(
        select(OutboundEmail.kind).where(OutboundEmail.to_address == address)
    )
    return list(kinds)


# --- the whole way: locked out, unlocked, sent a link -----------------------------------


async def test_a_locked_user_is_seen_locked_then_unlocked_and_sent_a_reset_link(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: Mailbox,  # noqa: F811
) -> None:
    # given viewer@demo.test locked out by five wrong passwords on the sign-in page
    await lock(anonymous, "viewer@demo.test")
    support, user_id = await staff(tokens), await tokens.user_id("viewer@demo.test")
    # when support looks them up
    before = await view(anonymous, support, "viewer@demo.test")
    # then the lock, until when, and the attempts with their reasons show
    assert before["status"] == "LOCKED"
    assert before["locked"] is True
    until = dt.datetime.fromisoformat(before["lockedUntil"])
    assert dt.timedelta(minutes=14) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)
    reasons = [a["reason"] for a in before["recentLoginAttempts"]]
    assert reasons == ["WRONG_PASSWORD"] * 5
    assert {a["outcome"] for a in before["recentLoginAttempts"]} == {"FAILURE"}
    assert before["userId"] == global_id("PortalUser", user_id)

    # when support unlocks and sends a reset link under the issue
    issue_id = await open_issue(connection)
    response = await reset(anonymous, support, user_id, ["SEND_PASSWORD_RESET", "UNLOCK"])

    # then it is done: unlocked, a link issued for this issue, the user emailed
    payload = graphql_ok(response)["userLoginReset"]
    assert payload["userErrors"] == []
    assert payload["user"]["locked"] is False
    assert payload["user"]["status"] == "ACTIVE"
    link = (await connection.execute(select(PasswordReset))).one()
    assert (link.user_id, link.access_issue_id) == (user_id, issue_id)
    assert link.requested_by_user_id == await tokens.user_id("support@demo.test")
    assert sorted(await emails_to(connection, "viewer@demo.test")) == [
        "login_reset_notice", "password_reset",
    ]  # fmt: skip
    # and nothing secret is in the response
    user = (await connection.execute(select(User).where(User.id == user_id))).one()
    assert link.token_hash not in response.text
    assert user.password_hash not in response.text
    assert not re.search(r"token=|argon2|password_?hash|secret", response.text, re.IGNORECASE)
    # and the issue records it, now about this user; the audit log has the reference
    entry = (await connection.execute(select(AccessIssueEntry))).one()
    assert entry.kind is AccessIssueEntryKind.RESET
    assert "unlocked" in entry.body
    assert await connection.scalar(select(AccessIssue.subject_user_id)) == user_id
    event = (
        await connection.execute(select(AuditEvent).where(AuditEvent.action == "login.reset"))
    ).one()
    assert event.target_id == str(user_id)
    assert orjson.loads(event.changes)["accessIssue"] == REFERENCE
    troubleshoot = select(func.count()).where(AuditEvent.action == "user.troubleshoot")
    assert (await connection.scalar(troubleshoot) or 0) >= 1

    # and the user can sign in again; both emails reach a real SMTP server
    assert (await sign_in(anonymous, "viewer@demo.test", DEMO_PASSWORD)).status_code == 303
    smtp = settings.model_copy(update={"mail_mode": "smtp", "smtp_port": mailbox.port})
    await deliver_due(sessions, smtp)
    received = [m for m in mailbox.received if m["To"] == "viewer@demo.test"]
    assert len(received) == 2
    notice = next(m for m in received if "Changes" in m["Subject"]).get_content()
    assert REFERENCE in notice
    assert "unlocked" in notice


async def test_the_unlock_restarts_the_failure_count(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given a user unlocked by support after five failures
    await lock(anonymous, "viewer@demo.test")
    await open_issue(connection)
    user_id = await tokens.user_id("viewer@demo.test")
    assert reset_errors(await reset(anonymous, await staff(tokens), user_id, ["UNLOCK"])) == []
    # when they mistype once more
    await sign_in(anonymous, "viewer@demo.test", WRONG)
    # then they are not locked again at once
    status = await connection.scalar(select(User.status).where(User.id == user_id))
    assert status is UserStatus.ACTIVE


# --- MFA and sessions -------------------------------------------------------------------


async def test_reset_mfa_removes_the_authenticator_and_recovery_codes(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens, settings: Settings
) -> None:
    # given a leader who enrolled TOTP and has recovery codes
    await enroll_totp(connection, "viewer@demo.test", settings.secret_key.get_secret_value())
    user_id = await tokens.user_id("viewer@demo.test")
    await connection.execute(insert(RecoveryCode).values(user_id=user_id, code_hash="x" * 64))
    await open_issue(connection)
    support = await staff(tokens)
    assert (await view(anonymous, support, "viewer@demo.test"))["mfaEnrolled"] is True
    # when support resets their MFA
    response = await reset(anonymous, support, user_id, ["RESET_MFA"])
    # then the secret, enrolment and codes are gone, and the user was told
    assert reset_errors(response) == []
    assert graphql_ok(response)["userLoginReset"]["user"]["mfaEnrolled"] is False
    user = (await connection.execute(select(User).where(User.id == user_id))).one()
    assert (user.totp_secret_encrypted, user.totp_enrolled_at) == (None, None)
    codes = select(func.count()).where(RecoveryCode.user_id == user_id)
    assert await connection.scalar(codes) == 0
    assert await emails_to(connection, "viewer@demo.test") == ["login_reset_notice"]
    # and signing in no longer asks for a code (MFA is optional for group users)
    signed_in = await sign_in(anonymous, "viewer@demo.test", DEMO_PASSWORD)
    assert signed_in.headers["location"] == "/signin/done"


@pytest.fixture
async def oauth(anonymous: httpx.AsyncClient) -> AsyncIterator[AsyncOAuth2Client]:
    async with AsyncOAuth2Client(
        client_id=PORTAL_CLIENT, redirect_uri=REDIRECT, scope="group:read",
        code_challenge_method="S256", token_endpoint_auth_method="none",
        transport=anonymous._transport, base_url=BASE,
    ) as client:  # fmt: skip
        yield client


async def refresh_token_for(oauth: AsyncOAuth2Client, anonymous: httpx.AsyncClient) -> str:
    """leader@demo.test signs in through the authorization-code flow; their refresh token."""
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=verifier)
    response = await Browser(anonymous).sign_in(url, "leader@demo.test", DEMO_PASSWORD)
    code = code_from(response.headers["location"])["code"]
    token = await oauth.fetch_token(
        f"{BASE}/oauth/token",
        authorization_response=f"{REDIRECT}?code={code}&state={state}",
        code_verifier=verifier,
    )
    return str(token["refresh_token"])


async def test_revoke_sessions_ends_every_session_and_refresh_token(
    anonymous: httpx.AsyncClient,
    oauth: AsyncOAuth2Client,
    connection: AsyncConnection,
    tokens: Tokens,
) -> None:
    # given a leader signed in in a browser and holding a refresh token
    refresh = await refresh_token_for(oauth, anonymous)
    support, user_id = await staff(tokens), await tokens.user_id("leader@demo.test")
    before = await view(anonymous, support, "leader@demo.test")
    assert len(before["activeSessions"]) == 1
    assert [f["clientId"] for f in before["activeTokenFamilies"]] == [PORTAL_CLIENT]
    await open_issue(connection)
    # when support revokes their sessions
    response = await reset(anonymous, support, user_id, ["REVOKE_SESSIONS"])
    # then none is left, and the refresh token no longer works
    after = graphql_ok(response)["userLoginReset"]["user"]
    assert (after["activeSessions"], after["activeTokenFamilies"]) == ([], [])
    live = select(func.count()).where(
        SignInSession.user_id == user_id, SignInSession.ended_at.is_(None)
    )
    assert await connection.scalar(live) == 0
    with pytest.raises(OAuthError, match="invalid_grant"):
        await oauth.refresh_token(f"{BASE}/oauth/token", refresh_token=refresh)
    assert refresh not in response.text


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "target", "code"),
    [
        ("support@demo.test", "rep@demo.test", "INTERNAL_ACCOUNT"),
        ("support@demo.test", "admin@demo.test", "INTERNAL_ACCOUNT"),
        ("support@demo.test", "support2@demo.test", "INTERNAL_ACCOUNT"),
        ("support@demo.test", "support@demo.test", "OWN_ACCOUNT"),
        ("admin@demo.test", "admin@demo.test", "OWN_ACCOUNT"),
        ("admin@demo.test", "admin2@demo.test", "INTERNAL_ACCOUNT"),
    ],
)
async def test_staff_accounts_and_ones_own_are_refused(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
    caller: str,
    target: str,
    code: str,
) -> None:
    # given another support member and another admin, and an open issue
    async with sessions() as db:
        await create_user(db, email="support2@demo.test", name="S Two", password=DEMO_PASSWORD,
                          roles=[Role.SUPPORT])  # fmt: skip
        await create_user(db, email="admin2@demo.test", name="A Two", password=DEMO_PASSWORD,
                          roles=[Role.ADMIN])  # fmt: skip
        await db.commit()
    await open_issue(connection)
    # when the caller tries to reset the target
    target_id = await tokens.user_id(target)
    response = await reset(anonymous, await staff(tokens, caller), target_id, ["REVOKE_SESSIONS"])
    # then it is refused and nothing is recorded
    assert reset_errors(response) == [code]
    assert graphql_ok(response)["userLoginReset"]["user"] is None
    assert await connection.scalar(select(func.count()).select_from(AccessIssueEntry)) == 0


async def test_an_admin_may_reset_a_rep(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    await open_issue(connection)
    rep_id = await tokens.user_id("rep@demo.test")
    response = await reset(anonymous, await staff(tokens, "admin@demo.test"), rep_id,
                           ["REVOKE_SESSIONS"])  # fmt: skip
    assert reset_errors(response) == []


@pytest.mark.parametrize(
    ("reference", "status", "about_other", "code"),
    [
        ("", AccessIssueStatus.OPEN, False, "ISSUE_REQUIRED"),
        ("AI-NOPE00", AccessIssueStatus.OPEN, False, "ISSUE_NOT_FOUND"),
        (REFERENCE, AccessIssueStatus.RESOLVED, False, "ISSUE_RESOLVED"),
        (REFERENCE, AccessIssueStatus.OPEN, True, "ISSUE_ABOUT_ANOTHER_USER"),
    ],
)
async def test_a_reset_needs_an_open_issue_about_the_user(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    reference: str,
    status: AccessIssueStatus,
    about_other: bool,
    code: str,
) -> None:
    # given an issue (resolved, or about someone else) and a locked user
    other = await tokens.user_id("leader@demo.test") if about_other else None
    await open_issue(connection, status=status, subject_user_id=other)
    await lock(anonymous, "viewer@demo.test")
    user_id = await tokens.user_id("viewer@demo.test")
    # when support unlocks under the reference given
    response = await reset(anonymous, await staff(tokens), user_id, ["UNLOCK"],
                           accessIssueReference=reference)  # fmt: skip
    # then it is refused and the user stays locked
    assert reset_errors(response) == [code]
    status_now = await connection.scalar(select(User.status).where(User.id == user_id))
    assert status_now is UserStatus.LOCKED


@pytest.mark.parametrize(
    ("actions", "disabled", "code"),
    [
        ([], False, "NO_ACTIONS"),
        (["REVOKE_SESSIONS", "REVOKE_SESSIONS"], False, "DUPLICATE_ACTIONS"),
        (["UNLOCK"], False, "NOT_LOCKED"),
        (["RESET_MFA"], False, "MFA_NOT_SET_UP"),
        (["UNLOCK"], True, "USER_DISABLED"),
        (["SEND_PASSWORD_RESET"], True, "USER_DISABLED"),
    ],
)
async def test_actions_must_have_something_to_act_on(
    anonymous: httpx.AsyncClient,
    connection: AsyncConnection,
    tokens: Tokens,
    actions: list[str],
    disabled: bool,
    code: str,
) -> None:
    await open_issue(connection)
    user_id = await tokens.user_id("viewer@demo.test")
    if disabled:
        await connection.execute(
            update(User).where(User.id == user_id).values(status=UserStatus.DISABLED)
        )
    response = await reset(anonymous, await staff(tokens), user_id, actions)
    assert reset_errors(response) == [code]
    assert await emails_to(connection, "viewer@demo.test") == []


@pytest.mark.parametrize("caller", ["leader@demo.test", "rep@demo.test"])
async def test_only_support_and_admins_troubleshoot_or_reset(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens, caller: str
) -> None:
    await open_issue(connection)
    token = await staff(tokens, caller)
    user_id = await tokens.user_id("viewer@demo.test")
    for response in (
        await graphql(anonymous, TROUBLESHOOT, {"email": "viewer@demo.test"}, token=token),
        await reset(anonymous, token, user_id, ["REVOKE_SESSIONS"]),
    ):
        assert [e["extensions"]["code"] for e in graphql_errors(response)] == ["FORBIDDEN"]
    assert await connection.scalar(select(func.count()).select_from(AccessIssueEntry)) == 0


async def test_the_view_needs_exactly_one_way_to_find_the_user(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    support = await staff(tokens)
    for variables in ({}, {"email": "viewer@demo.test", "userId": global_id("PortalUser", 1)}):
        errors = graphql_errors(await graphql(anonymous, TROUBLESHOOT, variables, token=support))
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    missing = await graphql(anonymous, TROUBLESHOOT, {"email": "nobody@x.test"}, token=support)
    assert graphql_ok(missing)["userTroubleshooting"] is None


SECRET_WORDS = ("password", "hash", "secret", "recovery", "link", "url", "otp")


def test_no_type_reachable_from_support_fields_can_carry_a_secret() -> None:
    # given the schema's types reachable from userTroubleshooting and userLoginReset
    schema = build_schema(Settings())._schema
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None
    assert mutation is not None
    roots = [query.fields["userTroubleshooting"].type, mutation.fields["userLoginReset"].type]
    seen: dict[str, Any] = {}
    while roots:
        named = roots.pop()
        while hasattr(named, "of_type"):
            named = named.of_type
        if named.name in seen or not hasattr(named, "fields"):
            continue
        seen[named.name] = named
        roots.extend(field.type for field in named.fields.values())
    # then no field names a password, hash, secret, code, token or link
    fields = [f"{name}.{field}" for name, t in seen.items() for field in t.fields]
    assert "UserTroubleshooting.recentLoginAttempts" in fields
    assert [f for f in fields if any(word in f.lower() for word in SECRET_WORDS)] == []
    assert [f for f in fields if f.lower().endswith(("token", "code")) and
            not f.endswith("UserError.code")] == []  # fmt: skip


# --- email changes ----------------------------------------------------------------------


async def change_email(
    client: httpx.AsyncClient, token: str, user_id: int, email: str
) -> httpx.Response:
    variables = {"userId": global_id("PortalUser", user_id), "email": email, "reason": "Renamed"}
    return await graphql(client, EMAIL_CHANGE, {"input": variables}, token=token)


async def test_support_cannot_change_an_email(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    user_id = await tokens.user_id("viewer@demo.test")
    response = await change_email(anonymous, await staff(tokens), user_id, "new@acme.example")
    assert [e["extensions"]["code"] for e in graphql_errors(response)] == ["FORBIDDEN"]
    assert await connection.scalar(select(User.email).where(User.id == user_id)) == (
        "viewer@demo.test"
    )


async def test_a_rep_changes_an_email_and_both_addresses_are_told(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, tokens: Tokens
) -> None:
    # given a leader signed in in a browser
    assert (await sign_in(anonymous, "viewer@demo.test", DEMO_PASSWORD)).status_code == 303
    user_id = await tokens.user_id("viewer@demo.test")
    rep = await staff(tokens, "rep@demo.test")
    # when a rep changes their email
    response = await change_email(anonymous, rep, user_id, "Victor@Acme.example")
    # then it is changed, both addresses are told, the session is kept, the change audited
    assert graphql_ok(response)["userEmailChange"] == {
        "user": {"id": global_id("PortalUser", user_id), "email": "Victor@Acme.example"},
        "userErrors": [],
    }
    user = (await connection.execute(select(User).where(User.id == user_id))).one()
    assert user.email_key == "victor@acme.example"
    assert await emails_to(connection, "viewer@demo.test") == ["email_changed"]
    assert await emails_to(connection, "Victor@Acme.example") == ["email_changed"]
    live = select(func.count()).where(
        SignInSession.user_id == user_id, SignInSession.ended_at.is_(None)
    )
    assert await connection.scalar(live) == 1
    audited = select(func.count()).where(AuditEvent.action == "user.emailChange")
    assert await connection.scalar(audited) == 1
    # and an address already in use is refused
    taken = await change_email(anonymous, rep, user_id, "LEADER@demo.test")
    codes = [e["code"] for e in graphql_ok(taken)["userEmailChange"]["userErrors"]]
    assert codes == ["EMAIL_TAKEN"]


async def test_a_staff_accounts_email_is_not_changed_here(
    anonymous: httpx.AsyncClient, tokens: Tokens
) -> None:
    admin = await staff(tokens, "admin@demo.test")
    response = await change_email(anonymous, admin, await tokens.user_id("rep@demo.test"), "r@x.io")
    codes = [e["code"] for e in graphql_ok(response)["userEmailChange"]["userErrors"]]
    assert codes == ["INTERNAL_ACCOUNT"]
