#!/bin/bash
# t1000-basic: the mirror of a mixed tree; second pass; deletions; updates;
# owner/group; DEST creation; trailing slashes.
#
# Test bodies are &&-chained (as in git's test suite), so that a failing
# step fails the test whatever the harness does with `set -e`.
. "$(dirname "$0")/lib.sh"

# fail MSG: print MSG and return 1 (for `cond || fail MSG`).
# mtime PATH: the mtime of PATH itself (not followed), SECONDS.NNNNNNNNN
mtime() { stat -c %.9Y -- "$1"; }

# inodes DIR: "inode ctime path" for every entry below DIR except
# DIR/.shelter: any rewrite, chmod, chown or utimes changes it.
inodes() {
	(cd "$1" && find . -path ./.shelter -prune -o -mindepth 1 -printf '%i %C@ %P\n' | LC_ALL=C sort)
}

# history_count DEST: number of pass folders under DEST/.shelter/history
history_count() {
	if [ -d "$1/.shelter/history" ]; then
		find "$1/.shelter/history" -mindepth 1 -maxdepth 1 | wc -l
	else
		echo 0
	fi
}

# make_tree DIR: a mixed tree with known modes, nanosecond mtimes and
# every kind of symlink. Directory mtimes are set last, deepest first.
make_tree() {
	mkdir -p "$1" &&
	(
		cd "$1" &&
		printf 'hello\n' >file &&
		: >empty &&
		head -c 100000 /dev/urandom >bin &&
		mkdir -p emptydir nested/a/b/c &&
		printf deep >nested/a/b/c/deep.txt &&
		printf mid >nested/a/mid &&
		printf secret >private && chmod 0600 private &&
		printf '#!/bin/sh\necho hi\n' >script && chmod 0755 script &&
		printf ro >readonly && chmod 0444 readonly &&
		mkdir privdir && printf p >privdir/f && chmod 0700 privdir &&
		mkdir rodir && printf r >rodir/f && mkdir rodir/inner && chmod 0555 rodir &&
		ln -s file rel_link &&
		ln -s nested/a/b dir_link &&
		ln -s "$PWD/nested" abs_dir_link &&
		ln -s /etc/passwd abs_link &&
		ln -s does/not/exist dangling &&
		ln -s ../../outside up_link &&
		touch -d @1000000001.123456789 file &&
		touch -d @1000000002.000000001 empty &&
		touch -d @1000000003.999999999 bin &&
		touch -d @1000000004.5 nested/a/b/c/deep.txt &&
		touch -d @1000000005.000000500 nested/a/mid &&
		touch -d @1000000006.6 private script readonly privdir/f rodir/f &&
		touch -h -d @1100000001.111111111 rel_link &&
		touch -h -d @1100000002.222222222 dir_link &&
		touch -h -d @1100000003.333333333 abs_dir_link &&
		touch -h -d @1100000004.444444444 abs_link &&
		touch -h -d @1100000005.555555555 dangling &&
		touch -h -d @1100000006.666666666 up_link &&
		touch -d @1200000001.000000001 nested/a/b/c &&
		touch -d @1200000002.000000002 nested/a/b &&
		touch -d @1200000003.000000003 nested/a &&
		touch -d @1200000004.000000004 nested &&
		touch -d @1200000005.000000005 emptydir &&
		touch -d @1200000006.000000006 privdir &&
		touch -d @1200000007.000000007 rodir/inner rodir
	)
}

t 'first pass mirrors files, empty files, empty and nested dirs, symlinks' '
	make_tree src &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	no_temp_files dst &&
	cmp src/bin dst/bin &&
	[ -f dst/empty ] && [ ! -s dst/empty ] &&
	[ -d dst/emptydir ] && expect_eq "" "$(ls -A dst/emptydir)" "dst/emptydir is empty" &&
	expect_eq deep "$(cat dst/nested/a/b/c/deep.txt)"
'

t 'modes are kept: 0600, 0755, 0444 files, 0700 and 0555 dirs' '
	make_tree src &&
	sh_run 0 backup src dst &&
	expect_eq 600 "$(stat -c %a dst/private)" private &&
	expect_eq 755 "$(stat -c %a dst/script)" script &&
	expect_eq 444 "$(stat -c %a dst/readonly)" readonly &&
	expect_eq 700 "$(stat -c %a dst/privdir)" privdir &&
	expect_eq 555 "$(stat -c %a dst/rodir)" rodir &&
	expect_eq r "$(cat dst/rodir/f)" "file inside the 0555 dir" &&
	[ -d dst/rodir/inner ] || fail "dir inside the 0555 dir missing"
'

