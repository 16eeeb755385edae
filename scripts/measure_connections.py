#!/usr/bin/env python3
"""Whole-process cost of the TUI on a big socket table (issue 3 budget: RSS at most
40 MB with the Connections tab open on 10,000 established TCP sockets).

Creates a throw-away network namespace with N established loopback TCP pairs (held
by a helper process), starts the release binary with `--netns` in a pseudo-terminal,
opens the Connections tab, lets it run, then reports RSS (VmRSS, peak VmHWM) and CPU
(utime + stime from /proc/PID/stat) over a fixed window. Needs root.

Whole-process CPU per refresh (issue 12 budget: at most 10 ms with 10,000 established
sockets) is the difference of two windows of different length, taken one after the
other in the same run, divided by the difference in refreshes: what the process costs
per refresh at steady state, start-up and first dumps cancelled out. Per-thread CPU
(/proc/PID/task/*/stat) over the longer window says where it goes.

Usage: cargo build --release && python3 scripts/measure_connections.py [--pairs 5000] [--seconds 20] [--refresh 1]
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import measure_process as mp  # noqa: E402  (spawn/drain helpers)

# Pairs one helper process holds: two descriptors each, under the usual hard limit.
PAIRS_PER_HELPER = 9000

HELPER = r"""
import resource, socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * n + 64), hard))
listener = socket.socket()
listener.bind(("127.0.0.1", port))
listener.listen(4096)
held = []
for _ in range(n):
    client = socket.create_connection(("127.0.0.1", port))
    server, _ = listener.accept()
    held += [client, server]
print("ready", flush=True)
sys.stdin.read()
"""



def thread_ticks(pid):
    """CPU ticks per thread name (threads of one name summed: tokio's workers)."""
    ticks = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        ticks[name] = ticks.get(name, 0) + int(fields[11]) + int(fields[12])
    return ticks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20, help="the short window; the long one is twice as long")
    parser.add_argument("--refresh", type=float, default=1.0, help="seconds between refreshes (netlens --refresh)")
    parser.add_argument("--binary", default=mp.BINARY, help="the netlens binary (to compare two builds side by side)")
    parser.add_argument("--reverse-dns", action="store_true", help="leave reverse DNS on (the default of netlens)")
    options = parser.parse_args()
    mp.BINARY = options.binary
    ns = f"nlmeasure-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    helpers = []
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        left, port = options.pairs, 7000
        while left > 0:
            n = min(left, PAIRS_PER_HELPER)
            helpers.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, "python3", "-c", HELPER, str(n), str(port)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            ))
            left, port = left - n, port + 1
        for helper in helpers:
            if helper.stdout.readline().strip() != "ready":
                sys.exit("helper failed")
        refresh = f"{int(options.refresh * 1000)}ms"
        args = ["--netns", ns, "--refresh", refresh] + ([] if options.reverse_dns else ["--no-reverse-dns"])
        pid, fd = mp.spawn(args, cols=200, rows=50)
        mp.drain(fd, time.monotonic() + 2)
        os.write(fd, b"5")  # the Connections tab
        mp.drain(fd, time.monotonic() + 5)
        # Two windows back to back: short, then twice as long.
        ticks0, t0 = mp.cpu_ticks(pid), time.monotonic()
        mp.drain(fd, t0 + options.seconds)
        ticks1, t1 = mp.cpu_ticks(pid), time.monotonic()
        threads0 = thread_ticks(pid)
        mp.drain(fd, t1 + 2 * options.seconds)
        ticks2, t2 = mp.cpu_ticks(pid), time.monotonic()
        threads1 = thread_ticks(pid)
        rss, peak = mp.status(pid, "VmRSS"), mp.status(pid, "VmHWM")
        # Responsiveness: time from a key press (move down) to the redrawn screen.
        latencies = mp.key_latencies(fd, 20, settle=0.3)
        mp.stop(pid, fd)
        hz = os.sysconf("SC_CLK_TCK")
        short, long = (ticks1 - ticks0) / hz, (ticks2 - ticks1) / hz
        cpu = (short + long) / (t2 - t0) * 100
        refreshes = ((t2 - t1) - (t1 - t0)) / options.refresh
        per_refresh = (long - short) / refreshes * 1000
        print(
            f"{2 * options.pairs} sockets, Connections tab open at 200x50 for {t2 - t0:.0f} s: "
            f"RSS {rss / 1024:.1f} MiB (peak VmHWM {peak / 1024:.1f} MiB), CPU {cpu:.1f} % of one core"
        )
        print(
            f"whole process: {short * 1000:.0f} ms CPU in {t1 - t0:.1f} s, {long * 1000:.0f} ms in {t2 - t1:.1f} s "
            f"-> {per_refresh:.1f} ms per refresh (refresh every {options.refresh:g} s)"
        )
        window = t2 - t1
        for name in sorted(threads1, key=lambda n: threads0.get(n, 0) - threads1[n]):
            spent = (threads1[name] - threads0.get(name, 0)) / hz
            if spent > 0:
                print(f"  thread {name:<16} {spent / window * 1000:6.1f} ms CPU per second")
        mp.print_latencies(latencies)
    finally:
        for helper in helpers:
            helper.kill()
        subprocess.run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    main()
