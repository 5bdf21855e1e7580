//! The man page and the shell completion scripts, generated from the clap definition in `cli`.
//!
//! One source for both ways they reach users: `timeout-run --generate WHAT` prints them (for
//! `cargo install` users), and `cargo xtask generate` writes the committed copies in
//! `completions/` and `docs/` (for packages), compiling this file in. A test checks that the
//! two are byte for byte the same.
//!
//! clap_complete covers options and their values. What it cannot know is added here: the
//! command operand and its arguments are completed as a command with the command's own
//! completion (as `sudo` and `timeout` are), after a GNU duration if there is one; elvish and
//! PowerShell get the values of options (signal names above all), which clap_complete leaves
//! out for those shells.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateArg};

/// Hand-written man page sections (exit status, environment, signals, examples) that clap has no
/// place for; they go between OPTIONS and VERSION.
const MAN_EXTRA: &str = include_str!("man-extra.roff");

/// Every generated file, relative to the repository root, and what `--generate` prints for it
/// (read by xtask).
#[allow(dead_code)]
pub const FILES: &[(&str, GenerateArg)] = &[
    ("completions/timeout-run.bash", GenerateArg::Bash),
    ("completions/_timeout-run", GenerateArg::Zsh),
    ("completions/timeout-run.fish", GenerateArg::Fish),
    ("completions/timeout-run.elv", GenerateArg::Elvish),
    ("completions/_timeout-run.ps1", GenerateArg::Powershell),
    ("docs/timeout-run.1", GenerateArg::Man),
];

/// The man page or a completion script.
pub fn render(what: GenerateArg) -> Vec<u8> {
    let shell = match what {
        GenerateArg::Man => return man_page(),
        GenerateArg::Bash => Shell::Bash,
        GenerateArg::Zsh => Shell::Zsh,
        GenerateArg::Fish => Shell::Fish,
        GenerateArg::Elvish => Shell::Elvish,
        GenerateArg::Powershell => Shell::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "timeout-run", &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    complete(shell, script).into_bytes()
}

/// An option that takes a value, with its spellings and the values it offers (if any).
struct ValueOption {
    names: Vec<String>,
    values: Vec<String>,
    limit: bool,
}

/// The options that take a value in the next word (`-t 5`, `--signal INT`).
fn value_options() -> Vec<ValueOption> {
    let command = Cli::command();
    let mut out = Vec::new();
    for arg in command.get_arguments() {
        if arg.is_positional() || !arg.get_action().takes_values() {
            continue;
        }
        let mut names = Vec::new();
        if let Some(shorts) = arg.get_short_and_visible_aliases() {
            names.extend(shorts.into_iter().map(|c| format!("-{c}")));
        }
        if let Some(longs) = arg.get_long_and_visible_aliases() {
            names.extend(longs.into_iter().map(|l| format!("--{l}")));
        }
        let values = arg
            .get_value_parser()
            .possible_values()
            .map(|values| values.map(|v| v.get_name().to_owned()).collect())
            .unwrap_or_default();
        // With one of these, the first operand is the command, not a GNU duration.
        let limit = matches!(arg.get_id().as_str(), "timeout" | "deadline");
        out.push(ValueOption {
            names,
            values,
            limit,
        });
    }
    out
}

/// Every spelling of the options that take a value, separated by spaces.
fn with_values() -> String {
    let names: Vec<String> = value_options().into_iter().flat_map(|o| o.names).collect();
    names.join(" ")
}

/// Every spelling of `--timeout` and `--deadline`, separated by spaces.
fn limits() -> String {
    let names: Vec<String> = value_options()
        .into_iter()
        .filter(|o| o.limit)
        .flat_map(|o| o.names)
        .collect();
    names.join(" ")
}

/// Adds to clap_complete's script what it cannot generate.
fn complete(shell: Shell, script: String) -> String {
    match shell {
        Shell::Bash => script + &bash(),
        Shell::Zsh => zsh(script),
        Shell::Fish => script + &fish(),
        Shell::Elvish => elvish(script),
        Shell::PowerShell => powershell(script),
        _ => script,
    }
}

/// bash: clap_complete's function for options and their values; the command and its
/// arguments through bash-completion's `_command_offset`. bash splits `--timeout=5` into three
/// words (`--timeout`, `=`, `5`), so `=` is read as part of the option.
fn bash() -> String {
    format!(
        r#"
# The command and its arguments: completed as commands (bash-completion's _command_offset).
_timeout_run_with_command() {{
    local i=1 word limit= dashdash= with_values=" {with_values} " limits=" {limits} "
    while [[ $i -lt $COMP_CWORD ]]; do
        word=${{COMP_WORDS[i]}}
        case $word in
            --) i=$((i + 1)); dashdash=1; break ;;
            --*)
                [[ $limits == *" $word "* ]] && limit=1
                if [[ ${{COMP_WORDS[i+1]}} == = ]]; then
                    i=$((i + 2))
                elif [[ $with_values == *" $word "* ]]; then
                    i=$((i + 1))
                fi
                ;;
            -?*)
                [[ $limits == *" ${{word:0:2}} "* ]] && limit=1
                [[ $with_values == *" $word "* ]] && i=$((i + 1))
                ;;
            *) break ;;
        esac
        i=$((i + 1))
    done
    # GNU form: without a limit option, a first operand that looks like a duration is the
    # limit, and a `--` right after it is skipped too.
    if [[ -z $limit && $i -lt $COMP_CWORD && ${{COMP_WORDS[i]}} == [0-9.]* ]]; then
        i=$((i + 1))
        if [[ -z $dashdash && $i -lt $COMP_CWORD && ${{COMP_WORDS[i]}} == -- ]]; then
            i=$((i + 1))
        fi
    fi
    if [[ $i -gt $COMP_CWORD ]] || [[ $i -eq $COMP_CWORD && ${{COMP_WORDS[COMP_CWORD]}} == -* ]]; then
        if [[ ${{COMP_WORDS[COMP_CWORD-1]}} == = ]]; then
            _timeout__run "$1" "$2" "${{COMP_WORDS[COMP_CWORD-2]}}"
        else
            _timeout__run "$@"
        fi
    elif declare -F _command_offset >/dev/null; then
        _command_offset "$i"
    elif [[ $i -eq $COMP_CWORD ]]; then
        COMPREPLY=($(compgen -c -- "${{COMP_WORDS[COMP_CWORD]}}"))
    else
        COMPREPLY=($(compgen -f -- "${{COMP_WORDS[COMP_CWORD]}}"))
    fi
}}
complete -F _timeout_run_with_command -o bashdefault -o default timeout-run
"#,
        with_values = with_values(),
        limits = limits()
    )
}

