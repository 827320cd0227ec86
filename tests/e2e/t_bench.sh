# The benchmark's smoke run (bench/run --smoke): every workload bare, under
# fakebuild, fakeroot and pseudo on a tiny tree, once, with its correctness
# checks.  Root only (the bare runs do the real chown and mknod).
roottest_bench_smoke() {
	command -v fakeroot >/dev/null 2>&1 || skip "fakeroot not installed"
	command -v pseudo >/dev/null 2>&1 || skip "pseudo not installed"
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
