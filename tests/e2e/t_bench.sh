# The benchmark's smoke run (bench/run --smoke): every workload bare, under
# fakebuild, fakeroot and pseudo on a tiny tree, once, with its correctness
# checks.  Root only (the bare runs do the real chown and mknod).
roottest_bench_smoke() {
	command -v fakeroot >/dev/null 2>&1 || skip "fakeroot not installed"
	command -v pseudo >/dev/null 2>&1 || skip "pseudo not installed"
	local disks
	disks=$(ls -d /var/tmp/fbbench-disk.* 2>/dev/null || true)
	B="$B" FB_BENCH_OUT="$PWD/smoke" "$TOP/bench/run" --smoke
	# W8's floor (bare plus one exec and a statx per node) ran, was
	# checked like the others, and fakebuild is reported against it.
	grep -q '^| W8 | [0-9.]* | [0-9.]* | [0-9.]*x |' smoke/results.md || fail "no floor time in W8's row"
	grep -q '^- W8: fakebuild [0-9.]* ms is [0-9.]*x the floor' smoke/results.md ||
		fail "fakebuild not reported against W8's floor"
	python3 -c 'import json,sys; d = json.load(open(sys.argv[1]))
w8 = [w for w in d["workloads"] if w["name"] == "W8"][0]["tools"]
assert w8["floor"]["status"] == "ok" and w8["fakebuild"]["over_floor"] > 0' smoke/results.json ||
		fail "results.json lacks W8's floor"
	# fakebuild-disk ran W0 and W1 with its database on /var/tmp, where
	# that is a disk, and only those; and left nothing there.
	if [ "$(stat -f -c %T /var/tmp)" != tmpfs ]; then
		python3 -c 'import json,sys; d = {w["name"]: w["tools"] for w in json.load(open(sys.argv[1]))["workloads"]}
assert all(d[w]["fakebuild-disk"]["status"] == "ok" and d[w]["fakebuild-disk"]["ratio"] > 0 for w in ("W0", "W1"))
assert d["W2"]["fakebuild-disk"]["status"] == "no runs"' smoke/results.json ||
			fail "fakebuild-disk did not run W0 and W1 alone: $(grep '^| W[01] ' smoke/results.md)"
	fi
	assert_eq "$disks" "$(ls -d /var/tmp/fbbench-disk.* 2>/dev/null || true)" "bench/run's disk directories"
}

# The report must come out whichever awk is installed (mawk or gawk: a
# variable named like a gawk builtin once killed it under gawk).
roottest_bench_report_awks() {
	command -v fakeroot >/dev/null 2>&1 || skip "fakeroot not installed"
	command -v pseudo >/dev/null 2>&1 || skip "pseudo not installed"
	local a n=0
	for a in mawk gawk; do
		command -v $a >/dev/null 2>&1 || continue
		mkdir -p bin.$a && ln -sf "$(command -v $a)" bin.$a/awk
		PATH="$PWD/bin.$a:$PATH" B="$B" FB_BENCH_OUT="$PWD/r.$a" "$TOP/bench/run" --smoke \
			--workloads W0 --tools "bare fakebuild" --no-extra >out.$a 2>&1 ||
			fail "bench/run with $a: $(tail -n 3 out.$a)"
		grep -q '^| W0 | [0-9]' "$PWD/r.$a/results.md" || fail "no W0 row with $a"
		python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$PWD/r.$a/results.json" ||
			fail "results.json from $a does not parse"
		n=$((n + 1))
	done
	[ $n -gt 0 ] || skip "neither mawk nor gawk installed"
}

# Each run's watchdog is a job forked right after the run.  If the run ends
# before the watchdog has reset the signal handlers it inherited, killing
# it ran bench/run's own traps in the watchdog, and its cleanup removed the
# work directory under the next run (seen in CI).  Here every such second
# job is held for 300 ms just after its fork, so the kill always lands in
# that window: the runs and the report must be whole all the same.
roottest_bench_watchdog_killed_early_keeps_the_work() {
	cat >slowjob.c <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
static pid_t main_shell, prev_child;
__attribute__((constructor)) static void init(void) { main_shell = getpid(); }
pid_t fork(void)
{
	pid_t (*real)(void) = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork");
	/* A job forked while the shell's previous child still runs. */
	int second = prev_child > 0 && kill(prev_child, 0) == 0;
	pid_t p = real();
	if (p > 0)
		prev_child = p;
	else if (p == 0 && second && getppid() == main_shell) {
		int e = errno;
		nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
		errno = e;
	}
	return p;
}
C
	cc -shared -fPIC -o slowjob.so slowjob.c -ldl
	LD_PRELOAD=$PWD/slowjob.so FB_BENCH_FILES=50 FB_BENCH_NODES=5 FB_BENCH_SHORT_RUNS=4 B="$B" \
		FB_BENCH_OUT="$PWD/r" "$TOP/bench/run" --workloads "W0 W8 W2" --tools bare --no-extra \
		--runs 3 --warmup 0 >out 2>&1 || { tail -n 5 out >&2; fail "bench/run failed"; }
	! grep -q 'FAIL\|No such file' out || { cat out >&2; fail "a run lost its work directory"; }
	grep -q '^| W8 | [0-9]' r/results.md || fail "no W8 row"
	# The short workloads get their own number of runs, the others --runs.
	assert_eq "W0 4 W2 3 W8 4" "$(awk -F '\t' '$4 == 1 { n[$1]++ } END { for (w in n) print w, n[w] }' \
		r/runs.tsv | sort | tr '\n' ' ' | sed 's/ $//')" "counted runs"
}
