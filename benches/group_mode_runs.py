#!/usr/bin/env python3
"""Process-group containment (`--contain group`) under CPU load, many runs of two race-prone
trees, with the time of each run and what each left behind.

Usage: cargo build --release && python3 benches/group_mode_runs.py [--runs N] [--bin PATH]
       [--load N] [--case parent-first|storm]

Cases (SPEC section 4, the path without a cgroup):

  parent-first  sh starts a setsid'd python3 that exits on SIGTERM, then waits; once the child
                says "ready", timeout-run gets SIGTERM. sh dies of the forwarded SIGTERM and its
                child is re-parented to timeout-run in the middle of the stop: it must still get
                SIGTERM, so the run ends at once, well before the 10 s grace. Timed from the
                signal to timeout-run's exit; the status must be death by SIGTERM.
  storm         sh ignores SIGTERM and starts 20 `setsid sleep` (which inherit the ignored
                SIGTERM), timeout 0.5 s, grace 1 s: every run must end 124 within a few seconds.
                Timed from the start.

During the runs, N busy loops (`sh -c 'while :; do :; done'`, N = nproc by default) load every
CPU; they are killed at the end. Every process of a run carries a marker unique to the run in
its command line; after each run, any live process with that marker is a leftover (counted, then
killed). A run that lasts 30 s is killed and counted as hung.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WATCHDOG = 30.0

PARENT_FIRST = """setsid python3 -c '
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("ready", flush=True)
time.sleep(100)' {marker} & wait"""

STORM = ("trap '' TERM; i=0; while [ $i -lt 20 ]; do setsid sleep {marker} & "
         "i=$((i+1)); done; wait")


def with_marker(marker):
    """Live (not zombie) processes whose command line contains marker."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle not in f.read():
                    continue
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            found.append(int(entry))
    return found


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def start(argv, stdout):
    # Own process group, so that a hung run can be killed whole.
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE, start_new_session=True)


def finish(p, until):
    """Waits for p until the monotonic time `until`; returns the status or None (hung)."""
    try:
        return p.wait(timeout=max(0.0, until - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return None


def parent_first(tool, marker):
    argv = [tool, "--contain", "group", "-g", "10", "-t", "60", "--",
            "sh", "-c", PARENT_FIRST.format(marker=marker)]
    started = time.monotonic()
    p = start(argv, subprocess.PIPE)
    line = p.stdout.readline()  # the readiness handshake (EOF if the run failed early)
    if line.strip() != b"ready":
        status = finish(p, started + WATCHDOG)
        return None, status, p.stderr.read().decode(errors="replace")
    sent = time.monotonic()
    p.send_signal(signal.SIGTERM)
    status = finish(p, sent + WATCHDOG)
    elapsed = time.monotonic() - sent
    p.stdout.close()
    return elapsed, status, p.stderr.read().decode(errors="replace")


def storm(tool, marker):
    argv = [tool, "--contain", "group", "-g", "1", "0.5",
            "sh", "-c", STORM.format(marker=marker)]
    started = time.monotonic()
    p = start(argv, subprocess.DEVNULL)
    status = finish(p, started + WATCHDOG)
    return time.monotonic() - started, status, p.stderr.read().decode(errors="replace")


CASES = {
    # name: (function, expected status, limit in seconds, marker)
    "parent-first": (parent_first, -signal.SIGTERM, 5.0, "gm-parent-first-{pid}-{i}"),
    "storm": (storm, 124, 5.0, "1000.{pid}{i:05d}"),
}


def measure(tool, name, runs):
    run, expected, limit, marker_format = CASES[name]
    times, leftovers, wrong, slow = [], 0, [], []
    for i in range(runs):
        marker = marker_format.format(pid=os.getpid(), i=i)
        elapsed, status, stderr = run(tool, marker)
        left = with_marker(marker)
        if left:
            leftovers += len(left)
            kill_all(left)
        if status != expected or elapsed is None:
            wrong.append((i, status, stderr.strip()[:300]))
        if elapsed is not None:
            times.append(elapsed)
            if elapsed >= limit:
                slow.append((i, elapsed, status))
        if (i + 1) % 100 == 0:
            print(f"  {name}: {i + 1}/{runs}", file=sys.stderr, flush=True)
    return {
        "runs": runs,
        "median_s": statistics.median(times) if times else None,
        "p99_s": sorted(times)[int(len(times) * 0.99) - 1] if times else None,
        "max_s": max(times) if times else None,
        "over_limit": slow,
        "limit_s": limit,
        "leftover_processes": leftovers,
        "wrong_status": wrong,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--bin", default=os.path.join(ROOT, "target/release/timeout-run"))
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1,
                        help="busy loops to start (default: nproc)")
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    args = parser.parse_args()
    cases = args.case or ["parent-first", "storm"]
    version = subprocess.run([args.bin, "--version"], capture_output=True,
                             text=True).stdout.strip()
    load_marker = f"gm-load-{os.getpid()}"
    load = [subprocess.Popen(["sh", "-c", "while :; do :; done", load_marker],
                             start_new_session=True) for _ in range(args.load)]
    print(f"{version} ({args.bin}), {os.cpu_count()} CPUs, {args.load} busy loops, "
          f"uid {os.geteuid()}, {args.runs} runs per case", flush=True)
    try:
        for name in cases:
            started = time.monotonic()
            r = measure(args.bin, name, args.runs)
            took = time.monotonic() - started
            fmt = lambda s: "-" if s is None else f"{s * 1000:.0f} ms"
            print(f"{name}: {r['runs']} runs in {took:.0f} s; median {fmt(r['median_s'])}, "
                  f"p99 {fmt(r['p99_s'])}, max {fmt(r['max_s'])}; "
                  f"{len(r['over_limit'])} at or over {r['limit_s']:.0f} s; "
                  f"{r['leftover_processes']} leftover processes; "
                  f"{len(r['wrong_status'])} with a wrong status", flush=True)
            for i, status, stderr in r["wrong_status"][:10]:
                print(f"  run {i}: status {status}: {stderr}", flush=True)
            for i, elapsed, status in r["over_limit"][:10]:
                print(f"  run {i}: {elapsed * 1000:.0f} ms, status {status}", flush=True)
    finally:
        for p in load:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        kill_all(with_marker(load_marker))
    return 0


if __name__ == "__main__":
    sys.exit(main())
