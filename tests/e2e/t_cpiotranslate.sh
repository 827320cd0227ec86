# End-to-end tests of cpiotranslate: archives built by GNU tar, GNU cpio and
# bsdtar from a tree owned by the test user, translated with a manifest in
# each format, checked with tar -tv, cpio -itv and bsdtar -tv.

FIX=$TOP/tests/e2e/fixtures/cpiotranslate

# cpiotranslate with the fixture's passwd and group, and the archive root
# (".") as an expected exception.
ct() {
	"$CPIOTRANSLATE" --passwd "$FIX/passwd" --group "$FIX/group" -e "$FIX/root.exc" "$@"
}

# The proto area: what a `make install` as an ordinary user leaves.
mkproto() {
	mkdir -p proto/usr/bin proto/etc proto/dev
	printf 'su binary\n' >proto/usr/bin/su
	ln proto/usr/bin/su proto/usr/bin/newgrp
	seq 1 40000 >proto/usr/bin/bash
	ln -s bash proto/usr/bin/sh
	echo 'root:*:19000::::::' >proto/etc/shadow
	chmod 0755 proto/usr/bin/su proto/usr/bin/bash
	chmod 0644 proto/etc/shadow
}

newc() { (cd proto && find . | cpio -o -H "${1:-newc}" --quiet); }

# `cpio -itv -n` line of PATH from the archive on stdin.
cpio_line() { cpio -itv -n --quiet 2>/dev/null | grep -E " (\./)?$1( ->.*)?\$"; }
tar_line() { tar -tvf - --numeric-owner | grep -E " (\./)?$1( ->| link to|\$)"; }
# The name of the su/newgrp pair that carries the data (find order decides).
tar_su() { tar -tvf - "$@" | grep -E ' (\./)?usr/bin/(su|newgrp)$' | grep '^-'; }

# The line of PATH in a saved listing.
lst_line() { grep -E " (\./)?$1( ->.*)?\$" "$2"; }

check_newc_listing() { # FILE [nolink: the manifest says nothing of symlinks]
	local l lst=$1.lst
	cpio -itv -n --quiet <"$1" >"$lst" 2>/dev/null || true
	l=$(lst_line usr/bin/su "$lst")
	assert_match '^-rwsr-xr-x +2 +0 +0 +10 ' "$l" "su"
	l=$(lst_line usr/bin/newgrp "$lst")
	assert_match '^-rwsr-xr-x +2 +0 +0 ' "$l" "newgrp"
	l=$(lst_line usr/bin/bash "$lst")
	assert_match '^-r-xr-xr-x +1 +0 +2 ' "$l" "bash"
	l=$(lst_line usr/bin/sh "$lst")
	if [ "${2:-}" = nolink ]; then
		assert_match '^lrwxrwxrwx +1 +65534 +65534 .* usr/bin/sh -> bash$' "$l" "sh"
	else
		assert_match '^lrwxrwxrwx +1 +0 +0 .* usr/bin/sh -> bash$' "$l" "sh"
	fi
	l=$(lst_line etc/shadow "$lst")
	assert_match '^-r-------- +1 +0 +3 ' "$l" "shadow"
	l=$(lst_line usr "$lst")
	assert_match '^drwxr-xr-x +[0-9]+ +0 +3 ' "$l" "usr"
}

# Extract with GNU cpio (as the test user) and check data and hard links.
check_extracted() { # DIR
	cmp "$1/usr/bin/bash" proto/usr/bin/bash
	cmp "$1/usr/bin/su" proto/usr/bin/su
	assert_eq "$(stat -c %i "$1/usr/bin/su")" "$(stat -c %i "$1/usr/bin/newgrp")" "hard link"
	assert_eq bash "$(readlink "$1/usr/bin/sh")" "symlink"
}

test_newc_from_gnu_cpio_with_mtree() {
	need cpio file
	mkproto
	newc >in.cpio
	ct -m "$FIX/tree.mtree" <in.cpio >out.cpio 2>err
	[ ! -s err ] || { cat err; fail "unexpected messages"; }
	check_newc_listing out.cpio
	assert_match 'SVR4 with no CRC' "$(file -b out.cpio)" "format"
	mkdir x && (cd x && cpio -idm --quiet <../out.cpio)
	check_extracted x
}

test_manifest_formats_agree() {
	need cpio
	mkproto
	newc >in.cpio
	local f
	for f in mtree proto ips cpiolist; do
		ct -m "$FIX/tree.$f" <in.cpio >"out.$f" || fail "$f: exit $?"
		# prototype and IPS give symlinks no owner or mode
		case $f in proto|ips) check_newc_listing "out.$f" nolink ;;
		*) check_newc_listing "out.$f" ;; esac
	done
	# The same manifest format given explicitly.
	ct -F prototype -m "$FIX/tree.proto" <in.cpio >out.explicit
	check_newc_listing out.explicit nolink
}

test_names_set_or_cleared() {
	need tar
	mkproto
	tar -cf in.tar -C proto .
	ct -m "$FIX/tree.proto" <in.tar >proto.tar
	assert_match '^-rwsr-xr-x root/root ' "$(tar_su <proto.tar)" "names from prototype"
	assert_match '^-r-xr-xr-x root/bin ' "$(tar -tvf proto.tar | grep ' ./usr/bin/bash$')" "names"
	# mtree gives numbers only: names are cleared, not left as the builder's.
	ct -m "$FIX/tree.mtree" <in.tar >mtree.tar
	assert_match '^-rwsr-xr-x 0/0 ' "$(tar_su <mtree.tar)" "names cleared"
}

test_gnu_tar_format_preserved() {
	need tar file
	mkproto
	tar -cf in.tar -C proto .
	assert_match 'GNU' "$(file -b in.tar)"
	ct -m "$FIX/tree.ips" <in.tar >out.tar
	assert_match 'GNU' "$(file -b out.tar)" "format"
	assert_match '^-rwsr-xr-x root/root +10 ' "$(tar_su <out.tar)" "su"
	assert_match '^hrwsr-xr-x root/root .* link to ' "$(tar -tvf out.tar | grep 'usr/bin/.* link to')" "link"
	mkdir x && tar -xf out.tar -C x
	check_extracted x
}

