#!/bin/bash
# t2800-monitor: the run log, shelter status, --pre/--post/--notify,
# --syslog and --mail-to, through real parts: a real /bin/sh for the hooks,
# syslog(3) into a datagram socket on /dev/log inside a private mount
# namespace, msmtp as sendmail delivering over SMTP to aiosmtpd on
# 127.0.0.1, the private sshd for a push, and sqlite3 for the database
# recipe of the man page.
. "$(dirname "$0")/lib.sh"
. "$T_LIB_DIR/sshd.sh"

PY=/usr/bin/python3

# field FILE EXPR: EXPR (Python) of the last line of the run log FILE as r;
# all lines as L.
field() {
	$PY -c 'import json,sys
L=[json.loads(l) for l in open(sys.argv[1], encoding="utf-8", errors="surrogateescape")]
r=L[-1]
v=eval("(" + sys.argv[2] + ")")
print(" ".join(map(str, v)) if isinstance(v, tuple) else v)' "$@"
}

NOBODY=65534
chmod 755 "$T_ROOT"
CAN_DROP=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$SHELTER" --version >/dev/null 2>&1 &&
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups test -x "$T_ROOT"; then
	CAN_DROP=1
fi
nobody_t() {
	if [ -n "$CAN_DROP" ]; then
		t "$1" "chmod 755 . && $2"
	else
		skip "$1" 'needs root, setpriv, and uid 65534 able to reach the scratch dir'
	fi
}
# as_nobody EXPECTED_EXIT ARGS...: sh_run as uid/gid 65534
as_nobody() {
	local want=$1 got=0
	shift
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$SHELTER" "$@" >out 2>err || got=$?
	[ "$got" = "$want" ] || { echo "(as $NOBODY) shelter $* exited $got, expected $want"; cat out err; return 1; }
}

