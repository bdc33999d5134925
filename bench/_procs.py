"""What the benches share: real subprocesses on 127.0.0.1, readiness, percentiles.

Every process a bench starts is its own child, ended by its pid when the bench ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TESTS = ROOT / "tests"

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
APPROVALS = "C0APPROVALS"
ALERTS = "C0ALERTS"
ADMIN = "U0ADMIN"
ADMIN2 = "U0ADMIN2"
MANAGER = "U0MANAGER"
OUTSIDER = "U0OUTSIDER"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM, wait: float = 30.0) -> None:
        if self.process.poll() is not None:
            return
        argv = self.process.args
        first = argv[0] if isinstance(argv, list | tuple) else argv
        if sig == signal.SIGTERM and first != sys.executable:
            sig = signal.SIGINT  # a wrapper (a profiler) stops and writes its output on SIGINT
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def logged_errors(self) -> list[str]:
        """The errors the process logged: a listener that failed after its ack (the person
        was told "something went wrong") answered 200 all the same, so a bench counts these
        too."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return [ln for ln in text.splitlines() if " ERROR " in ln or '"level": "ERROR"' in ln]

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(name: str, argv: Sequence[str], env: dict[str, str], workdir: Path) -> Child:
    log = workdir / f"{name}.log"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
        list(argv),
        env={**os.environ, **env},
        cwd=workdir,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    return Child(name, process, log)


def wait_http(child: Child, url: str, timeout: float = 30.0) -> None:
    """Until GET url answers 200; fails with the child's log when it died or never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited {child.process.returncode}:\n{child.tail()}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - 127.0.0.1
                if response.status == 200:
                    return
        time.sleep(0.05)
    raise RuntimeError(f"{child.name} not ready at {url} after {timeout}s:\n{child.tail()}")


def start_fake_slack(workdir: Path) -> tuple[Child, str]:
    """tests/fakeslack.py served by its own process (so it does not share the bench's loop)."""
    port = free_port()
    child = spawn(
        "fakeslack",
        [sys.executable, str(BENCH / "fake_slack.py"), "--port", str(port)],
        {},
        workdir,
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(child, f"{base}/api/api.test")  # answers 200 once listening
    return child, f"{base}/api/"


def bot_env(slack_url: str, database: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_url,
        "LICENSEBOT_DATABASE": str(database),
        "LICENSEBOT_APPROVALS_CHANNEL": APPROVALS,
        "LICENSEBOT_ALERTS_CHANNEL": ALERTS,
        "LICENSEBOT_ADMINS": f"{ADMIN},{ADMIN2}",
        # The fake Slack here takes posts as fast as they come; the per-channel pace of
        # the outbox is bench/outbox.py's measure, not this one's.
        "LICENSEBOT_SLACK_POST_RATE": "1000",
    }


def start_licensebot(
    workdir: Path, slack_url: str, database: Path, *, wrap_ok: bool = False
) -> tuple[Child, str]:
    """`licensebot serve --http` as a real process; returns it and its request URL."""
    port = free_port()
    # Profiling: BENCH_WRAP="py-spy record -f raw -o prof.txt --" runs licensebot under it.
    wrap = os.environ.get("BENCH_WRAP", "").split() if wrap_ok else []
    child = spawn(
        "licensebot",
        [
            *wrap,
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        bot_env(slack_url, database),
        workdir,
    )
    wait_http(child, f"http://127.0.0.1:{port}/healthz")
    return child, f"http://127.0.0.1:{port}/slack/events"


def peak_mb(pid: int, default: float = float("nan")) -> float:
    """The process's peak resident memory so far (Linux VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return default


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1000 values is the 990th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