test_pax_format_preserved() {
	need tar
	mkproto
	tar --format=pax -cf in.tar -C proto .
	ct -m "$FIX/tree.mtree" <in.tar >out.tar
	grep -qa 'mtime=' out.tar || fail "no pax headers in the output"
	assert_match '^-r-------- 0/3 ' "$(tar_line etc/shadow <out.tar)"
}

test_bsdtar_ustar_stays_ustar() {
	need bsdtar
	mkproto
	bsdtar --format ustar -cf in.tar -C proto .
	ct -m "$FIX/tree.mtree" <in.tar >out.tar
	! grep -qa 'mtime=' out.tar || fail "pax headers appeared"
	assert_match '^-rwsr-xr-x +[0-9]+ 0 +0 ' "$(bsdtar -tvf out.tar | grep -E 'usr/bin/(su|newgrp)$' | grep '^-')"
	# bsdtar's default (restricted pax) is read and written the same way.
	bsdtar -cf in2.tar -C proto .
	ct -m "$FIX/tree.mtree" <in2.tar >out2.tar
	assert_match '^-rwsr-xr-x' "$(bsdtar -tvf out2.tar | grep -E 'usr/bin/(su|newgrp)$' | grep '^-')"
}

test_odc_and_bin_preserved() {
	need cpio file
	mkproto
	local h
	for h in odc bin; do
		newc $h >in.$h
		ct -m "$FIX/tree.mtree" <in.$h >out.$h
		assert_eq "$(file -b in.$h)" "$(file -b out.$h)" "$h format"
		assert_match '^-rwsr-xr-x +2 +0 +0 +10 ' "$(cpio_line usr/bin/newgrp <out.$h)" "$h newgrp"
		mkdir x.$h && (cd x.$h && cpio -idm --quiet <../out.$h)
		check_extracted x.$h
	done
}

test_compression_preserved() {
	need cpio file
	mkproto
	newc >in.cpio
	local z magic
	for z in gzip bzip2 xz zstd lz4; do
		command -v $z >/dev/null || continue
		$z -c <in.cpio >in.$z
		ct -m "$FIX/tree.mtree" <in.$z >out.$z
		magic=$(file -b out.$z)
		case $z in
		gzip) assert_match '^gzip' "$magic"
			# reproducible: no time stamp in the gzip header
			[[ $magic != *"last modified"* ]] || fail "gzip header has a time: $magic" ;;
		bzip2) assert_match '^bzip2' "$magic" ;;
		xz) assert_match '^XZ' "$magic" ;;
		zstd) assert_match '^Zstandard' "$magic" ;;
		lz4) assert_match '^LZ4' "$magic" ;;
		esac
		$z -dc <out.$z >plain.$z
		check_newc_listing plain.$z
	done
	# --filter and --format choose another compression and format.
	gzip -c <in.cpio | ct -m "$FIX/tree.mtree" --filter xz --format pax >conv
	assert_match '^XZ' "$(file -b conv)"
	assert_match '^-rwsr-xr-x 0/0 ' "$(xz -dc conv | tar_su --numeric-owner)"
}

test_newc_hardlink_to_tar_keeps_data() {
	need cpio tar
	mkproto
	newc >in.cpio
	ct -m "$FIX/tree.mtree" --format gnutar <in.cpio >out.tar
	mkdir x && tar -xf out.tar -C x
	check_extracted x
}

test_tar_hardlink_to_cpio_is_an_error() {
	need tar
	mkproto
	tar -cf in.tar -C proto .
	assert_status 1 ct -m "$FIX/tree.mtree" --format newc -o out.cpio <in.tar 2>err
	assert_contains err 'hard link to'
	[ ! -e out.cpio ] || fail "output left behind"
}

test_add_missing_devices_for_initramfs() {
	need cpio
	mkproto
	newc >in.cpio
	# --strict, as in cpiotranslate(1)'s example: the root ("." of find .),
	# which a gen_init_cpio list never names, is root's, not an error (it
	# was: ".: not in manifest"; without --strict it stayed the builder's).
	ct -m "$FIX/tree.cpiolist" --add-missing --strict <in.cpio >out.cpio
	assert_match '^d[-rwx]{9} +[0-9]+ +0 +0 .* \.$' "$(cpio -itv -n --quiet <out.cpio 2>/dev/null | grep -E ' \.$')" "the root"
	assert_match '^crw-rw-rw- +1 +0 +3 +1, +3 ' "$(cpio_line dev/null <out.cpio)" "null"
	assert_match '^crw------- +1 +0 +5 +5, +1 ' "$(cpio_line dev/console <out.cpio)" "console"
	assert_match '^prw------- ' "$(cpio_line dev/initctl <out.cpio)" "fifo"
	assert_match '^drwxrwxrwt ' "$(cpio_line var/run <out.cpio)" "var/run"
	# parents before children, after the input's entries
	cpio -it --quiet <out.cpio | tail -n 5 >order
	assert_eq "dev/console dev/initctl dev/null var var/run" "$(echo $(cat order))" "order"
	check_newc_listing out.cpio
	# Each added entry has an inode number of its own: bsdtar (libarchive)
	# takes entries sharing one for hard links of each other.
	if command -v bsdtar >/dev/null; then
		bsdtar -tvf out.cpio >list
		! grep -E ' link to ' list | grep -qE ' (dev|var)' ||
			{ cat list >&2; fail "added entries listed as hard links"; }
	fi
}