t 'mtimes are kept to the nanosecond (files, dirs, symlinks themselves)' '
	make_tree src &&
	sh_run 0 backup src dst &&
	expect_eq 1000000001.123456789 "$(mtime dst/file)" file &&
	expect_eq 1000000002.000000001 "$(mtime dst/empty)" empty &&
	expect_eq 1000000003.999999999 "$(mtime dst/bin)" bin &&
	expect_eq 1000000005.000000500 "$(mtime dst/nested/a/mid)" nested/a/mid &&
	expect_eq 1100000001.111111111 "$(mtime dst/rel_link)" rel_link &&
	expect_eq 1100000005.555555555 "$(mtime dst/dangling)" dangling &&
	expect_eq 1100000002.222222222 "$(mtime dst/dir_link)" dir_link &&
	expect_eq 1200000001.000000001 "$(mtime dst/nested/a/b/c)" nested/a/b/c &&
	expect_eq 1200000004.000000004 "$(mtime dst/nested)" nested &&
	expect_eq 1200000005.000000005 "$(mtime dst/emptydir)" emptydir &&
	expect_eq 1200000007.000000007 "$(mtime dst/rodir)" rodir
'

t 'symlinks are stored verbatim and never followed' '
	make_tree src &&
	sh_run 0 backup src dst &&
	for l in rel_link dir_link abs_dir_link abs_link dangling up_link; do
		{ [ -L "dst/$l" ] || fail "dst/$l is not a symlink"; } &&
		expect_eq "$(readlink "src/$l")" "$(readlink "dst/$l")" "target of $l" || return 1
	done &&
	expect_eq "$PWD/src/nested" "$(readlink dst/abs_dir_link)" "absolute target verbatim" &&
	expect_eq "../../outside" "$(readlink dst/up_link)" "target leaving the tree" &&
	expect_eq "does/not/exist" "$(readlink dst/dangling)" "dangling target" &&
	expect_eq "$(find src -path src/.shelter -prune -o -print | wc -l)" \
		"$(find dst -path dst/.shelter -prune -o -print | wc -l)" "entry count (nothing copied through a link)"
'

t 'second pass is a no-op: -i prints nothing, nothing is rewritten' '
	make_tree src &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	tree_manifest dst >m1 && inodes dst >i1 &&
	h1=$(history_count dst) &&
	sh_run 0 backup -i src dst &&
	expect_eq "" "$(cat out)" "stdout of -i on an unchanged tree" &&
	expect_eq "" "$(cat err)" "stderr" &&
	tree_manifest dst >m2 && inodes dst >i2 &&
	diff -u m1 m2 && diff -u i1 i2 &&
	expect_eq "$h1" "$(history_count dst)" "no history folder for a no-op pass"
'

t 'second pass --stats shows 0 transferred' '
	make_tree src &&
	sh_run 0 backup src dst &&
	sh_run 0 backup --stats src dst &&
	grep -qx "Number of regular files transferred: 0" out &&
	grep -qx "Number of created files: 0" out &&
	grep -qx "Number of deleted files: 0" out &&
	grep -qx "Total transferred file size: 0 bytes" out &&
	grep -qx "Literal data: 0 bytes" out &&
	grep -qx "Matched data: 0 bytes" out ||
	{ cat out; fail "stats of a no-op pass"; }
'

t 'deleted files, dirs and symlinks in SRC are removed from DEST' '
	make_tree src &&
	sh_run 0 backup src dst &&
	rm src/file src/empty src/rel_link src/dangling src/dir_link &&
	rm -r src/nested src/emptydir &&
	chmod 755 src/rodir && rm -r src/rodir/inner && chmod 555 src/rodir &&
	sh_run 0 backup src dst &&
	for p in file empty rel_link dangling dir_link nested emptydir rodir/inner; do
		[ ! -e "dst/$p" ] && [ ! -L "dst/$p" ] || fail "dst/$p still there" || return 1
	done &&
	check_same src dst &&
	no_temp_files dst
'

t 'changed files are updated (size change, same size new mtime)' '
	make_tree src &&
	sh_run 0 backup src dst &&
	printf "hello, longer now\n" >src/file &&
	head -c 100000 /dev/urandom >src/bin && touch -d @1300000000.5 src/bin &&
	printf RO >src/readonly 2>/dev/null || { chmod 644 src/readonly && printf RO >src/readonly && chmod 444 src/readonly; } &&
	printf "deeper" >src/nested/a/b/c/deep.txt &&
	sh_run 0 backup src dst &&
	cmp src/file dst/file && cmp src/bin dst/bin && cmp src/readonly dst/readonly &&
	cmp src/nested/a/b/c/deep.txt dst/nested/a/b/c/deep.txt &&
	check_same src dst &&
	no_temp_files dst
'

t 'metadata-only changes are applied (mode, mtime of files and dirs)' '
	make_tree src &&
	sh_run 0 backup src dst &&
	chmod 0640 src/file && chmod 0711 src/privdir && chmod 0600 src/readonly &&
	touch -d @1400000000.000000123 src/bin &&
	touch -d @1400000001.000000456 src/emptydir &&
	touch -h -d @1400000002.000000789 src/rel_link &&
	sh_run 0 backup src dst &&
	expect_eq 640 "$(stat -c %a dst/file)" &&
	expect_eq 711 "$(stat -c %a dst/privdir)" &&
	expect_eq 1400000000.000000123 "$(mtime dst/bin)" &&
	expect_eq 1400000002.000000789 "$(mtime dst/rel_link)" "symlink mtime" &&
	check_same src dst
