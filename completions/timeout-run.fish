complete -c timeout-run -s t -l timeout -d 'Wall-clock limit for the command (0: none)' -r
complete -c timeout-run -l deadline -d 'Absolute end time, RFC 3339 (e.g. 2026-11-22T18:00:00Z); a past time times out at once' -r
complete -c timeout-run -s s -l signal -d 'Signal sent to the command\'s tree when the time is up [default: TERM]' -r -f -a "HUP\t'SIGHUP (1)'
INT\t'SIGINT (2)'
QUIT\t'SIGQUIT (3)'
ILL\t'SIGILL (4)'
TRAP\t'SIGTRAP (5)'
ABRT\t'SIGABRT (6)'
BUS\t'SIGBUS (7)'
FPE\t'SIGFPE (8)'
KILL\t'SIGKILL (9)'
USR1\t'SIGUSR1 (10)'
SEGV\t'SIGSEGV (11)'
USR2\t'SIGUSR2 (12)'
PIPE\t'SIGPIPE (13)'
ALRM\t'SIGALRM (14)'
TERM\t'SIGTERM (15)'
STKFLT\t'SIGSTKFLT (16)'
CHLD\t'SIGCHLD (17)'
CONT\t'SIGCONT (18)'
STOP\t'SIGSTOP (19)'
TSTP\t'SIGTSTP (20)'
TTIN\t'SIGTTIN (21)'
TTOU\t'SIGTTOU (22)'
URG\t'SIGURG (23)'
XCPU\t'SIGXCPU (24)'
XFSZ\t'SIGXFSZ (25)'
VTALRM\t'SIGVTALRM (26)'
PROF\t'SIGPROF (27)'
WINCH\t'SIGWINCH (28)'
IO\t'SIGIO (29)'
PWR\t'SIGPWR (30)'
SYS\t'SIGSYS (31)'
RTMIN\t'SIGRTMIN'
RTMAX\t'SIGRTMAX'
1\t'SIGHUP'
2\t'SIGINT'
3\t'SIGQUIT'
4\t'SIGILL'
5\t'SIGTRAP'
6\t'SIGABRT'
7\t'SIGBUS'
8\t'SIGFPE'
9\t'SIGKILL'
10\t'SIGUSR1'
11\t'SIGSEGV'
12\t'SIGUSR2'
13\t'SIGPIPE'
14\t'SIGALRM'
15\t'SIGTERM'
16\t'SIGSTKFLT'
17\t'SIGCHLD'
18\t'SIGCONT'
19\t'SIGSTOP'
20\t'SIGTSTP'
21\t'SIGTTIN'
22\t'SIGTTOU'
23\t'SIGURG'
24\t'SIGXCPU'
25\t'SIGXFSZ'
26\t'SIGVTALRM'
27\t'SIGPROF'
28\t'SIGWINCH'
29\t'SIGIO'
30\t'SIGPWR'
31\t'SIGSYS'"
complete -c timeout-run -s g -s k -l grace -l kill-after -d 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]' -r
complete -c timeout-run -l contain -d 'How to hold the command\'s process tree [default: auto]' -r -f -a "auto\t'A cgroup when one can be created, otherwise the process group'
cgroup\t'A cgroup v2 of its own; fail (125) when none can be created'
group\t'Child subreaper, process group and a /proc walk (no cgroup)'"
complete -c timeout-run -l leftovers -d 'What to do with descendants still alive when the command exits on its own [default: kill]' -r -f -a "kill\t'Stop them: stop signal, grace period, SIGKILL'
wait\t'Wait for them, within the deadline'
keep\t'Leave them running (GNU timeout\'s behaviour)'"
complete -c timeout-run -l idle-timeout -d 'Stop the command if it writes nothing to stdout or stderr for this long (a file, pipe or terminal is watched, not relayed: other writers to it count as output; a socket or a device such as /dev/null is relayed through a pipe)' -r
complete -c timeout-run -l retries -d 'Run the command again after a failed attempt, up to N more times [default: 0]' -r
complete -c timeout-run -l retry-delay -d 'Pause between attempts [default: 1s]' -r
complete -c timeout-run -l retry-on -d 'Which failures are retried [default: any]' -r -f -a "any\t'Any failure: a time-out, a non-zero exit, a death by signal'
timeout\t'Only time-outs (deadline or idle)'
error\t'Only failures that are not time-outs'"
complete -c timeout-run -l heartbeat -d 'Print a progress line on stderr at this interval' -r
complete -c timeout-run -l on-timeout -d 'At a timeout, before the stop signal, run CMD through \'sh -c\' (TIMEOUT_RUN_PID and TIMEOUT_RUN_PIDS name the tree; its output goes to stderr), for stack dumps' -r -f -a "(__fish_complete_command)"
complete -c timeout-run -l report -d 'Write a JSON summary to PATH (\'-\' for stderr)' -r -F
complete -c timeout-run -l generate -d 'Print the man page or a shell\'s completion script on stdout, and exit' -r -f -a "man\t'The man page (roff)'
bash\t'bash completion (needs the bash-completion package to complete the command\'s arguments)'
zsh\t'zsh completion'
fish\t'fish completion'
elvish\t'elvish completion'
powershell\t'PowerShell completion'"
complete -c timeout-run -l no-kill -d 'Never escalate to SIGKILL (GNU timeout\'s behaviour without -k)'
complete -c timeout-run -s p -l preserve-status -d 'Exit with the command\'s own status even when it timed out'
complete -c timeout-run -s f -l foreground -d 'Signal only the direct child and leave its descendants alone (GNU compatibility)'
complete -c timeout-run -s v -l verbose -d 'Print GNU timeout\'s line for each signal sent (-vv: every lifecycle event, -vvv: debug, -vvvv: trace)'
complete -c timeout-run -s q -l quiet -d 'Print nothing but fatal errors'
complete -c timeout-run -s h -l help -d 'Print help (see more with \'--help\')'
complete -c timeout-run -s V -l version -d 'Print version'

# The command and its arguments: completed as commands.
function __timeout_run_complete_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l with_values -t --timeout --deadline -s --signal -g -k --grace --kill-after --contain --leftovers --idle-timeout --retries --retry-delay --retry-on --heartbeat --on-timeout --report --generate
    set -l limits -t --timeout --deadline
    set -l limit 0
    # Skip the options (and their values) before the first operand.
    while set -q tokens[1]
        set -l token $tokens[1]
        if test "$token" = --
            set -e tokens[1]
            break
        else if not string match -q -- '-*' $token
            break
        end
        set -e tokens[1]
        if contains -- (string split -m1 = -- $token)[1] $limits
            set limit 1
        end
        if contains -- $token $with_values
            # The word being completed is this option's value: not a command.
            set -q tokens[1]; or return
            set -e tokens[1]
        end
    end
    # GNU form: a first operand (already typed) that looks like a duration is the limit.
    set -l skip 1
    if test $limit = 0; and set -q tokens[1]; and string match -qr -- '^[0-9.]' $tokens[1]
        set skip 2
    end
    __fish_complete_subcommand --fcs-skip=$skip $with_values
end
complete -c timeout-run -n 'not string match -q -- "-*" (commandline -ct)' -x -a '(__timeout_run_complete_command)'