test_devices_pass_through_from_bsdtar_mtree() {
	need bsdtar cpio
	# bsdtar builds device entries from an mtree spec: no mknod needed.
	cat >spec <<-'EOF'
	#mtree
	./dev type=dir uid=1000 gid=1000 mode=0755
	./dev/null type=char uid=1000 gid=1000 mode=0644 device=native,1,3
	./dev/sda type=block uid=1000 gid=1000 mode=0644 device=native,8,0
	./dev/initctl type=fifo uid=1000 gid=1000 mode=0644
	EOF
	bsdtar -cf - --format newc @spec >in.cpio
	ct -m "$FIX/tree.mtree" <in.cpio >out.cpio 2>err || { cat err; fail "exit $?"; }
	assert_contains err './dev/sda: not in manifest'
	assert_match '^crw-rw-rw- +[0-9]+ +0 +3 +1, +3 ' "$(cpio_line dev/null <out.cpio)" "null"
	assert_match '^brw-r--r-- +[0-9]+ +1000 +1000 +8, +0 ' "$(cpio_line dev/sda <out.cpio)" "sda unchanged"
	assert_match '^prw------- +[0-9]+ +0 +0 ' "$(cpio_line dev/initctl <out.cpio)" "fifo"
}

# An mtree device entry without device= has no numbers, as a prototype
# or cpio list entry must give them: before, libarchive's 0,0 was taken
# and a placeholder became a device 0,0 without a word.
test_mtree_device_without_numbers_is_an_error() {
	need cpio
	mkdir -p proto/dev
	: >proto/dev/tty
	printf '#mtree\n./dev type=dir\n./dev/tty type=char uid=0 gid=5 mode=0666\n' >m.mtree
	printf './dev/sda type=block uid=0 gid=6 mode=0660\n' >>m.mtree
	newc >in.cpio
	assert_status 1 "$CPIOTRANSLATE" -m m.mtree <in.cpio >out.cpio 2>err
	assert_contains err 'dev/tty: placeholder for a char: the manifest gives no device numbers'
	assert_status 1 "$CPIOTRANSLATE" -m m.mtree --add-missing -e /dev/null <in.cpio >out.cpio 2>err
	assert_contains err 'dev/sda: cannot add: the manifest gives no device numbers'
	# mtree has no line numbers: the file alone (it was "m.mtree:0").
	assert_contains err 'no device numbers (m.mtree)'
}

test_unlisted_reported_once_and_kept() {
	need cpio
	mkproto
	echo extra >proto/etc/extra
	newc >in.cpio
	ct -m "$FIX/tree.mtree" <in.cpio >out.cpio 2>err
	assert_eq "cpiotranslate: etc/extra: not in manifest" "$(cat err)" "stderr"
	assert_match '^-rw-r--r-- +1 +65534 ' "$(cpio_line etc/extra <out.cpio)" "kept as is"
}

test_exceptions_silence_unlisted() {
	need cpio
	mkproto
	mkdir -p proto/usr/lib/test
	echo t >proto/usr/lib/test/a.o
	newc >in.cpio
	printf '# test objects\n/usr/lib/test\nusr/lib/test/*.o\n./usr/lib\n' >exc
	ct -m "$FIX/tree.mtree" -e exc --strict <in.cpio >out.cpio 2>err
	[ ! -s err ] || { cat err; fail "exceptions not honoured"; }
	ct -m "$FIX/tree.mtree" -e exc --drop-unlisted <in.cpio >dropped.cpio
	# A list first: under pipefail, cpio killed by grep -q's early exit
	# would turn a match into a pass.
	cpio -it --quiet <dropped.cpio >list
	! grep -q usr/lib list || fail "not dropped"
	check_newc_listing dropped.cpio
}

test_strict_fails_and_leaves_no_output() {
	need cpio
	mkproto
	echo extra >proto/etc/extra
	echo extra >proto/etc/extra2
	newc >in.cpio
	assert_status 1 ct -m "$FIX/tree.mtree" --strict -o out.cpio <in.cpio 2>err
	assert_contains err 'etc/extra: not in manifest'
	assert_contains err 'etc/extra2: not in manifest'
	[ -z "$(ls -A | grep out.cpio)" ] || fail "output or temporary file left: $(ls -A)"
	# On stdout the archive stops before the first error, without a trailer.
	assert_status 1 ct -m "$FIX/tree.mtree" --strict <in.cpio >partial 2>/dev/null
	! cpio -it --quiet <partial >/dev/null 2>&1 || fail "partial output reads as complete"
}

# Output goes out in 64 KiB blocks: a tar cut where a block ends on a
# member boundary (256 empty files), or one block before a member's end
# (one-block files), was taken for complete by GNU tar and bsdtar (exit 0),
# as was an empty output by bsdtar.  Now text that is no archive follows.
test_cut_output_fails_tar_readers() {
	need bsdtar gzip
	local n sz
	{ echo '#mtree'; echo '. type=dir'; for n in $(seq 100 398); do echo "./f$n type=file mode=0644"; done; } >m.mtree
	for sz in 0 1 600; do
		rm -rf t; mkdir t
		for n in $(seq 100 399); do head -c "$sz" /dev/zero >"t/f$n"; done
		tar --sort=name -cf in.tar -C t .
		gzip -n <in.tar >in.tgz
		for f in in.tar in.tgz; do
			assert_status 1 "$CPIOTRANSLATE" --strict -m m.mtree -f "$f" >out 2>err
			assert_contains err './f399: not in manifest'
			! tar -tf out >/dev/null 2>&1 || fail "GNU tar reads the cut $f ($sz-byte files)"
			! bsdtar -tf out >/dev/null 2>&1 || fail "bsdtar reads the cut $f ($sz-byte files)"
		done
		# cpio: a few words, not one complaint per byte of the text.
		for f in newc bin; do
			assert_status 1 "$CPIOTRANSLATE" --strict --format "$f" -m m.mtree -f in.tar >out 2>/dev/null
			! cpio -it <out >/dev/null 2>err || fail "GNU cpio reads the cut $f ($sz-byte files)"
			[ "$(wc -l <err)" -le 2 ] || { cat err; fail "GNU cpio's complaints"; }
			! bsdtar -tf out >/dev/null 2>&1 || fail "bsdtar reads the cut $f ($sz-byte files)"
		done
	done
	# Inside an entry: its data cut short by the input.
	head -c 200000 /dev/zero >t/big
	tar -cf in.tar -C t ./big
	printf '#mtree\n./big type=file mode=0644\n' >big.mtree
	for n in 131072 131584 132096 197120; do
		head -c "$n" in.tar >cut.tar
		assert_status 1 "$CPIOTRANSLATE" -m big.mtree -f cut.tar >out 2>/dev/null
		! tar -tf out >/dev/null 2>&1 || fail "GNU tar reads the output of input cut at $n"
		! bsdtar -tf out >/dev/null 2>&1 || fail "bsdtar reads the output of input cut at $n"
	done
}

