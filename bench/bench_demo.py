"""The demo end to end (replay site → spiders → Processor → SQLite → alert backtest).

    python bench/bench_demo.py

Runs ``yuqing demo`` in a child process on a temporary store and outbox, and prints
wall time, posts/second end to end and the child's peak RSS.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "YUQING_STORE": f"sqlite:///{tmp}/demo.db", "PYTHONIOENCODING": "utf-8"}
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "pipeline.cli", "demo"], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - start
    stored = int(re.search(r"posts stored:\s+(\d+)", out).group(1))
    print(out[out.index("yuqing demo summary"):])
    print(f"demo wall time: {wall:.0f}s, {stored / wall:.1f} posts/s end to end (crawl, analyse, store, alerts)")
    print(f"peak RSS (child): {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
