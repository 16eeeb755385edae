#!/usr/bin/env python3
"""Whole-process measurements of the release binary in a real pseudo-terminal.

  first frame: time from exec to the first byte of the tab bar on the terminal,
               median and worst of N starts;
  idle:        CPU (% of one core, from utime+stime in /proc/PID/stat) and RSS
               (VmRSS) over a fixed window with the TUI open and nothing pressed.

Usage: cargo build --release && python3 scripts/measure_process.py [--idle-seconds 30] [--starts 20] [-- netlens args]
"""
import argparse
import os
import pty
import select
import signal
import statistics
import struct
import sys
import fcntl
import termios
import time

BINARY = os.path.join(os.path.dirname(__file__), "..", "target", "release", "netlens")


def spawn(args, cols=120, rows=40):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execv(BINARY, [BINARY] + args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def drain(fd, until, needle=None):
    seen = b""
    while time.monotonic() < until:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if needle is not None and needle in seen:
                return True, seen
    return False, seen


def stop(pid, fd):
    os.write(fd, b"q")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        drain(fd, time.monotonic() + 0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def first_frame(args, starts):
    times = []
    for _ in range(starts):
        start = time.monotonic()
        pid, fd = spawn(args)
        found, _ = drain(fd, start + 5, needle=b"Overview")
        elapsed = time.monotonic() - start
        stop(pid, fd)
        if not found:
            sys.exit("no tab bar within 5 s")
        times.append(elapsed * 1000)
    return statistics.median(times), max(times)


def key_latencies(fd, presses, settle=0.3, key=b"j"):
    """Milliseconds from each key press to the redrawn screen (the first escape
    sequence back), after letting output settle for `settle` seconds each time."""
    latencies = []
    for _ in range(presses):
        drain(fd, time.monotonic() + settle)
        start = time.monotonic()
        os.write(fd, key)
        found, _ = drain(fd, start + 2, needle=b"\x1b[")
        if found:
            latencies.append((time.monotonic() - start) * 1000)
    return sorted(latencies)


def print_latencies(latencies):
    """One line: median and worst of `key_latencies`' result."""
    if latencies:
        print(
            f"key press to redrawn screen: median {latencies[len(latencies) // 2]:.1f} ms, "
            f"max {latencies[-1]:.1f} ms over {len(latencies)} presses"
        )


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle(args, seconds):
    pid, fd = spawn(args)
    drain(fd, time.monotonic() + 3)  # settle: first dumps, first frames
    ticks0, t0 = cpu_ticks(pid), time.monotonic()
    peak = 0
    while time.monotonic() - t0 < seconds:
        drain(fd, time.monotonic() + 1)
        peak = max(peak, rss_kib(pid))
    ticks1, t1 = cpu_ticks(pid), time.monotonic()
    rss = rss_kib(pid)
    stop(pid, fd)
    hz = os.sysconf("SC_CLK_TCK")
    cpu = (ticks1 - ticks0) / hz / (t1 - t0) * 100
    return cpu, rss, peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    median, worst = first_frame(options.args, options.starts)
    print(f"first frame: median {median:.1f} ms, worst {worst:.1f} ms over {options.starts} starts")
    cpu, rss, peak = idle(options.args, options.idle_seconds)
    print(f"idle over {options.idle_seconds:.0f} s: CPU {cpu:.2f} % of one core, RSS {rss / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
