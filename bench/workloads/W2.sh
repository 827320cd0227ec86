#!/bin/sh
# W2: chown -R 0:0, then tar -cf of the tree (the listing is checked
# outside the session: every entry must say root/root).
# Usage: W2.sh TREE OUT
set -e
T=$1 O=$2
chown -R 0:0 "$T"
tar -cf "$O/tree.tar" -C "$T" .
