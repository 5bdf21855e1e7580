#!/usr/bin/env python3
"""Gives another process the pid of a process that has just been reaped, in a pid namespace
where this program may write /proc/sys/kernel/ns_last_pid (root).

Usage: reuse-pid.py [--session SECONDS] PID [MARKER]

Waits until PID is gone, then forks until a child gets PID. That child outlives this program
(which exits at once, so the child is adopted by the namespace's init or subreaper) and dies by
SIGSEGV 0.2 s later; with --session, it starts a session of its own instead (so PID is its
process group's number too) and lives SECONDS. Prints "reused", or "not reused" after 200
tries. MARKER is ignored (it only tags the command line).
"""

import os
import signal
import sys
import time

args = sys.argv[1:]
session = None
if args[0] == "--session":
    session = float(args[1])
    args = args[2:]
target = int(args[0])
os.setsid()  # a pid still used as a process group id is not given out again
while os.path.exists("/proc/%d" % target):
    time.sleep(0.001)
for _ in range(200):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(target - 1))
    pid = os.fork()
    if pid == 0:
        if os.getpid() == target:
            if session is not None:
                os.setsid()
                time.sleep(session)
                os._exit(0)
            time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGSEGV)
        os._exit(0)
    if pid == target:
        print("reused", flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
print("not reused", flush=True)
