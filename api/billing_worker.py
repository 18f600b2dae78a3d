"""The background task that runs queued billing runs (``api.services.billing_jobs``).

A run is claimed before it runs and a run whose worker died is taken up again once its
lease lapses, so several processes running this worker never run one month twice at once.
"""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.audit import Actor
from api.services.billing_jobs import due_runs, run_job
from api.settings import Settings
from api.workers import PeriodicWorker

logger = structlog.get_logger(__name__)


class BillingWorker(PeriodicWorker):
    """Every ``interval`` seconds, the runs waiting for a worker, one after the other."""

    name = "billing-worker"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        interval: float = 5.0,
        stop_grace: float = 10.0,
    ) -> None:
        super().__init__(interval=interval, stop_grace=stop_grace)
        self.sessions = sessions
        self.lease = dt.timedelta(seconds=settings.billing_job_lease_seconds)

    async def run_pass(self) -> None:
        for run_id in await due_runs(self.sessions):
            actor = Actor(None, "billing-worker")
            if await run_job(self.sessions, run_id, lease=self.lease, actor=actor):
                logger.info("billing_run.processed", run_id=run_id)
