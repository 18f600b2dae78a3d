"""Structured logs (structlog): JSON in production, readable in development.

Every line carries the request id bound by ``RequestIdMiddleware``. Never log tokens,
passwords or member personal data.
"""

from __future__ import annotations

import logging
import re

import structlog

from api.settings import Settings

_SECRET_QUERY = re.compile(r"(?i)\b(token|code|state)=[^&\s]+")


class RedactQuerySecrets(logging.Filter):
    """The ASGI server's access log prints each request line with its query string; the
    one-time links (invitations, password resets) and OAuth callbacks carry secrets there,
    so their values are replaced before the line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1=[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def configure_logging(settings: Settings) -> None:
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuerySecrets) for f in access_log.filters):
        access_log.addFilter(RedactQuerySecrets())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.is_production
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
        ),
        cache_logger_on_first_use=True,
    )
