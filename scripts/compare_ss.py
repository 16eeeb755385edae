#!/usr/bin/env python3
"""netlens's socket refresh against `ss -tinp`, over the same 10,000 sockets.

Sets up a throw-away network namespace holding N established loopback TCP pairs
(default 5,000 pairs = 10,000 sockets, owned by a helper process), then measures:

  netlens  one refresh as the connections source does it — sock_diag dump of TCP and
           UDP in both families with TCP info, congestion, memory and TOS; parse;
           process attribution; fold into the store — by running the `sockets`
           benchmark binary in its measuring mode (`NETLENS_SOCKETS_NETNS`). CPU per
           refresh is exact: the binary is run twice with different refresh counts,
           and the difference of the two runs' CPU (getrusage of the children, user
           + system) is divided by the difference of the counts, which cancels start-
           up and the first refresh's /proc walk. Its own wall-time median is shown too.
  ss       `ss -tinp` (and `ss -tin`, for reference) run inside the same namespace,
           output to /dev/null: wall time and CPU (user + system) per run, median.

and prints the ratio of time per refresh. Needs root, python3, iproute2 and cargo.

Usage: python3 scripts/compare_ss.py [--pairs 5000] [--runs 30] [--samples 200]
"""
import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CLONE_NEWNET = 0x40000000

HELPER = r"""
import resource, socket, sys
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (2 * n + 64, 2 * n + 64))
listener = socket.socket()
listener.bind(("127.0.0.1", 7000))
listener.listen(4096)
held = []
for _ in range(n):
    client = socket.create_connection(("127.0.0.1", 7000))
    server, _ = listener.accept()
    client.sendall(b"x" * 100)
    server.recv(100)
    held += [client, server]
listener.close()
print("ready", flush=True)
sys.stdin.read()
"""


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_binary():
    """Build the `sockets` benchmark (release) and return its path."""
    output = subprocess.run(
        ["cargo", "bench", "--bench", "sockets", "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in output.splitlines():
        message = json.loads(line)
        target = message.get("target", {})
        if message.get("reason") == "compiler-artifact" and target.get("name") == "sockets" and message.get("executable"):
            return message["executable"]
    sys.exit("could not find the sockets benchmark binary in cargo's output")


def netlens_run(binary, netns, samples):
    """One run of the measuring mode: (CPU seconds of the run, its report)."""
    env = dict(os.environ, NETLENS_SOCKETS_NETNS=netns, NETLENS_SOCKETS_SAMPLES=str(samples))
    before = children_cpu()
    output = subprocess.run([binary], env=env, check=True, capture_output=True, text=True).stdout
    cpu = children_cpu() - before
    line = next(line for line in output.splitlines() if line.startswith("netlens_refresh "))
    report = dict(field.split("=", 1) for field in line.split()[1:])
    return cpu, report


def ss_runs(command, runs):
    """Wall and CPU seconds of each run of `command` (already inside the namespace)."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu = children_cpu()
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - start)
        cpus.append(children_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30, help="runs of each ss command")
    parser.add_argument("--samples", type=int, default=200, help="netlens refreshes in the longer run")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")

    binary = bench_binary()
    netns = f"nlcmp-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    helper = None
    try:
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        helper = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-c", HELPER, str(args.pairs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        if helper.stdout.readline().strip() != "ready":
            sys.exit("the pair helper failed")

        short = max(args.samples // 4, 10)
        cpu_short, _ = netlens_run(binary, netns, short)
        cpu_long, report = netlens_run(binary, netns, args.samples)
        netlens_cpu = (cpu_long - cpu_short) / (args.samples - short)
        netlens_wall = float(report["wall_median_ms"]) / 1000

        # Into the namespace for the ss runs (ss has no --netns of its own).
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            sys.exit(f"setns: {os.strerror(ctypes.get_errno())}")
        os.close(fd)
        tinp_wall, tinp_cpu = ss_runs(["ss", "-tinp"], args.runs)
        tin_wall, tin_cpu = ss_runs(["ss", "-tin"], args.runs)
    finally:
        if helper is not None:
            helper.stdin.close()
            helper.kill()
            helper.wait()
        subprocess.run(["ip", "netns", "del", netns], check=False)

    ms = lambda seconds: f"{seconds * 1000:8.2f} ms"
    print(f"{report['sockets']} sockets ({args.pairs} established loopback pairs), one refresh / one ss run:")
    print(f"  netlens refresh   CPU {ms(netlens_cpu)}   wall {ms(netlens_wall)} (median of {report['samples']}; "
          f"p90 {float(report['wall_p90_ms']):.2f} ms; read {float(report['read_median_ms']):.2f} ms "
          f"+ store fold {float(report['fold_median_ms']):.2f} ms)")
    print(f"  ss -tinp          CPU {ms(tinp_cpu)}   wall {ms(tinp_wall)} (median of {args.runs})")
    print(f"  ss -tin           CPU {ms(tin_cpu)}   wall {ms(tin_wall)} (median of {args.runs}; no process column)")
    print(f"ratio ss -tinp / netlens:  CPU {tinp_cpu / netlens_cpu:.1f}x   wall {tinp_wall / netlens_wall:.1f}x")


if __name__ == "__main__":
    main()
