#!/bin/sh
# W1: chown -R 0:0, then chmod -R go-w; then what the session sees of a
# sample of paths (one stat process, negligible next to the 2 tree walks).
# Usage: W1.sh TREE OUT
set -e
T=$1 O=$2
chown -R 0:0 "$T"
chmod -R go-w "$T"
cd "$T"
xargs stat -c '%u %g %a %F' <"$O/samples" >"$O/seen"