/// zsh: clap_complete leaves the operands to `_cmdambivalent`, which takes a GNU duration for
/// the command; `_timeout-run_operands` skips it (and a `--` after it) and hands the rest to
/// `_normal`, as `_precommand` does.
fn zsh(script: String) -> String {
    let operands = script
        .lines()
        .find(|l| l.starts_with("'*::operands") && l.ends_with(":_cmdambivalent' \\"))
        .expect("clap_complete's zsh script has the operands' line")
        .to_owned();
    let ours = operands.replace(":_cmdambivalent'", ":_timeout-run_operands'");
    let limits: Vec<String> = limits()
        .split(' ')
        .map(|o| format!("${{+opt_args[{o}]}}"))
        .collect();
    let function = format!(
        r#"(( $+functions[_timeout-run_operands] )) ||
_timeout-run_operands() {{
    # `timeout-run -- 5 cmd`: the words start at the `--`.
    if (( CURRENT > 1 )) && [[ $words[1] == -- ]]; then
        shift words
        (( CURRENT-- ))
    fi
    # GNU form: without a limit option, a first operand that looks like a duration is the
    # limit, and a `--` right after it is skipped too.
    if (( ! ({limits}) && CURRENT > 1 )) && [[ $words[1] == [0-9.]* ]]; then
        shift words
        (( CURRENT-- ))
        if (( CURRENT > 1 )) && [[ $words[1] == -- ]]; then
            shift words
            (( CURRENT-- ))
        fi
    fi
    _normal
}}

if [ "$funcstack[1]" = "_timeout-run" ]; then"#,
        limits = limits.join(" || ")
    );
    script.replacen(&operands, &ours, 1).replacen(
        r#"if [ "$funcstack[1]" = "_timeout-run" ]; then"#,
        &function,
        1,
    )
}

