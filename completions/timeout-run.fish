complete -c timeout-run -s t -l timeout -d 'Wall-clock limit for the command (0: none)' -r
complete -c timeout-run -l deadline -d 'Absolute end time, RFC 3339 (e.g. 2026-11-22T18:00:00Z); a past time times out at once' -r
complete -c timeout-run -s s -l signal -d 'Signal sent to the command\'s tree when the time is up' -r
complete -c timeout-run -s g -s k -l grace -l kill-after -d 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal)' -r
complete -c timeout-run -l contain -d 'How to hold the command\'s process tree' -r -f -a "auto\t'A cgroup when one can be created, otherwise the process group'
cgroup\t'A cgroup v2 of its own; fail (125) when none can be created'
group\t'Child subreaper, process group and a /proc walk (no cgroup)'"
complete -c timeout-run -l leftovers -d 'What to do with descendants still running when the command exits on its own' -r -f -a "kill\t'Stop them: stop signal, grace period, SIGKILL'
wait\t'Wait for them, within the deadline'
keep\t'Leave them running (GNU timeout\'s behaviour)'"
complete -c timeout-run -l idle-timeout -d 'Stop the command if it writes nothing to stdout or stderr for this long (its output is then relayed through pipes, so it is no longer a terminal)' -r
complete -c timeout-run -l retries -d 'Run the command again after a failed attempt, up to N more times' -r
complete -c timeout-run -l retry-delay -d 'Pause between attempts' -r
complete -c timeout-run -l retry-on -d 'Which failures are retried' -r -f -a "any\t'Any failure: a time-out, a non-zero exit, a death by signal'
timeout\t'Only time-outs (deadline or idle)'
error\t'Only failures that are not time-outs'"
complete -c timeout-run -l heartbeat -d 'Print a progress line on stderr at this interval' -r
complete -c timeout-run -l report -d 'Write a JSON summary to PATH (\'-\' for stderr)' -r -F
complete -c timeout-run -l no-kill -d 'Never escalate to SIGKILL (GNU timeout\'s behaviour without -k)'
complete -c timeout-run -s p -l preserve-status -d 'Exit with the command\'s own status even when it timed out'
complete -c timeout-run -s f -l foreground -d 'Signal only the direct child and leave its descendants alone (GNU compatibility)'
complete -c timeout-run -s v -l verbose -d 'Print lifecycle events on stderr (-vv debug, -vvv trace)'
complete -c timeout-run -s q -l quiet -d 'Print nothing but fatal errors'
complete -c timeout-run -s h -l help -d 'Print help (see more with \'--help\')'
complete -c timeout-run -s V -l version -d 'Print version'