test_output_file_written_atomically() {
	need cpio
	mkproto
	newc >in.cpio
	ct -m "$FIX/tree.mtree" -f in.cpio -o out.cpio
	check_newc_listing out.cpio
	[ -z "$(ls -A | grep '^\.out\.cpio\.')" ] || fail "temporary left: $(ls -A)"
}

# -o naming something not a regular file writes into it, as tar -f and
# cpio do: /dev/null stays a device (and a user may name it), a FIFO's
# reader gets the archive, a symbolic link stays one and the file it
# names is replaced whole.  Before, each was replaced by a regular file
# renamed over it (as a user, /dev/null failed: no temporary in /dev).
test_output_device_fifo_and_symlink() {
	need cpio
	mkproto
	newc >in.cpio
	ct -m "$FIX/tree.mtree" -f in.cpio -o /dev/null || fail "-o /dev/null failed"
	[ -c /dev/null ] || fail "/dev/null is no longer a device"
	ct -m "$FIX/tree.mtree" -f in.cpio -o plain.cpio
	mkfifo fifo
	cat fifo > got.cpio &
	ct -m "$FIX/tree.mtree" -f in.cpio -o fifo
	wait
	[ -p fifo ] || fail "the FIFO was replaced"
	cmp plain.cpio got.cpio || fail "the FIFO's reader got another archive"
	printf old > real.cpio
	ln -s real.cpio link.cpio
	ct -m "$FIX/tree.mtree" -f in.cpio -o link.cpio
	[ -L link.cpio ] || fail "the symbolic link was replaced"
	cmp plain.cpio real.cpio || fail "the file the link names was not written"
	[ -z "$(ls -A | grep '^\.')" ] || fail "temporary left: $(ls -A)"
}

# -o as tar -f writes: an existing file keeps its mode (it became 0644), a
# dangling symbolic link names the file to create (the link itself was
# replaced), and a SIGTERM or SIGINT leaves no temporary (it was left).
test_output_keeps_mode_follows_links_cleans_up() {
	need cpio
	mkproto
	newc >in.cpio
	: >private.cpio
	chmod 0600 private.cpio
	ct -m "$FIX/tree.mtree" -f in.cpio -o private.cpio
	assert_eq 600 "$(stat -c %a private.cpio)" "mode of the file replaced"
	ln -s sub/new.cpio dangling.cpio
	mkdir sub
	ln -s ../dangling.cpio sub/chain.cpio
	ct -m "$FIX/tree.mtree" -f in.cpio -o sub/chain.cpio
	[ -L dangling.cpio ] && [ -L sub/chain.cpio ] || fail "a symbolic link was replaced"
	cmp private.cpio sub/new.cpio || fail "the file the links name was not written"
	# /dev/fd/N of a file already unlinked: written through the
	# descriptor, as tar does (its /proc link, "PATH (deleted)", was
	# taken for a path: a stray file made, nothing written to it).
	exec 3>scratch.cpio
	rm scratch.cpio
	ct -m "$FIX/tree.mtree" -f in.cpio -o /dev/fd/3
	assert_eq "$(stat -c %s private.cpio)" "$(stat -L -c %s /proc/self/fd/3)" "bytes through /dev/fd/3"
	exec 3>&-
	[ -z "$(ls -A | grep deleted)" ] || fail "a stray file: $(ls -A)"
	local sig w pid rc
	for sig in TERM INT; do
		mkfifo slow
		(head -c 2048 in.cpio; exec sleep 20) >slow &
		w=$!
		# Not ct: $! would be the subshell running the function.  A shell
		# without job control starts a background command with SIGINT ignored.
		env --default-signal=INT "$CPIOTRANSLATE" -m "$FIX/tree.mtree" -f slow -o sig.cpio 2>/dev/null &
		pid=$!
		for n in $(seq 200); do [ -z "$(ls -A | grep '^\.sig\.cpio\.')" ] || break; sleep 0.05; done
		[ -n "$(ls -A | grep '^\.sig\.cpio\.')" ] || fail "no temporary seen"
		kill -s "$sig" "$pid"
		rc=0; wait "$pid" || rc=$?
		kill "$w"; wait "$w" || true
		rm slow
		[ "$rc" -gt 128 ] || fail "SIG$sig: exit $rc"
		[ -z "$(ls -A | grep '^\.sig\.cpio\.')" ] || fail "SIG$sig left the temporary: $(ls -A)"
	done
}

test_check_mode_reports_differences() {
	need cpio
	mkproto
	newc >in.cpio
	assert_status 1 ct -n -m "$FIX/tree.mtree" <in.cpio >out 2>err
	[ ! -s out ] || fail "--check wrote something"
	assert_contains err 'usr/bin/su: mode: 0755 in archive, 4755 in manifest'
	assert_contains err 'usr/bin/su: uid: 65534 in archive, 0 in manifest'
	assert_contains err 'dev/null: not in archive'
	# The archive's ".", which the manifest does not list, is root's: the
	# difference says so (before: "0 in manifest").
	assert_contains err ".: uid: 65534 in archive, 0 for the archive's root, which the manifest does not list"
	ct -m "$FIX/tree.mtree" --add-missing <in.cpio >fixed.cpio
	ct --check -m "$FIX/tree.mtree" <fixed.cpio
}

