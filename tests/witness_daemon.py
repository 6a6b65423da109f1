#!/usr/bin/env python3
"""The witness: a tiny service a test resource runs (through hactl:anything).

For as long as it lives it appends `<node> <monotonic ns> <wall ns>` to a log the cluster never
reads, every few milliseconds, as a client of the service would see it answer. The
node comes from HACTL_NODE, which hactl's runner gives every action. Stdlib only.
"""

import os
import sys
import time

INTERVAL_S = 0.005


def main() -> None:
    log = sys.argv[1]
    node = os.environ.get("HACTL_NODE", "?")
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    while True:
        os.write(fd, f"{node} {time.monotonic_ns()} {time.time_ns()}\n".encode())
        time.sleep(INTERVAL_S)


if __name__ == "__main__":
    main()
