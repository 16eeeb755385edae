#!/usr/bin/env python3
"""Whole-process measurements of the release binary in a real pseudo-terminal.

  first frame: time from exec to the first byte of the tab bar on the terminal,
               median and worst of N starts;
  idle:        CPU (% of one core, from utime+stime in /proc/PID/stat) and RSS
               (VmRSS) over a fixed window with the TUI open and nothing pressed;
               with --netns, inside that namespace; with --compare, bmon and iftop
               (curses, on the namespace's loopback: `bmon -p lo`, `iftop -n -i lo`)
               run in their own terminals over the same window and are measured the
               same way; --threads lists each netlens thread's wake-ups per second
               (voluntary context switches, /proc/PID/task/*/status) over the window.

Usage: cargo build --release && python3 scripts/measure_process.py [--idle-seconds 30] [--starts 20]
           [--netns quiet] [--compare] [--threads] [-- netlens args]
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

BINARY = os.environ.get("NETLENS_BINARY", os.path.join(os.path.dirname(__file__), "..", "target", "release", "netlens"))


def spawn(args, cols=120, rows=40, argv=None):
    """Start netlens with `args` (or the command `argv`) in a new pseudo-terminal."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        command = argv if argv is not None else [BINARY] + args
        os.execvp(command[0], command)
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


def status(pid, key):
    """A /proc/PID/status figure in kB (VmRSS, VmHWM), 0 when absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


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


def thread_switches(pid):
    """Voluntary context switches (wake-ups after a wait) per thread: {tid: (name, n)}."""
    switches = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        switches[tid] = (fields["Name"].strip(), int(fields["voluntary_ctxt_switches"]))
    return switches


def idle(args, seconds, others=(), threads=False):
    """CPU % and RSS of netlens over `seconds`; also CPU % of each command in `others`
    (argv lists) run over the same window; with `threads`, wake-ups per thread."""
    pid, fd = spawn(args)
    started = [(argv, *spawn([], argv=argv)) for argv in others]
    drain(fd, time.monotonic() + 3)  # settle: first dumps, first frames
    ticks0, t0 = cpu_ticks(pid), time.monotonic()
    other0 = [cpu_ticks(other) for _, other, _ in started]
    switches0 = thread_switches(pid) if threads else {}
    peak = 0
    while time.monotonic() - t0 < seconds:
        drain(fd, time.monotonic() + 0.5)
        for _, _, other_fd in started:
            drain(other_fd, time.monotonic() + 0.01)
        peak = max(peak, rss_kib(pid))
    ticks1, t1 = cpu_ticks(pid), time.monotonic()
    other1 = [cpu_ticks(other) for _, other, _ in started]
    switches1 = thread_switches(pid) if threads else {}
    rss = rss_kib(pid)
    stop(pid, fd)
    for _, other, other_fd in started:
        os.kill(other, signal.SIGTERM)
        os.waitpid(other, 0)
        os.close(other_fd)
    hz = os.sysconf("SC_CLK_TCK")
    window = t1 - t0
    cpu = (ticks1 - ticks0) / hz / window * 100
    compared = [
        (" ".join(argv), (after - before) / hz / window * 100)
        for (argv, _, _), before, after in zip(started, other0, other1)
    ]
    wakeups = [
        (name, (count - switches0.get(tid, (name, 0))[1]) / window)
        for tid, (name, count) in sorted(switches1.items(), key=lambda item: item[1][0])
    ]
    return cpu, rss, peak, compared, wakeups


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--netns", help="run in this network namespace (netlens --netns, ip netns exec)")
    parser.add_argument("--compare", action="store_true", help="measure bmon and iftop over the same window")
    parser.add_argument("--threads", action="store_true", help="wake-ups per second of each netlens thread")
    parser.add_argument("args", nargs="*")
    options = parser.parse_args()
    args = (["--netns", options.netns] if options.netns else []) + options.args
    if options.starts > 0:
        median, worst = first_frame(args, options.starts)
        print(f"first frame: median {median:.1f} ms, worst {worst:.1f} ms over {options.starts} starts")
    others = []
    if options.compare:
        inside = ["ip", "netns", "exec", options.netns] if options.netns else []
        others = [inside + ["bmon", "-p", "lo"], inside + ["iftop", "-n", "-i", "lo"]]
    cpu, rss, peak, compared, wakeups = idle(args, options.idle_seconds, others, options.threads)
    print(f"idle over {options.idle_seconds:.0f} s: CPU {cpu:.2f} % of one core, RSS {rss / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB)")
    for command, other_cpu in compared:
        print(f"  same window: {command}: CPU {other_cpu:.2f} % of one core")
    for name, rate in wakeups:
        print(f"  thread {name:<16} {rate:5.2f} wake-ups/s")


if __name__ == "__main__":
    main()
