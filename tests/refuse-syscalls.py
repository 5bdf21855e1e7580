#!/usr/bin/env python3
"""Runs a program with some system calls refused (ENOSYS) by a seccomp filter, as on older
kernels or under container runtimes whose filters do not know the calls.

Usage: refuse-syscalls.py NAME[:ERRNO][,NAME[:ERRNO]...] PROGRAM [ARG]...

NAME is a system call of the table below (clone3, statmount, listmount, pidfd_open everywhere;
more on x86-64, aarch64 and riscv64); ERRNO (ENOSYS unless given) is ENOSYS, EPERM or EINVAL.
"""

import ctypes
import os
import struct
import sys

# The same numbers on every architecture (asm-generic table)...
NUMBERS = {"clone3": 435, "statmount": 457, "listmount": 458, "pidfd_open": 434}
# ...except for older calls.
NUMBERS.update(
    {
        "x86_64": {
            "poll": 7,
            "pipe": 22,
            "clone": 56,
            "fork": 57,
            "splice": 275,
            "ppoll": 271,
            "timerfd_create": 283,
            "signalfd4": 289,
            "pipe2": 293,
            "prctl": 157,
        },
        "aarch64": {
            "clone": 220,
            "splice": 76,
            "ppoll": 73,
            "timerfd_create": 85,
            "signalfd4": 74,
            "pipe2": 59,
            "prctl": 167,
        },
        "riscv64": {"splice": 76},
    }.get(os.uname().machine, {})
)
ERRNOS = {"ENOSYS": 38, "EPERM": 1, "EINVAL": 22}
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    refused = []
    for item in sys.argv[1].split(","):
        name, _, errno = item.partition(":")
        if name not in NUMBERS:
            sys.exit(f"refuse-syscalls.py: unknown system call {name!r} here")
        refused.append((NUMBERS[name], ERRNOS[errno or "ENOSYS"]))
    # A = seccomp_data.nr; each refused number returns its errno, anything else is allowed.
    checks = []
    for nr, errno in refused:
        checks.append(insn(BPF_JEQ_K, 0, 1, nr))
        checks.append(insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno))
    program = b"".join(
        [insn(BPF_LD_W_ABS, 0, 0, 0)] + checks + [insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)]
    )
    buf = ctypes.create_string_buffer(program)

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_NO_NEW_PRIVS): " + os.strerror(ctypes.get_errno()))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.exit("prctl(PR_SET_SECCOMP): " + os.strerror(ctypes.get_errno()))
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
