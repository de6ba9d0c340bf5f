"""Scheduled jobs run in one process at a time: two claims, and a real `jiesu workflow tick`
process while another holds the tick."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.db.engine import make_engine
from jiesu.jobs import REPORTS_JOB, TICK_JOB, run_tick_once
from jiesu.kit.clock import FixedClock, utcnow
from jiesu.ops.joblock import claim
from jiesu.workflow.models import Event
from jiesu.workflow.service import apply_action

from factories import make_request, make_world


def test_of_two_claims_of_one_job_one_runs_and_one_skips(session: Session, db_url: str) -> None:
    first_engine, second_engine = make_engine(db_url), make_engine(db_url)
    try:
        with Session(first_engine) as a, Session(second_engine) as b:
            with claim(a, TICK_JOB) as first:
                assert first
                with claim(b, TICK_JOB) as second:
                    assert not second
                with claim(b, REPORTS_JOB) as other_job:
                    assert other_job  # each job has its own lock
                b.rollback()
                a.commit()
            with claim(b, TICK_JOB) as after:
                assert after, "the claim ends with the run that held it"
            b.rollback()
    finally:
        first_engine.dispose()
        second_engine.dispose()


def _tick_process(db_url: str, data_dir: Path) -> str:
    env = {**os.environ, "JIESU_DATABASE_URL": db_url, "JIESU_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "jiesu.cli", "workflow", "tick"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return " ".join(done.stdout.split())


def test_a_tick_process_skips_while_another_runs_the_tick_and_runs_after(
    session: Session, db_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    world = make_world(session, clock.now())
    late = make_request(session, world, clock.now(), category="010102")
    apply_action(
        session,
        late,
        "dispatch",
        actor=world.actor("disp"),
        now=clock.now(),
        ctx=world.ctx,
        params={"unit": "PS-WATER"},
    )
    session.commit()
    engine = make_engine(db_url)
    try:
        with Session(engine) as holder, claim(holder, TICK_JOB) as mine:
            assert mine
            # Another process — a cron `jiesu workflow tick` beside the server — skips.
            out = _tick_process(db_url, tmp_path)
            assert "another process is running the tick" in out
            holder.commit()
    finally:
        engine.dispose()
    overdue = select(func.count()).where(Event.request_id == late.id, Event.kind == "overdue")
    assert session.scalar(overdue) == 0, "the skipped tick did nothing"
    # Once the claim is released the next run does the work (the request is a month past its
    # two-hour response limit by the wall clock the tick runs on).
    assert run_tick_once(session, now=utcnow()) is not None
    assert session.scalar(overdue) == 2  # response and handling
    assert run_tick_once(session, now=utcnow()) is not None
    assert session.scalar(overdue) == 2  # flagged once
