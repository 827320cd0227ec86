# The benchmark's smoke run (bench/run --smoke): every workload bare, under
# fakebuild, fakeroot and pseudo on a tiny tree, once, with its correctness
# checks.  Root only (the bare runs do the real chown and mknod).
roottest_bench_smoke() {
	command -v fakeroot >/dev/null 2>&1 || skip "fakeroot not installed"
	command -v pseudo >/dev/null 2>&1 || skip "pseudo not installed"
	B="$B" "$TOP/bench/run" --smoke
}
