"""`jiesu serve` in a process of its own on a free loopback port, and what it costs.

The load generator must not share the server's interpreter (its own CPU and memory would be
counted as the server's), so the soak starts the real command, the way an installation runs
it, and reads the process's memory and CPU time from the operating system.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx

from jiesu.errors import JiesuError

START_SECONDS = 90.0  # a loaded two-core machine can take a while to import everything
STOP_SECONDS = 30.0  # the server's own grace period (20 s) and a margin


class ServerFailed(JiesuError):
    """The server did not start, or died during the soak."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _psutil() -> ModuleType | None:
    # Optional: when it is installed it is used; otherwise /proc says the same on Linux.
    try:
        return importlib.import_module("psutil")
    except ImportError:
        return None


class ServerProcess:
    """One `jiesu serve` child process, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._ps = _psutil()

    @property
    def pid(self) -> int:
        assert self.proc is not None, "the server was not started"
        return self.proc.pid

    def start(self) -> str:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jiesu.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"the server exited at start: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/api/v1/ready", timeout=2).status_code == 200:
                    return self.url
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.kill()
        raise ServerFailed(f"the server was not ready within {START_SECONDS:.0f} s")

    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def rss_bytes(self) -> int:
        """Resident memory of the server process now."""
        if self._ps is not None:
            return int(self._ps.Process(self.pid).memory_info().rss)
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # reported in kB
        raise ServerFailed("no VmRSS line in /proc/<pid>/status")

    def memory_parts(self) -> dict[str, int]:
        """The resident memory by kind where Linux says it (bytes): anonymous (the heaps of
        Python, SQLite and the libraries), file-backed (code, memory-mapped files), shared."""
        parts: dict[str, int] = {}
        try:
            lines = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        except OSError:
            return parts
        for line in lines:
            name, _, rest = line.partition(":")
            if name in ("RssAnon", "RssFile", "RssShmem"):
                parts[name[3:].lower()] = int(rest.split()[0]) * 1024
        return parts

    def cpu_seconds(self) -> float:
        """User and system CPU time the server process has used so far."""
        if self._ps is not None:
            t = self._ps.Process(self.pid).cpu_times()
            return float(t.user + t.system)
        # Fields 14 and 15 of /proc/<pid>/stat, after the command name in parentheses.
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> tuple[int | None, float]:
        """SIGTERM, as a process manager stops it: (exit code, seconds it took)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.exit_code(), 0.0
        asked = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        return code, time.monotonic() - asked

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""