# ---- the SMTP sink and the sendmail interface -----------------------------------
SMTP_PID= SMTP_PORT= MBOX=$T_ROOT/mbox MSMTPRC=$T_ROOT/msmtprc SMBIN=$T_ROOT/smbin
smtp_start() {
	local i p
	command -v msmtp >/dev/null && $PY -c 'import aiosmtpd' 2>/dev/null || return 1
	for i in 1 2 3 4 5; do
		p=$((20000 + RANDOM % 20000))
		$PY -m aiosmtpd -n -l "127.0.0.1:$p" -c aiosmtpd.handlers.Mailbox "$MBOX" \
			>"$T_ROOT/smtp.log" 2>&1 &
		SMTP_PID=$!
		for _ in $(seq 50); do
			(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { SMTP_PORT=$p; break 2; }
			kill -0 $SMTP_PID 2>/dev/null || break
			sleep 0.1
		done
		kill $SMTP_PID 2>/dev/null; wait $SMTP_PID 2>/dev/null; SMTP_PID=
	done
	[ -n "$SMTP_PORT" ] || return 1
	printf 'defaults\nauth off\ntls off\naccount default\nhost 127.0.0.1\nport %s\nfrom shelter@testhost\n' \
		"$SMTP_PORT" >"$MSMTPRC"
	chmod 600 "$MSMTPRC"
	mkdir -p "$SMBIN"
	printf '#!/bin/sh\nexec msmtp -C "%s" "$@"\n' "$MSMTPRC" >"$SMBIN/sendmail"
	chmod 755 "$SMBIN/sendmail"
}
SSHD_UP=
cleanup() {
	[ -z "$SMTP_PID" ] || { kill "$SMTP_PID" 2>/dev/null; wait "$SMTP_PID" 2>/dev/null; }
	[ -z "$SSHD_UP" ] || sshd_stop
	rm -rf "$T_ROOT"
}
smtp_start >"$T_ROOT/smtp-start.log" 2>&1 || SMTP_PORT=
sshd_start >"$T_ROOT/sshd-start.log" 2>&1 && SSHD_UP=1
trap cleanup EXIT
mail_t() {
	if [ -n "$SMTP_PORT" ]; then t "$@"; else skip "$1" "no msmtp or aiosmtpd (scripts/quickstart.sh installs them)"; fi
}
ssh_t() {
	if [ -n "$SSHD_UP" ]; then t "$@"; else skip "$1" "no usable sshd"; fi
}
# mail_with WORD: the one delivered message that contains WORD.
mail_with() {
	local f n
	n=$(grep -l -F -- "$1" "$MBOX"/new/* 2>/dev/null | wc -l)
	[ "$n" = 1 ] || { echo "expected one message with [$1] in $MBOX, found $n"; return 1; }
	f=$(grep -l -F -- "$1" "$MBOX"/new/*)
	cat "$f"
}

tree() { mkdir -p src/d && echo one >src/a && echo two >src/d/b; }

# ---- the run log ------------------------------------------------------------------

t 'run log: one JSON line in $XDG_STATE_HOME/shelter/runs.jsonl with times, roots, counts' '
	export XDG_STATE_HOME=$PWD/state && tree &&
	before=$(date -u +%Y-%m-%dT%H:%M:%SZ) &&
	sh_run 0 backup src dst &&
	L=state/shelter/runs.jsonl &&
	expect_eq 1 "$(wc -l <$L)" lines &&
	expect_eq "backup src dst ok 0" "$(field $L "r[\"command\"], *r[\"roots\"], r[\"result\"], r[\"exit_code\"]")" &&
	expect_eq "3 2 3" "$(field $L "r[\"counts\"][\"files\"], r[\"counts\"][\"transferred\"], r[\"counts\"][\"created\"]")" &&
	expect_eq "$(hostname)" "$(field $L "r[\"host\"]")" host &&
	expect_eq True "$(field $L "r[\"wire\"][\"sent\"] > 0 and r[\"wire\"][\"received\"] > 0")" wire &&
	expect_eq True "$(field $L "\"$before\" <= r[\"start\"] <= r[\"end\"] and r[\"end\"].endswith(\"Z\")")" times &&
	expect_eq "0 []" "$(field $L "r[\"errors\"], r[\"messages\"]")" &&
	stat -c %a $L | grep -qx 600 &&
	echo three >src/c && sh_run 0 backup src dst &&
	expect_eq "2 1 1" "$(field $L "len(L), r[\"counts\"][\"transferred\"], r[\"counts\"][\"created\"]")"
'

t 'run log: without XDG_STATE_HOME it is ~/.local/state/shelter/runs.jsonl; --run-log overrides' '
	unset XDG_STATE_HOME && export HOME=$PWD/home && tree &&
	sh_run 0 backup src dst &&
	expect_eq ok "$(field home/.local/state/shelter/runs.jsonl "r[\"result\"]")" &&
	sh_run 0 backup --run-log=my.log src dst &&
	expect_eq 1 "$(wc -l <home/.local/state/shelter/runs.jsonl)" &&
	expect_eq backup "$(field my.log "r[\"command\"]")"
'

nobody_t 'run log: the paths that failed and why, the first 100 and a count of the rest' '
	mkdir -p src && for i in $(seq 1 105); do echo $i >src/f$i; done && echo ok >src/good &&
	chmod -R a+rX src && chmod 000 src/f* && mkdir dst logs && chown $NOBODY:$NOBODY dst logs &&
	as_nobody 23 backup --run-log=$PWD/logs/r.log src dst && cp logs/r.log r.log &&
	expect_eq "failed 23 105 100 5" "$(field r.log "r[\"result\"], r[\"exit_code\"], r[\"errors\"], len(r[\"messages\"]), r[\"messages_more\"]")" &&
	field r.log "r[\"messages\"][0][\"kind\"], r[\"messages\"][0][\"text\"]" >m &&
	grep -q "^error .*f[0-9]*.*Permission denied" m &&
	cmp dst/good src/good
'

t 'run log that cannot be written: a warning naming it, the exit code unchanged' '
	tree && mkdir logdir &&
	sh_run 0 backup --run-log=$PWD/logdir src dst &&
	grep -q "warning: run log $PWD/logdir: Is a directory" err &&
	cmp src/a dst/a &&
	: >notadir && sh_run 3 backup --run-log=$PWD/notadir/x nosuch dst2 &&
	grep -q "run log $PWD/notadir/x: Not a directory; this run is not logged" err &&
	grep -q "SRC nosuch" err
'

t 'run log: eight passes at once append eight whole lines' '
	tree && for i in 1 2 3 4 5 6 7 8; do "$SHELTER" backup --run-log=$PWD/c.log src dst$i & done; wait &&
	expect_eq "8 8" "$(field c.log "len(L), len(set(x[\"roots\"][1] for x in L if x[\"result\"] == \"ok\"))")"
'

t 'run log: dry runs are marked, status skips them' '
	tree && sh_run 0 backup -n --run-log=$PWD/r.log src dst &&
	expect_eq True "$(field r.log "r[\"dry_run\"]")" &&
	sh_run 0 status --run-log=$PWD/r.log && ! grep -q backup out
'

t 'run log: sync and restore write their lines too' '
	export XDG_STATE_HOME=$PWD/state && tree && mkdir r2 &&
	sh_run 0 sync src r2 && L=state/shelter/runs.jsonl &&
	expect_eq "sync ok 3" "$(field $L "r[\"command\"], r[\"result\"], r[\"counts\"][\"transferred\"]")" &&
	sh_run 0 backup src dst && sh_run 0 restore dst/d rt &&
	expect_eq "restore dst/d rt ok" "$(field $L "r[\"command\"], *r[\"roots\"], r[\"result\"]")" &&
	cmp rt/d/b src/d/b
'

t 'run log: prune and verify write their lines too, a damaged DEST as failed 16' '
	tree && sh_run 0 backup src dst && echo changed >src/a && sh_run 0 backup src dst &&
	sh_run 0 prune --run-log=$PWD/r.log --keep-last 1 dst &&
	expect_eq "prune dst ok 0" "$(field r.log "r[\"command\"], *r[\"roots\"], r[\"result\"], r[\"exit_code\"]")" &&
	sh_run 0 verify --run-log=$PWD/r.log dst &&
	expect_eq "verify dst ok 0 2" "$(field r.log "r[\"command\"], *r[\"roots\"], r[\"result\"], r[\"exit_code\"], len(L)")" &&
	touch -r dst/d/b stamp && printf X | dd of=dst/d/b bs=1 conv=notrunc status=none && touch -r stamp dst/d/b &&
	sh_run 16 verify --run-log=$PWD/r.log dst &&
	expect_eq "verify failed 16 3" "$(field r.log "r[\"command\"], r[\"result\"], r[\"exit_code\"], len(L)")"
'

t 'run log: a pass ended by SIGTERM (here during a slow --pre) still leaves its line, exit 20' '
	tree && { "$SHELTER" backup --run-log=$PWD/r.log --pre "touch started; sleep 2" src dst >out 2>err & pid=$!; } &&
	for _ in $(seq 50); do [ -e started ] && break; sleep 0.1; done &&
	kill -TERM $pid && rc=0 && { wait $pid || rc=$?; } && expect_eq 20 $rc &&
	expect_eq "failed 20 1" "$(field r.log "r[\"result\"], r[\"exit_code\"], len(L)")" &&
	field r.log "r[\"messages\"][0][\"text\"]" | grep -q "^stopped by signal 15 before it finished" &&
	expect_eq True "$(field r.log "r[\"start\"] <= r[\"end\"] and abs(__import__(\"calendar\").timegm(__import__(\"time\").strptime(r[\"end\"], \"%Y-%m-%dT%H:%M:%SZ\")) - __import__(\"time\").time()) < 10")" end time &&
	[ ! -e dst ]
'

# ---- status -----------------------------------------------------------------------

t 'status: the last run of each pair, for people and as JSON' '
	tree && sh_run 0 backup --run-log=$PWD/r.log src dst &&
	sh_run 3 backup --run-log=$PWD/r.log nosuch dst &&
	sh_run 0 backup --run-log=$PWD/r.log src dst &&
	sh_run 0 status --run-log=$PWD/r.log &&
	expect_eq 2 "$(wc -l <out)" pairs &&
	grep -q "^backup src -> dst: ok, exit 0 (ok), ended .*Z ([0-9]*s ago); 3 entries, 0 transferred, 0 deleted, 0 errors" out &&
	grep -q "^backup nosuch -> dst: failed, exit 3 " out &&
	sh_run 0 status --json --run-log=$PWD/r.log &&
	expect_eq "2 nosuch src" "$($PY -c "import json,sys; a=json.load(open(\"out\")); print(len(a), *sorted(x[\"roots\"][0] for x in a))")"
'

t 'status --max-age: 0 and an OK line when every last run is fine and recent' '
	tree && sh_run 0 backup --run-log=$PWD/r.log src dst &&
	sh_run 0 status --max-age 26h --run-log=$PWD/r.log &&
	grep -q "^OK: 1 pair, each last run within 26h and not failed" out
'

t 'status --max-age: a failed last run is a PROBLEM line naming it, exit 17' '
	tree && sh_run 0 backup --run-log=$PWD/r.log src dst &&
	sh_run 3 backup --run-log=$PWD/r.log nosuch dst &&
	sh_run 17 status --max-age=26h --run-log=$PWD/r.log &&
	grep -q "^PROBLEM: backup nosuch -> dst: the last run failed with exit 3 .*SRC nosuch: No such file or directory" out &&
	expect_eq 1 "$(grep -c ^PROBLEM out)" &&
	sh_run 0 status --max-age=26h --run-log=$PWD/r.log src
'

t 'status --max-age: a last run older than AGE is a PROBLEM, exit 17; a later good run clears it' '
	tree && sh_run 0 backup --run-log=$PWD/r.log src dst &&
	sed "s/\"end\":\"[^\"]*\"/\"end\":\"2026-01-01T00:00:00Z\"/" r.log >old.log &&
	sh_run 17 status --max-age 3d --run-log=$PWD/old.log &&
	grep -q "^PROBLEM: backup src -> dst: the last run ended [0-9]*d[0-9]*h ago (2026-01-01T00:00:00Z), longer than --max-age 3d" out &&
	cat r.log >>old.log && sh_run 0 status --max-age 3d --run-log=$PWD/old.log
'

t 'status: no run log yet: said so; exit 17 under --max-age, 0 without; an unknown root is a PROBLEM' '
	sh_run 0 status --run-log=$PWD/none.log && grep -q "no run log at $PWD/none.log yet" out &&
	sh_run 17 status --max-age 1h --run-log=$PWD/none.log && grep -q "no run log" out &&
	tree && sh_run 0 backup --run-log=$PWD/r.log src dst &&
	sh_run 17 status --max-age 1h --run-log=$PWD/r.log elsewhere &&
	grep -q "^PROBLEM: no run of elsewhere in $PWD/r.log" out
'

t 'status: damaged lines are skipped with a warning, never a crash; bad --max-age is a usage error' '
	tree && sh_run 0 backup --run-log=$PWD/r.log src dst &&
	{ printf "{\"v\":1,\"end\":\n"; printf "not json\n"; printf "{\"command\":\"backup\",\"roots\":[\"a\",\"b\",\"c\"],\"end\":\"x\",\"result\":\"ok\"}\n";
	  printf "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"; head -c 300 r.log; echo;
	  printf "{\"end\":\"2026-01-01T00:00:00Z\",\"command\":\"b\\ud800\",\"roots\":[\"x\"],\"result\":\"ok\"}\n";
	  printf "{\"end\":\"2026-01-01T00:00:00Z\",\"command\":\"b\",\"command\":\"c\",\"roots\":[\"x\"],\"result\":\"ok\"}\n";
	  printf "{\"exit_code\":99999999999999999999999,\"end\":\"2026-01-01T00:00:00Z\",\"command\":\"b\",\"roots\":[\"x\"],\"result\":\"ok\"}\n";
	  printf "{\"end\":\"2026-01-01T00:00:00Z\",\"command\":\"b\",\"roots\":[\"x\"],\"result\":\"ok\",\"z\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}}}}}}}}}}}\n";
	  printf "{\"end\":\"2026-01-01T00:00:00Z\",\"command\":\"b\",\"roots\":[\"x\"],\"result\":\"ok\"} trailing\n";
	  printf "{\"end\":\"2026-13-45T99:00:00Z\",\"command\":\"b\",\"roots\":[\"x\"],\"result\":\"ok\"}\n"; } >>r.log &&
	sh_run 0 status --max-age 1h --run-log=$PWD/r.log &&
	grep -q "warning: run log $PWD/r.log line 2: not a run log line" err &&
	grep -q "warning: run log $PWD/r.log: 8 more lines that are not run log lines skipped" err &&
	grep -q "^OK: 1 pair" out &&
	sh_run 1 status --max-age 2026-01-01 --run-log=$PWD/r.log && grep -q "give an age" err &&
	sh_run 1 status --max-age 5x && sh_run 1 status --bogus
'

# ---- --pre, --post, --notify ----------------------------------------------------------

t '--pre failing: exit 18, the error names the command and its status, nothing touched' '
	tree && sh_run 18 backup --run-log=$PWD/r.log --pre "echo pre-ran >pre.out; exit 3" src dst &&
	grep -q "error: --pre '\''echo pre-ran >pre.out; exit 3'\'' exited 3: the backup did not run and nothing was changed" err &&
	[ ! -e dst ] && grep -q pre-ran pre.out &&
	expect_eq "failed 18 None" "$(field r.log "r[\"result\"], r[\"exit_code\"], r[\"counts\"]")" &&
	sh_run 0 backup src dst && listing dst >before &&
	sh_run 18 backup --pre "kill -9 \$\$" src dst && grep -q "was killed by signal 9" err &&
	echo changed >src/a && sh_run 18 backup --pre false src dst &&
	listing dst >after && diff before after
'

t '--pre succeeding runs first, in the environment of the run; the pass sees what it made' '
	tree && sh_run 0 backup --pre "echo \$SHELTER_COMMAND \$SHELTER_SRC \$SHELTER_DEST >src/made" src dst &&
	expect_eq "backup src dst" "$(cat dst/made)"
'

t '--post runs after a failed --pre with the result in its environment' '
	tree && sh_run 18 backup --pre false --post "env | grep ^SHELTER_ | sort >post.env" src dst &&
	grep -qx SHELTER_RESULT=failed post.env && grep -qx SHELTER_EXIT_CODE=18 post.env &&
	grep -qx SHELTER_COMMAND=backup post.env && grep -qx SHELTER_SRC=src post.env &&
	grep -qx SHELTER_DEST=dst post.env && grep -qx SHELTER_ERRORS=1 post.env
'

t '--post and --notify after a good pass: counts, run log path; --post first' '
	export XDG_STATE_HOME=$PWD/state && tree &&
	sh_run 0 backup --post "echo post >>order; env >post.env" --notify "echo notify >>order; env >notify.env" src dst &&
	expect_eq "$(printf "post\nnotify")" "$(cat order)" &&
	for f in post.env notify.env; do
		grep -qx SHELTER_RESULT=ok $f && grep -qx SHELTER_EXIT_CODE=0 $f &&
		grep -qx SHELTER_FILES=3 $f && grep -qx SHELTER_TRANSFERRED=2 $f &&
		grep -qx SHELTER_CREATED=3 $f && grep -qx SHELTER_BYTES=8 $f &&
		grep -qx "SHELTER_RUN_LOG=$PWD/state/shelter/runs.jsonl" $f || fail "$f: $(grep SHELTER_ $f)" || exit 1
	done
'

t 'a failing --post is an error but keeps the pass exit code (0 stays 0, 3 stays 3); the run log says warning' '
	tree && sh_run 0 backup --run-log=$PWD/r.log --post "exit 5" src dst &&
	grep -q "error: --post '\''exit 5'\'' exited 5 (the backup itself ended with exit code 0: ok)" err &&
	expect_eq "warning 0" "$(field r.log "r[\"result\"], r[\"exit_code\"]")" &&
	sh_run 3 backup --run-log=$PWD/r.log --post "exit 5" nosuch dst &&
	expect_eq "failed 3" "$(field r.log "r[\"result\"], r[\"exit_code\"]")"
'

t 'sync: --post gets SHELTER_ROOT1 and SHELTER_ROOT2' '
	tree && mkdir other &&
	sh_run 0 sync --state=$PWD/st --post "env >post.env" src other &&
	grep -qx SHELTER_COMMAND=sync post.env && grep -qx SHELTER_ROOT1=src post.env &&
	grep -qx SHELTER_ROOT2=other post.env && grep -qx SHELTER_CONFLICTS=0 post.env
'

# ---- syslog -----------------------------------------------------------------------

# syslog(3) writes to /dev/log. Inside a private mount namespace, a copy of
# /dev (a directory of bind mounts: null, zero, urandom, and this test's
# datagram socket as log) is bind-mounted over /dev, for shelter alone.
SYSLOG_OK=
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then SYSLOG_OK=1; fi
syslog_t() {
	if [ -n "$SYSLOG_OK" ]; then t "$@"; else skip "$1" "needs root and unshare -m"; fi
}
syslog_t '--syslog: each error and a summary line reach /dev/log as shelter, LOG_USER' '
	mkdir dev && { $PY -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
open(sys.argv[2], \"w\").close()
with open(sys.argv[2], \"ab\", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b\"\\n\")
" "$PWD/dev/log" "$PWD/got" >/dev/null 2>&1 & pid=$!; } &&
	for _ in $(seq 50); do [ -S dev/log ] && [ -e got ] && break; sleep 0.1; done &&
	tree && echo "#!/bin/sh
for d in null zero urandom; do : >$PWD/dev/\$d; mount --bind /dev/\$d $PWD/dev/\$d; done
mount --bind $PWD/dev /dev && exec \"\$@\"" >ns.sh &&
	unshare -m sh ns.sh "$SHELTER" backup --syslog src dst >out 2>err &&
	rc=0 && unshare -m sh ns.sh "$SHELTER" backup --syslog nosuch dst >out 2>err || rc=$? &&
	expect_eq 3 $rc && sleep 0.2 && kill $pid &&
	cat got &&
	grep -q "^<14>.*shelter\[[0-9]*\]: backup src dst: ok, exit 0 (ok); 3 files, 2 transferred" got &&
	grep -q "^<11>.*shelter\[[0-9]*\]: error: SRC nosuch: No such file or directory" got &&
	grep -q "^<11>.*shelter\[[0-9]*\]: backup nosuch dst: failed, exit 3 " got &&
	[ ! -e /dev/log ]
'

# ---- mail -------------------------------------------------------------------------

nobody_mail_t() { if [ -n "$CAN_DROP" ]; then mail_t "$1" "chmod 755 . && $2"; else skip "$1" "needs root and setpriv"; fi; }
nobody_mail_t '--mail-to: a failing pass mails To, Subject, the failing path and what to do (msmtp, SMTP)' '
	mkdir -p src && echo ok >src/fine && echo secret >src/locked && chmod -R a+rX src && chmod 000 src/locked &&
	mkdir dst-mailfail logs bin && cp "$MSMTPRC" logs/rc && chown $NOBODY:$NOBODY dst-mailfail logs logs/rc &&
	printf "#!/bin/sh\nexec msmtp -C %s \"\$@\"\n" "$PWD/logs/rc" >bin/sendmail && chmod 755 bin/sendmail &&
	PATH=$PWD/bin:$PATH as_nobody 23 backup --run-log=$PWD/logs/r.log --mail-to ops@example.com src dst-mailfail &&
	cp logs/r.log r.log &&
	m=$(mail_with dst-mailfail) &&
	printf "%s\n" "$m" | grep -qx "To: ops@example.com" &&
	printf "%s\n" "$m" | grep -qx "Subject: shelter backup FAILED on $(hostname): src -> dst-mailfail" &&
	printf "%s\n" "$m" | grep -q "^  error: .*locked.*Permission denied" &&
	printf "%s\n" "$m" | grep -q "exit code 23 (some files failed, the rest was done)" &&
	printf "%s\n" "$m" | grep -q "^What to do: " &&
	printf "%s\n" "$m" | grep -q "^Counts: 2 entries, 1 files transferred" &&
	expect_eq "0" "$(field r.log "sum(\"mail\" in x[\"text\"] for x in r[\"messages\"])")"
'

mail_t '--mail-on: failure (default) sends nothing for an ok pass; always does' '
	tree && PATH=$SMBIN:$PATH sh_run 0 backup --mail-to a@example.com src dst-okquiet &&
	! grep -l -F dst-okquiet "$MBOX"/new/* 2>/dev/null &&
	PATH=$SMBIN:$PATH sh_run 0 backup --mail-to a@example.com --mail-on always src dst-okalways &&
	mail_with dst-okalways | grep -qx "Subject: shelter backup ok on $(hostname): src -> dst-okalways" &&
	sh_run 1 backup --mail-on sometimes src dst && grep -q "give failure or always" err &&
	evil="./nosuch-inject
Bcc: evil@example.com" &&
	PATH=$SMBIN:$PATH sh_run 3 backup --mail-to ops@example.com "$evil" dst &&
	m=$(mail_with nosuch-inject) &&
	printf "%s\n" "$m" | grep -qx "Subject: shelter backup FAILED on $(hostname): ./nosuch-inject?Bcc: evil@example.com -> dst" &&
	! printf "%s\n" "$m" | sed "/^\$/q" | grep -q "^Bcc:" &&
	printf "%s\n" "$m" | grep -i "^X-RcptTo:" | grep -v -q evil &&
	sh_run 1 backup --mail-to "-oi" src dst && grep -q "give one mail address" err
'

mail_t 'mail that cannot be sent: reported on stderr and in the run log, the exit code unchanged' '
	printf "defaults\nauth off\ntls off\naccount default\nhost 127.0.0.1\nport 1\nfrom s@t\n" >rc &&
	chmod 600 rc && mkdir bin && printf "#!/bin/sh\nexec msmtp -C %s \"\$@\"\n" "$PWD/rc" >bin/sendmail &&
	chmod 755 bin/sendmail &&
	PATH=$PWD/bin:$PATH sh_run 3 backup -q --run-log=$PWD/r.log --mail-to ops@example.com nosuch dst &&
	grep -q "error: mail to ops@example.com: $PWD/bin/sendmail exited [0-9]*; the report was not sent" err &&
	expect_eq "failed 3 1" "$(field r.log "r[\"result\"], r[\"exit_code\"], sum(\"the report was not sent\" in x[\"text\"] for x in r[\"messages\"])")" &&
	tree && PATH=/usr/bin:/bin sh_run 0 backup -q --run-log=$PWD/r.log --mail-to ops@example.com --mail-on always src dst &&
	{ [ -x /usr/sbin/sendmail ] || [ -x /usr/lib/sendmail ] || grep -q "no sendmail found" err; } &&
	{ [ -x /usr/sbin/sendmail ] || [ -x /usr/lib/sendmail ] || expect_eq "warning 0" "$(field r.log "r[\"result\"], r[\"exit_code\"]")"; }
'

# ---- over the real sshd (push) --------------------------------------------------------

ssh_t 'push over sshd: run log line with the remote root and wire bytes, --post, mail naming the remote error' '
	tree && sh_run 0 backup -e "$SSH" --remote-cmd "$SHELTER" --run-log=$PWD/r.log \
		--post "env >post.env" src "testhost:$PWD/rdst" &&
	cmp src/d/b rdst/d/b &&
	expect_eq "src testhost:$PWD/rdst ok 2" "$(field r.log "*r[\"roots\"], r[\"result\"], r[\"counts\"][\"transferred\"]")" &&
	expect_eq True "$(field r.log "r[\"wire\"][\"sent\"] > 8")" &&
	grep -qx "SHELTER_DEST=testhost:$PWD/rdst" post.env && grep -qx SHELTER_RESULT=ok post.env &&
	if [ -n "$SMTP_PORT" ]; then
		PATH=$SMBIN:$PATH sh_run 3 backup -e "$SSH" --remote-cmd "$SHELTER" --run-log=$PWD/r.log \
			--mail-to ops@example.com --post "env >post2.env" src "testhost:$PWD/no/such/rdst" &&
		m=$(mail_with "$PWD/no/such/rdst") &&
		printf "%s\n" "$m" | grep -q "^  error: testhost: .*no/such" &&
		printf "%s\n" "$m" | grep -q "^Subject: shelter backup FAILED" &&
		grep -qx SHELTER_EXIT_CODE=3 post2.env &&
		expect_eq "failed 3" "$(field r.log "r[\"result\"], r[\"exit_code\"]")"
	fi
'

# ---- the SQLite recipe ----------------------------------------------------------------

sqlite_t() { if command -v sqlite3 >/dev/null; then t "$@"; else skip "$1" "no sqlite3"; fi; }
sqlite_t 'SQLite recipe: --pre ".backup" while a writer inserts; restore; integrity ok, the snapshot rows' '
	mkdir -p app && S=$PWD/app &&
	sqlite3 app/live.db "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null &&
	{ $PY -c "
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=10)
i = 0
end = time.time() + 30
while time.time() < end:
    c.execute(\"INSERT INTO t(v) VALUES (?)\", (\"row %d \" % i * 20,)); c.commit(); i += 1
    if i == 200: open(sys.argv[2], \"w\").close()
" app/live.db started >/dev/null 2>&1 & w=$!; } &&
	for _ in $(seq 100); do [ -e started ] && break; sleep 0.1; done &&
	sh_run 0 backup --pre "sqlite3 $S/live.db \".timeout 5000\" \".backup $S/snap.db\"" \
		--exclude live.db --exclude live.db-journal --exclude live.db-wal --exclude live.db-shm \
		--run-log=$PWD/r.log app bk &&
	sleep 0.3 && { kill $w; wait $w 2>/dev/null || :; } &&
	[ ! -e bk/live.db ] && [ ! -e bk/live.db-wal ] &&
	want=$(sqlite3 app/snap.db "SELECT count(*) FROM t") &&
	sh_run 0 restore bk/snap.db r &&
	expect_eq ok "$(sqlite3 r/snap.db "PRAGMA integrity_check")" &&
	expect_eq "$want" "$(sqlite3 r/snap.db "SELECT count(*) FROM t")" &&
	live=$(sqlite3 app/live.db "SELECT count(*) FROM t") &&
	[ "$want" -ge 200 ] && [ "$live" -gt "$want" ] &&
	expect_eq "ok 0" "$(field r.log "r[\"result\"], r[\"exit_code\"]")"
'

done_testing
