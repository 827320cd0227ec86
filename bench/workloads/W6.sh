#!/bin/sh
# W6: cp -a of the tree, then du of the copy; the sample paths are stat'ed
# in the source and in the copy (they must agree).
# Usage: W6.sh TREE OUT
set -e
T=$1 O=$2
cp -a "$T" "$O/copy"
du -s "$O/copy" >"$O/du"
(cd "$T" && xargs stat -c '%u %g %a %F %s' <"$O/samples") >"$O/seen.src"
(cd "$O/copy" && xargs stat -c '%u %g %a %F %s' <"$O/samples") >"$O/seen.copy"
