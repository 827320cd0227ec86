# Correctness checks of the workloads, sourced by bench/run.  check_WN TREE
# OUT runs as root after the session has ended and looks at what the session
# wrote into OUT (what it saw inside: owners, modes, listings).  It prints
# one line saying what is wrong and returns non-zero when the run is wrong;
# a wrong run is marked FAIL and its time never counts.
# $NENT (entries in the tree, including its root) and $NRULES, $NNODES are
# set by the driver.

# The sample stat lines "uid gid mode type": all 0 0, and go-w applied.
_seen_root() { # FILE WANT_GOW(1/0)
	awk -v gow="$2" '
	{ n++ }
	$1 != 0 || $2 != 0 { print "owner " $1 ":" $2 " in line " NR ": " $0; bad = 1; exit }
	gow && $4 == "directory" && $3 != "755" { print "dir mode " $3; bad = 1; exit }
	gow && $4 ~ /regular/ && $3 != "644" { print "file mode " $3; bad = 1; exit }
	END { if (!bad && n == 0) { print "no stat output"; bad = 1 } exit bad }' "$1"
}

check_W0() { :; }

check_W1() { _seen_root "$2/seen" 1; }

check_W2() {
	local bad
	[ -s "$2/tree.tar" ] || { echo "no archive"; return 1; }
	bad=$(tar -tvf "$2/tree.tar" | awk -v want="$NENT" '
		$2 != "root/root" { print "entry " $6 " owned " $2; bad = 1; exit }
		{ n++ }
		END { if (!bad && n != want) print "archive has " n " entries, tree " want }')
	[ -z "$bad" ] || { echo "$bad"; return 1; }
	bad=$(tar --numeric-owner -tvf "$2/tree.tar" | awk '$2 != "0/0" { print "numeric owner " $2; exit }')
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

check_W3() {
	awk -v want="$((NENT * 5))" '
	!/^root root / { print "line " NR ": " $0; bad = 1; exit }
	{ n++ }
	END { if (!bad && n != want) { print n " lines, expected " want; bad = 1 } exit bad }' "$2/find"
}

check_W4() {
	local got
	got=$(awk '{ $1 = $1; print }' "$2/seen" 2>/dev/null)
	[ "$got" = "$NRULES 0 0 755" ] || { echo "installed files: '$got', expected '$NRULES 0 0 755'"; return 1; }
}

check_W5() {
	awk -v want="$NNODES" '
	/^total/ { next }
	$1 !~ /^c/ || $3 != 0 || $4 != 0 || $5 != "10," { print "entry: " $0; bad = 1; exit }
	{ n++ }
	END { if (!bad && n != want) { print n " nodes, expected " want; bad = 1 } exit bad }' "$2/ls"
}

check_W6() {
	[ -s "$2/seen.src" ] || { echo "no stat output"; return 1; }
	cmp -s "$2/seen.src" "$2/seen.copy" || {
		paste -d '|' "$2/samples" "$2/seen.src" "$2/seen.copy" | awk -F'|' '$2 != $3 {
			print "copy differs (uid gid mode type size) at " $1 ": source " $2 ", copy " $3; exit }'
		return 1; }
	awk '$1 > 0 { ok = 1 } END { exit !ok }' "$2/du" || { echo "du: $(cat "$2/du")"; return 1; }
}

check_W7() {
	local got
	got=$(awk '{ $1 = $1; print }' "$2/final" 2>/dev/null)
	[ "$got" = "$NENT root root" ] || { echo "final walk: '$got', expected '$NENT root root'"; return 1; }
}

# Every 100th node and the last, as the program saw them: root's character
# device 10,i (mode 020xxx in octal).
check_W8() {
	awk -v want="$NNODES" '
	{ n++; last = $1 }
	($1 % 100 && $1 != want) || $2 != 0 || $3 != 0 || $4 !~ /^20[0-7][0-7][0-7]$/ || $5 != 10 || $6 != $1 {
		print "node: " $0; bad = 1; exit }
	END {
		if (!bad && (last != want || n != int(want / 100) + (want % 100 != 0))) {
			print n " nodes seen, last " last ", expected up to " want; bad = 1 }
		exit bad }' "$2/seen"
}
