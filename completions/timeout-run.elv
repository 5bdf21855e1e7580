
use builtin;
use str;

set edit:completion:arg-completer[timeout-run] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'timeout-run'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    # The values of the option before the word being completed.
    var values = [&'-s'=[HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS RTMIN RTMAX 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31] &'--signal'=[HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS RTMIN RTMAX 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31] &'--contain'=[auto cgroup group] &'--leftovers'=[kill wait keep] &'--retry-on'=[any timeout error] &'--generate'=[man bash zsh fish elvish powershell]]
    if (and (> (count $words) 2) (has-key $values $words[-2])) {
        for value $values[$words[-2]] {
            edit:complex-candidate $value
        }
        return
    }
    var completions = [
        &'timeout-run'= {
            cand -t 'Wall-clock limit for the command (0: none)'
            cand --timeout 'Wall-clock limit for the command (0: none)'
            cand --deadline 'Absolute end time, RFC 3339 (e.g. 2026-11-22T18:00:00Z); a past time times out at once'
            cand -s 'Signal sent to the command''s tree when the time is up [default: TERM]'
            cand --signal 'Signal sent to the command''s tree when the time is up [default: TERM]'
            cand -g 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]'
            cand -k 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]'
            cand --grace 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]'
            cand --kill-after 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]'
            cand --contain 'How to hold the command''s process tree [default: auto]'
            cand --leftovers 'What to do with descendants still alive when the command exits on its own [default: kill]'
            cand --idle-timeout 'Stop the command if it writes nothing to stdout or stderr for this long (a file, pipe or terminal is watched, not relayed: other writers to it count as output; a socket or a device such as /dev/null is relayed through a pipe)'
            cand --retries 'Run the command again after a failed attempt, up to N more times [default: 0]'
            cand --retry-delay 'Pause between attempts [default: 1s]'
            cand --retry-on 'Which failures are retried [default: any]'
            cand --heartbeat 'Print a progress line on stderr at this interval'
            cand --on-timeout 'At a timeout, before the stop signal, run CMD through ''sh -c'' (TIMEOUT_RUN_PID and TIMEOUT_RUN_PIDS name the tree; its output goes to stderr), for stack dumps'
            cand --report 'Write a JSON summary to PATH (''-'' for stderr)'
            cand --generate 'Print the man page or a shell''s completion script on stdout, and exit'
            cand --no-kill 'Never escalate to SIGKILL (GNU timeout''s behaviour without -k)'
            cand -p 'Exit with the command''s own status even when it timed out'
            cand --preserve-status 'Exit with the command''s own status even when it timed out'
            cand -f 'Signal only the direct child and leave its descendants alone (GNU compatibility)'
            cand --foreground 'Signal only the direct child and leave its descendants alone (GNU compatibility)'
            cand -v 'Print GNU timeout''s line for each signal sent (-vv: every lifecycle event, -vvv: debug, -vvvv: trace)'
            cand --verbose 'Print GNU timeout''s line for each signal sent (-vv: every lifecycle event, -vvv: debug, -vvvv: trace)'
            cand -q 'Print nothing but fatal errors'
            cand --quiet 'Print nothing but fatal errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
