#!/bin/bash
# quickstart.sh - README command one: install what shelter needs on Debian 12,
# build it, and run a real backup of a sample folder. Run as root from the
# top of a clone (with sudo otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Build: compiler, autotools, the three libraries. Tests: Check, python3,
# xxhash (xxhsum), openssh (the remote tests' private sshd), zsh and fish
# (the completion tests), inotify-tools (a file written to while it is
# read); msmtp, python3-aiosmtpd and sqlite3 (t2800: mail through msmtp to an
# SMTP sink, the SQLite --pre recipe).
DEPS="build-essential autoconf automake pkg-config librsync-dev libpopt-dev libxxhash-dev
      check python3 xxhash openssh-client openssh-server util-linux procps zsh fish clang
      inotify-tools msmtp python3-aiosmtpd sqlite3"
echo "== installing: $(echo $DEPS)"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $DEPS >/dev/null

echo "== building"
autoreconf -fi >/dev/null 2>&1
./configure -q
make -j"$(nproc)" >/dev/null
./src/shelter --version

demo=$(mktemp -d /tmp/shelter-demo.XXXXXX)
mkdir -p "$demo/src/docs/empty" "$demo/src/photos"
echo "quarterly numbers" >"$demo/src/docs/report.txt"
printf 'name with spaces\n' >"$demo/src/docs/a file.txt"
head -c 2000000 /dev/urandom >"$demo/src/photos/big.raw"
ln -s docs/report.txt "$demo/src/latest"

echo
echo "== first backup: shelter backup -i $demo/src $demo/backup"
./src/shelter backup -i "$demo/src" "$demo/backup"

echo
echo "== editing: one file changed in place, one deleted, one added"
printf 'EDIT' | dd of="$demo/src/photos/big.raw" bs=1 seek=100000 conv=notrunc status=none
rm "$demo/src/docs/a file.txt"
echo "new" >"$demo/src/docs/new.txt"

echo
echo "== second backup, with --stats (the big file goes as a librsync delta)"
./src/shelter backup -i --stats "$demo/src" "$demo/backup"

echo
echo "== the mirror equals the source:"
diff -r "$demo/src" "$demo/backup" -x .shelter && echo "identical"
echo
echo "== what the second pass kept in DEST/.shelter/history:"
(cd "$demo/backup/.shelter/history" && find . -type f | sort && cat ./*/index)
echo
echo "Sample left in $demo. Next: make -j2 check"
