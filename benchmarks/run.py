"""Run the benchmarks and print each figure next to its in-run reference.

python benchmarks/run.py            # all
python benchmarks/run.py token_latency
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
BENCHMARKS = ["token_latency", "connect_overhead", "server_load"]


def main(names) -> None:
    for name in names or BENCHMARKS:
        print(f"== {name}: {importlib.import_module(name).__doc__.strip().splitlines()[0]}")
        for key, value in importlib.import_module(name).main().items():
            print(f"  {key:50s} {value}")


if __name__ == "__main__":
    main(sys.argv[1:])
