#!/usr/bin/env python3
"""Whole-process cost and kernel drops of the packet capture under a UDP flood on a
veth pair (issue 12: report CPU and drops at 100,000 and 300,000 packets/s), and the
capture thread's wake-ups on a quiet namespace (it must not wake at all).

Creates two throw-away network namespaces joined by a veth pair (IPv6 off, permanent
neighbours: nothing but the flood crosses it), runs the release binary in the first
and `examples/udp_flood` in the second, and reports:

- `snapshot` mode (headless): `netlens --netns A snapshot --duration D` while the flood
  runs: CPU (utime + stime from /proc/PID/stat over a fixed window inside the flood)
  and the export's `capture` section (packets, kernel drops);
- the TUI in a pseudo-terminal, on the Connections tab: CPU over the same window and
  the kernel drops the tab's title shows at the end (read off a minimal model of the
  terminal screen);
- idle: the TUI in a quiet namespace, voluntary context switches of its `capture`
  thread over 10 s (each is one wake-up from epoll_wait).

The achieved rate is what the receiving interface counted (nlm0's rx packets, `ip -s -j
link`) over the CPU window, not what the flooder asked for: a veth drops silently when
its peer's backlog is full (nlm1's tx_dropped, also reported), and the flooder's own
count is only what `sendmmsg` accepted.

Needs root. Usage:
  cargo build --release --bin netlens --example udp_flood
  python3 scripts/measure_capture.py [--rates 100000 300000] [--seconds 15]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import measure_process as mp  # noqa: E402  (spawn/drain/cpu helpers)

ROOT = os.path.join(os.path.dirname(__file__), "..")
FLOOD = os.path.join(ROOT, "target", "release", "examples", "udp_flood")
BINARY = mp.BINARY
HZ = os.sysconf("SC_CLK_TCK")


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def lab(tag):
    here, there = f"nlcap-{tag}-{os.getpid()}", f"nlcapf-{tag}-{os.getpid()}"
    ip("netns", "add", here)
    ip("netns", "add", there)
    for ns in (here, there):
        for key in ("all", "default"):
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1"], check=True)
        ip("-n", ns, "link", "set", "lo", "up")
    ip("-n", here, "link", "add", "nlm0", "address", "02:00:00:00:79:01", "type", "veth",
       "peer", "name", "nlm1", "netns", there, "address", "02:00:00:00:79:02")
    ip("-n", here, "addr", "add", "10.79.0.1/24", "dev", "nlm0")
    ip("-n", there, "addr", "add", "10.79.0.2/24", "dev", "nlm1")
    ip("-n", here, "link", "set", "nlm0", "up")
    ip("-n", there, "link", "set", "nlm1", "up")
    ip("-n", here, "neigh", "add", "10.79.0.2", "lladdr", "02:00:00:00:79:02", "dev", "nlm0", "nud", "permanent")
    ip("-n", there, "neigh", "add", "10.79.0.1", "lladdr", "02:00:00:00:79:01", "dev", "nlm1", "nud", "permanent")
    return here, there


def drop_lab(here, there):
    for ns in (here, there):
        subprocess.run(["ip", "netns", "del", ns], check=False)


def link_stats(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["stats64"]


class Counters:
    """nlm0's rx packets (what reached the capture's side) and nlm1's tx_dropped (what
    the veth threw away before that) at one moment."""

    def __init__(self, here, there):
        self.rx = link_stats(here, "nlm0")["rx"]["packets"]
        self.veth_dropped = link_stats(there, "nlm1")["tx"]["dropped"]
        self.at = time.monotonic()

    def since(self, before):
        rx, seconds = self.rx - before.rx, self.at - before.at
        return (f"nlm0 received {rx} = {rx / seconds:.0f}/s over {seconds:.1f} s, "
                f"veth dropped {self.veth_dropped - before.veth_dropped}")


def flood(there, rate, seconds, threads):
    return subprocess.Popen(["ip", "netns", "exec", there, FLOOD, "10.79.0.1:9", str(rate), str(seconds),
                             "64", "4", str(threads)],
                            stdout=subprocess.PIPE, text=True)


def headless(rate, seconds, threads):
    here, there = lab("s")
    try:
        out = f"/tmp/netlens-capture-{os.getpid()}.json"
        sender = flood(there, rate, seconds + 6, threads)
        time.sleep(1)
        started = Counters(here, there)
        snap = subprocess.Popen([BINARY, "--netns", here, "--no-reverse-dns", "snapshot",
                                 "--duration", f"{seconds + 3}s", "--output", out])
        time.sleep(2)  # start-up (first dumps) left out of the window
        ticks0, before = mp.cpu_ticks(snap.pid), Counters(here, there)
        time.sleep(seconds)
        ticks1, after = mp.cpu_ticks(snap.pid), Counters(here, there)
        snap.wait(timeout=60)
        ended = Counters(here, there)
        sent, _ = sender.communicate(timeout=60)
        with open(out) as f:
            capture = json.load(f)["capture"]
        os.unlink(out)
        cpu = (ticks1 - ticks0) / HZ / (after.at - before.at) * 100
        nlm0 = next((i for i in capture["interfaces"] if i["name"] == "nlm0"), {})
        print(f"  flooder: {sent.strip()}")
        print(f"  snapshot (headless) at {rate}/s asked: CPU {cpu:.2f} % of one core over the window "
              f"({after.since(before)}); capture on nlm0 over the whole run: {nlm0.get('packets')} packets, "
              f"{nlm0.get('dropped')} dropped by the kernel ({ended.since(started)})")
    finally:
        drop_lab(here, there)


class Screen:
    """Just enough of a terminal to read what ratatui drew: cursor moves (CSI row;col H)
    and printable text; every other escape sequence is skipped."""

    SEQUENCE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b[()][A-Za-z0-9]|\x1b.|([^\x1b]+)")

    def __init__(self, rows, cols):
        self.cells = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0

    def feed(self, data):
        """All of the output at once: a read may end inside an escape sequence."""
        for m in self.SEQUENCE.finditer(data.decode("utf-8", "replace")):
            if m.group(3) is not None:
                for ch in m.group(3):
                    if ch in "\r\n":
                        self.col = 0 if ch == "\r" else self.col
                        self.row += ch == "\n"
                    elif 0 <= self.row < len(self.cells) and 0 <= self.col < len(self.cells[0]):
                        self.cells[self.row][self.col] = ch
                        self.col += 1
            elif m.group(2) == "H":
                parts = [int(p) if p.isdigit() else 1 for p in (m.group(1) or "1;1").split(";")] + [1]
                self.row, self.col = parts[0] - 1, parts[1] - 1
            elif m.group(2) == "J" and m.group(1) == "2":
                self.cells = [[" "] * len(self.cells[0]) for _ in self.cells]

    def text(self):
        return "\n".join("".join(row) for row in self.cells)


def drain_into(output, fd, until):
    _, seen = mp.drain(fd, until)
    output.extend(seen)


def tui(rate, seconds, threads):
    here, there = lab("t")
    rows, cols = 45, 160
    try:
        started = Counters(here, there)
        pid, fd = mp.spawn(["--netns", here, "--no-reverse-dns"], cols=cols, rows=rows)
        output = bytearray()
        drain_into(output, fd, time.monotonic() + 3)
        os.write(fd, b"5")  # the Connections tab: its title says what the kernel dropped
        sender = flood(there, rate, seconds + 3, threads)
        drain_into(output, fd, time.monotonic() + 1.5)
        ticks0, before = mp.cpu_ticks(pid), Counters(here, there)
        drain_into(output, fd, before.at + seconds)
        ticks1, after = mp.cpu_ticks(pid), Counters(here, there)
        sent, _ = sender.communicate(timeout=60)
        drain_into(output, fd, time.monotonic() + 1.5)  # the last drop count drawn
        ended = Counters(here, there)
        mp.stop(pid, fd)
        cpu = (ticks1 - ticks0) / HZ / (after.at - before.at) * 100
        screen = Screen(rows, cols)
        screen.feed(bytes(output))
        drops = re.findall(r"([0-9][0-9 ]*) dropped by the kernel", screen.text())
        shown = drops[-1].replace(" ", "") if drops else "0 (none shown)"
        print(f"  flooder: {sent.strip()}")
        print(f"  TUI at {rate}/s asked: CPU {cpu:.2f} % of one core over the window ({after.since(before)}); "
              f"dropped by the kernel as the Connections tab shows it: {shown} ({ended.since(started)})")
    finally:
        drop_lab(here, there)


def thread_switches(pid, name):
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                if f.read().strip() != name:
                    continue
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def idle(seconds):
    here, there = lab("i")
    try:
        pid, fd = mp.spawn(["--netns", here, "--no-reverse-dns"], cols=160, rows=45)
        mp.drain(fd, time.monotonic() + 4)
        switches0, ticks0, t0 = thread_switches(pid, "capture"), mp.cpu_ticks(pid), time.monotonic()
        mp.drain(fd, t0 + seconds)
        switches1, ticks1, t1 = thread_switches(pid, "capture"), mp.cpu_ticks(pid), time.monotonic()
        mp.stop(pid, fd)
        cpu = (ticks1 - ticks0) / HZ / (t1 - t0) * 100
        print(f"  idle TUI, quiet namespace: capture thread woke {switches1 - switches0} times in "
              f"{t1 - t0:.0f} s (voluntary_ctxt_switches); whole process {cpu:.2f} % of one core")
    finally:
        drop_lab(here, there)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", type=int, nargs="+", default=[100000, 300000])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--flood-threads", type=int, default=1)
    parser.add_argument("--no-idle", action="store_true")
    options = parser.parse_args()
    if not options.no_idle:
        idle(options.idle_seconds)
    for rate in options.rates:
        headless(rate, int(options.seconds), options.flood_threads)
        tui(rate, options.seconds, options.flood_threads)


if __name__ == "__main__":
    main()
