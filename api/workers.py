"""Background work inside each server process: a loop that runs one pass every few
seconds until the app stops (mail delivery, eligibility-file jobs).

Several processes (``portal serve --workers``, several replicas) may run the same loop:
each unit of work is claimed in the database before it is done, so none is done twice. A
failing pass (the database is down, a bug) is logged and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

logger = structlog.get_logger(__name__)


class PeriodicWorker:
    """Subclasses say what one pass does (``run_pass``) and how long a stop may wait."""

    name = "worker"

    def __init__(self, *, interval: float, stop_grace: float) -> None:
        self.interval = interval
        self.stop_grace = stop_grace
        self.passes = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_pass(self) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Let the pass in progress finish, waiting at most ``stop_grace`` seconds, then
        cancel (work cut short is taken up again once its claim expires)."""
        if self._task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, self.stop_grace)
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self._guarded_pass()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def _guarded_pass(self) -> None:
        try:
            await self.run_pass()
        except Exception:  # logged; the next pass tries again
            logger.exception(f"{self.name}.pass_failed")
        finally:
            self.passes += 1
