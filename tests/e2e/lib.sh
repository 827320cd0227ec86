# Helpers for the end-to-end tests; sourced by tests/run before each test
# file.  A test is a shell function test_NAME (run as an unprivileged user)
# or roottest_NAME (run as root), executed with `set -eu -o pipefail` in a
# fresh temporary directory that is also $HOME.  Exit 77 means skipped.
FAKEBUILD=$B/bin/fakebuild
CPIOTRANSLATE=$B/bin/cpiotranslate
PROTOFIX=$B/bin/protofix
export FAKEBUILD_DB="${FAKEBUILD_DB:-$PWD/.state/fb.db}"

fb() { "$FAKEBUILD" "$@"; }

# because WHY: note why the test is failing where tests/run shows it
# even if the failing command's stderr was redirected (FB_WHY, a file).
because() { [ -z "${FB_WHY:-}" ] || echo "$*" >> "$FB_WHY"; }
fail() { echo "FAIL: $*" >&2; because "FAIL: $*"; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
need() { local c; for c; do command -v "$c" >/dev/null 2>&1 || skip "$c not installed"; done; }
need_userns() {
	unshare -U -r -m true 2>/dev/null || skip "user namespaces are refused to this user here"
}

# runner32 PROG [ARG...]: how a 32-bit program runs here, tried with PROG
# ARGs (which must exit 0 or 1): R32 is set to "" where the kernel runs it,
# to "qemu-i386-static" (Debian's qemu-user-static) where only that does;
# it then brings its own loader, which preloads the session's 32-bit
# library as a native one does.  Status 1, with the reason in NO32, when
# neither runs it.
runner32() {
	local rc=0
	NO32=
	"$@" >/dev/null 2>&1 || rc=$?
	if [ "$rc" -le 1 ]; then R32=; return 0; fi
	rc=0
	if command -v qemu-i386-static >/dev/null 2>&1; then
		qemu-i386-static "$@" >/dev/null 2>&1 || rc=$?
		if [ "$rc" -le 1 ]; then R32=qemu-i386-static; return 0; fi
	fi
	NO32="this kernel cannot run 32-bit programs, nor can qemu-i386-static (qemu-user-static)"
	return 1
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}
# assert_match REGEX ACTUAL [WHAT]
assert_match() {
	[[ "$2" =~ $1 ]] || fail "${3:-value}: '$2' does not match /$1/"
}
# assert_status EXPECTED CMD...: run CMD, compare its exit status
assert_status() {
	local want=$1 rc=0; shift
	"$@" || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
}
# assert_contains FILE TEXT
assert_contains() {
	grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }
}
am_root() { [ "$(id -u)" -eq 0 ]; }

# await FILE: wait up to 10 s for FILE, which a background process makes
# once it got where the test needs it; fail if it does not.
await() {
	local i
	for i in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done
	fail "$1 did not appear in 10 s"
}

# copy_programs DIR PROGRAM...: the host's PROGRAMs (those found) and the
# libraries they load, copied into the small root DIR under usr/bin or
# usr/sbin as on the host, with the bin, sbin, lib and lib64 links of a
# merged /usr.  For build-root tests that need a root of their own.
copy_programs() {
	local d=$1 p l
	shift
	mkdir -p "$d/usr/bin" "$d/usr/sbin" "$d/usr/lib"
	for l in bin sbin lib lib64; do [ -e "$d/$l" ] || ln -s "usr/$l" "$d/$l"; done
	for p; do
		p=$(type -P "$p") || continue
		case $p in */sbin/*) cp -L "$p" "$d/usr/sbin/" ;; *) cp -L "$p" "$d/usr/bin/" ;; esac
		ldd "$p" 2>/dev/null | awk '/=>/ { print $3 } /^\t\/lib/ { print $1 }'
	done | sort -u | while read -r l; do
		[ -f "$l" ] || continue
		mkdir -p "$d/usr$(dirname "${l#/usr}")"
		cp -L "$l" "$d/usr${l#/usr}"
	done
}

# same_as_root SCRIPT PATTERN WHAT: sh SCRIPT (absolute, or relative to a
# subdirectory) in ./real as real root and in ./fake as the test user in
# a session on ./db/fb.db; real root's output must match PATTERN (grep -E:
# the oracle says what the test is about here), and the session's must be
# the same line for line (the exit status too), else fail with WHAT.
# For roottest_*.
same_as_root() {
	local rc=0
	mkdir real fake db && chown 65534:65534 fake db
	(cd real && sh "$1") > real.out 2>&1 || rc=$?
	echo "exit: $rc" >> real.out
	grep -Eq "$2" real.out || { cat real.out >&2; fail "real root's answer"; }
	rc=0
	(cd fake && setpriv --reuid=65534 --regid=65534 --clear-groups -- env HOME="$PWD" \
		"$FAKEBUILD" -d "$PWD/../db/fb.db" -- sh "$1") > fake.out 2>&1 || rc=$?
	echo "exit: $rc" >> fake.out
	diff real.out fake.out >&2 || fail "$3"
}