test_type_mismatch_reported() {
	need cpio
	mkproto
	rm proto/etc/shadow && mkdir proto/etc/shadow
	newc >in.cpio
	assert_status 1 ct -m "$FIX/tree.mtree" <in.cpio >/dev/null 2>err
	assert_contains err 'etc/shadow: type: dir in archive, file in manifest'
}

test_truncated_archive_names_entry() {
	need cpio
	mkproto
	newc >in.cpio
	head -c 100000 in.cpio >trunc.cpio
	assert_status 1 ct -m "$FIX/tree.mtree" -o out <trunc.cpio 2>err
	assert_contains err 'usr/bin/bash: truncated or corrupt archive'
	[ ! -e out ] || fail "output left"
	head -c 1000 /dev/zero | cat in.cpio - | tail -c +200 >garbage
	assert_status 1 ct -m "$FIX/tree.mtree" <garbage >/dev/null 2>err
	assert_status 1 ct -m "$FIX/tree.mtree" -f missing.cpio -o out 2>err
	assert_contains err 'missing.cpio: No such file or directory'
	[ ! -e out ] || fail "output left for a missing input"
	mkdir adir
	assert_status 1 ct -m "$FIX/tree.mtree" -f adir -o out 2>err
	assert_contains err 'adir: a directory, not a tar or cpio archive'
	assert_status 1 ct -m nosuch.mtree -f in.cpio -o out 2>err
	assert_contains err "can't open the manifest 'nosuch.mtree': No such file or directory"
	[ ! -e out ] || fail "output left"
}

test_bad_manifest_is_an_error() {
	need cpio
	mkproto
	newc >in.cpio
	assert_status 1 ct -m "$FIX/bad.proto" <in.cpio >/dev/null 2>err
	assert_contains err 'bad.proto:2'
	assert_status 1 ct -m nonexistent.mtree <in.cpio >/dev/null 2>err
	assert_contains err 'nonexistent.mtree'
}

test_id_too_large_is_an_error() {
	need cpio tar
	mkproto
	sed 's|^\./usr/bin/bash .*|./usr/bin/bash type=file uid=300000 gid=2 mode=0555|' \
		"$FIX/tree.mtree" >big.mtree
	newc odc >in.odc
	assert_status 1 ct -m big.mtree <in.odc >/dev/null 2>err
	assert_contains err 'usr/bin/bash: uid 300000 too large for the odc format (at most 262143)'
	newc bin >in.bin
	assert_status 1 ct -m big.mtree <in.bin >/dev/null 2>err
	assert_contains err 'too large for the bin format'
	# ustar and v7: libarchive writes six octal digits, 262143 at most
	# (before, 300000 was let through and the entry silently became pax).
	tar --format=ustar -cf in.tar -C proto .
	assert_status 1 ct -m big.mtree <in.tar >/dev/null 2>err
	assert_contains err './usr/bin/bash: uid 300000 too large for the ustar (pax restricted) format (at most 262143)'
	assert_status 1 ct -m big.mtree --format v7 <in.tar >/dev/null 2>err
	assert_contains err './usr/bin/bash: uid 300000 too large for the v7 format (at most 262143)'
	# newc and GNU tar hold it.
	sed 's|uid=300000|uid=3000000|' big.mtree >bigger.mtree
	newc >in.cpio
	ct -m bigger.mtree <in.cpio | cpio_line usr/bin/bash | grep -q ' 3000000 '
	tar -cf in.gnu -C proto .
	ct -m bigger.mtree <in.gnu | tar_line usr/bin/bash | grep -q ' 3000000/2 '
}

test_crc_format_needs_conversion() {
	need cpio
	mkproto
	newc crc >in.crc
	assert_status 1 ct -m "$FIX/tree.mtree" <in.crc >/dev/null 2>err
	assert_contains err 'cpio crc (070702)'
	assert_contains err '--format newc'
	ct -m "$FIX/tree.mtree" --format newc <in.crc >out.cpio
	check_newc_listing out.cpio
}

test_sparse_file_data_kept() {
	need tar
	mkdir -p proto/usr/bin
	truncate -s 3M proto/usr/bin/bash
	echo tail >>proto/usr/bin/bash
	printf 'x' | dd of=proto/usr/bin/bash bs=1 seek=1000000 conv=notrunc status=none
	tar --format=pax --sparse -cf in.tar -C proto ./usr
	ct -m "$FIX/tree.mtree" <in.tar >out.tar 2>/dev/null
	mkdir x && tar -xf out.tar -C x
	cmp x/usr/bin/bash proto/usr/bin/bash
	[ "$(stat -c %s out.tar)" -lt 1000000 ] || fail "holes written out: $(stat -c %s out.tar) bytes"
}

test_xattrs_pass_through() {
	need bsdtar setfattr
	mkproto
	setfattr -n user.test -v hello proto/usr/bin/bash 2>/dev/null || skip "no user xattrs here"
	bsdtar --format pax --xattrs -cf in.tar -C proto .
	ct -m "$FIX/tree.mtree" <in.tar >out.tar
	grep -qa 'xattr.user.test' out.tar || fail "xattr lost"
}

# An xattr whose name is not plain ASCII keeps its name through pax
# output: written as SCHILY.xattr alone (to spare GNU tar's warning about
# libarchive's copy), libarchive percent-encoded it, user.%C3%A9.
test_xattr_names_kept_in_pax_output() {
	need tar bsdtar setfattr getfattr
	mkdir x b
	echo d > x/f
	setfattr -n 'user.é' -v v x/f 2>/dev/null || skip "no user xattrs here"
	setfattr -n 'user.sp ace' -v w x/f
	tar --format=posix --xattrs --xattrs-include='*' -cf in.tar -C x f
	printf '#mtree\n./f type=file mode=0600\n' > m.mtree
	ct -m m.mtree <in.tar >out.tar
	bsdtar --xattrs -xf out.tar -C b
	assert_eq v "$(getfattr --only-values -n 'user.é' b/f)" "user.é"
	assert_eq w "$(getfattr --only-values -n 'user.sp ace' b/f)" "user.sp ace"
}

