# Root file system images made in a session are what real root makes.
# Root builds a small tree (owners, setuid and setgid files, a sticky
# directory, devices, a FIFO, an owned symlink, a hard link, a file
# capability); the unprivileged user builds the same tree in a session.
# Each image builder then makes an image of each tree, and the builder's
# own reader lists both images: owner, group, mode, type, device numbers,
# link count and capabilities must agree entry for entry.  The listings
# are read as root; the session's image is made as the unprivileged user.
# Capabilities are compared where the format and its reader keep them:
# ext4 (debugfs) and squashfs.  erofs and JFFS2 (mkfs.jffs2 --with-xattr)
# store them, but fsck.erofs 1.5 extracts no xattrs and jffs2reader lists
# none (nor devices); genext2fs, cramfs and ISO 9660 have none.

img_tree() {
	local d=$1
	mkdir -p "$d/etc" "$d/dev" "$d/usr/bin" "$d/var/spool/at" "$d/home/bob"
	echo hi >"$d/etc/f" && chown 5:6 "$d/etc/f" && chmod 640 "$d/etc/f"
	ln "$d/etc/f" "$d/etc/hard"
	cp /bin/true "$d/usr/bin/su" && chmod 4755 "$d/usr/bin/su"
	cp /bin/true "$d/usr/bin/wall" && chown 0:5 "$d/usr/bin/wall" && chmod 2755 "$d/usr/bin/wall"
	cp /bin/true "$d/usr/bin/ping" && setcap cap_net_raw+ep "$d/usr/bin/ping"
	mknod "$d/dev/null" c 1 3 && chmod 666 "$d/dev/null"
	mknod "$d/dev/sda" b 8 0 && chown 0:6 "$d/dev/sda" && chmod 660 "$d/dev/sda"
	mknod "$d/dev/ttyS0" c 4 64 && chown 0:20 "$d/dev/ttyS0"
	mkfifo "$d/var/fifo" && chown 7:8 "$d/var/fifo"
	ln -s ../etc/f "$d/usr/link" && chown -h 9:10 "$d/usr/link"
	chown 1:1 "$d/var/spool/at" && chmod 1770 "$d/var/spool/at"
	chown 1000:1000 "$d/home/bob" && chmod 700 "$d/home/bob"
	echo s >"$d/home/bob/.profile" && chown 1000:1000 "$d/home/bob/.profile" &&
		chmod 600 "$d/home/bob/.profile"
}

# img_both MAKE: MAKE is a shell command run with $1 = tree and $2 =
# image, by root on real/t into real/img and in a session as the
# unprivileged user on fake/t into fake/img.
img_both() {
	need setcap setpriv
	rm -rf real fake
	mkdir -p real fake && chown 65534:65534 fake
	img_tree real/t
	sh -ec "$1" sh real/t real/img >real/log 2>&1 || { cat real/log; fail "as root: $1"; }
	setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		env HOME="$PWD/fake" FAKEBUILD_DB="$PWD/fake/fb.db" IMG_MAKE="$1" \
		"$FAKEBUILD" -- bash -ec "$(declare -f img_tree); img_tree fake/t;"' sh -ec "$IMG_MAKE" sh fake/t fake/img' \
		>fake/log 2>&1 || { cat fake/log; fail "in a session: $1"; }
}

# The files of an extracted tree, one line each, and their capabilities.
img_list_tree() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
		stat -c '%n %u:%g %a %F %t,%T %h' "$p"
		[ -f "$p" ] && [ ! -L "$p" ] && getcap "$p"
	done) | grep -v lost+found
}

# img_same LISTER: LISTER IMAGE lists an image; both images' listings
# must be equal, and root's must show what the tree has.
img_same() {
	local lister=$1 real fake
	real=$("$lister" real/img) || fail "$lister real/img failed"
	fake=$("$lister" fake/img) || fail "$lister fake/img failed"
	[[ "$real" == *bob* && "$real" == *wall* && "$real" == *fifo* ]] ||
		fail "root's image lists too little: $real"
	assert_eq "$real" "$fake" "$lister: the session's image against root's"
}

# Extractors, as root: the reader writes the tree with its owners.
list_by_extracting() { # CMD... (with {} for the directory): extract, then list
	local x
	x=$(mktemp -d "$PWD/x.XXXXXX") && rmdir "$x"
	"${@//\{\}/$x}" >/dev/null 2>&1 || { echo "extraction failed: $*" >&2; return 1; }
	img_list_tree "$x"
	rm -rf "$x"
}
list_squashfs() { list_by_extracting unsquashfs -no-progress -d {} "$1"; }
list_erofs() { list_by_extracting fsck.erofs --extract={} --preserve "$1"; }
list_cramfs() { list_by_extracting fsck.cramfs --extract={} "$1"; }

# ext2/3/4 through debugfs: each path's type, mode, owner, links, device
# numbers and extended attributes.
list_ext() {
	local p
	(cd real/t && find . -mindepth 1 | LC_ALL=C sort | cut -c2-) | while read -r p; do
		echo "$p"
		debugfs -R "stat \"$p\"" "$1" 2>/dev/null |
			grep -E '^(Inode:|User:|Links:|Device major|  [a-z]+\.)' |
			sed -E 's/^Inode: *[0-9]+ *//; s/ *Flags:.*//; s/ *Project:.*//; s/ *Blockcount:.*//'
	done
}

# ISO 9660 with Rock Ridge, through xorriso (dates and sizes left out).
list_iso() {
	xorriso -indev "$1" -find / -exec lsdl -- 2>/dev/null |
		awk '{ $6 = $7 = $8 = ""; if ($1 !~ /^[cb]/) $5 = ""; print }' | LC_ALL=C sort
}

# JFFS2 through jffs2reader, which lists no device nodes.
list_jffs2() {
	jffs2reader "$1" -d / -r 2>/dev/null | LC_ALL=C sort
}

roottest_image_ext4_mke2fs_d() {
	need mke2fs debugfs
	img_both 'mke2fs -q -t ext4 -d "$1" "$2" 16M'
	img_same list_ext
	[[ "$(list_ext real/img)" == *security.capability* ]] || fail "mke2fs kept no capability"
}

roottest_image_genext2fs() {
	need genext2fs debugfs
	img_both 'genext2fs -d "$1" -b 8192 "$2"'
	img_same list_ext
}

roottest_image_squashfs() {
	need mksquashfs unsquashfs
	img_both 'mksquashfs "$1" "$2" -quiet -no-progress'
	img_same list_squashfs
	[[ "$(list_squashfs real/img)" == *cap_net_raw* ]] || fail "mksquashfs kept no capability"
}

roottest_image_erofs() {
	need mkfs.erofs fsck.erofs
	img_both 'mkfs.erofs --quiet "$2" "$1"'
	img_same list_erofs
}

roottest_image_cramfs() {
	need mkfs.cramfs fsck.cramfs
	img_both 'mkfs.cramfs "$1" "$2"'
	img_same list_cramfs
}

roottest_image_jffs2() {
	need mkfs.jffs2 jffs2reader
	img_both 'mkfs.jffs2 -r "$1" -o "$2"'
	img_same list_jffs2
}

roottest_image_iso_rock_ridge() {
	need xorriso
	img_both 'xorriso -as mkisofs -quiet -R -o "$2" "$1"'
	img_same list_iso
	if command -v genisoimage >/dev/null; then
		img_both 'genisoimage -quiet -R -o "$2" "$1"'
		img_same list_iso
	fi
}
