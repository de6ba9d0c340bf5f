"""What the ``jiesu nlp`` file commands share: progress on stderr, errors as ``error: …``."""

from __future__ import annotations

import sys

import typer


def say(message: str) -> None:
    # Progress goes to stderr so that --json output on stdout stays parseable.
    print(message, file=sys.stderr, flush=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error; the caller raises the returned Exit (``raise fail(…) from None``)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    return typer.Exit(code)