# A name from the archive is shown as protofix shows it: a control
# character or a backslash as \ooo (a newline split the message, and an
# escape sequence went to the terminal).
test_control_characters_in_names_escaped() {
	need tar
	mkdir t
	: >"t/a$(printf '\nb\033')c"
	: >'t/d\e'
	tar -cf in.tar -C t .
	printf '#mtree\n. type=dir\n' >m.mtree
	"$CPIOTRANSLATE" -m m.mtree <in.tar >out.tar 2>err
	assert_eq 2 "$(wc -l <err)" "lines"
	assert_contains err 'cpiotranslate: ./a\012b\033c: not in manifest'
	assert_contains err 'cpiotranslate: ./d\134e: not in manifest'
	# One write per message, whole (escaped a byte at a time, it was one
	# write per byte: parallel jobs' messages interleaved in a log).
	if command -v strace >/dev/null; then
		# LeakSanitizer refuses to run under ptrace (make check SAN=1).
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			strace -e trace=write -o tr "$CPIOTRANSLATE" -m m.mtree <in.tar >out.tar 2>/dev/null
		assert_eq 2 "$(grep -c '^write(2,' tr)" "writes to stderr"
	fi
}

# libarchive's bin writer refuses a fifo with a fatal error, which was
# reported as a write error of the output ("stdout: sockets and fifos...").
test_bin_refusing_a_fifo_names_the_entry() {
	need tar
	mkdir t
	mkfifo t/p
	tar -cf in.tar -C t .
	printf '#mtree\n. type=dir\n./p type=fifo\n' >m.mtree
	assert_status 1 "$CPIOTRANSLATE" --format bin -m m.mtree <in.tar >out 2>err
	assert_contains err 'cpiotranslate: ./p: cannot write as bin: sockets and fifos cannot be represented'
}

test_usage_and_version() {
	assert_eq "cpiotranslate (fakebuild) 0.1" "$("$CPIOTRANSLATE" --version)"
	"$CPIOTRANSLATE" --help | grep -q '^usage:'
	assert_status 2 "$CPIOTRANSLATE" --bogus </dev/null
	assert_status 2 "$CPIOTRANSLATE" </dev/null
	assert_status 2 "$CPIOTRANSLATE" -m x --format zip </dev/null
	assert_status 2 "$CPIOTRANSLATE" -m x -F nosuch </dev/null
	# Standard input is read once (before: '-m -' with the archive on it
	# said 'stdin: Unrecognized archive format', status 1).
	assert_status 2 "$CPIOTRANSLATE" -m - </dev/null 2>err
	assert_contains err "-m -: standard input is read once"
	printf '.\n' > ok.exc
	assert_status 2 "$CPIOTRANSLATE" -m - -e - -f ok.exc </dev/null 2>err
	assert_contains err "-e -: standard input is read once"
	# A malformed SOURCE_DATE_EPOCH is an error (before: silently 0) where
	# it is used, by --add-missing; elsewhere it is not read (before: a
	# usage error in every mode).
	SOURCE_DATE_EPOCH=bogus assert_status 2 "$CPIOTRANSLATE" -m x --add-missing </dev/null 2>err
	assert_contains err "SOURCE_DATE_EPOCH=bogus: not a number of seconds since 1970"
	printf '#mtree\n. type=dir uid=0 gid=0 mode=0755\n' > sde.mtree
	tar -cf sde.tar --owner=0 --group=0 --mode=755 --no-recursion . 2>/dev/null
	SOURCE_DATE_EPOCH=bogus assert_status 0 "$CPIOTRANSLATE" -m sde.mtree -n -f sde.tar
	"$CPIOTRANSLATE" --help > help.txt
	assert_contains help.txt "-e, --exceptions FILE"
}

test_constant_memory() {
	need bsdtar
	# ASan reserves terabytes of address space: no limit to test there.
	[ "${SAN:-}" != 1 ] || skip "address space limit under ASan"
	mkdir -p proto/d
	seq 1 2000 | sed 's|^|proto/d/f|' | xargs touch
	truncate -s 300M proto/d/big	# a hole: cheap to read, 300 MiB in the archive
	# 100 MiB of address space, far less than the archive.
	bsdtar -cf - --format newc -C proto . |
		(ulimit -v 100000; "$CPIOTRANSLATE" -m "$FIX/tree.mtree" 2>/dev/null) | wc -c >size
	[ "$(cat size)" -gt 300000000 ] || fail "output only $(cat size) bytes"
}

# A writer whose last block (padding after the trailer) comes after the
# trailer itself must not die of EPIPE: cpiotranslate reads a pipe to its
# end, from stdin and from a FIFO named by -f.  The pause makes the race
# that bsdtar -cf - | cpiotranslate lost now and then certain.
test_pipe_read_to_its_end() {
	mkproto
	newc >in.cpio
	local size
	size=$(stat -c %s in.cpio)
	head -c 512 /dev/zero >>in.cpio	# the writer's padding
	feed() { head -c "$size" in.cpio; sleep 0.3; tail -c 512 in.cpio; }
	local st
	feed | ct -m "$FIX/tree.mtree" >out.cpio 2>err || st=("${PIPESTATUS[@]}")
	assert_eq "0 0" "${st[*]:-0 0}" "writer and cpiotranslate exit status"
	assert_contains out.cpio 'TRAILER!!!'
	mkfifo fifo
	feed >fifo &
	ct -m "$FIX/tree.mtree" -f fifo >out2.cpio 2>err2
	wait $! || fail "the writer into the FIFO failed: $?"
	cmp out.cpio out2.cpio
}

