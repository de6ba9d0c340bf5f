"""`jiesu privacy …`: data keys, key rotation, reads of personal data, retention purges."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import select

from jiesu.city.service import city_context
from jiesu.clikit import console, err_console, fail, settings, unit_of_work
from jiesu.errors import BadInput, JiesuError
from jiesu.kit.clock import utcnow
from jiesu.privacy import purge, rotation
from jiesu.privacy.crypto import new_key
from jiesu.privacy.keys import active_keyring, add_key, key_file, remove_keys
from jiesu.privacy.models import PersonalDataRead
from jiesu.privacy.retention import parse_age

app = typer.Typer(help="Personal data: keys, rotation, reads, retention.", no_args_is_help=True)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
    )


@app.command("new-key")
def new_key_cmd(
    file: Path | None = typer.Option(
        None, "--file", help="key file to add to (default: the settings' key file)"
    ),
) -> None:
    """Add a fresh data key to the key file; it encrypts everything written from now on.

    Older keys stay in the file so that rows under them still read; `jiesu privacy rotate-key`
    moves every row to the new key. Back the file up before and after."""
    if file is None:
        s = settings()
        if s.data_key:
            fail(
                "JIESU_DATA_KEY is set, so no key file is read; append this new key to it "
                f"(comma-separated, newest last), restart, then run rotate-key: {new_key()}"
            )
        file = key_file(s)
    try:
        kid = add_key(file)
    except JiesuError as exc:  # a damaged or too open key file: never append to it
        fail(exc.message)
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    console.print(
        f"added data key {kid} to {file}; it encrypts from now on (running servers pick it up "
        "within a second). Back the file up, then run `jiesu privacy rotate-key`."
    )


@app.command("keys")
def keys_cmd() -> None:
    """List the live data keys (oldest first) and how many contacts and second-factor
    secrets each still holds."""
    settings()
    with unit_of_work() as session:
        ring = active_keyring()
        counts = rotation.rows_by_key(session)
        secrets = rotation.secrets_by_key(session)
    for kid in ring.kids:
        mark = "  (newest: encrypts)" if kid == ring.newest.kid else ""
        held = f"{counts.pop(kid, 0)} contact(s), {secrets.pop(kid, 0)} second factor(s)"
        console.print(f"{kid}  {held}{mark}")
    for kid in sorted(set(counts) | set(secrets)):
        held = f"{counts.get(kid, 0)} contact(s), {secrets.get(kid, 0)} second factor(s)"
        console.print(f"[bold red]{kid}[/]  {held} under a key that is not configured")


@app.command("rotate-key")
def rotate_key_cmd(
    batch: int = typer.Option(rotation.BATCH, "--batch", min=1, max=10_000, help="rows a batch"),
    retire: bool = typer.Option(
        False, "--retire", help="when none are left, remove the older keys from the key file"
    ),
) -> None:
    """Re-encrypt every contact and second-factor secret under the newest key, a batch per
    transaction; stopped, it carries on where it was when run again."""
    s = settings()
    with unit_of_work(s) as session:
        total = rotation.left_to_rotate(session)
    newest = active_keyring().newest.kid
    done = 0
    with _bar() as bar:
        task = bar.add_task(f"re-encrypting under {newest}", total=total)
        while True:
            with unit_of_work(s) as session:
                n = rotation.rotate_batch(session, limit=batch)
            if n == 0:
                break
            done += n
            bar.update(task, advance=n)
    console.print(
        f"re-encrypted {done} row(s); every contact and second-factor secret is now under key "
        f"{newest}"
    )
    if not retire:
        older = [k for k in active_keyring().kids if k != newest]
        if older:
            console.print(f"older keys still in use for reading only: {', '.join(older)}")
        return
    if s.data_key:
        console.print("JIESU_DATA_KEY is set: remove the older keys from it yourself")
        return
    removed = remove_keys(key_file(s), keep=newest)
    console.print(f"removed {len(removed)} older key(s) from {key_file(s)}: {', '.join(removed)}")


@app.command("reads")
def reads_cmd(
    ticket: str | None = typer.Option(None, "--ticket", help="only reads of this request"),
    user: str | None = typer.Option(None, "--user", help="only reads by this username"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
) -> None:
    """Who was shown which caller's contact in full, newest first."""
    s = settings()
    with unit_of_work(s) as session:
        stmt = select(PersonalDataRead).order_by(PersonalDataRead.seq.desc()).limit(limit)
        if ticket:
            stmt = stmt.where(PersonalDataRead.ticket == ticket.strip().upper())
        if user:
            stmt = stmt.where(PersonalDataRead.actor == user)
        rows = session.scalars(stmt).all()
        tz = city_context(session).tz
    for r in rows:
        at = r.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        console.print(
            f"#{r.seq}  {at}  {r.actor} ({r.role})  {r.ticket}  {r.fields}  {r.purpose}",
            highlight=False,
        )
    if not rows:
        console.print("no reads recorded")


@app.command("purge")
def purge_cmd(
    older_than: str = typer.Option(
        ..., "--older-than", help="purge requests closed longer ago than this: 3y, 18m, 26w, 400d"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="only say what would be purged"),
    yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation"),
    batch: int = typer.Option(purge.BATCH, "--batch", min=1, max=5_000, help="requests a batch"),
    by: str | None = typer.Option(None, "--by", help="who runs it (default: the system user)"),
) -> None:
    """Remove the personal data of closed requests older than the cutoff, keeping the
    anonymised case, its statistics and a valid audit chain. Recorded; safe to run again."""
    s = settings()
    try:
        age = parse_age(older_than)
        minimum = parse_age(s.privacy_min_retention, option="JIESU_PRIVACY_MIN_RETENTION")
    except BadInput as exc:
        fail(exc.message)
    now = utcnow()
    if age.cutoff(now, s.tz) > minimum.cutoff(now, s.tz):
        fail(
            f"--older-than: {age} is shorter than the minimum retention of {minimum} "
            "(JIESU_PRIVACY_MIN_RETENTION); requests must be kept at least that long"
        )
    with unit_of_work(s) as session:
        tz = city_context(session).tz
        cutoff = age.cutoff(now, tz)
        todo = purge.plan(session, cutoff)
    day = cutoff.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    console.print(
        f"{todo.requests} closed request(s) closed before {day} still hold personal data "
        f"({todo.contacts} contact(s))"
    )
    if dry_run:
        console.print("dry run: nothing changed")
        return
    asked = todo.requests and not yes
    if asked and not typer.confirm("Remove their personal data? It cannot be undone"):
        fail("nothing purged")
    actor = by or f"cli:{getpass.getuser()}"
    with unit_of_work(s) as session:
        run_id = purge.start(
            session, actor=actor, older_than=str(age), cutoff=cutoff, now=utcnow()
        ).id
    last: int | None = 0
    with _bar() as bar:
        task = bar.add_task("purging", total=todo.requests)
        while last is not None:
            with unit_of_work(s) as session:
                run = purge.get_run(session, run_id)
                before = run.requests
                last = purge.purge_batch(session, run, now=utcnow(), after_id=last, limit=batch)
                bar.update(task, advance=run.requests - before)
    with unit_of_work(s) as session:
        run = purge.finish(session, purge.get_run(session, run_id), now=utcnow())
        console.print(
            f"purge #{run.id}: {run.requests} request(s), {run.contacts} contact(s) removed, "
            f"{run.texts} text(s) masked, {run.events} event(s) redacted; recorded and sealed"
        )
