"""The background task that delivers recorded mail (``api.services.mail.deliver_due``).

It runs inside each server process. Several processes (``portal serve --workers``) may run
it at once: every message is claimed before it is sent, so none is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import asdict

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.mail import deliver_due
from api.settings import Settings

logger = structlog.get_logger(__name__)


class MailWorker:
    """Runs a delivery pass every ``interval`` seconds until stopped. A failing pass (the
    database is down, a bug) is logged and the loop goes on: mail waits, it is not lost."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        interval: float = 5.0,
        stop_grace: float = 35.0,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.interval = interval
        self.stop_grace = stop_grace
        self.passes = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="mail-worker")

    async def stop(self) -> None:
        """Let the pass in progress finish (a send cut short would be sent again after its
        lease), waiting at most ``stop_grace`` seconds, then cancel."""
        if self._task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, self.stop_grace)
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self._pass()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def _pass(self) -> None:
        try:
            report = await deliver_due(self.sessions, self.settings)
        except Exception:  # logged; the next pass tries again
            logger.exception("mail.delivery_pass_failed")
        else:
            if report.sent or report.retried or report.failed:
                logger.info("mail.delivery_pass", **asdict(report))
        finally:
            self.passes += 1
