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
- the TUI in a pseudo-terminal: CPU over the same window;
- idle: the TUI in a quiet namespace, voluntary context switches of its `capture`
  thread over 10 s (each is one wake-up from epoll_wait).

Needs root. Usage:
  cargo build --release --bin netlens --example udp_flood
  python3 scripts/measure_capture.py [--rates 100000 300000] [--seconds 15]
"""
import argparse
import json
import os
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


def rx_packets(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["stats64"]["rx"]["packets"]


def flood(there, rate, seconds):
    return subprocess.Popen(["ip", "netns", "exec", there, FLOOD, "10.79.0.1:9", str(rate), str(seconds)],
                            stdout=subprocess.PIPE, text=True)


def headless(rate, seconds):
    here, there = lab("s")
    try:
        out = f"/tmp/netlens-capture-{os.getpid()}.json"
        rx0 = rx_packets(here, "nlm0")
        sender = flood(there, rate, seconds + 6)
        time.sleep(1)
        snap = subprocess.Popen([BINARY, "--netns", here, "--no-reverse-dns", "snapshot",
                                 "--duration", f"{seconds + 3}s", "--output", out])
        time.sleep(2)  # start-up (first dumps) left out of the window
        ticks0, t0 = mp.cpu_ticks(snap.pid), time.monotonic()
        time.sleep(seconds)
        ticks1, t1 = mp.cpu_ticks(snap.pid), time.monotonic()
        snap.wait(timeout=60)
        sent, _ = sender.communicate(timeout=60)
        rx = rx_packets(here, "nlm0") - rx0
        with open(out) as f:
            capture = json.load(f)["capture"]
        os.unlink(out)
        cpu = (ticks1 - ticks0) / HZ / (t1 - t0) * 100
        nlm0 = next((i for i in capture["interfaces"] if i["name"] == "nlm0"), {})
        print(sent.strip())
        print(f"  snapshot (headless) at {rate}/s: CPU {cpu:.2f} % of one core over {t1 - t0:.0f} s; "
              f"capture on nlm0: {nlm0.get('packets')} packets, {nlm0.get('dropped')} dropped by the kernel "
              f"(interface rx while it ran: {rx} for the whole flood)")
    finally:
        drop_lab(here, there)


def tui(rate, seconds):
    here, there = lab("t")
    try:
        pid, fd = mp.spawn(["--netns", here, "--no-reverse-dns"], cols=160, rows=45)
        mp.drain(fd, time.monotonic() + 3)
        sender = flood(there, rate, seconds + 3)
        mp.drain(fd, time.monotonic() + 1.5)
        ticks0, t0 = mp.cpu_ticks(pid), time.monotonic()
        mp.drain(fd, t0 + seconds)
        ticks1, t1 = mp.cpu_ticks(pid), time.monotonic()
        sent, _ = sender.communicate(timeout=60)
        mp.stop(pid, fd)
        cpu = (ticks1 - ticks0) / HZ / (t1 - t0) * 100
        print(f"  TUI at {rate}/s: CPU {cpu:.2f} % of one core over {t1 - t0:.0f} s ({sent.strip()})")
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
    options = parser.parse_args()
    idle(options.idle_seconds)
    for rate in options.rates:
        headless(rate, int(options.seconds))
        tui(rate, options.seconds)


if __name__ == "__main__":
    main()
