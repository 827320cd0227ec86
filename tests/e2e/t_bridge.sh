# The bridges between a session and everything outside it (issue 15):
# fakebuild --export read back by cpiotranslate -m and protofix -m, and
# cpiotranslate --db / protofix --from-db reading the database itself.
# Archives of the tree made outside any session must come out as the
# session itself archives it, entry for entry.
#
# What is compared (tests/e2e/archlist.py, or bsdtar -tv for cpio): path,
# type, permission bits, uid, gid, size, device numbers, symlink and hard
# link targets, and with --db the names and the faked xattrs and ACLs.
# Times are not: the same tree archived twice may differ in a directory's
# atime, and they are not what a session fakes.

LIST="python3 $TOP/tests/e2e/archlist.py"

# The tree, made in a session as a Buildroot-style build would: every file
# type, devices with numbers past 8 bits, hard links, set-id and sticky
# bits, owners other than root, names mtree must escape.
mkbridge() {
	mkdir -p proto/dev proto/bin proto/tmp "proto/with space" "proto/ünïcödé"
	printf 'ping\n' >proto/bin/ping
	ln proto/bin/ping proto/bin/ping6
	seq 1 3000 >proto/bin/data
	printf 'x\n' >"proto/with space/a	tab*?[=#\\b"
	printf 'y\n' >"proto/ünïcödé/fïlé"
	ln -s ../bin/ping proto/bin/sym
	fb sh -ec '
		cd proto
		mknod dev/nvme0n1p1 b 259 1
		mknod dev/big c 166 300
		mknod dev/max b 4095 1048575
		mknod dev/null c 1 3
		chmod 0666 dev/null
		mkfifo dev/initctl
		chmod 4755 bin/ping
		chown 12:34 bin/data
		chmod 2711 bin/data
		chmod 1777 tmp
		chown -h 5:6 bin/sym
		chgrp 7 "with space"
		chown 1000:1000 "ünïcödé/fïlé"'
	# A socket, where Python can make one (tar skips them; cpio keeps them).
	python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("proto/sock")' 2>/dev/null || true
}

# `find . | cpio -o -H newc` of the tree, listed by bsdtar without times.
newc_of() { (cd proto && find . | LC_ALL=C sort | cpio -o -H newc --quiet); }
cpio_list() { bsdtar -tvf - --numeric-owner | awk '{ $6 = $7 = $8 = ""; print }'; }

# Compare two listings, showing the difference.
same_listing() { # WANT GOT WHAT
	diff -u "$1" "$2" >/dev/null || { diff -u "$1" "$2" >&2; fail "$3: listings differ"; }
}

# --export of a directory that is not there prints nothing and fails
# (before: the mtree header, then the error).
test_export_of_a_missing_directory_prints_nothing() {
	assert_status 1 fb --export nonexistent >out 2>err
	[ ! -s out ] || fail "printed: $(cat out)"
	assert_contains err "nonexistent: No such file or directory"
}

test_export_is_an_mtree_libarchive_reads() {
	need bsdtar
	mkbridge
	fb --export proto >ex.mtree
	assert_eq "#mtree 2.0" "$(head -n 1 ex.mtree)" "header"
	assert_contains ex.mtree "./dev/nvme0n1p1 type=block uid=0 gid=0 mode=0644 device=native,259,1"
	assert_contains ex.mtree "./dev/max type=block uid=0 gid=0 mode=0644 device=native,4095,1048575"
	assert_contains ex.mtree "./dev/big type=char uid=0 gid=0 mode=0644 device=native,166,300"
	# The second name of the inode is a hard link to the first.
	assert_contains ex.mtree "./bin/ping6 type=file uid=0 gid=0 mode=4755 link=./bin/ping"
	assert_contains ex.mtree "./with\\040space/a\\011tab\\052\\077\\133\\075\\043\\134b type=file"
	assert_contains ex.mtree './\303\274n\303\257c\303\266d\303\251 type=dir'
	# libarchive (bsdtar) reads all of it but the socket, which it has no type for.
	grep -v 'type=socket' ex.mtree | bsdtar -tvf - >lst 2>err || { cat err; fail "bsdtar cannot read the export"; }
	assert_match '^brw-r--r-- .* 259,1 .* \./dev/nvme0n1p1$' "$(grep nvme lst)" "bsdtar's view"
	assert_match '^crw-r--r-- .* 166,300 .* \./dev/big$' "$(grep big lst)" "bsdtar's view"
	assert_match '^brw-r--r-- .* 4095,1048575 .* \./dev/max$' "$(grep max lst)" "bsdtar's view"
}