'

if [ "$(id -u)" = 0 ]; then
t 'numeric owner and group are kept (as root)' '
	make_tree src &&
	chown 12345:23456 src/file src/nested/a/mid src/emptydir &&
	chown 23456:12345 src/nested &&
	chown -h 12345:23456 src/rel_link &&
	chown -h 34567:45678 src/dangling &&
	sh_run 0 backup src dst &&
	expect_eq 12345:23456 "$(stat -c %u:%g dst/file)" file &&
	expect_eq 12345:23456 "$(stat -c %u:%g dst/nested/a/mid)" nested/a/mid &&
	expect_eq 12345:23456 "$(stat -c %u:%g dst/emptydir)" emptydir &&
	expect_eq 23456:12345 "$(stat -c %u:%g dst/nested)" nested &&
	expect_eq 12345:23456 "$(stat -c %u:%g dst/rel_link)" "symlink rel_link" &&
	expect_eq 34567:45678 "$(stat -c %u:%g dst/dangling)" "symlink dangling" &&
	expect_eq 0:0 "$(stat -c %u:%g dst/script)" "root-owned file" &&
	check_same src dst
'

t 'an owner-only change in SRC is applied to DEST (as root)' '
	make_tree src &&
	sh_run 0 backup src dst &&
	chown 12345:23456 src/file && chown 23456:34567 src/emptydir &&
	sh_run 0 backup src dst &&
	expect_eq 12345:23456 "$(stat -c %u:%g dst/file)" file &&
	expect_eq 23456:34567 "$(stat -c %u:%g dst/emptydir)" emptydir &&
	cmp src/file dst/file && check_same src dst
'
else
	skip 'numeric owner and group are kept (as root)' 'not root'
	skip 'an owner-only change in SRC is applied to DEST (as root)' 'not root'
fi

t 'DEST is created if missing' '
	make_tree src &&
	mkdir parent &&
	sh_run 0 backup src parent/dst &&
	[ -d parent/dst ] &&
	check_same src parent/dst
'

t 'an empty SRC gives an empty DEST' '
	mkdir src &&
	sh_run 0 backup src dst &&
	[ -d dst ] &&
	expect_eq "" "$(ls -A dst | grep -vx .shelter || :)" "entries in DEST"
'

t 'extra entries already in DEST are removed' '
	make_tree src &&
	mkdir -p dst/extra/deeper dst/nested/junk &&
	printf x >dst/extra/deeper/f && printf y >dst/stray &&
	ln -s nowhere dst/stray_link &&
	printf z >dst/nested/junk/f &&
	sh_run 0 backup src dst &&
	check_same src dst
'

t 'a trailing slash on SRC or DEST makes no difference' '
	make_tree src &&
	sh_run 0 backup src/ dst1/ &&
	sh_run 0 backup src dst2 &&
	[ ! -e dst1/src ] && [ ! -e dst2/src ] &&
	check_same src dst1 && check_same src dst2 &&
	sh_run 0 backup -i src dst1/ &&
	expect_eq "" "$(cat out)" "-i after src/ then src" &&
	sh_run 0 backup -i src/ dst2 &&
	expect_eq "" "$(cat out)" "-i after src then src/" &&
	sh_run 0 backup -i src// dst1// &&
	expect_eq "" "$(cat out)" "-i with doubled slashes"
'

t 'a tree built by the same steps twice gives identical mirrors' '
	make_tree src &&
	sh_run 0 backup src dst &&
	rm -r src/nested && mkdir src/nested && printf new >src/nested/x &&
	printf changed >src/file &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	sh_run 0 backup -i src dst &&
	expect_eq "" "$(cat out)" "third pass"
'

# Finished files are made durable in batches of 2,048 (or 256 MiB); a full
# batch's syncfs runs in the background while the next is received, and
# its files take their final names only after it (src/receiver.c).
t '5,000 files (two batches synced in the background, a third at the end): all exact, no temporary left' '
	mkdir -p src/a src/b &&
	for i in $(seq 2500); do printf "a%s\n" "$i" >"src/a/$i"; printf "b%s\n" "$i" >"src/b/$i"; done &&
	sh_run 0 backup src dst &&
	check_same src dst &&
	no_temp_files dst &&
	expect_eq 5000 "$(find dst -path dst/.shelter -prune -o -type f -print | wc -l)" "files in dst" &&
	expect_eq "b2500" "$(cat dst/b/2500)" "the last file" &&
	sh_run 0 backup -i src dst && expect_eq "" "$(cat out)" "second pass"
'

done_testing
