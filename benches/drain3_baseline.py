"""Drain3 (PyPI `drain3`, default settings) over a file of log lines, one per line: the
baseline `cargo bench --bench miner_speed` compares the patterns miner with. Prints
`<lines> <seconds> <clusters>` on stdout.

Usage: python3 benches/drain3_baseline.py LINES_FILE
"""

import sys
import time

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    config = TemplateMinerConfig()  # defaults, as the issue asks; no drain3.ini is read
    miner = TemplateMiner(config=config)
    started = time.perf_counter()
    for line in lines:
        miner.add_log_message(line)
    elapsed = time.perf_counter() - started
    print(len(lines), elapsed, len(miner.drain.clusters))


if __name__ == "__main__":
    main()
