# Roots made from packages (issue 17), offline: mounts and device nodes
# in a build root, chroot inside one (the library, the table and the path
# hints across it), ldd, the root listing (tests/rootlist), and small
# roots made from local .deb files by dpkg, then used as a base.  The part
# that needs Debian's archive (mmdebstrap, debootstrap, apt, package
# builds) is scripts/check-roots (`make check-roots`).

# Run "$@" in new user, mount and pid namespaces, mapped to root (no subuid):
# what the kernel does without fakebuild, or a plain session that may chroot.
ns() { unshare -U -r -m -p -f --mount-proc "$@"; }
need_userns() {
	need unshare
	ns true 2>/dev/null || skip "user namespaces are refused here (sysctl user.max_user_namespaces, AppArmor)"
}
# "$@" in a build root of the host's system, this directory writable.
inroot() { fb --root / --bind "$PWD" -- "$@"; }

# The kernel refuses gid=5 (unmapped) for devpts in a user namespace;
# under fakebuild the mount is made without it, mode= kept.
test_mount_devpts_with_unmapped_gid() {
	need_userns
	mkdir pts
	assert_status 32 ns mount -t devpts -o newinstance,gid=5,mode=620,ptmxmode=666 devpts pts 2>/dev/null
	out=$(inroot sh -c 'mount -t devpts -o newinstance,gid=5,uid=5,mode=620,ptmxmode=666 devpts pts &&
		grep " $PWD/pts " /proc/self/mountinfo')
	assert_match ' - devpts devpts rw,mode=620,ptmxmode=666$' "$out" "mount options"
	# A mapped id is not dropped: root's gid 0 stays (mountinfo shows it
	# as the host sees it).
	out=$(inroot sh -c 'mount -t devpts -o newinstance,gid=0,mode=620 devpts pts &&
		grep " $PWD/pts " /proc/self/mountinfo')
	assert_match 'gid=[0-9]+,mode=620' "$out" "mapped gid kept"
}

# What the kernel refuses for other reasons stays refused: no session mounts
# outside a namespace, and sysfs needs the network namespace (a root with
# --net shares the host's).
test_mount_refusals_stay() {
	mkdir m
	assert_status 32 fb mount -t tmpfs none m 2>/dev/null
	assert_status 32 fb mount -t devpts -o gid=5 devpts m 2>/dev/null
	need_userns
	assert_status 32 fb --root / --net --bind "$PWD" -- mount -t sysfs sysfs m 2>/dev/null
	assert_eq "" "$(fb --root / --net --bind "$PWD" -- sh -c 'mount -t sysfs sysfs m 2>/dev/null; ls m')" "nothing mounted"
	# Nor in a root of its own: the kernel wants a sysfs already visible
	# in the mount namespace, and a root shows none of the host's.
	assert_status 32 inroot mount -t sysfs sysfs m 2>/dev/null
}

# mknod in a build root: the safe set gets the host's node bound over the
# placeholder; stat, chmod, tar and rm see the recorded node; the rest
# (console) stays a placeholder.  Nothing stays mounted after rm.
test_mknod_safe_devices_usable_in_namespace() {
	need_userns
	out=$(inroot sh -c '
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

# A bound device's times are its placeholder's, set there by name (tar
# -xp, Python: utimensat; Perl: utimes), through a descriptor (touch:
# futimens) and on the name itself (touch -h): the host's node refuses
# explicit times (its owner is not mapped; tar -xp of an archive with a
# /dev/null exited 2 with "Cannot utime"), took "now" itself, and a
# bound ptmx (the root's devpts node) took any.
test_times_of_a_bound_device_are_its_placeholders() {
	need_userns
	fb sh -c 'mkdir -p s/dev && mknod s/dev/null c 1 3 && touch -d @1000000000 s/dev/null &&
		tar -C s -cf a.tar ./dev'
	out=$(inroot sh -c '
		mkdir x && tar -C x -xpf a.tar && echo extracted
		stat -c "%F %t,%T %Y" x/dev/null
		python3 -c "import os; os.utime(\"x/dev/null\", (5, 1100000000))"; stat -c %Y x/dev/null
		perl -e "utime 7, 1200000000, q{x/dev/null} or die \"utime: \$!\""; stat -c %Y x/dev/null
		touch -d @1300000000 x/dev/null && stat -c %Y x/dev/null
		touch -h -d @1400000000 x/dev/null && stat -c %Y x/dev/null
		tar -C x -cf - ./dev/null | TZ=UTC0 tar -tvf - | awk "{print \$1, \$3, \$4}"
		host=$(stat -c %Y /dev/null); touch x/dev/null; now=$(date +%s)
		[ $(($now - $(stat -c %Y x/dev/null))) -lt 60 ] && [ "$(stat -c %Y /dev/null)" = "$host" ] &&
			echo "now: the placeholder, not the host node"
		mknod x/ptmx c 5 2 && touch -d @1500000000 x/ptmx && stat -c %Y x/ptmx
		echo written > x/dev/null; wc -c < x/dev/null')
	assert_eq "extracted
character special file 1,3 1000000000
1100000000
1200000000
1300000000
1400000000
crw-r--r-- 1,3 2014-05-13
now: the placeholder, not the host node
1500000000
0" "$out"
}

# A bound device is a mount point to the kernel: rename of it or over it
# said EBUSY, and a hard link to it EXDEV (so cpio -i of two linked nodes
# made two), also through a symbolic link (ln -L).  The placeholder now moves, or gets its link, and the host's
# node is bound again at the new names; nothing stays mounted after rm.
test_rename_and_link_of_bound_devices() {
	need_userns
	fb sh -c 'mkdir -p s && mknod s/null c 1 3 && ln s/null s/null2 && chown 0:5 s/null &&
		cd s && find . -name "null*" | cpio -o -H newc > ../a.cpio 2>/dev/null'
	out=$(inroot sh -c '
		mknod z c 1 5 && mknod n c 1 3 && chown 3:4 n && echo data > f
		mv f z && mv n n1 && ln n1 n2 && python3 -c "import os; os.rename(\"n2\", \"n3\")"
		ln -s n1 sl && ln -L sl n4 && rm sl
		stat -c "%n %F %t,%T %u:%g %h" z n1 n3 n4
		echo gone > n3; wc -c < n1; cat z
		mkdir x && cd x && cpio -idm < ../a.cpio 2>/dev/null && stat -c "%n %F %t,%T %u:%g %h" null null2
		head -c 3 null2 | wc -c; cd ..
		rm -r n1 n3 n4 x && grep -c " $PWD/" /proc/self/mountinfo || true')
	assert_eq "z regular file 0,0 0:0 1
n1 character special file 1,3 3:4 3
n3 character special file 1,3 3:4 3
n4 character special file 1,3 3:4 3
0
data
null character special file 1,3 0:5 2
null2 character special file 1,3 0:5 2
0
0" "$out"
}

# A node made in a sticky directory others may write (a root's /tmp) is
# the host's, owned by nobody the root maps: the kernel refused O_CREAT
# on it (the shell's > and >>) even for the fake root that made it.  Now
# as for real root: allowed when the node is the opener's or the
# directory owner's, refused otherwise (real root's answers in a sticky
# directory of the host: allowed, allowed, refused, allowed, refused).
test_o_creat_of_a_bound_device_in_a_sticky_directory() {
	need_userns
	out=$(fb --root / -- sh -c 'cd /tmp && mknod n c 1 3
		echo hi > n; echo $?; echo hi >> n; echo $?
		chown 5 n; (echo x > n) 2>/dev/null; echo $?
		setpriv --reuid=5 sh -c "echo x > n; echo \$?"
		setpriv --reuid=6 sh -c "(echo x > n) 2>/dev/null; echo \$?"')
	assert_eq "0 0 2 0 2" "$(echo $out)"
}

# A bound device as glibc's walkers and a followed symbolic link see it:
# the placeholder with its record, times included.  fts gave the host
# node's times, nftw the host node itself, and stat -L of a link to the
# node (ls -lL, find -L, tar -h) the host node.
test_bound_device_seen_by_walkers_and_through_links() {
	need_userns
	cat > ft.c <<'EOF'
#define _GNU_SOURCE
#include <fts.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
static void show(const char *w, const char *p, const struct stat *st)
{
	printf("%s %s %o %u:%u %lld\n", w, p, (unsigned)st->st_mode, (unsigned)st->st_uid,
	       (unsigned)st->st_gid, (long long)st->st_mtime);
}
static int cb(const char *p, const struct stat *st, int f, struct FTW *w)
{
	(void)w;
	if (f == FTW_F)
		show("nftw", p, st);
	return 0;
}
int main(int argc, char **argv)
{
	char *a[] = { argv[1], NULL };
	FTS *f = fts_open(a, FTS_PHYSICAL, NULL);
	FTSENT *e;
	while ((e = fts_read(f)))
		if (e->fts_info == FTS_F || e->fts_info == FTS_DEFAULT)
			show("fts", e->fts_path, e->fts_statp);
	fts_close(f);
	return argc > 0 && nftw(argv[1], cb, 10, FTW_PHYS);
}
EOF
	cc -o ft ft.c
	progs=./ft
	if [ -f "$B/lib32/libfakebuild.so" ] &&
		cc -m32 -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -o ft32 ft.c 2>/dev/null && ./ft32 . >/dev/null 2>&1; then
		progs="$progs ./ft32"
	fi
	for p in $progs; do
		out=$(inroot sh -c 'rm -rf d && mkdir d && mknod d/n c 1 3 && chown 2:3 d/n && chmod 600 d/n &&
			touch -d @1500000000 d/n && "$1" d && ln -s n d/l && stat -L -c "%F %a %u:%g %Y" d/l' sh "$p")
		assert_eq "fts d/n 20600 2:3 1500000000
nftw d/n 20600 2:3 1500000000
character special file 600 2:3 1500000000" "$out" "$p"
	done
}

# ptmx is bound from the root's own devpts, which the namespace owns: a
# chmod of the node reached that ptmx and changed it (and under umask 077
# the node kept 600).  A placeholder's chmod is its record's alone.
test_chmod_of_a_bound_ptmx_is_its_own() {
	need_userns
	out=$(inroot sh -c 'before=$(stat -c %a /dev/pts/ptmx)
		umask 077; mknod p c 5 2; umask 022; chmod 666 p; stat -c "%F %a" p
		chmod 640 p; stat -c "%F %a" p
		[ "$(stat -c %a /dev/pts/ptmx)" = "$before" ] && echo "ptmx untouched"')
	assert_eq "character special file 666
character special file 640
ptmx untouched" "$out"
}

# A bind the session did not make over a placeholder of its own (no
# record beneath, as in a build root's /dev) is the device it shows, and
# removing it fails as the kernel says.
test_foreign_device_bind_left_alone() {
	need_userns
	out=$(inroot sh -c '
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

# Real root in the host's namespaces may mount, but a bind there would be
# in the host's mounts and outlive the session: the node stays a
# placeholder, as for any user outside a namespace.
roottest_mknod_as_real_root_binds_nothing_on_the_host() {
	local out
	out=$(fb sh -c 'mknod n c 1 3 && stat -c "%F %t,%T" n')
	if findmnt -rn -o TARGET | grep -qxF "$PWD/n"; then
		umount "$PWD/n"
		fail "a bind mount over $PWD/n was left in the host's mounts"
	fi
	assert_eq "character special file 1,3" "$out"
	assert_eq "regular empty file" "$(stat -c %F n)"
}

# The same where fakebuild itself starts in a namespace that may mount
# (`unshare -U -r -m`, a container's root): that namespace outlives the
# session, and a bind left there made `rm` of the tree fail with EBUSY.
test_mknod_in_an_outer_namespace_binds_nothing() {
	need_userns
	local out
	out=$(ns sh -c '"$0" sh -c "mknod n c 1 3 && stat -c \"%F %t,%T\" n"
		grep -c " $PWD/n " /proc/self/mountinfo; rm n && echo removed' "$FAKEBUILD")
	assert_eq "character special file 1,3
0
removed" "$out"
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

# ---- chroot inside a build root -------------------------------------------

# mktarget DIR: a directory to chroot into, with the root's /usr mounted
# read-only on DIR/usr (run inside a build root) and a /proc directory
# with nothing on it, as debootstrap's first chroots and `dpkg --root`
# meet it.
mktarget() {
	mkdir -p "$1/usr" "$1/proc" "$1/etc"
	local d
	for d in bin sbin lib lib64 lib32; do [ -e /$d ] && ln -s usr/$d "$1/$d"; done
	printf 'root:x:0:0:root:/root:/bin/sh\n' > "$1/etc/passwd"
	printf 'root:x:0:\n' > "$1/etc/group"
	touch "$1/f"
}
bindusr() { echo "mount --bind /usr $1/usr && mount -o remount,bind,ro $1/usr"; }

# The library is reached as /proc/1/fd/N/...: a chroot whose target has
# no proc mounted gets one in a mount namespace of its own, which the
# process that chrooted never sees (nothing in the target changes, no
# mount for its cleanup to meet), and which goes with the chrooted
# processes.  The records made inside are the session's.
test_chroot_without_proc_keeps_the_library() {
	need_userns
	mktarget t
	cat > inner.sh <<-'EOF'
	id -u; chown 12:34 /f; stat -c %u:%g /f
	grep -c ' /proc .* - proc ' /proc/self/mountinfo
	sleep 3
	EOF
	out=$(inroot sh -c "$(bindusr t)"'
		find t -path t/usr -prune -o -print | sort > before
		chroot t sh -s < inner.sh > in &
		sleep 1.5
		echo outside $(grep -c " $PWD/t/proc " /proc/self/mountinfo)
		wait
		cat in
		echo after $(grep -c " $PWD/t/proc " /proc/self/mountinfo)
		umount t/usr
		find t -path t/usr -prune -o -print | sort > after
		cmp before after && echo unchanged
		stat -c %u:%g t/f
		rm -r --one-file-system t && echo removed')
	assert_eq "outside 0
0
12:34
1
after 0
unchanged
12:34
removed" "$out"
}

# mknod in a chroot whose /dev holds no real node (or only the one being
# made, as MAKEDEV's mknod null-; mv null- null does): the host's node is
# found as the root's first process sees it, and bound as outside the
# chroot (before: the node stayed a file that kept what was written to it;
# mmdebstrap's makedev then left "/usr/sbin/setcap" in a root's file).
test_chroot_mknod_binds_the_root_node() {
	need_userns
	mktarget t
	mkdir t/dev
	cat > inner.sh <<-'EOF'
	cd /dev; mknod a c 1 3; echo X > a; wc -c < a
	mknod null- c 1 3; mv null- null; echo X > null; wc -c < null
	stat -c '%n %F %t,%T' a null
	EOF
	out=$(inroot sh -c "$(bindusr t)"' && mount -t proc proc t/proc &&
		chroot t sh -s < inner.sh; umount t/proc t/usr; rm -r --one-file-system t && echo removed')
	assert_eq "0
0
a character special file 1,3
null character special file 1,3
removed" "$out"
}

# A target without a /proc directory is left as it is: programs started
# there run without the session, and it is said once.
test_chroot_without_proc_directory_says_so() {
	need_userns
	mktarget t
	rmdir t/proc
	out=$(inroot sh -c "$(bindusr t)"'
		chroot t sh -c "chown 12:34 /f 2>/dev/null || echo refused; chown 12:34 /f 2>/dev/null || echo refused"
		ls t | grep -c proc' 2>err) || true
	assert_eq "refused
refused
0" "$out"
	assert_eq 1 "$(grep -c 'run without fakebuild: it has no /proc directory' err)" "one warning"
}

# Records made inside a chroot carry the path the session sees
# (FAKEBUILD_CHROOT in front of the chroot's own), so `fakebuild --gc`
# keeps them: in a plain session (here one that may chroot, in `unshare
# -r`, the library bound into the target) and after a build root.
test_chroot_records_keep_their_paths_for_gc() {
	need_userns
	mktarget t
	# The plain session's library and its live table's directory are
	# mounted at their own paths in the target (a build root needs
	# neither: see the first test).
	local state
	state=$(dirname "$FAKEBUILD_DB")
	mkdir -p "t$B" "$state" "t$state"
	ns sh -c "$(bindusr t) && mount --bind $B t$B && mount -o remount,bind,ro t$B &&
		mount --bind $state t$state &&
		\"$FAKEBUILD\" sh -c 'chroot t sh -c \"chown 12:34 /f; echo \\\$FAKEBUILD_CHROOT\"'"' > hint'
	rmdir "t$state" 2>/dev/null || true
	assert_eq "$PWD/t" "$(cat hint)" "FAKEBUILD_CHROOT"
	fb --gc > gc
	assert_contains gc "0 records dropped"
	assert_eq 12:34 "$(fb stat -c %u:%g t/f)" "after --gc, plain session"
	rmdir "t$B" 2>/dev/null || true
	touch t/g
	inroot sh -c "$(bindusr t)"'; chroot t chown 56:78 /g'
	fb --gc > gc
	assert_contains gc "0 records dropped"
	assert_eq 56:78 "$(fb stat -c %u:%g t/g)" "after --gc, build root"
}

# ---- roots from local packages ----------------------------------------------

# A package's .deb, built as fake root from directory $1 (DEBIAN/ inside).
deb() {
	fb dpkg-deb --build -Zgzip "$1" "$1.deb" >/dev/null
}

# Two packages: fbt-base (a setuid file; a postinst that adds a group and
# a user only the root has, chowns by those names, mknods a usable
# /dev/null and reads the root's /dev/urandom) and fbt-app (a postinst
# that runs dpkg-statoverride with those names).
mkdebs() {
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
}

# The root's etc and dpkg database, as a bootstrap starts them.
mketc() {
	local d=$1
	mkdir -p "$d/etc" "$d/dev" "$d/proc" "$d/tmp" "$d/opt" "$d/var/log" "$d/var/lib/dpkg/info" \
		"$d/var/lib/dpkg/updates" "$d/var/lib/dpkg/triggers"
	: > "$d/var/lib/dpkg/status"
	printf 'root:x:0:0:root:/root:/bin/sh\n' > "$d/etc/passwd"
	printf 'root:*:19000:0:99999:7:::\n' > "$d/etc/shadow"
	printf 'root:x:0:\nshadow:x:42:\n' > "$d/etc/group"
	printf 'root:*::\nshadow:*::\n' > "$d/etc/gshadow"
	cp /etc/login.defs "$d/etc/" 2>/dev/null || true
}

# mkdpkgroot DIR: a root of its own that can run dpkg and the postinsts
# above: those programs and their libraries, copied from the host.
mkdpkgroot() {
	local d=$1
	mketc "$d"
	copy_programs "$d" sh rm tar dpkg dpkg-deb dpkg-query dpkg-statoverride dpkg-trigger dpkg-split \
		ldconfig start-stop-daemon groupadd useradd chown chmod mknod head wc stat cat mkdir ln ls \
		id cp mv sed grep env touch true rmdir diff find sha256sum
}

# What the postinsts above must have left in root DIR ($1), as listed by
# `fakebuild tests/rootlist` in file $2.
check_debs_installed() {
	local uid gid
	uid=$(awk -F: '$1 == "fbtuser" {print $3}' "$1/etc/passwd")
	gid=$(awk -F: '$1 == "fbtgroup" {print $3}' "$1/etc/group")
	[ -n "$uid" ] && [ -n "$gid" ] || fail "useradd/groupadd did not write the root's files"
	! getent passwd fbtuser >/dev/null || skip "the host has a user fbtuser"
	assert_contains "$2" "/opt/fbt/share/data f $uid:$gid 0644"
	assert_contains "$2" "/opt/fbt/bin/suid f 0:0 4755"
	assert_contains "$2" "/opt/fbt/bin/tool f $uid:$gid 4750"
	assert_contains "$2" "/opt/fbt/null c 0:0 0666 c 1,3"
	assert_contains "$2" "/etc/shadow f 0:42 0640"
	assert_contains "$1/var/lib/dpkg/statoverride" "fbtuser fbtgroup 4750 /opt/fbt/bin/tool"
}

# A small root from local .deb files, offline, as the unprivileged user in
# a build root: `dpkg --root` runs the maintainer scripts chrooted into
# the root, which has no proc mounted (the library still loads: a proc of
# their own), and whose /usr is the host's, read-only.
test_root_from_local_debs() {
	need_userns
	need dpkg dpkg-deb useradd groupadd dpkg-statoverride python3
	mkdebs
	mketc root
	mkdir -p root/usr
	for d in bin sbin lib lib64 lib32; do [ -e /$d ] && ln -s usr/$d root/$d; done
	inroot sh -c "$(bindusr root)"' &&
		mknod -m 666 root/dev/null c 1 3 && mknod -m 666 root/dev/urandom c 1 9 &&
		chown 0:42 root/etc/shadow root/etc/gshadow && chmod 640 root/etc/shadow root/etc/gshadow &&
		dpkg --root="$PWD/root" --log="$PWD/root/var/log/dpkg.log" --force-unsafe-io -i base.deb app.deb >dpkg.log 2>&1 ||
			{ cat dpkg.log >&2; exit 1; }
		umount root/usr'
	fb "$TOP/tests/rootlist" root > list
	check_debs_installed root list
	grep -q "run without fakebuild" dpkg.log && fail "a maintainer script ran without the session"
	# On disk, everything is the user's and nothing is setuid.
	[ -z "$(find root -perm /6000 -o ! -user "$(id -u)")" ] || fail "real setuid bits or foreign owners on disk"
}

# That root as a base: archived in one build root, then used by another
# (--root root.tar), where dpkg installs the packages as fake root; the
# base archive does not change, and each root starts from it afresh.
test_root_from_local_debs_as_a_base() {
	need_userns
	need dpkg dpkg-deb useradd groupadd dpkg-statoverride python3 sha256sum
	mkdebs
	mkdpkgroot r
	inroot sh -c 'chown 0:42 r/etc/shadow r/etc/gshadow && chmod 640 r/etc/shadow r/etc/gshadow &&
		mknod -m 666 r/dev/null c 1 3 && mknod -m 666 r/dev/urandom c 1 9 &&
		tar --numeric-owner -cf root.tar -C r .'
	sum=$(sha256sum < root.tar)
	mkdir debs && mv base.deb app.deb debs/
	out=$(fb --root root.tar --ro-bind "$PWD/debs:/debs" -- sh -c '
		dpkg -i /debs/base.deb /debs/app.deb > /tmp/log 2>&1 || { cat /tmp/log >&2; exit 1; }
		id -u; stat -c "%U:%G %a" /opt/fbt/bin/tool /opt/fbt/share/data
		grep -c fbtuser /etc/passwd')
	assert_eq "0
fbtuser:fbtgroup 4750
fbtuser:fbtgroup 644
1" "$out"
	assert_eq "$sum" "$(sha256sum < root.tar)" "the base archive is unchanged"
	# A fresh root from the same base has none of it.
	assert_eq "0" "$(fb --root root.tar -- sh -c 'ls /opt | wc -l; grep -c fbtuser /etc/passwd || true' | sed -n 2p)"
}
