
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'timeout-run' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'timeout-run'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    # The values of the option before the word being completed (case matters: -s, -S).
    $values = New-Object System.Collections.Hashtable ([StringComparer]::Ordinal)
    $values['-s'] = @('HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS', 'RTMIN', 'RTMAX', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31')
    $values['--signal'] = @('HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS', 'RTMIN', 'RTMAX', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31')
    $values['--contain'] = @('auto', 'cgroup', 'group')
    $values['--leftovers'] = @('kill', 'wait', 'keep')
    $values['--retry-on'] = @('any', 'timeout', 'error')
    $values['--generate'] = @('man', 'bash', 'zsh', 'fish', 'elvish', 'powershell')
    $previous = if ($wordToComplete) { $commandElements[-2] } else { $commandElements[-1] }
    if ($null -ne $previous -and $values.ContainsKey("$previous")) {
        $values["$previous"] | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
            [CompletionResult]::new($_, $_, [CompletionResultType]::ParameterValue, $_)
        }
        return
    }

    $completions = @(switch ($command) {
        'timeout-run' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Wall-clock limit for the command (0: none)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Wall-clock limit for the command (0: none)')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'Absolute end time, RFC 3339 (e.g. 2026-11-22T18:00:00Z); a past time times out at once')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Signal sent to the command''s tree when the time is up [default: TERM]')
            [CompletionResult]::new('--signal', '--signal', [CompletionResultType]::ParameterName, 'Signal sent to the command''s tree when the time is up [default: TERM]')
            [CompletionResult]::new('-g', '-g', [CompletionResultType]::ParameterName, 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]')
            [CompletionResult]::new('--kill-after', '--kill-after', [CompletionResultType]::ParameterName, 'Time between the stop signal and SIGKILL (0: SIGKILL right after the stop signal) [default: 10s]')
            [CompletionResult]::new('--contain', '--contain', [CompletionResultType]::ParameterName, 'How to hold the command''s process tree [default: auto]')
            [CompletionResult]::new('--leftovers', '--leftovers', [CompletionResultType]::ParameterName, 'What to do with descendants still alive when the command exits on its own [default: kill]')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Stop the command if it writes nothing to stdout or stderr for this long (a file, pipe or terminal is watched, not relayed: other writers to it count as output; a socket or a device such as /dev/null is relayed through a pipe)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Run the command again after a failed attempt, up to N more times [default: 0]')
            [CompletionResult]::new('--retry-delay', '--retry-delay', [CompletionResultType]::ParameterName, 'Pause between attempts [default: 1s]')
            [CompletionResult]::new('--retry-on', '--retry-on', [CompletionResultType]::ParameterName, 'Which failures are retried [default: any]')
            [CompletionResult]::new('--heartbeat', '--heartbeat', [CompletionResultType]::ParameterName, 'Print a progress line on stderr at this interval')
            [CompletionResult]::new('--on-timeout', '--on-timeout', [CompletionResultType]::ParameterName, 'At a timeout, before the stop signal, run CMD through ''sh -c'' (TIMEOUT_RUN_PID and TIMEOUT_RUN_PIDS name the tree; its output goes to stderr), for stack dumps')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write a JSON summary to PATH (''-'' for stderr)')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print the man page or a shell''s completion script on stdout, and exit')
            [CompletionResult]::new('--no-kill', '--no-kill', [CompletionResultType]::ParameterName, 'Never escalate to SIGKILL (GNU timeout''s behaviour without -k)')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Exit with the command''s own status even when it timed out')
            [CompletionResult]::new('--preserve-status', '--preserve-status', [CompletionResultType]::ParameterName, 'Exit with the command''s own status even when it timed out')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Signal only the direct child and leave its descendants alone (GNU compatibility)')
            [CompletionResult]::new('--foreground', '--foreground', [CompletionResultType]::ParameterName, 'Signal only the direct child and leave its descendants alone (GNU compatibility)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print GNU timeout''s line for each signal sent (-vv: every lifecycle event, -vvv: debug, -vvvv: trace)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print GNU timeout''s line for each signal sent (-vv: every lifecycle event, -vvv: debug, -vvvv: trace)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but fatal errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but fatal errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
