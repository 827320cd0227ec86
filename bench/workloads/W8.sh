#!/bin/sh
# W8: one C program (W8.c, built by the driver) makes FB_BENCH_NODES
# character devices with mknod(2), then stats a sample of them: the cost
# of the call itself and of starting and ending the session, with no
# process start-up per node (W5 has that).  Builtins only around it.
# Usage: W8.sh TREE OUT
set -e
T=$1 O=$2
read -r n <"$O/nodes"
case $0 in */*) d=${0%/*} ;; *) d=. ;; esac
exec "$d/W8" "$T/dev" "$n" "$O/seen"
