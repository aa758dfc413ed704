"""One measured child process: what it printed as JSON, and its peak RSS as the kernel
counted it (``os.wait4``), so each measurement's memory is its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_measured(module: str, args: list[str]) -> tuple[dict[str, Any], float]:
    """Run ``python -m module args``; returns its last line of output as JSON and its peak
    RSS in MiB."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"python -m {module} {' '.join(args)} failed")
    found: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return found, usage.ru_maxrss / 1024
