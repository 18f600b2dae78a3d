"""The server's access log never carries a one-time link's token (invitations, password
resets) or an OAuth code: the filter ``configure_logging`` installs redacts them."""

from __future__ import annotations

import logging

from api.logging import configure_logging
from api.settings import Settings


def _access_line(path: str) -> str:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.9:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    for installed in logging.getLogger("uvicorn.access").filters:
        assert isinstance(installed, logging.Filter)
        installed.filter(record)
    return record.getMessage()


def test_tokens_and_codes_in_query_strings_are_redacted() -> None:
    configure_logging(Settings())
    line = _access_line("/password-reset?token=s3cr3t-t0ken&next=/home")
    assert "s3cr3t" not in line
    assert "/password-reset?token=[redacted]&next=/home" in line
    assert "c0de" not in _access_line("/oauth/callback?code=c0de&state=st4te")
    assert _access_line("/graphql") == '203.0.113.9:5000 - "GET /graphql HTTP/1.1" 200'
