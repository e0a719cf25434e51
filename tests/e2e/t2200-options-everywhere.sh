#!/bin/bash
# t2200-options-everywhere: every option `shelter --help` lists is in the
# man page and in the bash, zsh and fish completions, and the completions
# really complete (bash and fish driven for real, zsh parsed).
. "$(dirname "$0")/lib.sh"

MAN=$TOP_SRCDIR/man/shelter.1
BASH_C=$TOP_SRCDIR/completions/shelter
ZSH_C=$TOP_SRCDIR/completions/_shelter
FISH_C=$TOP_SRCDIR/completions/shelter.fish
OPTS=$("$SHELTER" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)

t '--help lists the options (a check of the check)' '
	for o in --dry-run --timeout --restrict --read-only --server --rsh; do
		printf "%s\n" "$OPTS" | grep -qx -- "$o" || fail "--help lacks $o"
	done
'

t 'every option in --help is in the man page' '
	for o in $OPTS; do
		grep -q -- "$(printf "%s" "$o" | sed "s/-/\\\\\\\\-/g")" "$MAN" || fail "man page lacks $o"
	done
'

t 'every option in --help is in the bash, zsh and fish completions' '
	for o in $OPTS; do
		grep -qw -- "$o" "$BASH_C" || fail "bash completion lacks $o"
		grep -q -- "$o[]=[}+]" "$ZSH_C" || fail "zsh completion lacks $o"
		grep -q -- "-l ${o#--} " "$FISH_C" || fail "fish completion lacks $o"
	done
'

# bash_complete WORDS...: what _shelter offers for the last word.
bash_complete() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _shelter
		printf "%s\n" "${COMPREPLY[@]}"' x "$BASH_C" "$@"
}

t 'bash: options, option values and directories complete' '
	expect_eq "--timeout" "$(bash_complete shelter backup --ti)" &&
	expect_eq "$(printf -- "--read-only\n--restrict")" "$(bash_complete shelter --re | sort)" &&
	expect_eq "$(printf "0\n60\n600\n3600")" "$(bash_complete shelter backup --timeout "")" &&
	mkdir -p srv/area && expect_eq "srv/area" "$(bash_complete shelter --server --restrict srv/a)" &&
	mkdir dirA && : >fileA &&
	expect_eq "dirA" "$(bash_complete shelter backup --timeout 5 dir)" &&
	expect_eq "" "$(bash_complete shelter backup --timeout 5 dirA dirA dir)"
'

t 'fish: options and option values complete' '
	command -v fish >/dev/null || { echo "fish not installed (scripts/quickstart.sh installs it)"; false; } &&
	fish_c() { fish -c "source $FISH_C; complete -C \"$1\"" | cut -f1; } &&
	expect_eq "--timeout" "$(fish_c "shelter backup --ti")" &&
	expect_eq "$(printf -- "--read-only\n--restrict")" "$(fish_c "shelter --re" | sort)" &&
	expect_eq "$(printf "0\n60\n600\n3600")" "$(fish_c "shelter backup --timeout ")"
'

t 'zsh: the completion function parses and defines _shelter' '
	command -v zsh >/dev/null || { echo "zsh not installed (scripts/quickstart.sh installs it)"; false; } &&
	zsh -n "$ZSH_C" &&
	zsh -fc "autoload -Uz compinit && compinit -u -d $PWD/zcd; fpath=($TOP_SRCDIR/completions \$fpath); autoload -Uz _shelter; whence -w _shelter" |
		grep -q "_shelter: function"
'

done_testing
