"""The background task that runs eligibility-file jobs (``api.services.eligibility_files``).

A job is claimed before it runs, and a job whose worker died is taken up again once its
lease expires, so several processes running this worker never run one job twice at once.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.services.eligibility_files.jobs import JobSettings, due_files, run_job
from api.settings import Settings
from api.workers import PeriodicWorker

logger = structlog.get_logger(__name__)


class FileWorker(PeriodicWorker):
    """Every ``interval`` seconds, the files waiting for a worker, one after the other."""

    name = "file-worker"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        interval: float = 2.0,
        stop_grace: float = 10.0,
    ) -> None:
        super().__init__(interval=interval, stop_grace=stop_grace)
        self.sessions = sessions
        self.job = JobSettings.from_settings(settings)

    async def run_pass(self) -> None:
        for file_id in await due_files(self.sessions):
            if await run_job(self.sessions, self.job, file_id):
                logger.info("eligibility_file.processed", file_id=file_id)
