# Extended attributes, capabilities and ACLs (issue 8, point 1).

test_setcap_getcap_persist() {
	need setcap getcap
	cp /bin/true f
	assert_match 'cap_net_raw=ep' "$(fb sh -c 'setcap cap_net_raw+ep f && getcap f')"
	assert_match 'cap_net_raw=ep' "$(fb getcap f)" "next session"
	[ -z "$(getcap f)" ] || fail "real file got a capability"
}

# chown removes security.capability, by root too (ATTR_KILL_PRIV), even
# chown to the same owner or to -1, -1: chown -R after setcap loses the
# capability in a real-root build, so it must in a session.  Other faked
# xattrs and directories keep theirs.
test_chown_drops_capability_like_root() {
	need setcap getcap setfattr getfattr
	cp /bin/true f; cp /bin/true g; mkdir d
	fb sh -c 'setcap cap_net_raw+ep f; setcap cap_net_raw+ep g; setfattr -n trusted.k -v v f
		setfattr -n security.t -v x d; chown 0:0 f d; python3 -c "import os; os.chown(\"g\", -1, -1)"'
	[ -z "$(fb getcap f)" ] || fail "capability kept by chown: $(fb getcap f)"
	[ -z "$(fb getcap g)" ] || fail "capability kept by chown -1 -1: $(fb getcap g)"
	assert_match 'trusted.k="v"' "$(fb getfattr -n trusted.k f)"
	assert_match 'security.t="x"' "$(fb getfattr -n security.t d)"
	assert_eq "0 0" "$(fb stat -c '%u %g' f)"
	# A capability set after the chown stays, as in the usual order.
	fb sh -c 'chown 0:0 g; setcap cap_net_raw+ep g'
	assert_match 'cap_net_raw=ep' "$(fb getcap g)"
}

# A truncation drops security.capability too, by root too, even to the
# size the file has (ATTR_KILL_PRIV: cp over a file, a shell's >, fopen
# "w", truncate(1)); an open for writing without O_TRUNC, or O_PATH with
# it, keeps it.  Each way in TRUNC_WAYS is run by PROGRAM (the fixture,
# built for one ABI with _FORTIFY_SOURCE, as Debian builds, and how to
# run it) on a fresh file in a session, then read back in the next one.
TRUNC_CFLAGS="-O2 -D_FORTIFY_SOURCE=2"
fortified() { # PROGRAM SUFFIX: it calls glibc's __open_2 and __openat_2 (SUFFIX: 64 or none)
	local syms
	syms=$(objdump -T "$1") || fail "objdump $1"
	assert_match "__open$2_2" "$syms" "$1 calls the fortified open"
	assert_match "__openat$2_2" "$syms" "$1 calls the fortified openat"
}
TRUNC_WAYS="open openat creat rdonly fortified fortifiedat fopen freopen freopen0 truncate ftruncate rawtruncate rawftruncate write path"
truncations() { # PROGRAM...: "WAY:N ..." (N: 1 if the capability stayed)
	local w out=
	for w in $TRUNC_WAYS; do
		cp /bin/true "f-$w"
		fb sh -c 'setcap cap_net_raw+ep "$1" && shift && "$@"' sh "f-$w" "$@" "$w" "f-$w" 7 ||
			fail "$* $w failed"
		out="$out $w:$(fb getcap "f-$w" | grep -c cap_net_raw)"
	done
	echo "$out"
}
TRUNC_SEEN=" open:0 openat:0 creat:0 rdonly:0 fortified:0 fortifiedat:0 fopen:0 freopen:0 freopen0:0 truncate:0 ftruncate:0 rawtruncate:0 rawftruncate:0 write:1 path:1"

test_truncation_drops_capability_like_root() {
	need setcap getcap cc
	cc $TRUNC_CFLAGS -o trunc "$TOP/tests/e2e/fixtures/xattr/truncate.c"
	fortified trunc ""
	assert_eq "$TRUNC_SEEN" "$(truncations ./trunc)"
	cp /bin/true f
	fb sh -c 'setcap cap_net_raw+ep f; : >f; echo "shell: $(getcap f)"; cp /bin/true g
		setcap cap_net_raw+ep g; cp /bin/false g; echo "cp: $(getcap g)"'
	[ -z "$(fb getcap f g)" ] || fail "a capability outlived its file's truncation: $(fb getcap f g)"
}

