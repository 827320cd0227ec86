# 32-bit and 64-bit processes in one session (issue 8, point 2).

# Build a 32-bit program that chowns and stats its argument, or skip.
build32() {
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
	./p32 p.c >/dev/null 2>&1 || skip "this kernel cannot run 32-bit programs"
}

test_session_preloads_per_elf_class() {
	[ -f "$B/lib32/libfakebuild.so" ] || skip "32-bit library not built"
	assert_match '/\$LIB/libfakebuild\.so' "$(fb printenv LD_PRELOAD)"
	assert_eq 0 "$(fb id -u)" "64-bit program under \$LIB preload"
}

test_32bit_and_64bit_share_state() {
	[ -f "$B/lib32/libfakebuild.so" ] || skip "32-bit library not built"
	build32
	touch f g
	assert_eq "0 11 12" "$(fb ./p32 f chown)" "32-bit chown"
	assert_eq "11 12" "$(fb stat -c '%u %g' f)" "seen by a 64-bit stat"
	fb chown 21:22 g
	assert_eq "0 21 22" "$(fb ./p32 g)" "64-bit chown seen by a 32-bit stat"
}
