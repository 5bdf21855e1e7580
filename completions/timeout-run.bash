_timeout__run() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="timeout__run"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        timeout__run)
            opts="-t -s -k -g -p -f -v -q -h -V --timeout --deadline --signal --kill-after --grace --no-kill --preserve-status --foreground --contain --leftovers --idle-timeout --retries --retry-delay --retry-on --heartbeat --on-timeout --report --verbose --quiet --generate --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -t)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --deadline)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --signal)
                    COMPREPLY=($(compgen -W "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS RTMIN RTMAX 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31" -- "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -W "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS RTMIN RTMAX 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31" -- "${cur}"))
                    return 0
                    ;;
                --grace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kill-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -g)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -k)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --contain)
                    COMPREPLY=($(compgen -W "auto cgroup group" -- "${cur}"))
                    return 0
                    ;;
                --leftovers)
                    COMPREPLY=($(compgen -W "kill wait keep" -- "${cur}"))
                    return 0
                    ;;
                --idle-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retries)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-delay)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-on)
                    COMPREPLY=($(compgen -W "any timeout error" -- "${cur}"))
                    return 0
                    ;;
                --heartbeat)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --on-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --report)
                    local oldifs
                    if [ -n "${IFS+x}" ]; then
                        oldifs="$IFS"
                    fi
                    IFS=$'\n'
                    COMPREPLY=($(compgen -f "${cur}"))
                    if [ -n "${oldifs+x}" ]; then
                        IFS="$oldifs"
                    fi
                    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
                        compopt -o filenames
                    fi
                    return 0
                    ;;
                --generate)
                    COMPREPLY=($(compgen -W "man bash zsh fish elvish powershell" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _timeout__run -o nosort -o bashdefault -o default timeout-run
else
    complete -F _timeout__run -o bashdefault -o default timeout-run
fi

# The command and its arguments: completed as commands (bash-completion's _command_offset).
_timeout_run_with_command() {
    local i=1 word limit= dashdash= with_values=" -t --timeout --deadline -s --signal -g -k --grace --kill-after --contain --leftovers --idle-timeout --retries --retry-delay --retry-on --heartbeat --on-timeout --report --generate " limits=" -t --timeout --deadline "
    while [[ $i -lt $COMP_CWORD ]]; do
        word=${COMP_WORDS[i]}
        case $word in
            --) i=$((i + 1)); dashdash=1; break ;;
            --*)
                [[ $limits == *" $word "* ]] && limit=1
                if [[ ${COMP_WORDS[i+1]} == = ]]; then
                    i=$((i + 2))
                elif [[ $with_values == *" $word "* ]]; then
                    i=$((i + 1))
                fi
                ;;
            -?*)
                [[ $limits == *" ${word:0:2} "* ]] && limit=1
                [[ $with_values == *" $word "* ]] && i=$((i + 1))
                ;;
            *) break ;;
        esac
        i=$((i + 1))
    done
    # GNU form: without a limit option, a first operand that looks like a duration is the
    # limit, and a `--` right after it is skipped too.
    if [[ -z $limit && $i -lt $COMP_CWORD && ${COMP_WORDS[i]} == [0-9.]* ]]; then
        i=$((i + 1))
        if [[ -z $dashdash && $i -lt $COMP_CWORD && ${COMP_WORDS[i]} == -- ]]; then
            i=$((i + 1))
        fi
    fi
    if [[ $i -gt $COMP_CWORD ]] || [[ $i -eq $COMP_CWORD && ${COMP_WORDS[COMP_CWORD]} == -* ]]; then
        if [[ ${COMP_WORDS[COMP_CWORD-1]} == = ]]; then
            _timeout__run "$1" "$2" "${COMP_WORDS[COMP_CWORD-2]}"
        else
            _timeout__run "$@"
        fi
    elif declare -F _command_offset >/dev/null; then
        _command_offset "$i"
    elif [[ $i -eq $COMP_CWORD ]]; then
        COMPREPLY=($(compgen -c -- "${COMP_WORDS[COMP_CWORD]}"))
    else
        COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
    fi
}
complete -F _timeout_run_with_command -o bashdefault -o default timeout-run