# tar -c outside the session, translated with the export: the session's own tar.
bridge_tar() { # TAR (tar or bsdtar) [CPIOTRANSLATE OPTIONS]
	local tar=$1; shift
	need "$tar"
	mkbridge
	fb --export proto >ex.mtree
	"$tar" -cf - -C proto . 2>/dev/null | "$CPIOTRANSLATE" -m ex.mtree "$@" >out.tar 2>err ||
		{ cat err; fail "cpiotranslate failed"; }
	[ ! -s err ] || { cat err; fail "unexpected messages"; }
	fb "$tar" -cf - -C proto . 2>/dev/null >session.tar
	$LIST <out.tar >got
	$LIST <session.tar >want
	same_listing want got "$tar"
	# The placeholders became the devices, the fifo stayed one, hard links stayed links.
	assert_contains got "./dev/max	block	0644	0	0	0	4095,1048575"
	assert_contains got "./bin/ping6	hardlink	4755	0	0	0	-> ./bin/ping"
}
# libarchive's GNU tar writer holds device numbers up to 262143 (six octal
# digits), so dev/max's minor needs another tar format: said so, and pax
# (which GNU tar reads) holds it.
test_export_translates_gnu_tar_as_the_session_archives() {
	bridge_tar tar --format pax
	tar -cf - -C proto . 2>/dev/null | assert_status 1 "$CPIOTRANSLATE" -m ex.mtree -o gnu.tar 2>err
	assert_contains err "./dev/max: device 4095,1048575: the GNU tar writer holds numbers up to 262143; write another tar format (--format pax)"
	[ ! -e gnu.tar ] || fail "output left behind"
}
test_export_translates_bsdtar_as_the_session_archives() { bridge_tar bsdtar; }

test_export_translates_cpio_newc_as_the_session_archives() {
	need cpio bsdtar
	mkbridge
	fb --export proto >ex.mtree
	newc_of | "$CPIOTRANSLATE" -m ex.mtree >out.cpio 2>err || { cat err; fail "cpiotranslate failed"; }
	[ ! -s err ] || { cat err; fail "unexpected messages"; }
	fb sh -c 'cd proto && find . | LC_ALL=C sort | cpio -o -H newc --quiet' >session.cpio
	cpio_list <out.cpio >got
	cpio_list <session.cpio >want
	same_listing want got "cpio newc"
	grep -q 'sock$' got || [ ! -S proto/sock ] || fail "the socket is missing"
	assert_match '^crw-r--r-- 1 0 0 166,300 +dev/big$' "$(grep dev/big got | tr -s ' ')" "device"
}

# The export against the tree: through the session's view (--db) nothing
# differs, hard links included; the tree on disk differs, and each
# placeholder says what it stands for.
test_export_checks_out_with_protofix() {
	mkbridge
	fb --export proto >ex.mtree
	"$PROTOFIX" -n --db="$FAKEBUILD_DB" -m ex.mtree proto >out 2>err ||
		{ cat out err; fail "the session's view differs from its own export"; }
	assert_status 1 "$PROTOFIX" -n -m ex.mtree proto >out 2>err
	[ ! -s err ] || { cat err; fail "errors where differences were due"; }
	assert_contains out "dev/nvme0n1p1: placeholder file for block 259,1"
	assert_contains out "dev/max: placeholder file for block 4095,1048575"
	assert_contains out "dev/null: placeholder file for char 1,3"
	assert_contains out "bin/ping: mode 0755 != 4755"
	if grep -q "dev/initctl: type\|not a hard link" out; then cat out; fail "fifo or hard link reported"; fi
}

# --- placeholders, and no other type change ------------------------------------