test_drop_unlisted_keeps_hardlink_data() {
	need cpio
	mkproto
	newc >in.cpio
	# Whichever of su and newgrp comes first has no data in newc.
	local first last
	first=$(cpio -it --quiet <in.cpio | grep -E 'usr/bin/(su|newgrp)$' | head -n 1)
	last=$(cpio -it --quiet <in.cpio | grep -E 'usr/bin/(su|newgrp)$' | tail -n 1)
	# Only the name with the data listed: the other goes, the data stays.
	grep -v -E "^\./$first " "$FIX/tree.mtree" >m1
	ct -m m1 --drop-unlisted <in.cpio >out1 2>err1
	assert_eq "$last" "$(cpio -it --quiet <out1 | grep -E 'usr/bin/(su|newgrp)$')" "names left"
	mkdir x1 && (cd x1 && cpio -id --quiet <../out1)
	cmp "x1/$last" proto/usr/bin/su
	# Only the name without data listed: the data name is kept anyway.
	grep -v -E "^\./$last " "$FIX/tree.mtree" >m2
	ct -m m2 --drop-unlisted <in.cpio >out2 2>err2
	assert_contains err2 "$last: kept although not in manifest"
	mkdir x2 && (cd x2 && cpio -id --quiet <../out2)
	cmp "x2/$first" proto/usr/bin/su
	# tar: a link to a removed name cannot be kept.
	tar -cf in.tar -C proto .
	first=$(tar -tf in.tar | grep -E 'usr/bin/(su|newgrp)$' | head -n 1)
	grep -v -E "^${first//./\\.} " "$FIX/tree.mtree" >m3
	assert_status 1 ct -m m3 --drop-unlisted <in.tar >/dev/null 2>err3
	assert_contains err3 'which --drop-unlisted removed'
}

test_root_option_resolves_names() {
	need cpio
	mkproto
	mkdir -p target/etc
	echo 'root:x:0:0::/:/bin/sh' >target/etc/passwd
	printf 'root:x:0:\nsys:x:30:\n' >target/etc/group
	printf 'f none /etc/shadow 0400 root sys\n' >m.proto
	newc >in.cpio
	"$CPIOTRANSLATE" -F prototype --root target -m m.proto <in.cpio >out.cpio 2>/dev/null
	assert_match '^-r-------- +1 +0 +30 ' "$(cpio_line etc/shadow <out.cpio)" "gid from target group"
}

test_v7_tar_preserved() {
	need tar file
	mkproto
	tar --format=v7 -cf in.tar -C proto .
	ct -m "$FIX/tree.mtree" <in.tar >out.tar
	assert_eq "$(file -b in.tar)" "$(file -b out.tar)" "format"
	assert_match '^-r-------- 0/3 ' "$(tar_line etc/shadow <out.tar)"
}

test_acls_pass_through() {
	need bsdtar setfacl
	mkproto
	setfacl -m u:1234:r proto/etc/shadow 2>/dev/null || skip "no ACLs here"
	bsdtar --format pax --acls -cf in.tar -C proto .
	grep -qa 'SCHILY.acl' in.tar || skip "bsdtar stored no ACL"
	ct -m "$FIX/tree.mtree" <in.tar >out.tar
	# "user:1234:r--", or "user:NAME:r--:1234" where uid 1234 has a name.
	grep -qaE 'user:(1234|[^:,]*:r--:1234)' out.tar || fail "ACL lost"
}

test_non_ascii_names_in_pax_pass_through() {
	need tar
	mkproto
	echo hi >"proto/etc/$(printf 'h\303\251llo')"	# UTF-8 e-acute
	tar --format=pax -cf in.tar -C proto .
	LC_ALL=C ct -m "$FIX/tree.mtree" <in.tar >out.tar 2>err
	! grep -q 'convert' err || { cat err; fail "charset conversion"; }
	! grep -qa hdrcharset out.tar || fail "names marked binary"
	assert_eq "$(tar -tf in.tar | sort)" "$(tar -tf out.tar | sort)" "names"
}

# A plain ustar entry with a non-ASCII name gets a pax header (libarchive's
# writer stores such a name as UTF-8 there), as cpiotranslate(1) says;
# --format ustar keeps it plain.
test_non_ascii_ustar_name_gets_pax_header_unless_ustar_asked() {
	need tar
	mkdir t
	echo hi >"t/$(printf 'h\303\251llo')"
	tar --format=ustar -cf in.tar -C t .
	printf '#mtree\n. type=dir\n' >m.mtree
	"$CPIOTRANSLATE" -m m.mtree <in.tar >out.tar 2>/dev/null
	grep -qa 'path=' out.tar || fail "no pax header: update cpiotranslate(1)"
	"$CPIOTRANSLATE" --format ustar -m m.mtree <in.tar >plain.tar 2>/dev/null
	! grep -qa 'path=' plain.tar || fail "--format ustar wrote a pax header"
	assert_eq "$(tar -tf in.tar)" "$(tar -tf plain.tar)" "names"
}

# A pax global header is dropped (libarchive cannot write one), as
# cpiotranslate(1) says.
test_pax_global_header_dropped() {
	need tar
	mkdir t
	echo x >t/a
	tar --format=pax --pax-option comment=abc123 -cf in.tar -C t .
	grep -qa comment=abc123 in.tar || skip "tar wrote no global header"
	printf '#mtree\n. type=dir\n./a type=file\n' >m.mtree
	"$CPIOTRANSLATE" -m m.mtree <in.tar >out.tar
	! grep -qa comment=abc123 out.tar || fail "kept: update cpiotranslate(1)"
}

