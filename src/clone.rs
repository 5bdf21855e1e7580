//! The `clone3` system call, as the command is started with it: born in its cgroup
//! (`CLONE_INTO_CGROUP`), and on x86-64 vfork-style (`CLONE_VM | CLONE_VFORK`), sharing
//! timeout-run's memory until it execs.
//!
//! A vfork-style child copies no page tables and causes no copy-on-write faults in either
//! process, and the kernel need not shoot down the parent's TLB entries on the other CPUs,
//! which is most of what `fork` costs a supervisor that starts a short command. It needs its
//! own stack (sharing the parent's would let it overwrite the frames the parent returns
//! through), and switching to that stack needs a few instructions around the system call:
//! hence the assembly below.

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::unistd::Pid;

/// The function a child runs: it must exec or `_exit`, and never return. In a vfork-style
/// child it shares timeout-run's memory and thread-local storage (errno included), so it may
/// only read what the parent prepared and make async-signal-safe calls.
pub type ChildMain = extern "C" fn(*mut c_void) -> libc::c_int;

/// `struct clone_args` of `<linux/sched.h>` (the size that has the `cgroup` field).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Starts a child that runs `main(arg)`, in the cgroup `cgroup` if given. On x86-64
/// the child is vfork-style, and this returns only once it has exec'd or exited.
///
/// `stack_hint` is how many bytes of stack the child may need beyond a fixed allowance (its
/// exec may build an argument array on the stack).
///
/// # Safety
///
/// `main` must meet the contract of [`ChildMain`], and `arg` must stay valid until this returns.
/// No signal handler may be installed in this process: one could run in a vfork-style child.
pub unsafe fn clone3(
    cgroup: Option<BorrowedFd<'_>>,
    stack_hint: usize,
    main: ChildMain,
    arg: *mut c_void,
) -> io::Result<Pid> {
    let mut args = CloneArgs {
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(dir) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = dir.as_raw_fd() as u64;
    }
    // SAFETY: forwarded from the caller.
    unsafe { start(&mut args, stack_hint, main, arg) }
}

/// x86-64: vfork-style, on a stack of its own.
#[cfg(target_arch = "x86_64")]
unsafe fn start(
    args: &mut CloneArgs,
    stack_hint: usize,
    main: ChildMain,
    arg: *mut c_void,
) -> io::Result<Pid> {
    let stack = Stack::new(64 * 1024 + stack_hint)?;
    args.flags |= (libc::CLONE_VM | libc::CLONE_VFORK) as u64;
    args.stack = stack.base as u64;
    args.stack_size = stack.len as u64;
    let ret: i64;
    // SAFETY: clone3 with CLONE_VM | CLONE_VFORK: the kernel starts the child at the instruction
    // after `syscall` with rax = 0, the same registers otherwise, and its stack pointer at the
    // top of `stack` (16-byte aligned, as `call` needs). The child clears the frame pointer,
    // calls `main(arg)` (held in r12/r13, which the system call preserves) and exits if it ever
    // returns; it never comes back into this function, so it cannot disturb the parent's stack.
    // The parent is suspended until the child execs or exits, so `stack`, `args` and everything
    // `arg` points to outlive the child's use of them. rcx and r11 are clobbered by `syscall`.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const libc::SYS_exit_group,
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args as *mut CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") main,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    drop(stack);
    if ret < 0 {
        return Err(io::Error::from_raw_os_error(-ret as i32));
    }
    Ok(Pid::from_raw(ret as libc::pid_t))
}

/// Elsewhere: fork-style (the child gets a copy of the address space and this stack).
#[cfg(not(target_arch = "x86_64"))]
unsafe fn start(
    args: &mut CloneArgs,
    _stack_hint: usize,
    main: ChildMain,
    arg: *mut c_void,
) -> io::Result<Pid> {
    // SAFETY: clone3 without CLONE_VM is a fork; the child only runs `main`, which never returns.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        0 => {
            main(arg);
            // SAFETY: `main` must not return; if it does, end the child here.
            unsafe { libc::_exit(127) }
        }
        pid if pid > 0 => Ok(Pid::from_raw(pid as libc::pid_t)),
        _ => Err(io::Error::last_os_error()),
    }
}

/// A child stack: anonymous memory with an inaccessible guard page below it, so that an
/// overflow faults in the child instead of writing over timeout-run's memory.
#[cfg(target_arch = "x86_64")]
struct Stack {
    mapping: *mut c_void,
    mapping_len: usize,
    base: *mut c_void,
    len: usize,
}

#[cfg(target_arch = "x86_64")]
impl Stack {
    fn new(size: usize) -> io::Result<Stack> {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let len = size
            .checked_next_multiple_of(page)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
        let mapping_len = len + page;
        // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
        let mapping = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapping_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if mapping == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = Stack {
            mapping,
            mapping_len,
            // SAFETY: `page` bytes into a mapping of `len + page` bytes.
            base: unsafe { mapping.cast::<u8>().add(page).cast() },
            len,
        };
        // SAFETY: the first page of the mapping just created.
        if unsafe { libc::mprotect(mapping, page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }
}

#[cfg(target_arch = "x86_64")]
impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, which no one uses any more (a vfork-style child
        // has exec'd or exited by the time the parent runs again).
        unsafe { libc::munmap(self.mapping, self.mapping_len) };
    }
}
