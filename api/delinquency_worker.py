"""The background task that runs queued delinquency runs (``api.services.delinquency.jobs``).

A run is claimed before it runs and one whose worker died is taken up again once its
lease lapses, so several replicas running this worker never run a date twice at once.
"""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.audit import Actor
from api.services.bank_data import cipher_for
from api.services.delinquency import jobs
from api.services.delinquency.run import RunContext
from api.settings import Settings
from api.workers import PeriodicWorker

logger = structlog.get_logger(__name__)


def run_context(settings: Settings, actor: Actor) -> RunContext:
    """What a run needs to terminate a group (its final invoice)."""
    cipher = cipher_for(settings.bank_data_key.get_secret_value())
    return RunContext(actor, settings.carrier_name, cipher)


class DelinquencyWorker(PeriodicWorker):
    """Every ``interval`` seconds, the runs waiting for a worker, one after the other."""

    name = "delinquency-worker"

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
        self.lease = dt.timedelta(seconds=settings.delinquency_job_lease_seconds)
        self.context = run_context(settings, Actor(None, "delinquency-worker"))

    async def run_pass(self) -> None:
        for run_id in await jobs.due_runs(self.sessions):
            if await jobs.run_job(self.sessions, run_id, lease=self.lease, context=self.context):
                logger.info("delinquency_run.processed", run_id=run_id)
