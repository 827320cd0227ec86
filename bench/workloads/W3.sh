#!/bin/sh
# W3: chown -R 0:0, then five find -printf walks (stat-heavy).  Every line
# of the output must start with "root root".
# Usage: W3.sh TREE OUT
set -e
T=$1 O=$2
chown -R 0:0 "$T"
for i in 1 2 3 4 5; do
	find "$T" -printf '%u %g %m %p\n'
done >"$O/find"
