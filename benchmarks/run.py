"""Run the benchmarks and print each figure next to its in-run reference.

python benchmarks/run.py                  # all
python benchmarks/run.py token_latency    # one
python benchmarks/run.py --skip hub_scale # all but the hub of many users (a few minutes)
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
BENCHMARKS = [
    "token_latency",
    "connect_overhead",
    "kernel_start",
    "logout_reach",
    "server_load",
    "unit_layer",
    "hub_scale",
]


def main(argv) -> None:
    skipped = {argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--skip"}
    named = [a for i, a in enumerate(argv) if a != "--skip" and (i == 0 or argv[i - 1] != "--skip")]
    for name in [n for n in named or BENCHMARKS if n not in skipped]:
        print(f"== {name}: {importlib.import_module(name).__doc__.strip().splitlines()[0]}")
        for key, value in importlib.import_module(name).main().items():
            print(f"  {key:50s} {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
