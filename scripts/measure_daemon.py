#!/usr/bin/env python3
"""Whole-process measurements of the release daemon (issue 15).

  idle:   CPU (% of one core, utime+stime from /proc/PID/stat) and RSS (VmRSS sampled
          every second, VmHWM at the end) over a fixed window, the daemon watching a
          namespace; with --scrape-every S, /metrics is fetched every S seconds during
          the window, as Prometheus would (15 s is its default interval).
  scrape: the time from sending GET /metrics to the last byte of the response over
          loopback (server time plus one loopback round trip), median, p99 and worst of
          --scrapes requests, and the number of series in one.

Usage (root): cargo build --release && ip netns add quiet && ip -n quiet link set lo up &&
    python3 scripts/measure_daemon.py [--netns quiet] [--seconds 60] [--scrape-every 0]
        [--scrapes 200] [-- extra netlens args]
"""
import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from measure_process import cpu_ticks, status  # noqa: E402  (/proc/PID/stat and status readers)

BINARY = os.environ.get("NETLENS_BINARY", os.path.join(os.path.dirname(__file__), "..", "target", "release", "netlens"))
TICK = os.sysconf("SC_CLK_TCK")



def get(port, path="/metrics"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Accept": "text/plain"})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, body, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--netns", default="quiet")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--scrape-every", type=float, default=0)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--port", type=int, default=19464)
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    command = [BINARY, "--netns", args.netns, "--log", "/dev/null", *args.extra,
               "daemon", "--metrics-addr", f"127.0.0.1:{args.port}"]
    daemon = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(args.port, "/healthz")[0] in (200, 503):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or daemon.poll() is not None:
                sys.exit(f"the daemon did not start: {' '.join(command)}")
            time.sleep(0.1)
        time.sleep(5)  # set-up done, first readings folded
        start_ticks, start = cpu_ticks(daemon.pid), time.monotonic()
        rss = []
        next_scrape = start
        while time.monotonic() - start < args.seconds:
            if args.scrape_every and time.monotonic() >= next_scrape:
                get(args.port)
                next_scrape += args.scrape_every
            rss.append(status(daemon.pid, "VmRSS"))
            time.sleep(1)
        ticks, window = cpu_ticks(daemon.pid) - start_ticks, time.monotonic() - start
        print(f"idle over {window:.1f} s (scrape every {args.scrape_every or 'never'}): "
              f"{100 * ticks / TICK / window:.3f} % of a core ({ticks} ticks), "
              f"RSS median {statistics.median(rss) / 1024:.1f} MiB, "
              f"max {max(rss) / 1024:.1f} MiB, VmHWM {status(daemon.pid, 'VmHWM') / 1024:.1f} MiB")
        if args.scrapes:
            times, series = [], 0
            for _ in range(args.scrapes):
                code, body, elapsed = get(args.port)
                assert code == 200, code
                times.append(elapsed * 1000)
                series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
            times.sort()
            print(f"scrape of {series} series, {len(body)} bytes: median {statistics.median(times):.2f} ms, "
                  f"p99 {times[int(len(times) * 0.99) - 1]:.2f} ms, worst {times[-1]:.2f} ms "
                  f"over {len(times)} requests; RSS after them {status(daemon.pid, 'VmRSS') / 1024:.1f} MiB")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)


if __name__ == "__main__":
    main()
