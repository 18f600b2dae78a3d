"""The ``portal`` command: operational jobs (serve, migrate, seed, schema, outbox, age-out)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from api.cli_billing import add_billing_commands
from api.cli_delinquency import add_delinquency_commands
from api.cli_files import add_file_commands
from api.cli_identity import add_identity_commands
from api.settings import get_settings
from db.demo_identity import DEMO_PASSWORD
from db.models import OutboundEmail

if TYPE_CHECKING:
    from api.services.eligibility.aging_out import AgingOutReport


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    if not args.quiet:
        _print_welcome(args.host, args.port)
    uvicorn.run(
        "api.main:app",
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0


def _print_welcome(host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    settings = get_settings()
    lines = [
        f"Group Portal API ({settings.env}) on {base}",
        f"  Health:   {base}/healthz  {base}/readyz",
    ]
    if not settings.is_production:
        lines += _DEMO_TEXT.format(base=base, password=DEMO_PASSWORD).splitlines()
    print("\n".join(lines))  # noqa: T201


_DEMO_TEXT = """  GraphiQL: {base}/graphql
  Sign-in page: {base}/signin   (the portal's OAuth flow starts at {base}/oauth/authorize)

  Demo accounts, all with the password: {password}
    leader@demo.test   benefit leader of G100001 and G100002
                       (group admin; billing and eligibility MANAGE)
    viewer@demo.test   benefit leader of G100001 (billing and eligibility VIEW)
    billing@demo.test  benefit leader of G100001 (billing MANAGE, no eligibility)
    rep@demo.test      group-accounts representative   } internal: set up an authenticator
    support@demo.test  access support                  } app (TOTP) at first sign-in
    admin@demo.test    administrator                   }

  A token for GraphiQL (add the header  Authorization: Bearer <token>):
    .venv/bin/portal token --user leader@demo.test \\
        --scope "group:read eligibility:read billing:read"
    then ask:  {{ viewer {{ email scopes grants {{ group {{ groupNumber }} }} }} }}"""


def _migrate(_args: argparse.Namespace) -> int:
    from db.migrate import upgrade

    upgrade(get_settings().database_url)
    print("database is at the latest migration")  # noqa: T201
    return 0


def _seed(args: argparse.Namespace) -> int:
    from db.demo_identity import seed_demo_identity
    from db.seed import DatabaseNotEmptyError, database_is_empty, seed
    from db.session import create_engine, create_sessionmaker

    settings = get_settings()
    if settings.is_production:
        # Demo users share a published password; demo clients have published secrets.
        print("portal seed: demo data is for development only.", file=sys.stderr)  # noqa: T201
        return 1

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            if args.if_empty and not await database_is_empty(engine):
                print("database already has data; not seeding")  # noqa: T201
                return 0
            summary = await seed(
                engine,
                groups=args.groups,
                members=args.members,
                seed=args.seed,
                ssn_hash_key=settings.ssn_hash_key.get_secret_value(),
                progress=lambda line: print(f"  {line}", file=sys.stderr),  # noqa: T201
            )
            async with create_sessionmaker(engine)() as session:
                await seed_demo_identity(session)
                await session.commit()
        except DatabaseNotEmptyError as exc:
            print(f"portal seed: {exc}", file=sys.stderr)  # noqa: T201
            return 1
        finally:
            await engine.dispose()
        print(f"seeded: {summary}; demo users and OAuth clients added")  # noqa: T201
        return 0

    return asyncio.run(run())


def _schema(_args: argparse.Namespace) -> int:
    from api.schema import schema_sdl

    sys.stdout.write(schema_sdl())
    return 0


def _outbox(args: argparse.Namespace) -> int:
    """Print the latest recorded mail, bodies included (development data), after one
    delivery pass with ``--deliver``."""
    emails = asyncio.run(_outbox_emails(limit=args.limit, deliver=args.deliver))
    text = "\n\n".join(_describe_email(email) for email in emails)
    print(text or "the outbox is empty")  # noqa: T201
    return 0


async def _outbox_emails(*, limit: int, deliver: bool) -> list[OutboundEmail]:
    from api.services.mail import deliver_due, latest_emails
    from db.session import create_engine, create_sessionmaker

    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        sessions = create_sessionmaker(engine)
        if deliver:
            print(f"delivery pass: {await deliver_due(sessions, settings)}")  # noqa: T201
        async with sessions() as session:
            return await latest_emails(session, limit=limit)
    finally:
        await engine.dispose()


def _describe_email(email: OutboundEmail) -> str:
    head = (
        f"{email.created_at:%Y-%m-%d %H:%M:%S}Z  {email.status}  attempts={email.attempts}"
        f"  to={email.to_address}\nSubject: {email.subject}"
    )
    error = f"\nLast error: {email.last_error}" if email.last_error else ""
    return head + error + "\n" + textwrap.indent(email.body_text, "    ")


def _age_out(args: argparse.Namespace) -> int:
    """The daily aging-out job (SPEC §2): end children's coverage at their age limit."""
    from api.services.dates import today

    report = asyncio.run(_run_age_out(args.as_of or today()))
    print(  # noqa: T201
        f"age-out as of {report.as_of}: {report.candidates} candidates, "
        f"{report.terminated} children terminated in {report.families} families"
    )
    return 0


