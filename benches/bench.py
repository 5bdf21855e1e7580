#!/usr/bin/env python3
"""Side-by-side benchmark of timeout-run and GNU timeout (SPEC section 9).

Usage: cargo build --release && python3 benches/bench.py [--quick] [--bin PATH]
       [--extra LABEL=PATH]...

Every figure is measured for both tools in the same run, interleaved (A, B, A, B, ...), so
machine noise hits both alike. Medians are reported, with the ratio timeout-run / GNU.
"""

import argparse
import json
import os
import re
import signal
import tempfile
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_ms(samples):
    return statistics.median(samples) * 1000


def run_wall(argv, env=None):
    start = time.perf_counter()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def startup(tools, n, env=None):
    """Start-up plus exit overhead of `TOOL 10 true`, against plain `true`."""
    samples = {name: [] for name in list(tools) + ["true"]}
    true = shutil.which("true")
    for _ in range(n):
        for name, argv in tools.items():
            samples[name].append(run_wall(argv + ["10", true], env))
        samples["true"].append(run_wall([true], env))
    return {name: median_ms(s) for name, s in samples.items()}


def deadline_latency(tools, n):
    """From the deadline to the tool's exit, for `sleep` that dies on SIGTERM."""
    samples = {name: [] for name in tools}
    for _ in range(n):
        for name, argv in tools.items():
            samples[name].append(run_wall(argv + ["0.1", "sleep", "10"]) - 0.1)
    return {name: median_ms(s) for name, s in samples.items()}


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def waiting_cost(tools):
    """Context switches of the supervisor itself during a 2 s wait, and its peak RSS."""
    out = {}
    for name, argv in tools.items():
        p = subprocess.Popen(argv + ["30", "sleep", "30"])
        time.sleep(0.2)
        before = proc_status(p.pid, "voluntary_ctxt_switches") + proc_status(
            p.pid, "nonvoluntary_ctxt_switches")
        time.sleep(2.0)
        after = proc_status(p.pid, "voluntary_ctxt_switches") + proc_status(
            p.pid, "nonvoluntary_ctxt_switches")
        hwm = proc_status(p.pid, "VmHWM")
        p.terminate()
        p.wait()
        out[name] = (after - before, hwm)
    return out


TREE = ("for i in $(seq 250); do sleep 1000 & done; "
        "for i in $(seq 50); do setsid sleep 1000 & done; echo ready; wait")


def alive_sleepers():
    n = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read() == b"sleep\x001000\x00":
                    with open(f"/proc/{entry}/stat") as s:
                        state = s.read().rsplit(")", 1)[1].split()[0]
                    if state not in ("Z", "X"):
                        n += 1
        except OSError:
            pass
    return n


