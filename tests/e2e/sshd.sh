# sshd.sh - a private sshd on 127.0.0.1 for the remote tests (sourced after
# lib.sh). Its own host key, client key, authorized_keys, config and port,
# all under the scratch directory; no system file is read or changed.
#
#   sshd_start || { skip ...; done_testing; exit; }
#   "$SHELTER" backup -e "$SSH" --remote-cmd "$SHELTER" src testhost:"$PWD/dst"
#
# SSH is the ssh command line to give -e; the host name is "testhost".
#
# `sshd_start mux` shares one ssh connection among all the passes (ssh's
# ControlMaster), for the suite's push and pull modes, where a connection
# per pass would add 0.24 s to each; without it every pass makes a real
# connection of its own, as t2000-remote.sh wants. sshd_client_for gives
# another local user a client setup of its own.

sshd_start() {
	local d=$T_ROOT/sshd port i mux=${1:-}
	SSHD=$(command -v sshd || echo /usr/sbin/sshd)
	[ -x "$SSHD" ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || return 1
	mkdir -p "$d" && chmod 700 "$d"
	mkdir -p /run/sshd 2>/dev/null && chmod 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$d/client_key" || return 1
	cp "$d/client_key.pub" "$d/authorized_keys"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 20000))
		cat >"$d/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $port
HostKey $d/host_key
AuthorizedKeysFile $d/authorized_keys
PidFile $d/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowUsers $(id -un)
LogLevel ERROR
SetEnv SHLVL=1
CFG
		"$SSHD" -t -f "$d/sshd_config" || return 1
		"$SSHD" -f "$d/sshd_config" -E "$d/sshd.log" || continue
		local w
		for w in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			[ -s "$d/sshd.pid" ] && break
			sleep 0.1
		done
		[ -s "$d/sshd.pid" ] && break
	done
	[ -s "$d/sshd.pid" ] || return 1
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cat "$d/host_key.pub")" >"$d/known_hosts"
	cat >"$d/ssh_config" <<CFG
Host testhost
	HostName 127.0.0.1
	Port $port
	User $(id -un)
	IdentityFile $d/client_key
	IdentitiesOnly yes
	UserKnownHostsFile $d/known_hosts
	StrictHostKeyChecking yes
	BatchMode yes
	LogLevel ERROR
CFG
	if [ "$mux" = mux ]; then
		# ControlPersist is a backstop: sshd_stop ends the master.
		printf '\tControlMaster auto\n\tControlPath %s\n\tControlPersist 300\n' \
			"$d/mux" >>"$d/ssh_config"
	else
		printf '\tControlMaster no\n' >>"$d/ssh_config"
	fi
	SSH="ssh -F $d/ssh_config"
	SSHD_PORT=$port
	trap 'sshd_stop; rm -rf "$T_ROOT"' EXIT
	# The server must answer before any test counts on it.
	$SSH testhost true
}

# sshd_client_for UID GID: a copy of the client key, known_hosts and
# ssh_config owned by UID, in $T_ROOT/sshd-client-UID/, so that an ssh run
# as UID (which may not read root's key) logs in as the sshd's user. No
# multiplexing: ssh's master refuses a client of another uid.
sshd_client_for() {
	local d=$T_ROOT/sshd c=$T_ROOT/sshd-client-$1
	mkdir -p "$c" &&
	cp "$d/client_key" "$d/known_hosts" "$c/" &&
	sed -e "s|$d/client_key|$c/client_key|" -e "s|$d/known_hosts|$c/known_hosts|" \
		-e '/Control/d' "$d/ssh_config" >"$c/ssh_config" &&
	printf '\tControlMaster no\n' >>"$c/ssh_config" &&
	chown -R "$1:$2" "$c" && chmod 700 "$c" && chmod 600 "$c/client_key"
}

sshd_stop() {
	local pidf=$T_ROOT/sshd/sshd.pid
	[ -S "$T_ROOT/sshd/mux" ] && $SSH -O exit testhost 2>/dev/null
	[ -s "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	rm -f "$pidf"
}
