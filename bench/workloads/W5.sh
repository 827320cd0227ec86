#!/bin/sh
# W5: one mknod process per device node (FB_BENCH_NODES, from OUT/nodes),
# then ls -ln of them.
# Usage: W5.sh TREE OUT
set -e
T=$1 O=$2
n=$(cat "$O/nodes")
mkdir "$T/dev"
i=1
while [ "$i" -le "$n" ]; do
	mknod "$T/dev/c$i" c 10 "$i"
	i=$((i + 1))
done
ls -ln "$T/dev" >"$O/ls"
