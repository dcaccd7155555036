"""py-spy (`pip install py-spy` into .venv-cloud) over a running server: its busiest functions
by own time, while a load runs."""

from __future__ import annotations

import collections
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def py_spy_top(pid: int, load: Callable[[], Any], top: int = 15) -> str:
    """Record `pid` while `load()` runs; a markdown table of where its threads were busy.

    Idle threads (a worker waiting for work, the loop waiting in epoll) are not sampled, so the
    shares are of CPU-busy samples across all threads; `--nonblocking` does not pause the
    server to sample it.
    """
    spy = shutil.which("py-spy") or str(Path(__file__).parents[1] / ".venv-cloud/bin/py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        proc = subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(raw),
             "--rate", "200", "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1)
        try:
            load()
        finally:
            proc.send_signal(2)  # SIGINT: py-spy writes its file and exits
            proc.wait(30)
        return summarize(raw.read_text(), top)


def summarize(collapsed: str, top: int) -> str:
    """Own-time and inclusive shares per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    rows = ["| function | own % | inclusive % |", "| --- | --- | --- |"]
    for frame, count in own.most_common(top):
        share, whole = 100 * count / total, 100 * inclusive[frame] / total
        rows.append(f"| `{frame}` | {share:.1f} | {whole:.1f} |")
    return "\n".join(rows)


def _short(frame: str) -> str:
    """`handler (aiohttp/web_protocol.py:123)` → `handler (aiohttp/web_protocol.py)`."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "backend/", "python3.13/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name