# As root: extraction gives the manifest's owners, modes and device nodes.
roottest_extract_as_root() {
	need cpio tar
	mkproto
	chown -R 65534:65534 proto
	newc >in.cpio
	ct -m "$FIX/tree.proto" --add-missing <in.cpio >out.cpio
	mkdir x && (cd x && cpio -idm --quiet <../out.cpio)
	assert_eq "4755 0 0" "$(stat -c '%a %u %g' x/usr/bin/su)" "su"
	assert_eq "4755 0 0" "$(stat -c '%a %u %g' x/usr/bin/newgrp)" "newgrp"
	assert_eq "400 0 3" "$(stat -c '%a %u %g' x/etc/shadow)" "shadow"
	assert_eq "character special file 5 1 600 0 5" \
		"$(stat -c '%F %t %T %a %u %g' x/dev/console)" "console"
	assert_eq "1777" "$(stat -c '%a' x/var/run)" "var/run"
	check_extracted x
	tar -cf in.tar -C proto .
	ct -m "$FIX/tree.proto" <in.tar >out.tar
	mkdir y && tar -xpf out.tar -C y
	assert_eq "4755 0 0" "$(stat -c '%a %u %g' y/usr/bin/su)" "tar su"
	assert_eq "555 0 2" "$(stat -c '%a %u %g' y/usr/bin/bash)" "tar bash"
}

# GNU tar's own format (Debian's default) with a sparse file: the output
# keeps the input's format, whose libarchive writer cannot keep a sparse
# map, so the holes are written out, and a warning says so and how to
# keep them (--format pax, which then keeps them).
test_gnu_sparse_file_warned_and_kept_with_pax() {
	need tar
	mkdir -p proto/usr/bin
	truncate -s 50M proto/usr/bin/bash
	echo tail >>proto/usr/bin/bash
	tar --format=gnu --sparse -cf in.tar -C proto ./usr
	ct -m "$FIX/tree.mtree" -o out.tar <in.tar 2>err
	assert_contains err "usr/bin/bash: a sparse file: the gnutar writer cannot keep its holes, which are written as zeros (--format pax keeps them)"
	ct -m "$FIX/tree.mtree" --format pax -o pax.tar <in.tar 2>err
	[ "$(stat -c %s pax.tar)" -lt 1000000 ] || fail "holes written out: $(stat -c %s pax.tar) bytes"
	mkdir x && tar -xf pax.tar -C x
	cmp x/usr/bin/bash proto/usr/bin/bash
	[ ! -s err ] || { cat err >&2; fail "warnings for pax output"; }
}

# A damaged header: cpio's reader skips to the next header it finds, tar's
# stops at a bad checksum.  Either way what was skipped is lost: an error
# naming the place, and no output file.
test_corrupt_header_is_an_error() {
	need cpio tar
	mkproto
	seq 1 100000 >proto/usr/bin/big
	newc >in.cpio
	# Damage the magic of the header after usr/bin/bash's data.
	off=$(grep -abo '070701' in.cpio | awk -F: 'NR == 4 { print $1 }')
	printf 'X' | dd of=in.cpio bs=1 seek=$((off + 2)) conv=notrunc status=none
	assert_status 1 ct -m "$FIX/tree.mtree" -o out.cpio -f in.cpio 2>err
	assert_contains err 'corrupt archive'
	[ ! -e out.cpio ] || fail "output left for a corrupt cpio archive"
	(cd proto && tar -cf ../in.tar .)
	# A byte of the fourth header's name (its magic is at 257).
	off=$(grep -abo 'ustar' in.tar | awk -F: 'NR == 4 { print $1 - 257 }')
	printf 'X' | dd of=in.tar bs=1 seek=$((off + 5)) conv=notrunc status=none
	assert_status 1 ct -m "$FIX/tree.mtree" -o out.tar -f in.tar 2>err
	assert_contains err 'corrupt archive'
	[ ! -e out.tar ] || fail "output left for a corrupt tar archive"
}

# A name the writer cannot take is named right in the message (it was
# read after libarchive had moved the string).
test_unwritable_name_is_named() {
	need cpio
	mkproto
	d=proto/usr/$(printf 'd%.0s' $(seq 120))
	mkdir "$d" && echo x >"$d/f"
	newc >in.cpio
	assert_status 1 ct -m "$FIX/tree.mtree" --format ustar -o out.tar <in.cpio 2>err
	assert_contains err "usr/$(printf 'd%.0s' $(seq 120)): cannot write as ustar: Pathname too long"
}

# A manifest mode on a file with an access ACL acts as chmod(2) does: its
# group bits become the ACL's mask (the owning group's entry keeps its
# own).  The kernel's chmod of the same file is the oracle.
test_mode_on_an_acl_acts_as_chmod() {
	need tar setfacl getfacl
	mkdir p && echo a >p/f
	setfacl -m u:123:rw,g::r p/f 2>/dev/null || skip "no ACLs here"
	tar --format=pax --acls -cf in.tar -C p .
	printf '#mtree\n. type=dir uid=0 gid=0 mode=0755\n./f type=file uid=0 gid=0 mode=0640\n' >m
	"$CPIOTRANSLATE" -m m -f in.tar -o out.tar
	mkdir x && tar -xpf out.tar --acls -C x
	chmod 0640 p/f
	assert_eq "$(stat -c %a p/f; getfacl -cn p/f)" "$(stat -c %a x/f; getfacl -cn x/f)"
	# GNU tar --xattrs also stores the ACL as a raw xattr: that copy, now
	# stale, is dropped (an extractor applying it would undo the mode).
	setfacl -m m::rw p/f
	tar --format=pax --acls --xattrs --xattrs-include='*' -cf inx.tar -C p .
	grep -qa 'xattr.system.posix_acl_access' inx.tar || skip "tar stored no raw ACL xattr"
	"$CPIOTRANSLATE" -m m -f inx.tar -o outx.tar
	! grep -qa 'xattr.system.posix_acl_access' outx.tar || fail "the stale raw ACL xattr passed through"
}

# A write that fails says where and why: libarchive's "Write error" alone
# left out the system's reason (here ENOSPC from /dev/full).
test_write_error_names_output_and_reason() {
	need cpio
	mkproto
	newc >in.cpio
	assert_status 1 ct -m "$FIX/tree.mtree" -f in.cpio >/dev/full 2>err
	assert_contains err "cpiotranslate: stdout: Write error: No space left on device (writing "
}