/// fish: the command and its arguments through `__fish_complete_subcommand`, except where the
/// word is an option or an option's value.
fn fish() -> String {
    format!(
        r#"
# The command and its arguments: completed as commands.
function __timeout_run_complete_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l with_values {with_values}
    set -l limits {limits}
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
"#,
        with_values = with_values(),
        limits = limits()
    )
}

/// The values each option offers, for the elvish and PowerShell additions.
fn offered_values() -> Vec<(String, Vec<String>)> {
    value_options()
        .into_iter()
        .filter(|o| !o.values.is_empty())
        .flat_map(|o| {
            let values = o.values;
            o.names.into_iter().map(move |n| (n, values.clone()))
        })
        .collect()
}

/// elvish: after an option that has values, offer them instead of the options.
fn elvish(script: String) -> String {
    let map: Vec<String> = offered_values()
        .into_iter()
        .map(|(name, values)| format!("&'{name}'=[{}]", values.join(" ")))
        .collect();
    let addition = format!(
        r#"    # The values of the option before the word being completed.
    var values = [{map}]
    if (and (> (count $words) 2) (has-key $values $words[-2])) {{
        for value $values[$words[-2]] {{
            edit:complex-candidate $value
        }}
        return
    }}
    var completions = ["#,
        map = map.join(" ")
    );
    assert!(script.contains("    var completions = ["));
    script.replacen("    var completions = [", &addition, 1)
}

/// PowerShell: after an option that has values, offer them instead of the options.
fn powershell(script: String) -> String {
    let map: Vec<String> = offered_values()
        .into_iter()
        .map(|(name, values)| {
            let quoted: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
            format!("    $values['{name}'] = @({})\n", quoted.join(", "))
        })
        .collect();
    let addition = format!(
        r#"    # The values of the option before the word being completed (case matters: -s, -S).
    $values = New-Object System.Collections.Hashtable ([StringComparer]::Ordinal)
{map}    $previous = if ($wordToComplete) {{ $commandElements[-2] }} else {{ $commandElements[-1] }}
    if ($null -ne $previous -and $values.ContainsKey("$previous")) {{
        $values["$previous"] | Where-Object {{ $_ -like "$wordToComplete*" }} | ForEach-Object {{
            [CompletionResult]::new($_, $_, [CompletionResultType]::ParameterValue, $_)
        }}
        return
    }}

    $completions = @("#,
        map = map.concat()
    );
    assert!(script.contains("    $completions = @("));
    script.replacen("    $completions = @(", &addition, 1)
}

fn man_page() -> Vec<u8> {
    let man = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    out.extend_from_slice(MAN_EXTRA.as_bytes());
    let _ = man.render_version_section(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_has_the_required_sections() {
        let man = String::from_utf8(render(GenerateArg::Man)).expect("UTF-8");
        for section in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "SIGNALS",
            "EXAMPLES",
            "OPTIONS",
            "\\-\\-generate",
        ] {
            assert!(man.contains(section), "{section}");
        }
    }

    /// Every shell offers the signal names after `-s` and `--signal`.
    #[test]
    fn every_shell_offers_signal_names_after_dash_s() {
        let expect: &[(GenerateArg, &[&str])] = &[
            (GenerateArg::Bash, &["-s)", "--signal)", "HUP INT QUIT"]),
            (
                GenerateArg::Zsh,
                &["'-s+[", "'--signal=[", "WINCH\\:\"SIGWINCH (28)\""],
            ),
            (
                GenerateArg::Fish,
                &["-s s -l signal", "WINCH\\t'SIGWINCH (28)'"],
            ),
            (
                GenerateArg::Elvish,
                &["&'-s'=[HUP INT QUIT", "&'--signal'=[HUP INT"],
            ),
            (
                GenerateArg::Powershell,
                &[
                    "$values['-s'] = @('HUP', 'INT'",
                    "$values['--signal'] = @('HUP'",
                ],
            ),
        ];
        for (shell, needles) in expect {
            let script = String::from_utf8(render(*shell)).expect("UTF-8");
            for needle in *needles {
                assert!(script.contains(needle), "{shell:?} lacks {needle:?}");
            }
            assert!(
                script.contains("WINCH") && script.contains("RTMIN"),
                "{shell:?}"
            );
        }
    }
}
