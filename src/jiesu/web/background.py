"""Long jobs started from a page (training a model): run in a thread of the server with their
own database session, one of a kind at a time, with the progress lines and the outcome kept
for the page to show while it refreshes itself. A job's work is the same service function the
CLI calls; only where it runs differs."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from jiesu.config import Settings
from jiesu.db.engine import make_engine, make_sessionmaker, session_scope
from jiesu.errors import Conflict, JiesuError
from jiesu.logs import get_logger

log = get_logger(__name__)
Work = Callable[[Session, Callable[[str], None]], dict[str, Any]]


@dataclass
class Job:
    kind: str
    started_by: str
    started_at: datetime
    lines: list[str] = field(default_factory=list)
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.finished_at is None


class Jobs:
    """The jobs of one server process, by kind (the latest of each kind)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def get(self, kind: str) -> Job | None:
        return self._jobs.get(kind)

    def start(self, settings: Settings, kind: str, who: str, work: Work) -> Job:
        with self._lock:
            current = self._jobs.get(kind)
            if current is not None and current.running:
                raise Conflict(f"a {kind} job started by {current.started_by} is still running")
            job = Job(kind, who, datetime.now(UTC))
            self._jobs[kind] = job
        threading.Thread(target=self._run, args=(settings, job, work), daemon=True).start()
        return job

    def _run(self, settings: Settings, job: Job, work: Work) -> None:
        engine = make_engine(settings.db_url)
        try:
            with session_scope(make_sessionmaker(engine)) as session:
                job.result = work(session, job.lines.append)
        except JiesuError as exc:
            job.error = exc.message
        except Exception as exc:  # the page must say it failed, not spin for ever
            job.error = f"{type(exc).__name__}: {exc}"
            log.error("web.job.failed", kind=job.kind, trace=traceback.format_exc())
        finally:
            engine.dispose()
            job.finished_at = datetime.now(UTC)


def jobs_of(app: Any) -> Jobs:
    """The server's job table (one per application, made on first use)."""
    jobs = getattr(app.state, "jobs", None)
    if jobs is None:
        jobs = app.state.jobs = Jobs()
    return jobs
