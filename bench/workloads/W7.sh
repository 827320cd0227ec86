#!/bin/sh
# W7: a parallel mix: make -j8 with, for every top-level directory, one job
# chowning and chmodding it and one job statting it (find, ls -lR) at the
# same time; then one walk of the whole tree, which must be all root root.
# Usage: W7.sh TREE OUT
set -e
T=$1 O=$2
mk=$O/W7.mk
all=
: >"$mk"
for d in "$T"/*/; do
	d=${d%/}; n=${d##*/}
	all="$all c_$n s_$n l_$n"
	printf 'c_%s:\n\tchown -R 0:0 %s && chmod -R go-w %s\n' "$n" "$d" "$d" >>"$mk"
	printf 's_%s:\n\tfind %s -printf "%%u %%g %%m %%p\\n" >%s/s_%s\n' "$n" "$d" "$O" "$n" >>"$mk"
	printf 'l_%s:\n\tls -lR %s >/dev/null\n' "$n" "$d" >>"$mk"
done
printf 'all:%s\n\tchown 0:0 %s\n\tfind %s -printf "%%u %%g\\n" | sort | uniq -c >%s/final\n' \
	"$all" "$T" "$T" "$O" >>"$mk"
make -s -j8 -f "$mk" all
