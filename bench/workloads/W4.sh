#!/bin/sh
# W4: make -j2 install of a generated makefile with one
# `install -o root -g root -m 0755` rule per file (process start-up cost).
# The driver writes OUT/W4.mk.  Then one find reports what the session sees.
# Usage: W4.sh TREE OUT
set -e
T=$1 O=$2
mkdir -p "$O/dest"
make -s -j2 -f "$O/W4.mk" SRC="$T/d0/m0/l0/f0" D="$O/dest" install
find "$O/dest" -type f -printf '%U %G %m\n' | sort | uniq -c >"$O/seen"