def tree_stop(tools, n):
    """Time from the stop signal to the tool's exit for 300 processes (50 setsid'd), and how
    many of them survive."""
    out = {}
    for name, argv in tools.items():
        times, survivors = [], []
        for _ in range(n):
            p = subprocess.Popen(argv + ["-s", "TERM", "300", "sh", "-c", TREE],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            p.stdout.readline()
            time.sleep(0.2)
            start = time.perf_counter()
            p.terminate()
            p.wait()
            times.append(time.perf_counter() - start)
            time.sleep(0.1)
            survivors.append(alive_sleepers())
            subprocess.run(["pkill", "-KILL", "-x", "-f", "sleep 1000"])
            time.sleep(0.2)
        out[name] = (median_ms(times), max(survivors))
    return out


def census(binary, modes, n):
    """What the tree at a timeout costs (SPEC section 11): the same 300 processes, timed out
    by SIGALRM once they are all running, with --report so that the tree is recorded. The
    figures are timeout-run's own debug line: wall time, and CPU time of all its threads
    (which a busy machine cannot stretch)."""
    out = {}
    env = dict(os.environ, TIMEOUT_RUN_LOG="timeout_run=debug")
    line = re.compile(r"read (\d+) processes in ([\d.]+)ms \(CPU time ([\d.]+)ms\)")
    for mode in modes:
        wall, cpu, counts = [], [], set()
        for _ in range(n):
            with tempfile.TemporaryDirectory() as tmp:
                report = os.path.join(tmp, "r.json")
                p = subprocess.Popen([binary, "--contain", mode, "--report", report, "-g", "5",
                                      "60", "sh", "-c", TREE], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                p.stdout.readline()
                time.sleep(0.2)
                p.send_signal(signal.SIGALRM)
                _, err = p.communicate(timeout=60)
                found = line.search(err)
                if found is None:
                    sys.exit(f"no census line from timeout-run --contain {mode}:\n{err}")
                counts.add(len(json.load(open(report))["tree_at_timeout"]))
                wall.append(float(found.group(2)))
                cpu.append(float(found.group(3)))
            subprocess.run(["pkill", "-KILL", "-x", "-f", "sleep 1000"])
            time.sleep(0.2)
        out[mode] = (statistics.median(wall), statistics.median(cpu), sorted(counts))
    return out


def print_census(binary, n):
    modes = ["cgroup", "group"] if cgroup2_dir() and os.geteuid() == 0 else ["group"]
    c = census(binary, modes, n)
    print("the tree at a timeout, 300 processes (50 setsid'd), median of "
          f"{n} (delays the stop signal):")
    for mode, (wall, cpu, counts) in c.items():
        print(f"  --contain {mode:7} {wall:6.2f} ms wall, {cpu:6.2f} ms CPU "
              f"({cpu * 1000 / max(counts):.0f} us per process; recorded: {counts})")
    print()


def cgroup2_dir():
    """This process's cgroup directory in the v2 hierarchy, or None."""
    try:
        with open("/proc/self/mountinfo") as f:
            mount = next(l.split(" - ")[0].split()[4] for l in f if " - cgroup2 " in l)
        with open("/proc/self/cgroup") as f:
            own = next(l[3:].strip() for l in f if l.startswith("0::"))
    except (OSError, StopIteration):
        return None
    return os.path.join(mount, own.lstrip("/"))


def tree_floor(n):
    """The kernel's floor for the same tree: no supervisor, every process in a cgroup killed by
    one write to cgroup.kill, timed until the cgroup is empty (root only)."""
    parent = cgroup2_dir()
    if parent is None or os.geteuid() != 0:
        return None
    times = []
    for i in range(n):
        cg = os.path.join(parent, f"bench-floor-{os.getpid()}-{i}")
        os.mkdir(cg)
        p = subprocess.Popen(["sh", "-c", f"echo $$ > {cg}/cgroup.procs; {TREE}"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        p.stdout.readline()
        time.sleep(0.2)
        start = time.perf_counter()
        with open(os.path.join(cg, "cgroup.kill"), "w") as f:
            f.write("1")
        while True:
            with open(os.path.join(cg, "cgroup.events")) as f:
                if "populated 0" in f.read():
                    break
        times.append(time.perf_counter() - start)
        p.wait()
        os.rmdir(cg)
        time.sleep(0.2)
    return median_ms(times)


def relay_throughput(binary, size_mb):
    """--idle-timeout relay against one more `cat` hop, both between two pipes."""
    src = f"head -c {size_mb}M /dev/zero"
    cases = {
        "cat": f"{src} | cat | cat > /dev/null",
        "timeout-run --idle-timeout": f"{src} | {binary} --idle-timeout 10 cat | cat > /dev/null",
    }
    out = {name: [] for name in cases}
    for _ in range(3):
        for name, pipeline in cases.items():
            start = time.perf_counter()
            subprocess.run(["bash", "-c", pipeline], check=True)
            out[name].append(size_mb / 1024 / (time.perf_counter() - start))
    return {name: statistics.median(v) for name, v in out.items()}


def print_startup(tools, extras, n):
    """The start-up figure twice: in the C locale, where GNU timeout's `setlocale` loads nothing
    (its fastest start, so the strict comparison), and in the caller's locale (with a UTF-8 one,
    GNU loads locale files first)."""
    startup_tools = dict(tools)
    for extra in extras:
        label, _, path = extra.partition("=")
        startup_tools[label] = [path]
        startup_tools[label + " -c group"] = [path, "--contain", "group"]
    c_locale = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    c_locale["LC_ALL"] = "C"
    own = os.environ.get("LC_ALL") or os.environ.get("LANG") or "unset"
    result = {}
    for label, env in (("LC_ALL=C", c_locale), (f"caller's locale, LANG/LC_ALL {own}", None)):
        s = startup(startup_tools, n, env)
        result = s  # the caller's locale, as the deadline figure below
        print(f"start-up + exit, median wall ms ('TOOL 10 true'), {label}:")
        for name, v in s.items():
            print(f"  {name:20} {v:7.3f} ms   overhead over true: {v - s['true']:6.3f} ms")
        for name in startup_tools:
            if name != "GNU timeout":
                print(f"  ratio {name}/GNU overhead: "
                      f"{(s[name] - s['true']) / max(1e-9, s['GNU timeout'] - s['true']):.2f}")
        print()
    return result


def print_tree(tools, n):
    floor = tree_floor(n)
    t = tree_stop(tools, n)
    print("300-process tree (50 setsid'd): stop signal to exit, median ms; survivors (max):")
    if floor is not None:
        print(f"  {'kernel floor':20} {floor:8.2f} ms   (one cgroup.kill write, no supervisor)")
    for name, (ms, alive) in t.items():
        ratio = f"   {ms / floor:.2f}x the floor" if floor else ""
        print(f"  {name:20} {ms:8.2f} ms   survivors: {alive}{ratio}")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/timeout-run"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["tree", "startup", "relay", "census"],
                    help="measure one figure only")
    ap.add_argument("--extra", action="append", default=[], metavar="LABEL=PATH",
                    help="another timeout-run build (e.g. a static one) for the start-up figure")
    args = ap.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"{args.bin} not found: run `cargo build --release` first")
    gnu = shutil.which("timeout")
    tools = {"timeout-run": [args.bin], "timeout-run -c group": [args.bin, "--contain", "group"],
             "GNU timeout": [gnu]}
    n = 60 if args.quick else 300
    if args.only == "tree":
        print_tree(tools, 10)
        return
    if args.only == "startup":
        print_startup(tools, args.extra, n)
        return
    if args.only == "relay":
        print_relay(args)
        return
    if args.only == "census":
        print_census(args.bin, 10)
        return
    print(f"# timeout-run vs GNU timeout ({subprocess.run([gnu, '--version'], capture_output=True, text=True).stdout.splitlines()[0]})")
    print(f"# {os.cpu_count()} CPUs, {n} start-up runs each, interleaved\n")

    s = print_startup(tools, args.extra, n)

    d = deadline_latency(tools, 20 if args.quick else 50)
    print("deadline to exit, median ms ('TOOL 0.1 sleep 10' minus 100 ms; net: minus the")
    print("tool's own start-up + exit time measured above):")
    for name, v in d.items():
        print(f"  {name:20} {v:7.3f} ms   net {v - s[name]:6.3f} ms")
    print()

    w = waiting_cost(tools)
    print("while waiting 2 s: context switches of the supervisor, peak RSS:")
    for name, (cs, hwm) in w.items():
        print(f"  {name:20} {cs:4d} context switches   VmHWM {hwm} KiB ({hwm / 1024:.2f} MiB)")
    print()

    print_tree(tools, 3 if args.quick else 5)

    print_census(args.bin, 3 if args.quick else 10)

    print_relay(args)


def print_relay(args):
    r = relay_throughput(args.bin, 512 if args.quick else 2048)
    print("relay throughput between two pipes, GB/s (median of 3):")
    for name, v in r.items():
        print(f"  {name:28} {v:6.2f} GB/s")
    print(f"  ratio: {r['timeout-run --idle-timeout'] / r['cat']:.2f} of cat")


if __name__ == "__main__":
    main()
