#!/usr/bin/env python3
"""Whole-process peak memory of `netlens snapshot` on a big socket table (issue 10
budget: at most 40 MB peak RSS for a namespace holding 10,000 sockets).

Creates a throw-away network namespace with N established loopback TCP pairs (2N
sockets, held by a helper process), runs `BINARY --netns NS snapshot -o FILE` RUNS
times, and reports each run's peak RSS (ru_maxrss of the child), wall time and the
size of the file. Needs root.

Usage: cargo build --release && python3 scripts/measure_snapshot.py [--pairs 5000] [--runs 3]
           [--binary target/release/netlens] [--format json]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from measure_connections import HELPER  # noqa: E402  (the helper holding the pairs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--binary", default="target/release/netlens")
    parser.add_argument("--format", default="json")
    options = parser.parse_args()
    ns = f"nlsnap-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    helper = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        helper = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", HELPER, str(options.pairs), "7000"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if helper.stdout.readline().strip() != "ready":
            sys.exit("the helper did not open its connections")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "snapshot." + options.format)
            for run in range(options.runs):
                started = time.monotonic()
                # A fresh child per run: ru_maxrss of RUSAGE_CHILDREN is the largest so
                # far, so each run is measured in its own forked Python.
                code = (
                    "import resource, subprocess, sys;"
                    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL);"
                    "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
                )
                argv = [options.binary, "--netns", ns, "--log", "/dev/null", "snapshot", "-f", options.format]
                result = subprocess.run(
                    [sys.executable, "-c", code, *argv, "-o", out], capture_output=True, text=True, check=True
                )
                status, maxrss_kb = result.stdout.split()
                elapsed = time.monotonic() - started
                size = os.path.getsize(out) if os.path.exists(out) else 0
                print(
                    f"run {run + 1}: exit {status}, peak RSS {int(maxrss_kb) / 1024:.1f} MiB, "
                    f"{elapsed:.2f} s, {size / 1e6:.1f} MB written, {2 * options.pairs} sockets"
                )
    finally:
        if helper is not None:
            helper.stdin.close()
            helper.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
