#!/usr/bin/env python3
"""Whole-process cost of passive DNS capture under a flood (issue 5: 10,000 queries
per second on loopback; the log stays bounded, the UI stays responsive).

Creates a throw-away network namespace, starts the release binary with `--netns` in a
pseudo-terminal on the DNS tab, runs `examples/dns_flood` (a responder on
127.0.0.1:53 and a sender at RATE queries/s) inside the namespace, and reports CPU
(utime + stime from /proc/PID/stat) and RSS over the flood, plus the time from a key
press to the redrawn screen while it runs. Needs root.

Usage: cargo build --release --examples && python3 scripts/measure_dns_flood.py [--rate 10000] [--seconds 20]
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import measure_process as mp  # noqa: E402  (spawn/drain helpers)
from measure_connections import status  # noqa: E402

FLOOD = os.path.join(os.path.dirname(__file__), "..", "target", "release", "examples", "dns_flood")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=20)
    options = parser.parse_args()
    ns = f"nlflood-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    flood = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        pid, fd = mp.spawn(["--netns", ns, "--no-reverse-dns"], cols=200, rows=50)
        mp.drain(fd, time.monotonic() + 2)
        os.write(fd, b"4")
        mp.drain(fd, time.monotonic() + 1)
        flood = subprocess.Popen(
            ["ip", "netns", "exec", ns, FLOOD, str(options.rate), str(int(options.seconds + 4))],
            stdout=subprocess.PIPE, text=True,
        )
        mp.drain(fd, time.monotonic() + 2)
        ticks0, t0 = mp.cpu_ticks(pid), time.monotonic()
        mp.drain(fd, t0 + options.seconds)
        ticks1, t1 = mp.cpu_ticks(pid), time.monotonic()
        rss, peak = status(pid, "VmRSS"), status(pid, "VmHWM")
        latencies = mp.key_latencies(fd, 10, settle=0.1)
        out, _ = flood.communicate(timeout=30)
        mp.stop(pid, fd)
        cpu = (ticks1 - ticks0) / os.sysconf("SC_CLK_TCK") / (t1 - t0) * 100
        print(out.strip())
        print(
            f"DNS tab open at 200x50 for {options.seconds:.0f} s of flood: "
            f"RSS {rss / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB), CPU {cpu:.1f} % of one core"
        )
        mp.print_latencies(latencies)
    finally:
        if flood and flood.poll() is None:
            flood.kill()
        subprocess.run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    main()