# A process's first use of the table maps it, and the mapping's failed
# first try (the inherited descriptor closed, as Python's subprocess
# does) left EBADF in errno after a successful open(O_TRUNC), creat or
# fopen "w".
test_truncating_open_keeps_errno() {
	need cc
	cat > en.c <<'C'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	const char *v = getenv("FAKEBUILD_TABLE_FD");
	if (argc != 3 || !v)
		return 2;
	close(atoi(v));
	errno = 0;
	int ok = !strcmp(argv[1], "open") ? open(argv[2], O_WRONLY | O_TRUNC) >= 0
		 : !strcmp(argv[1], "creat") ? creat(argv[2], 0644) >= 0
		 : fopen(argv[2], "w") != NULL;
	printf("%s %d %d\n", argv[1], ok, errno);
	return 0;
}
C
	cc -o en en.c
	touch f
	assert_eq "open 1 0|creat 1 0|fopen 1 0" "$(fb sh -c './en open f; ./en creat f; ./en fopen f' | paste -sd'|')"
}

# The same in 32-bit programs, with 32-bit and 64-bit file offsets
# (truncate64, ftruncate64, open64).
test_truncation_drops_capability_32bit() {
	need setcap getcap cc
	[ -f "$B/lib32/libfakebuild.so" ] || skip "32-bit library not built"
	cc -m32 $TRUNC_CFLAGS -o trunc32 "$TOP/tests/e2e/fixtures/xattr/truncate.c" 2>/dev/null ||
		skip "no 32-bit toolchain (gcc-multilib)"
	cc -m32 $TRUNC_CFLAGS -D_FILE_OFFSET_BITS=64 -o trunc32lfs "$TOP/tests/e2e/fixtures/xattr/truncate.c"
	fortified trunc32 ""
	fortified trunc32lfs 64
	cp /bin/true probe
	runner32 ./trunc32 write probe || skip "$NO32"
	assert_eq "$TRUNC_SEEN" "$(truncations $R32 ./trunc32)" "32-bit"
	assert_eq "$TRUNC_SEEN" "$(truncations $R32 ./trunc32lfs)" "32-bit, 64-bit offsets"
}

test_trusted_xattr_faked_user_xattr_real() {
	need setfattr getfattr
	touch f
	fb sh -c 'setfattr -n trusted.x -v 1 f; setfattr -n user.u -v 2 f'
	assert_eq '"1"' "$(fb getfattr --only-values -n trusted.x f | sed 's/^/"/;s/$/"/')"
	out=$(getfattr -d f 2>/dev/null || true)
	case "$out" in *user.u*) ;; *) skip "filesystem without user xattrs" ;; esac
	assert_match 'user.u="2"' "$out"
	[ -z "$(getfattr -n trusted.x f 2>/dev/null)" ] || fail "trusted.x reached the real file"
}

