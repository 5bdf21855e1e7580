#!/usr/bin/env python3
"""A command that misbehaves on demand, for timeout-run's integration tests.

Actions run in order; each takes its arguments from the command line:

  trap SIG CODE      on SIG: print "got SIG", exit with CODE
  log SIG            on SIG: print "got SIG" and carry on
  ignore SIG         ignore SIG
  default SIG        default disposition for SIG
  spawn N            fork N children that exec `sleep 1000`
  setsid N           fork N children that call setsid() and exec `sleep 1000`
  orphan N           double-fork N grandchildren (`sleep 1000`) whose parent exits at once
  pool N             a multiprocessing pool of N workers, kept busy
  pids FILE          write the pids of this process and every descendant it made to FILE
  ready              print "ready" (after the handlers above are installed)
  sleep S            sleep S seconds (signals interrupt it only to run their handler)
  print TEXT         print TEXT
  stop               stop itself with SIGSTOP
  die SIG            kill itself with SIG (default disposition)
  exit N             exit with N
  read               read a line from stdin and print "read: LINE"
  flood BYTES        write BYTES bytes to stdout

Output is flushed at once. Every "got SIG" line is written with os.write so that it is not
delayed or merged.
"""

import multiprocessing
import os
import signal
import sys
import time

descendants = []
pool = None


def sig(name):
    name = name.upper()
    if name.isdigit():
        return int(name)
    if not name.startswith("SIG"):
        name = "SIG" + name
    return getattr(signal, name)


def name_of(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return "SIG%d" % num


def say(text):
    os.write(1, (text + "\n").encode())


def fork_exec(setsid=False):
    pid = os.fork()
    if pid == 0:
        try:
            if setsid:
                os.setsid()
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
                signal.signal(s, signal.SIG_DFL)
            os.execvp("sleep", ["sleep", "1000"])
        finally:
            os._exit(127)
    return pid


def orphan():
    """A grandchild whose parent exits at once: it is re-parented to the nearest subreaper."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        grandchild = os.fork()
        if grandchild == 0:
            os.close(w)
            os.setsid()
            os.execvp("sleep", ["sleep", "1000"])
        os.write(w, str(grandchild).encode())
        os._exit(0)
    os.close(w)
    grandchild = int(os.read(r, 64).decode())
    os.close(r)
    os.waitpid(pid, 0)
    return grandchild


def busy(_):
    time.sleep(1000)


def main(argv):
    global pool
    i = 0
    while i < len(argv):
        action = argv[i]
        i += 1
        if action == "trap":
            s, code = sig(argv[i]), int(argv[i + 1])
            i += 2

            def on_trap(num, _frame, code=code):
                say("got " + name_of(num))
                os._exit(code)

            signal.signal(s, on_trap)
        elif action == "log":
            s = sig(argv[i])
            i += 1
            signal.signal(s, lambda num, _f: say("got " + name_of(num)))
        elif action == "ignore":
            signal.signal(sig(argv[i]), signal.SIG_IGN)
            i += 1
        elif action == "default":
            signal.signal(sig(argv[i]), signal.SIG_DFL)
            i += 1
        elif action == "spawn":
            descendants.extend(fork_exec() for _ in range(int(argv[i])))
            i += 1
        elif action == "setsid":
            descendants.extend(fork_exec(setsid=True) for _ in range(int(argv[i])))
            i += 1
        elif action == "orphan":
            descendants.extend(orphan() for _ in range(int(argv[i])))
            i += 1
        elif action == "pool":
            n = int(argv[i])
            i += 1
            pool = multiprocessing.get_context("fork").Pool(n)
            pool.map_async(busy, range(n))
            descendants.extend(p.pid for p in pool._pool)
        elif action == "pids":
            path = argv[i]
            i += 1
            with open(path + ".tmp", "w") as f:
                f.write("\n".join(str(p) for p in [os.getpid()] + descendants) + "\n")
            os.rename(path + ".tmp", path)
        elif action == "ready":
            say("ready")
        elif action == "sleep":
            end = time.monotonic() + float(argv[i])
            i += 1
            while time.monotonic() < end:
                time.sleep(max(0.0, end - time.monotonic()))
        elif action == "print":
            say(argv[i])
            i += 1
        elif action == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)
        elif action == "die":
            s = sig(argv[i])
            i += 1
            signal.signal(s, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {s})
            os.kill(os.getpid(), s)
            time.sleep(5)
        elif action == "exit":
            sys.stdout.flush()
            os._exit(int(argv[i]))
        elif action == "read":
            line = sys.stdin.readline()
            say("read: " + line.rstrip("\n"))
        elif action == "flood":
            n = int(argv[i])
            i += 1
            chunk = b"x" * 65536
            while n > 0:
                n -= os.write(1, chunk[: min(n, len(chunk))])
        else:
            sys.exit("helper: unknown action " + action)


if __name__ == "__main__":
    main(sys.argv[1:])