test_placeholder_becomes_the_device_other_types_stay() {
	need tar
	mkdir -p t/dev
	: >t/dev/null
	printf 'data\n' >t/dev/full
	ln -s x t/dev/zero
	printf '#mtree\n./dev/null type=char uid=0 gid=0 mode=0666 device=native,1,3\n' >m.mtree
	tar -cf in.tar -C t ./dev/null
	"$CPIOTRANSLATE" -m m.mtree <in.tar | $LIST >got
	assert_eq "./dev/null	char	0666	0	0	0	1,3" "$(cat got)" "placeholder"
	# -n says what it would do.
	assert_status 1 "$CPIOTRANSLATE" -n -m m.mtree <in.tar 2>err
	assert_contains err "./dev/null: placeholder: empty file in archive, char 1,3 in manifest"
	# A file with data, or a symlink, is not a placeholder: refused, nothing written.
	printf './dev/full type=char uid=0 gid=0 mode=0666 device=native,1,7\n./dev/zero type=char device=native,1,5\n' >>m.mtree
	tar -cf in2.tar -C t ./dev/full ./dev/zero
	assert_status 1 "$CPIOTRANSLATE" -m m.mtree -f in2.tar -o out.tar 2>err
	assert_contains err "./dev/full: type: file in archive, char in manifest"
	assert_contains err "./dev/zero: type: symlink in archive, char in manifest"
	[ ! -e out.tar ] || fail "output left behind"
}

# --- cpiotranslate --db: the database, with its xattrs -------------------------

# The tree with what mtree cannot carry: a capability, a trusted.* and a
# security.* attribute, an ACL; and a user.* attribute on disk.
mkbridge_xattrs() {
	need setcap setfacl setfattr
	mkbridge
	fb sh -ec '
		cd proto
		setcap cap_net_raw+ep bin/ping
		setfattr -n trusted.overlay.opaque -v y tmp
		setfattr -n security.selinux -v system_u:object_r:bin_t:s0 bin/data
		setfacl -m u:123:rwx "with space"'
	setfattr -n user.note -v hello proto/bin/data 2>/dev/null || true
}

# GNU tar --xattrs stores user.* only unless told --xattrs-include='*'; the
# session's tar is told so here, and cpiotranslate --db adds every recorded
# attribute whatever the outside tar was told.
test_db_translates_gnu_tar_as_the_session_archives() {
	need tar
	mkbridge_xattrs
	tar -c --xattrs -C proto . 2>/dev/null |
		"$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto >out.tar 2>err || { cat err; fail "--db failed"; }
	[ ! -s err ] || { cat err; fail "unexpected messages"; }
	fb tar -c --xattrs --xattrs-include='*' --acls -C proto . 2>/dev/null >session.tar
	$LIST --names --xattrs <out.tar >got
	$LIST --names --xattrs <session.tar >want
	same_listing want got "GNU tar --db"
	assert_contains got "./bin/ping	file	4755	0	0	root	root	5	xattrs:security.capability=0100000200200000000000000000000000000000"
	assert_match 'trusted.overlay.opaque=79' "$(grep '^./tmp	' got)" "trusted.*"
	assert_match 'access:user:123:rwx' "$(grep '^./with space	' got)" "ACL"
	assert_match 'user.note=68656c6c6f' "$(grep '^./bin/data	' got)$(getfattr -n user.note proto/bin/data 2>&1 | grep -c 'not supported')" "user.* from disk"
	# -n: what the outside archive lacks.
	tar -cf - -C proto ./bin/ping | assert_status 1 "$CPIOTRANSLATE" -n --db "$FAKEBUILD_DB" --root proto 2>err
	assert_contains err "./bin/ping: mode: 0755 in archive, 4755 in the database"
	assert_contains err "./bin/ping: xattr security.capability: in the database, not in archive"
	# GNU tar reads the capability back.
	tar --xattrs --xattrs-include='*' -tvvf out.tar 2>/dev/null | grep -A3 ' ./bin/ping$' | grep -q 'x: 20 security.capability' ||
		fail "GNU tar does not see the capability"
}

test_db_translates_bsdtar_pax_and_ustar_as_the_session_archives() {
	need bsdtar
	mkbridge_xattrs
	bsdtar -cf - --xattrs -C proto . 2>/dev/null |
		"$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto >out.tar 2>err || { cat err; fail "--db failed"; }
	fb bsdtar -cf - --xattrs --acls -C proto . 2>/dev/null >session.tar
	$LIST --names --xattrs <out.tar >got
	$LIST --names --xattrs <session.tar >want
	same_listing want got "bsdtar pax --db"
	# ustar holds no xattrs: a plain ustar input gets a pax header only
	# where one is needed, such as for dev/max, whose minor libarchive's
	# ustar writer cannot hold (six octal digits): the session's bsdtar
	# leaves it out, so it is not compared.
	bsdtar -cf - --format ustar -C proto . 2>/dev/null |
		"$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto 2>/dev/null | $LIST --names | grep -v '^./dev/max	' >got
	fb bsdtar -cf - --format ustar -C proto . 2>/dev/null | $LIST --names >want
	same_listing want got "ustar --db"
}

