"""The background task that delivers recorded mail (``api.services.mail.deliver_due``).

Every message is claimed before it is sent, so several processes running this worker
never send one twice.
"""

from __future__ import annotations

from dataclasses import asdict

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.mail import deliver_due
from api.settings import Settings
from api.workers import PeriodicWorker

logger = structlog.get_logger(__name__)


class MailWorker(PeriodicWorker):
    """A delivery pass every ``interval`` seconds; a stop waits for the send in progress
    (one cut short would be sent again after its lease)."""

    name = "mail-worker"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        interval: float = 5.0,
        stop_grace: float = 35.0,
    ) -> None:
        super().__init__(interval=interval, stop_grace=stop_grace)
        self.sessions = sessions
        self.settings = settings

    async def run_pass(self) -> None:
        report = await deliver_due(self.sessions, self.settings)
        if report.sent or report.retried or report.failed:
            logger.info("mail.delivery_pass", **asdict(report))
