# Roots made from packages (issue 17, the parts that need no `--root`):
# mounts and device nodes in a user namespace, ldd, the root listing
# (tests/rootlist), and a small root made offline from local .deb files by
# `dpkg --root`, as the unprivileged user inside `unshare -U -r -m -p`.
# The namespace stands in for a build root until `fakebuild --root` lands.

# Run "$@" in new user, mount and pid namespaces, mapped to root (no subuid).
ns() { unshare -U -r -m -p -f --mount-proc "$@"; }
need_userns() {
	need unshare
	ns true 2>/dev/null || skip "user namespaces are refused here (sysctl user.max_user_namespaces, AppArmor)"
}

# The kernel refuses gid=5 (unmapped) for devpts in a user namespace;
# under fakebuild the mount is made without it, mode= kept.
test_mount_devpts_with_unmapped_gid() {
	need_userns
	mkdir pts
	assert_status 32 ns mount -t devpts -o newinstance,gid=5,mode=620,ptmxmode=666 devpts pts 2>/dev/null
	out=$(ns "$FAKEBUILD" sh -c 'mount -t devpts -o newinstance,gid=5,uid=5,mode=620,ptmxmode=666 devpts pts &&
		grep " $PWD/pts " /proc/self/mountinfo')
	assert_match ' - devpts devpts rw,mode=620,ptmxmode=666$' "$out" "mount options"
	# A mapped id is not dropped: root's gid 0 stays (mountinfo shows it
	# as the host sees it).
	out=$(ns "$FAKEBUILD" sh -c 'mount -t devpts -o newinstance,gid=0,mode=620 devpts pts &&
		grep " $PWD/pts " /proc/self/mountinfo')
	assert_match 'gid=[0-9]+,mode=620' "$out" "mapped gid kept"
}

# What the kernel refuses for other reasons stays refused: no session mounts
# outside a namespace, and sysfs needs the network namespace.
test_mount_refusals_stay() {
	mkdir m
	assert_status 32 fb mount -t tmpfs none m 2>/dev/null
	assert_status 32 fb mount -t devpts -o gid=5 devpts m 2>/dev/null
	need_userns
	assert_status 32 ns "$FAKEBUILD" mount -t sysfs sysfs m 2>/dev/null
	assert_eq "" "$(ns "$FAKEBUILD" sh -c 'mount -t sysfs sysfs m 2>/dev/null; ls m')" "nothing mounted"
}

# mknod in a namespace: the safe set gets the host's node bound over the
# placeholder; stat, chmod, tar and rm see the recorded node; the rest
# (console) stays a placeholder.  Nothing stays mounted after rm.
test_mknod_safe_devices_usable_in_namespace() {
	need_userns
	out=$(ns "$FAKEBUILD" sh -c '
		mkdir -p r/dev && cd r/dev
		mknod -m 600 null c 1 3 && mknod urandom c 1 9 && mknod console c 5 1
		chmod 666 null && chown 0:5 urandom
		echo discarded > null; wc -c < null
		head -c 16 urandom | wc -c
		echo kept > console; wc -c < console
		stat -c "%n %F %t,%T %u:%g %a" null urandom console
		cd ../..
		[ "$(stat -c %d r)" = "$(stat -c %d r/dev/null)" ] && echo same-fs
		tar --sort=name --one-file-system --numeric-owner -cf - -C r ./dev | tar -tvf - | awk "{print \$1, \$2, \$3, \$NF}"
		rm -rf --one-file-system r && echo removed
		grep -c " $PWD/r/" /proc/self/mountinfo || true')
	assert_eq "0
16
5
null character special file 1,3 0:0 666
urandom character special file 1,9 0:5 644
console character special file 5,1 0:0 644
same-fs
drwxr-xr-x 0/0 0 ./dev/
crw-r--r-- 0/0 5,1 ./dev/console
crw-rw-rw- 0/0 1,3 ./dev/null
crw-r--r-- 0/5 1,9 ./dev/urandom
removed
0" "$out"
}

# A bind the session did not make over a placeholder of its own (no
# record beneath, as in a build root's /dev) is the device it shows, and
# removing it fails as the kernel says.
test_foreign_device_bind_left_alone() {
	need_userns
	out=$(ns "$FAKEBUILD" sh -c '
		touch plain && mount --bind /dev/null plain
		stat -c "%F %t,%T" plain
		rm plain 2>&1 | sed "s/.*: //"
		umount plain && stat -c %F plain')
	assert_eq "character special file 1,3
Device or resource busy
regular empty file" "$out"
}

# Outside a namespace nothing is bound: the node stays an empty file.
test_mknod_outside_namespace_is_placeholder() {
	out=$(fb sh -c 'mknod n c 1 3 && echo kept > n && wc -c < n && stat -c "%F %t,%T" n')
	assert_eq "5
character special file 1,3" "$out"
}

# ldd (LD_TRACE_LOADED_OBJECTS) lists the program's libraries, not ours:
# convert-usrmerge and initramfs-tools copy what it lists.
test_ldd_does_not_list_the_library() {
	need ldd
	out=$(fb ldd /bin/true)
	[[ "$out" != *libfakebuild* ]] || fail "ldd lists the preload library: $out"
	assert_match 'libc\.so' "$out" "ldd output"
	# Other preloaded libraries stay, and later execs are still faked.
	libm=$(ls /lib/*-linux-gnu/libm.so.6 2>/dev/null | head -n 1 || true)
	if [ -n "$libm" ]; then
		assert_match "$libm" "$(LD_PRELOAD=$libm fb ldd /bin/true)" "other preload kept"
	fi
	assert_eq 0 "$(fb sh -c 'ldd /bin/true >/dev/null; id -u')"
}

# tests/rootlist: a listing of an archive equals that of the directory
# it came from (faked view), and a comparison names each difference and
# fails only on those no exception explains.
test_rootlist_lists_and_compares() {
	need python3
	mkdir -p a/usr/bin a/dev
	echo x > a/usr/bin/su; echo y > a/f; ln a/f a/g; ln -s ../f a/usr/l
	fb sh -c 'chown -R 0:0 a && chmod 4755 a/usr/bin/su && mknod -m 666 a/dev/null c 1 3 &&
		chown 0:42 a/f && tar --numeric-owner --xattrs -cf a.tar -C a .'
	fb "$TOP/tests/rootlist" a > dir.list
	"$TOP/tests/rootlist" a.tar > tar.list
	diff dir.list tar.list || fail "directory and archive listings differ"
	assert_contains tar.list "/usr/bin/su f 0:0 4755"
	assert_contains tar.list "/dev/null c 0:0 0666 c 1,3"
	assert_contains tar.list "/g f 0:42 0644 = /f"
	assert_contains tar.list "/usr/l l 0:0 0777 -> ../f"
	fb sh -c 'chmod 755 a/usr/bin/su && echo z >> a/f && rm a/dev/null && tar --numeric-owner -cf b.tar -C a .'
	assert_status 1 "$TOP/tests/rootlist" --content a.tar b.tar > cmp
	assert_contains cmp "DIFF /usr/bin/su: mode: 4755 -> 0755"
	assert_contains cmp "DIFF /dev/null: presence: only in ref"
	assert_contains cmp "DIFF /f: content:"
	printf '/f content # grows in this test\n/g content # the same file\n/dev/null presence # removed\n/usr/bin/su mode # dropped\n' > exc
	assert_status 0 "$TOP/tests/rootlist" --content -x exc a.tar b.tar > cmp
	printf '/f content\n' > bad
	assert_status 1 "$TOP/tests/rootlist" -x bad a.tar b.tar 2> err
	assert_contains err "bad:1: expected 'PATTERN FIELDS # why'"
}

# A package's .deb, built as fake root from directory $1 (DEBIAN/ inside).
deb() {
	fb dpkg-deb --build -Zgzip "$1" "$1.deb" >/dev/null
}

# A small root from local .deb files, offline, as the unprivileged user:
# dpkg --root runs the maintainer scripts chrooted into the root, where
# useradd/groupadd make names that exist only there, chown and
# dpkg-statoverride use them, mknod makes a usable /dev/null and the
# root's /dev/urandom gives bytes.  The root's /usr is the host's
# (read-only); the library is bound at its own path inside (the stopgap
# for `fakebuild --root`'s chroot support, see
# tools/fakebuild/ROOTS-FROM-PACKAGES.md).
test_root_from_local_debs() {
	need_userns
	need dpkg dpkg-deb useradd groupadd dpkg-statoverride python3
	mkdir -p base/DEBIAN base/opt/fbt/bin base/opt/fbt/share app/DEBIAN app/opt/fbt/bin
	printf 'Package: fbt-base\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: base\n' > base/DEBIAN/control
	printf 'Package: fbt-app\nVersion: 1.0\nArchitecture: all\nDepends: fbt-base\nMaintainer: t <t@t>\nDescription: app\n' > app/DEBIAN/control
	echo data > base/opt/fbt/share/data
	printf '#!/bin/sh\n' > base/opt/fbt/bin/suid
	printf '#!/bin/sh\n' > app/opt/fbt/bin/tool
	fb chmod 4755 base/opt/fbt/bin/suid
	cat > base/DEBIAN/postinst <<-'EOF'
	#!/bin/sh
	set -e
	[ "$1" = configure ] || exit 0
	groupadd --system fbtgroup
	useradd --system --gid fbtgroup --no-create-home --home-dir /nonexistent --shell /bin/false fbtuser
	chown fbtuser:fbtgroup /opt/fbt/share/data
	mknod -m 666 /opt/fbt/null c 1 3
	echo discarded > /opt/fbt/null
	[ "$(head -c 16 /dev/urandom | wc -c)" = 16 ] || { echo "/dev/urandom gives no bytes" >&2; exit 1; }
	EOF
	cat > app/DEBIAN/postinst <<-'EOF'
	#!/bin/sh
	set -e
	[ "$1" = configure ] || exit 0
	dpkg-statoverride --update --add fbtuser fbtgroup 4750 /opt/fbt/bin/tool
	EOF
	chmod 755 base/DEBIAN/postinst app/DEBIAN/postinst
	deb base; deb app
	mkdir -p root/etc root/usr root/dev root/proc root/tmp root/var/log root/var/lib/dpkg/info root/var/lib/dpkg/updates
	for d in bin sbin lib lib64 lib32; do [ -e /$d ] && ln -s usr/$d root/$d; done
	: > root/var/lib/dpkg/status
	printf 'root:x:0:0:root:/root:/bin/sh\n' > root/etc/passwd
	printf 'root:*:19000:0:99999:7:::\n' > root/etc/shadow
	printf 'root:x:0:\nshadow:x:42:\n' > root/etc/group
	printf 'root:*::\nshadow:*::\n' > root/etc/gshadow
	cp /etc/login.defs root/etc/ 2>/dev/null || true
	cat > setup.sh <<-EOF
	set -e
	mount --bind /usr root/usr && mount -o remount,bind,ro root/usr
	mount -t proc proc root/proc
	mkdir -p root$B && mount --bind $B root$B && mount -o remount,bind,ro root$B
	"$FAKEBUILD" sh -c '
		mknod -m 666 root/dev/null c 1 3 && mknod -m 666 root/dev/urandom c 1 9 &&
		chown 0:42 root/etc/shadow root/etc/gshadow && chmod 640 root/etc/shadow root/etc/gshadow &&
		dpkg --root="\$PWD/root" --log="\$PWD/root/var/log/dpkg.log" --force-unsafe-io -i base.deb app.deb >dpkg.log 2>&1 ||
			{ cat dpkg.log >&2; exit 1; }
		"$TOP/tests/rootlist" root/opt && "$TOP/tests/rootlist" root/etc' > list
	EOF
	ns sh setup.sh
	# Names from the root's own passwd and group, not the host's.
	uid=$(awk -F: '$1 == "fbtuser" {print $3}' root/etc/passwd)
	gid=$(awk -F: '$1 == "fbtgroup" {print $3}' root/etc/group)
	[ -n "$uid" ] && [ -n "$gid" ] || fail "useradd/groupadd did not write the root's files"
	! getent passwd fbtuser >/dev/null || skip "the host has a user fbtuser"
	assert_contains list "/fbt/share/data f $uid:$gid 0644"
	assert_contains list "/fbt/bin/suid f 0:0 4755"
	assert_contains list "/fbt/bin/tool f $uid:$gid 4750"
	assert_contains list "/fbt/null c 0:0 0666 c 1,3"
	assert_contains list "/shadow f 0:42 0640"
	assert_contains root/var/lib/dpkg/statoverride "fbtuser fbtgroup 4750 /opt/fbt/bin/tool"
	# On disk, everything is the user's and nothing is setuid.
	[ -z "$(find root/opt root/etc -perm /6000 -o ! -user "$(id -u)")" ] || fail "real setuid bits or foreign owners on disk"
}