test_db_translates_cpio_newc_as_the_session_archives() {
	need cpio bsdtar
	mkbridge_xattrs
	# newc has no room for xattrs: owners, modes and devices are all it gets.
	newc_of | "$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto >out.cpio 2>err ||
		{ cat err; fail "--db failed"; }
	fb sh -c 'cd proto && find . | LC_ALL=C sort | cpio -o -H newc --quiet' >session.cpio
	cpio_list <out.cpio >got
	cpio_list <session.cpio >want
	same_listing want got "cpio newc --db"
}

# A running session's changes are seen before they are saved.
test_db_sees_a_running_session() {
	need tar
	mkdir proto && printf 'x\n' >proto/f
	fb sh -c 'chown 7:8 proto/f; chmod 4700 proto/f; : >started; while [ ! -e done ]; do sleep 0.05; done' &
	local pid=$!
	await started
	tar -cf - -C proto ./f | "$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto | $LIST >got 2>err
	: >done
	wait $pid
	assert_eq "./f	file	4700	7	8	2" "$(cat got)" "the live record"
}

test_db_bad_input_is_named_and_writes_nothing() {
	need tar
	mkdir -p proto/sub && printf 'x\n' >proto/sub/f && printf 'y\n' >other
	fb chown 3:3 proto/sub/f
	tar -cf in.tar -C proto .
	assert_status 1 "$CPIOTRANSLATE" --db nosuch.db --root proto -f in.tar -o out.tar 2>err
	assert_contains err "nosuch.db: no such fakebuild database"
	printf 'not a database\n' >bad.db
	assert_status 1 "$CPIOTRANSLATE" --db bad.db --root proto -f in.tar -o out.tar 2>err
	assert_contains err "bad.db: not a gdbm database"
	assert_status 2 "$CPIOTRANSLATE" --db "$FAKEBUILD_DB" -f in.tar 2>err
	assert_contains err "--db needs --root"
	assert_status 2 "$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto -m x.mtree -f in.tar 2>err
	assert_status 1 "$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root nosuchdir -f in.tar 2>err
	assert_contains err "nosuchdir: the tree (--root)"
	# A tree that does not match: reported, kept; with --strict an error, nothing written.
	tar -cf mix.tar -C proto . -C .. other
	"$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto -f mix.tar -o out.tar 2>err
	assert_contains err "other: not in the tree"
	assert_status 1 "$CPIOTRANSLATE" --strict --db "$FAKEBUILD_DB" --root proto -f mix.tar -o out2.tar 2>err
	[ ! -e out2.tar ] || fail "--strict left an output"
	# A truncated archive: the entry named, no output left.
	head -c 1500 in.tar >cut.tar
	assert_status 1 "$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto -f cut.tar -o out3.tar 2>err
	assert_contains err "truncated"
	[ ! -e out3.tar ] && ! ls .out3.tar.* >/dev/null 2>&1 || fail "a half-written output"
	# Inside a session, stat shows the fake state: refused.
	assert_status 1 fb "$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root proto -f in.tar -o out4.tar 2>err
	assert_contains err "run outside fakebuild"
}

# --- protofix --from-db ----------------------------------------------------------

