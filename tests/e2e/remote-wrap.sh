#!/bin/bash
# remote-wrap.sh - shelter, as the e2e suite runs it in push and pull mode
# (SHELTER_E2E_MODE, see lib.sh). A `backup SRC DEST` with two local paths
# becomes the same pass with DEST (push) or SRC (pull) reached through the
# test sshd, as testhost:/absolute/path (a trailing slash kept), with -e and
# --remote-cmd added; a `sync ROOT1 ROOT2` gets ROOT2 (push) or ROOT1 (pull)
# remote the same way. Anything else (--help, usage errors, a pass that is
# remote already or names its own -e or --remote-cmd) reaches shelter as is.
#
# Environment (lib.sh sets it): SHELTER_E2E_REAL the binary,
# SHELTER_E2E_SSH the ssh command, SHELTER_E2E_MODE push or pull,
# SHELTER_E2E_ROOT the scratch root, where sshd_client_for puts the ssh
# setup of a user other than the sshd's.
real=$SHELTER_E2E_REAL

# Find the operands the way popt does: options may come anywhere until
# "--"; some take a value, as the next word or after "=" (long) or in the
# same word (short -e). The long ones: those known here, and every
# --NAME=VALUE of --help (SHELTER_E2E_VALUE_OPTS, from lib.sh), so that an
# option added later does not make an operand of its value.
value_opts=" --exclude --exclude-from --rsh --remote-cmd --timeout --restrict ${SHELTER_E2E_VALUE_OPTS:-} "
ops=() own_rsh= i=1 rest=
while [ $i -le $# ]; do
	a=${!i}
	if [ -n "$rest" ]; then
		ops+=("$i")
	else
		case "$a" in
		--) rest=1 ;;
		--rsh | --remote-cmd | --rsh=* | --remote-cmd=*) own_rsh=1 ;;
		esac
		case "$a" in
		--) ;;
		--*=*) ;;
		--*) case "$value_opts" in *" $a "*) i=$((i + 1)) ;; esac ;;
		-?*)
			# A cluster of short options; -e takes the rest of the word or the next.
			case "${a#-}" in
			*e*)
				own_rsh=1
				w=${a#-}
				[ "${w#*e}" = "" ] && i=$((i + 1))
				;;
			esac
			;;
		*) ops+=("$i") ;;
		esac
	fi
	i=$((i + 1))
done

# remote_form PATH: testhost:PATH made absolute, or fail if PATH is not a
# plain local path (empty, or already host:path).
remote_form() {
	[ -n "$1" ] || return 1
	case "${1%%/*}" in *:*) return 1 ;; esac
	case "$1" in
	/*) printf 'testhost:%s' "$1" ;;
	*) printf 'testhost:%s/%s' "$PWD" "$1" ;;
	esac
}

if [ ${#ops[@]} = 3 ] && { [ "${!ops[0]}" = backup ] || [ "${!ops[0]}" = sync ]; } &&
	[ -z "$own_rsh" ]; then
	case "$SHELTER_E2E_MODE" in
	push) k=${ops[2]} ;;
	pull) k=${ops[1]} ;;
	*) echo "remote-wrap.sh: SHELTER_E2E_MODE=$SHELTER_E2E_MODE" >&2; exit 70 ;;
	esac
	if r=$(remote_form "${!k}"); then
		ssh=$SHELTER_E2E_SSH cmd=$real
		uid=$(id -u)
		if [ -f "$SHELTER_E2E_ROOT/sshd-client-$uid/ssh_config" ]; then
			# Run as another user (t1500's setpriv): ssh logs in as the
			# sshd's user, and the remote side drops to this uid and gid
			# too, so both sides have the rights a local pass would have.
			ssh="ssh -F $SHELTER_E2E_ROOT/sshd-client-$uid/ssh_config"
			cmd="setpriv --reuid=$uid --regid=$(id -g) --clear-groups $real"
		fi
		set -- -e "$ssh" --remote-cmd "$cmd" "${@:1:k-1}" "$r" "${@:k+1}"
	fi
fi
exec "$real" "$@"