async def _run_age_out(as_of: dt.date) -> AgingOutReport:
    from api.services.audit import Actor, AuditTrail, RequestOrigin
    from api.services.eligibility.aging_out import age_out
    from api.services.eligibility.rules import Limits
    from db.session import create_engine, create_sessionmaker

    settings = get_settings()
    engine = create_engine(settings.database_url)
    trail = AuditTrail(Actor(None, "portal age-out"), RequestOrigin(None, "portal age-out", None))
    try:
        async with create_sessionmaker(engine)() as session:
            limits = Limits.from_settings(settings)
            report = await age_out(session, as_of=as_of, limits=limits, audit=trail)
            await trail.flush(session)
            await session.commit()
    finally:
        await engine.dispose()
    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal", description="Group Portal API operations.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--reload", action="store_true", help="restart on code changes (development)"
    )
    serve.add_argument("--workers", type=int, default=None, help="worker processes")
    serve.add_argument("--quiet", action="store_true", help="do not print the welcome text")
    serve.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies whose X-Forwarded-Proto/For are trusted (the TLS terminator's address)",
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser(
        "migrate", help="apply database migrations (Alembic) up to the latest"
    )
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser("seed", help="fill the database with deterministic demo data")
    seed.add_argument("--groups", type=int, default=20, help="number of groups (default 20)")
    seed.add_argument(
        "--members",
        type=int,
        default=2_000,
        help="approximate number of members, dependents included (default 2000)",
    )
    seed.add_argument(
        "--seed", type=int, default=42, help="random seed: same seed, same data (default 42)"
    )
    seed.add_argument(
        "--if-empty", action="store_true", help="do nothing when the database already has groups"
    )
    seed.set_defaults(handler=_seed)

    schema = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(handler=_schema)
    outbox = commands.add_parser("outbox", help="print the latest outbound mail (development)")
    outbox.add_argument("--limit", type=int, default=20, help="messages to show (default 20)")
    outbox.add_argument("--deliver", action="store_true", help="run one delivery pass first")
    outbox.set_defaults(handler=_outbox)
    age_out = commands.add_parser(
        "age-out", help="end the coverage of children past the dependent age limit (daily)"
    )
    age_out.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        help="run as of this day, YYYY-MM-DD (default: today, UTC)",
    )
    age_out.set_defaults(handler=_age_out)
    add_identity_commands(commands)
    add_file_commands(commands)
    add_billing_commands(commands)
    add_delinquency_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
