# Installed layouts (issue 18): the fakebuild command finds its library
# beside itself, in the layout of `make install` (PREFIX/lib/fakebuild/lib/)
# or of Debian's packages (PREFIX/lib/TRIPLET/fakebuild/, one package per
# architecture), and preloads it through the loader's $LIB when both ELF
# classes are there.  The layouts are made by copying the build's files, so
# no test needs root; make check-deb installs the real packages.

TRIPLET=$(cc -print-multiarch 2>/dev/null || true)
TRIPLET32=$(cc -m32 -print-multiarch 2>/dev/null || true)

need_triplets() {
	[ -n "$TRIPLET" ] && [ -n "$TRIPLET32" ] || skip "the compiler names no multiarch triplets"
}

# The 32-bit test program of t_multilib.sh: chown (with a third argument),
# then print the fake uid and the file's fake owner and group.
build32() {
	[ -f "$B/lib32/libfakebuild.so" ] || skip "32-bit library not built"
	cat > p.c <<'C'
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct stat st;
	if (argc > 2 && chown(argv[1], 11, 12) != 0)
		return 2;
	if (stat(argv[1], &st) != 0)
		return 3;
	printf("%u %u %u\n", (unsigned)getuid(), (unsigned)st.st_uid, (unsigned)st.st_gid);
	return 0;
}
C
	cc -m32 -o p32 p.c 2>/dev/null || skip "no 32-bit toolchain (gcc-multilib)"
	runner32 ./p32 p.c || skip "$NO32"
}

# Debian's layout: D/usr/bin/fakebuild, D/usr/lib/TRIPLET/fakebuild/libfakebuild.so.
debian_layout() {
	install -D -m 0755 "$FAKEBUILD" D/usr/bin/fakebuild
	install -D -m 0644 "$B/lib/libfakebuild.so" "D/usr/lib/$TRIPLET/fakebuild/libfakebuild.so"
}

test_debian_layout_found_beside_command() {
	need_triplets
	debian_layout
	assert_eq "$PWD/D/usr/lib/$TRIPLET/fakebuild/libfakebuild.so" "$(D/usr/bin/fakebuild printenv LD_PRELOAD)" \
		"the one library preloaded by its path"
	assert_eq 0 "$(D/usr/bin/fakebuild id -u)"
}

# libfakebuild:i386 installed beside libfakebuild:amd64.  The 32-bit loader
# of libc6:i386 expands $LIB to lib/i386-linux-gnu, that of libc6-i386 (on
# this machine, maybe) to lib32: the library is put at both.
test_debian_layout_preloads_per_elf_class() {
	need_triplets
	build32
	debian_layout
	install -D -m 0644 "$B/lib32/libfakebuild.so" "D/usr/lib/$TRIPLET32/fakebuild/libfakebuild.so"
	install -D -m 0644 "$B/lib32/libfakebuild.so" D/usr/lib32/fakebuild/libfakebuild.so
	assert_eq "$PWD/D/usr/\$LIB/fakebuild/libfakebuild.so" "$(D/usr/bin/fakebuild printenv LD_PRELOAD)"
	touch f
	# One session: the record written by the 32-bit process is read by a 64-bit one.
	assert_eq "0 11 12
11 12" "$(D/usr/bin/fakebuild sh -c '$0 ./p32 f chown && stat -c "%u %g" f' "${R32:-env}")"
}

# make install's layout: D/bin/fakebuild, D/lib/fakebuild/lib/libfakebuild.so,
# and with a 32-bit library lib32/ and lib/TRIPLET/ links.
test_make_install_layout_found_beside_command() {
	install -D -m 0755 "$FAKEBUILD" D/bin/fakebuild
	install -D -m 0644 "$B/lib/libfakebuild.so" D/lib/fakebuild/lib/libfakebuild.so
	assert_eq "$PWD/D/lib/fakebuild/lib/libfakebuild.so" "$(D/bin/fakebuild printenv LD_PRELOAD)"
	assert_eq 0 "$(D/bin/fakebuild id -u)"
	need_triplets
	build32
	install -D -m 0644 "$B/lib32/libfakebuild.so" D/lib/fakebuild/lib32/libfakebuild.so
	mkdir -p "D/lib/fakebuild/lib/$TRIPLET" "D/lib/fakebuild/lib/$TRIPLET32"
	ln -s ../libfakebuild.so "D/lib/fakebuild/lib/$TRIPLET/libfakebuild.so"
	ln -s ../../lib32/libfakebuild.so "D/lib/fakebuild/lib/$TRIPLET32/libfakebuild.so"
	assert_eq "$PWD/D/lib/fakebuild/\$LIB/libfakebuild.so" "$(D/bin/fakebuild printenv LD_PRELOAD)"
	touch f
	assert_eq "0 11 12" "$(D/bin/fakebuild $R32 ./p32 f chown)"
}

# The library installed nowhere fakebuild looks: a message naming where it
# looked and the way out, status 1, and no command run.
test_missing_library_named() {
	install -D -m 0755 "$FAKEBUILD" D/bin/fakebuild
	local rc=0
	D/bin/fakebuild touch ran 2>err || rc=$?
	[ ! -e ran ] || skip "a library is installed where this build's fakebuild looks"
	assert_eq 1 "$rc"
	assert_match "cannot find libfakebuild.so \(looked beside $PWD/D/bin and at /.*libfakebuild.so\): use -l LIB" "$(cat err)"
}
