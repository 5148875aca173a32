#!/usr/bin/env python3
"""Timeline of one traced `greentrain train` run (GREENTRAIN_TRACE=1): reads the
"greentrain-trace <pid> <seconds> <what>" lines of its stderr and prints each point in ms since
the first process's `main`, with the gap since the previous point and which process (parent or
child) reached it.
Usage: timeline.py STDERR_FILE [WALL_MS]   (WALL_MS: the run's wall time measured around it)"""
import sys


def main():
    points = []
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) == 4 and parts[0] == "greentrain-trace":
                points.append((float(parts[2]), int(parts[1]), parts[3]))
    if not points:
        print("no trace points (was GREENTRAIN_TRACE set?)")
        return
    points.sort()
    t0, parent = points[0][0], points[0][1]
    last = t0
    for t, pid, what in points:
        role = "parent" if pid == parent else "child "
        print(f"{1e3 * (t - t0):8.1f} ms  (+{1e3 * (t - last):6.1f})  {role}  {what}")
        last = t
    if len(sys.argv) > 2:
        print(f"{float(sys.argv[2]):8.1f} ms  wall time around the command")


if __name__ == "__main__":
    main()