test_from_db_checks_the_tree_against_the_database() {
	mkbridge_xattrs
	assert_status 1 "$PROTOFIX" --from-db "$FAKEBUILD_DB" proto >out 2>err
	[ ! -s err ] || { cat err; fail "unexpected errors"; }
	assert_contains out "bin/ping: mode 0755 != 4755"
	assert_contains out "bin/ping: xattr security.capability missing"
	assert_contains out "bin/data: owner $(id -u) != 12"
	assert_contains out "dev/max: placeholder file for block 4095,1048575"
	assert_contains out "tmp: xattr trusted.overlay.opaque missing"
	assert_contains out "bin/sym: owner $(id -u) != 5"
	# Not root: --fix is refused, the database is what sessions see already.
	assert_status 2 "$PROTOFIX" --fix --from-db "$FAKEBUILD_DB" proto 2>err
	assert_contains err "needs root"
	assert_status 2 "$PROTOFIX" --from-db nosuch.db proto 2>err
	assert_contains err "nosuch.db: no such fakebuild database"
	assert_status 2 "$PROTOFIX" --from-db "$FAKEBUILD_DB" -m x.mtree proto 2>err
	assert_status 2 "$PROTOFIX" --from-db "$FAKEBUILD_DB" --create proto 2>err
	assert_contains err "takes no -m"
}

# A file with names in two directories: --from-db kept a pointer to the
# first name's entry, made on the stack, and read it back for the second
# name in a deeper directory: a false "one file with (null) (hard
# links)" difference and exit status 1 (helper 64).
test_from_db_hard_link_in_another_directory() {
	mkdir -p t/sub
	echo x >t/a
	ln t/a t/sub/c
	fb sh -c 'chown 12:34 t/a; chmod 4755 t/a'
	"$PROTOFIX" --from-db "$FAKEBUILD_DB" t >out 2>err || true
	assert_eq "" "$(grep -i 'hard links' out err)" "$(cat out err)"
	assert_contains out "a: owner $(id -u) != 12"
	assert_contains out "sub/c: owner $(id -u) != 12"
}

# A database whose path hints and xattrs outgrow 96 bytes a record: the
# table --from-db, --db and --export read it into was sized by the
# records alone, so each failed, "the live table is full", however high
# FAKEBUILD_CAPACITY (helper 74).  Long names and a capability on each of
# 300 files; a value of 60,000 bytes.
test_from_db_and_db_read_a_database_of_long_hints_and_xattrs() {
	need setfattr
	local d=t/$(printf 'directory_with_a_rather_long_name_%02d/' 1 2 3 4) i
	mkdir -p "$d"
	for i in $(seq 300); do : >"$d/file_with_a_long_name_number_$i.txt"; done
	: >t/big
	fb sh -c "chown -R 0:5 t; cd $d && for f in *; do
		setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= \$f; done"
	fb setfattr -n trusted.big -v "0x$(head -c 60000 /dev/zero | od -An -tx1 -v | tr -d ' \n')" t/big
	"$PROTOFIX" --from-db "$FAKEBUILD_DB" t >out 2>err || true
	[ ! -s err ] || { cat err >&2; fail "protofix --from-db"; }
	assert_eq 300 "$(grep -c 'xattr security.capability missing' out)" "$(head -3 out)"
	assert_contains out "big: xattr trusted.big missing"
	tar -cf - -C t . | "$CPIOTRANSLATE" --db "$FAKEBUILD_DB" --root t --format ustar -o t.tar 2>err ||
		{ cat err >&2; fail "cpiotranslate --db"; }
	# 300 files, big, t and its 4 directories: all 0:5
	assert_eq "306 0 5" "$(bsdtar -tvf t.tar --numeric-owner | awk '{ print $3, $4 }' | sort | uniq -c | awk '{ print $1, $2, $3 }')" "owners"
	# --export from a database in a directory the user cannot write: the
	# same private table.
	mkdir ro && cp "$FAKEBUILD_DB" ro/fb.db && chmod 0555 ro
	"$FAKEBUILD" -d "$PWD/ro/fb.db" --export t >t.mtree 2>err || { cat err >&2; fail "--export"; }
	chmod 0755 ro
	assert_eq 306 "$(grep -c ' uid=0 gid=5 ' t.mtree)" "$(head -3 t.mtree)"
}

