#!/usr/bin/env python3
"""Gives an orphan the pid of a process that has just been reaped, in a pid namespace where this
program may write /proc/sys/kernel/ns_last_pid (root).

Usage: reuse-pid.py PID [MARKER]

Waits until PID is gone, then forks until a child gets PID. That child outlives this program
(which exits at once, so the child is adopted by the namespace's init or subreaper) and dies by
SIGSEGV 0.2 s later. Prints "reused", or "not reused" after 200 tries. MARKER is ignored (it
only tags the command line).
"""

import os
import signal
import sys
import time

target = int(sys.argv[1])
os.setsid()  # a pid still used as a process group id is not given out again
while os.path.exists("/proc/%d" % target):
    time.sleep(0.001)
for _ in range(200):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(target - 1))
    pid = os.fork()
    if pid == 0:
        if os.getpid() == target:
            time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGSEGV)
        os._exit(0)
    if pid == target:
        print("reused", flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
print("not reused", flush=True)