test_xattr_flags_and_errors() {
	need python3
	touch f
	out=$(fb python3 -c '
import os, errno
def tryit(f, *a):
    try: f(*a); return "ok"
    except OSError as e: return errno.errorcode[e.errno]
print(tryit(os.getxattr, "f", "trusted.none"))
print(tryit(os.setxattr, "f", "trusted.a", b"1", os.XATTR_REPLACE))
print(tryit(os.setxattr, "f", "trusted.a", b"1", os.XATTR_CREATE))
print(tryit(os.setxattr, "f", "trusted.a", b"1", os.XATTR_CREATE))
print(tryit(os.setxattr, "f", "trusted.big", b"x" * 65537))
os.setxattr("f", "trusted.big", b"y" * 65536)
print(len(os.getxattr("f", "trusted.big")))
os.removexattr("f", "trusted.a")
print(tryit(os.removexattr, "f", "trusted.a"))
print(sorted(n for n in os.listxattr("f") if not n.startswith("user.")))')
	assert_eq "ENODATA
ENODATA
ok
EEXIST
E2BIG
65536
ENODATA
['trusted.big']" "$out"
}

test_acl_updates_mode_like_kernel() {
	need setfacl getfacl
	touch f
	out=$(fb sh -c 'chmod 640 f; setfacl -m u:bin:rw f; stat -c %a f; getfacl -cn f')
	assert_eq "660
user::rw-
user:2:rw-
group::r--
mask::rw-
other::---" "$out"
}

# A chmod rewrites the owner, mask (or group) and other entries of a
# file's access ACL, as the kernel's does: rsync -A sets the ACL of a
# directory it made 0700, then chmods it.  The kernel on the user's own
# files is the oracle.
test_chmod_rewrites_acl_like_kernel() {
	need setfacl getfacl
	steps='mkdir $1; setfacl --set u::rwx,u:5:rwx,g::-,m::-,o::- $1; chmod 1770 $1;
		getfacl -cn $1; stat -c %a $1
		touch $1/f; chmod 640 $1/f; setfacl -m u:2:rw $1/f; chmod 705 $1/f
		getfacl -cn $1/f; stat -c %a $1/f; chmod 1775 $1; getfacl -cn $1'
	sh -c "$steps" sh real 2>/dev/null || skip "no ACLs on this filesystem"
	want=$(sh -c "$steps" sh real2)
	out=$(fb sh -c "$steps" sh faked)
	assert_eq "$want" "$out"
	assert_match "mask::rwx" "$out" "the mask after chmod 1770"
}

# What is made in a directory with a default ACL gets it as the kernel's
# posix_acl_create gives it: the mode asked for (no umask) masked by the
# ACL, the ACL as its access ACL, and a directory the default ACL too.
# Files made with open, mkdir, mkfifo, install and a Unix socket's bind
# (which applies the umask first, where the others let the ACL replace
# it: before, a bound socket came out 775), in the session that set the
# ACL and in the next one.  The kernel on the user's own files is the
# oracle.
test_default_acl_inherited_like_kernel() {
	need setfacl getfacl python3
	steps='d=$1; [ -d $d ] || { mkdir $d; setfacl -d -m u:5:rwx,g::r-x,o::- $d; }
		touch $d/f$2; mkdir $d/s$2; mkdir -m 0751 $d/m$2; mkfifo $d/p$2
		(umask 077; touch $d/u$2); install -m 4755 /dev/null $d/i$2; printf x > $d/o$2
		mkdir -p $d/a$2/b; touch $d/a$2/b/z
		(umask 027; python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" $d/k$2)
		for f in f$2 s$2 m$2 p$2 u$2 i$2 o$2 a$2/b a$2/b/z k$2; do
			echo "$f $(stat -c %a $d/$f)"; getfacl -cn $d/$f; done'
	sh -c "$steps" sh probe 1 >/dev/null 2>&1 || skip "no ACLs on this filesystem"
	want=$(sh -c "$steps" sh real 1; sh -c "$steps" sh real 2)
	out=$(fb sh -c "$steps" sh faked 1; fb sh -c "$steps" sh faked 2)
	assert_eq "$want" "$out"
	assert_match "default:user:5:rwx" "$out"
}

# A directory made in one with a default ACL lists its two ACLs in the
# kernel's order, which depends on the file system: tmpfs lists the access
# ACL first, ext4 the default ACL, which it sets first; mke2fs -d copies
# them in that order (before, a session listed the access ACL first
# everywhere).  In the test's directory and on /dev/shm, where they
# differ.
test_inherited_acls_listed_in_the_kernels_order() {
	need setfacl python3
	# shellcheck disable=SC2016
	steps='set -e; for d in "$@"; do mkdir $d; setfacl -d -m u:5:rwx $d; mkdir $d/s
		python3 -c "import os, sys; print(os.listxattr(sys.argv[1]))" $d/s; done'
	local here shm=
	here=$(stat -f -c %T .)
	if [ "$here" != tmpfs ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
		shm=$(mktemp -d /dev/shm/fbacl.XXXXXX)
		# shellcheck disable=SC2064
		trap "rm -rf '$shm'" EXIT
	fi
	want=$(sh -c "$steps" sh real ${shm:+"$shm/real"} 2>&1) || skip "no ACLs on $here: $want"
	assert_eq "$want" "$(fb sh -c "$steps" sh faked ${shm:+"$shm/faked"})"
	assert_match "posix_acl_default" "$want"
}

# Files and directories glibc makes itself (fopen, mkstemp, mkdtemp: they
# open past the open wrappers) inherit a default ACL as open's do.
test_default_acl_inherited_by_fopen_mkstemp_mkdtemp() {
	need setfacl getfacl cc
	cc -o mk "$TOP/tests/e2e/fixtures/create/glibc-creators.c"
	steps='d=$1; mkdir $d; setfacl -d -m u:5:rwx,g::r-x,o::- $d; ./mk $d || exit 1
		for f in fopen mkstemp mkdtemp; do echo "$f $(stat -c %a $d/$f)"; getfacl -cn $d/$f; done'
	sh -c "$steps" sh probe >/dev/null 2>&1 || skip "no ACLs on this filesystem"
	want=$(sh -c "$steps" sh real)
	assert_match "default:user:5:rwx" "$want" "the kernel's mkdtemp directory"
	assert_eq "$want" "$(fb sh -c "$steps" sh faked)"
}

test_cp_a_keeps_modes_and_caps() {
	need setcap getcap
	mkdir -p d/e; cp /bin/true d/e/t
	out=$(fb sh -c 'chmod 775 d d/e; chmod 4711 d/e/t; setcap cap_net_raw+ep d/e/t; chmod 4711 d/e/t;
		cp -a d d2; stat -c "%a %n" d2 d2/e d2/e/t; getcap d2/e/t')
	assert_eq "775 d2
775 d2/e
4711 d2/e/t
d2/e/t cap_net_raw=ep" "$out"
}

# cp -a lists each file's xattrs and sets its mode through a minimal ACL.
# Until a record carries a faked xattr the list is the real one, with no
# statx first; the ACL's chmod reuses the statx the set made.  Then the
# first faked xattr switches listing back to the merged list.
test_cp_a_without_faked_xattrs_skips_stats() {
	need strace setfattr getfattr
	mkdir d; for i in 1 2 3 4 5 6; do echo $i >d/f$i; done; chmod 640 d/f3
	fb strace -f -qq -o trace -e trace=statx,newfstatat,flistxattr,fchmod cp -a d d2
	assert_eq "640" "$(fb stat -c %a d2/f3)"
	awk '
		{ sub(/^[0-9]+ +/, "") }
		/^flistxattr\(/ { split($0, a, /[(,]/); if (prev == "statx(" a[2] ",") bad = bad "stat before " $0 "\n" }
		/^fchmod\(/ { split($0, a, /[(,]/); if (prev == "statx(" a[2] "," && prev2 == prev) bad = bad "two stats before " $0 "\n" }
		{ prev2 = prev; prev = $0; sub(/ .*/, "", prev) }
		END { printf "%s", bad }' trace >bad
	[ ! -s bad ] || { cat bad; fail "cp -a stats more than it needs"; }
	grep -q '^[0-9]* *flistxattr(' trace || fail "cp -a listed no xattrs: the check above proves nothing"
	# A faked xattr anywhere: listing merges it in from then on.
	fb setfattr -n trusted.t -v 1 d/f1
	assert_match 'trusted.t' "$(fb getfattr -d -m - d/f1)"
	fb cp -a d d3
	assert_match 'trusted.t' "$(fb getfattr -d -m - d3/f1)"
}

test_mv_keeps_xattrs() {
	need setfattr getfattr
	mkdir a b; touch a/f
	fb sh -c 'setfattr -n trusted.k -v v a/f; mv a/f b/f'
	assert_eq "v" "$(fb getfattr --only-values -n trusted.k b/f)"
}

test_tar_and_bsdtar_archive_capability() {
	need setcap getcap bsdtar
	cp /bin/true f
	fb sh -c 'setcap cap_net_raw+ep f; tar --xattrs --xattrs-include="*" -cf gnu.tar f; bsdtar -cf bsd.tar f'
	mkdir x y
	assert_match 'cap_net_raw=ep' "$(fb sh -c 'cd x && tar --xattrs --xattrs-include="*" -xf ../gnu.tar && getcap f')"
	assert_match 'cap_net_raw=ep' "$(fb sh -c 'cd y && bsdtar -xf ../bsd.tar && getcap f')"
}

test_xattrs_dropped_with_the_file() {
	need setfattr getfattr
	touch f
	fb sh -c 'setfattr -n trusted.k -v v f; rm f; touch f'
	[ -z "$(fb getfattr -n trusted.k f 2>/dev/null)" ] || fail "new file inherited the xattr"
}

test_xattr_record_has_path_hint() {
	need setfattr
	mkdir d; touch d/f
	fb sh -c 'setfattr -n trusted.k -v v d/f; setfattr -n trusted.k -v w d/f'
	assert_match '^0 records dropped' "$(fb --gc)"
	assert_eq "w" "$(fb getfattr --only-values -n trusted.k d/f)"
}

# An ACL value of the header alone (no entries) removes the ACL, as the
# kernel reads it (xorriso restores "no ACL" so); a malformed default ACL
# is refused.  The kernel on the user's own files is the oracle.
test_empty_acl_removes_like_kernel() {
	need setfacl getfacl setfattr getfattr
	steps='d=$1; mkdir $d $d/t
		setfattr -n system.posix_acl_access -v 0x02000000 $d; echo "empty access: $?"
		setfacl -d -m u:5:rwx $d/t
		setfattr -n system.posix_acl_default -v 0x02000000 $d/t; echo "empty default: $?"
		getfattr -m "^system\.posix_acl" -d -e hex $d/t 2>&1 | sed "s|$d|D|"
		touch $d/t/f; getfacl -cn $d/t/f
		setfacl -m u:5:rx $d; setfattr -n system.posix_acl_access -v 0x02000000 $d
		echo "access removed: $? $(stat -c %a $d)"; getfacl -cn $d
		setfattr -n system.posix_acl_default -v 0x0200000001000700ffffffff $d 2>/dev/null
		echo "malformed default: $?"; getfattr -m "^system\.posix_acl" -d $d 2>&1 | sed "s|$d|D|"'
	sh -c "$steps" sh probe >/dev/null 2>&1 || skip "no ACLs on this filesystem"
	want=$(sh -c "$steps" sh real)
	assert_match "empty access: 0" "$want" "the kernel's answer"
	assert_eq "$want" "$(fb sh -c "$steps" sh faked | sed 's/faked/real/g')"
}

# A file made with O_TMPFILE and linked in (ostree, libglnx) inherits its
# directory's default ACL, and keeps a mode that denies its owner writing
# usable, as one made with O_CREAT does.
test_tmpfile_inherits_default_acl_and_keeps_its_mode() {
	need setfacl getfacl cc
	cat > tmpf.c <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	char proc[64], to[4096];
	if (argc != 4)
		return 2;
	int fd = open(argv[1], O_TMPFILE | O_WRONLY, (mode_t)strtol(argv[3], NULL, 8));
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	snprintf(to, sizeof to, "%s/%s", argv[1], argv[2]);
	if (fd < 0 || write(fd, "x", 1) != 1 || linkat(AT_FDCWD, proc, AT_FDCWD, to, AT_SYMLINK_FOLLOW)) {
		perror(argv[2]);
		return 1;
	}
	return close(fd);
}
EOF
	cc -o tmpf tmpf.c
	steps='d=$1; mkdir $d; setfacl -d -m u:5:rwx,g::r-x,o::- $d
		./tmpf $d t 640 && stat -c "%a" $d/t && getfacl -cn $d/t'
	./tmpf . probe 600 2>/dev/null || skip "no O_TMPFILE here"
	want=$(sh -c "$steps" sh real)
	assert_eq "$want" "$(fb sh -c "$steps" sh faked)"
	out=$(fb sh -c './tmpf . ro 444 && stat -c %a ro && echo y >> ro && cat ro')
	assert_eq "444
xy" "$out" "an O_TMPFILE file of mode 0444, as root"
}

# After giving up root, the faked attributes need what the kernel asks:
# CAP_SETFCAP for a file capability, CAP_SYS_ADMIN for trusted.* and
# other security.* names, the owner (or CAP_FOWNER) for an ACL.  One
# script as real root and in a session.
roottest_xattrs_after_dropping_root_like_the_kernel() {
	need setpriv setcap setfattr setfacl
	cat > s.sh <<'EOF'
touch a b; chown 1000:1000 b; setcap cap_net_raw+ep a
setpriv --reuid=1000 --regid=1000 --clear-groups sh -c '
setcap cap_net_raw+ep b 2>/dev/null; echo "setcap: $?"
setcap -r a 2>/dev/null; echo "setcap -r of root'"'"'s: $?"
setfattr -n trusted.x -v 1 b 2>/dev/null; echo "trusted: $?"
setfattr -n security.x -v 1 b 2>/dev/null; echo "security: $?"
setfacl -m u:5:r a 2>/dev/null; echo "acl of root'"'"'s: $?"
setfacl -m u:5:r b 2>/dev/null; echo "acl of its own: $?"'
getcap a b | sort; getfacl -cn a b 2>/dev/null
EOF
	mkdir real fake db && chown 65534:65534 fake db
	(cd real && sh ../s.sh) > real.out 2>&1
	setcap cap_net_raw+ep real/a 2>/dev/null || skip "no file capabilities here"
	grep -q 'setcap: [1-9]' real.out || { cat real.out >&2; fail "real root's answer"; }
	(cd fake && setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		"$FAKEBUILD" -d "$PWD/../db/fb.db" -- sh ../s.sh) > fake.out 2>&1
	diff real.out fake.out >&2 || fail "the session's xattr calls differ from the kernel's"
}

# The kernel's rules for names, before the value is looked at: user.*
# exists on regular files and directories only (a faked device is a
# regular file on disk), a name is 1 to 255 bytes, and a prefix needs
# something after it.  fixtures/create/xattr-names.sh as real root and in
# a session.
roottest_xattr_names_and_devices_like_the_kernel() {
	need setfattr getfattr
	need python3
	same_as_root "$TOP/tests/e2e/fixtures/create/xattr-names.sh" '^Operation not permitted' \
		"the session's answers differ from the kernel's"
}