roottest_from_db_fix_makes_the_tree_what_the_session_saw() {
	need setcap setfacl setfattr getcap
	mkdir -p home && chown 65534:65534 home . 2>/dev/null || true
	local db=$PWD/home/fb.db
	# The build, as the unprivileged user.
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env FAKEBUILD_DB="$db" HOME="$PWD/home" \
		bash -ec "B=$B; TOP=$TOP; . $TOP/tests/e2e/lib.sh; $(declare -f mkbridge mkbridge_xattrs); mkbridge_xattrs; fb chown 3:5 proto/dev/big"
	"$PROTOFIX" -v --fix --from-db "$db" proto >out 2>err || { cat out err; fail "--fix failed"; }
	assert_eq "0 0 4755" "$(stat -c '%u %g %a' proto/bin/ping)" "ping"
	assert_match 'cap_net_raw[=+]ep' "$(getcap proto/bin/ping)" "capability"
	assert_eq "12 34 2711" "$(stat -c '%u %g %a' proto/bin/data)" "data"
	assert_eq "block special file 103,1 0 0 644" "$(stat -c '%F %t,%T %u %g %a' proto/dev/nvme0n1p1)" "nvme (hex)"
	assert_eq "character special file 1,3 666" "$(stat -c '%F %t,%T %a' proto/dev/null)" "null"
	assert_eq "fff,fffff" "$(stat -c '%t,%T' proto/dev/max)" "max"
	assert_eq "5 6" "$(stat -c '%u %g' proto/bin/sym)" "symlink owner"
	assert_eq "0 0 1777" "$(stat -c '%u %g %a' proto/tmp)" "tmp"
	assert_eq "y" "$(getfattr --only-values -n trusted.overlay.opaque proto/tmp)" "trusted.*"
	getfacl -n proto/"with space" 2>/dev/null | grep -q '^user:123:rwx' || fail "ACL not set"
	assert_eq "$(stat -c %i proto/bin/ping)" "$(stat -c %i proto/bin/ping6)" "hard link kept"
	assert_eq "character special file 3 5" "$(stat -c '%F %u %g' proto/dev/big)" "big"
	# Applied: a second check finds nothing, and a second --fix changes
	# nothing.  The real nodes are new inodes without records: each is
	# known by the record of the placeholder it replaced (it once read as
	# root's, and the second --fix gave dev/big back to root).
	"$PROTOFIX" --from-db "$db" proto >out2 2>err || { cat out2 err; fail "differences after --fix"; }
	"$PROTOFIX" --fix --from-db "$db" proto >out2 2>err || { cat out2 err; fail "second --fix failed"; }
	assert_contains err " 0 changed,"
	assert_eq "character special file 3 5" "$(stat -c '%F %u %g' proto/dev/big)" "big after a second --fix"
}

# The database is the build user's word: a hard link to a file that is not
# theirs, recorded as setuid, is not touched.
roottest_from_db_leaves_foreign_hard_links() {
	mkdir -p home proto/etc outside && chown 65534:65534 home proto proto/etc
	echo secret >outside/shadow && chown 1234:1234 outside/shadow && chmod 0600 outside/shadow
	ln outside/shadow proto/etc/shadow
	local db=$PWD/home/fb.db
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env FAKEBUILD_DB="$db" \
		"$FAKEBUILD" chmod 4777 proto/etc/shadow
	grep -q 'shadow.*mode=4777' <(setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		env FAKEBUILD_DB="$db" "$FAKEBUILD" --export proto) || skip "the session did not record it"
	assert_status 2 "$PROTOFIX" --fix --from-db "$db" proto >out 2>err
	assert_contains err "etc/shadow: has 2 names"
	assert_eq "1234 1234 600" "$(stat -c '%u %g %a' outside/shadow)" "outside file"
}

# Root reads the build user's database file, never their live table: while
# a session runs on it (its changes not yet in the file), refused.
roottest_from_db_refuses_a_database_in_use() {
	mkdir -p home proto && chown 65534:65534 home proto
	local db=$PWD/home/fb.db
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env FAKEBUILD_DB="$db" \
		"$FAKEBUILD" sh -c 'touch proto/f; chmod 4711 proto/f; : >home/started; while [ ! -e home/done ]; do sleep 0.05; done' &
	local pid=$!
	await home/started
	local rc=0
	"$PROTOFIX" --from-db "$db" proto >out 2>err || rc=$?
	: >home/done
	wait $pid
	assert_eq 2 "$rc" "exit status while in use"
	assert_contains err "a fakebuild session of uid 65534 is using"
	# Once it has ended, the file has it all.
	assert_status 1 "$PROTOFIX" --from-db "$db" proto >out 2>err
	assert_contains out "f: mode 0711 != 4711"
	[ ! -e "$db.lock" ] || [ "$(stat -c %u "$db.lock")" = 65534 ] || fail "root left a lock file in the user's directory"
}
