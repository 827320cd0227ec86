# User and group names through the tree being built (issue 15, point 3):
# fakebuild --passwd FILE --group FILE / --sysroot DIR.

NAMES_FIX=$TOP/tests/e2e/fixtures/names

# A target root whose names differ from the host's: app exists only here,
# backup is 200:200 (Debian's host says 34:34), groups have members.
target() {
	mkdir -p sysroot/etc
	cat > sysroot/etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
backup:x:200:200:backup:/var/backups:/usr/sbin/nologin
app:x:1234:1234:The App,,,:/home/app:/bin/sh
EOF
	cat > sysroot/etc/group <<'EOF'
root:x:0:
daemon:x:1:
# a comment, and a group with members
audio:x:29:app
backup:x:200:
staff:x:300:backup, app
app:x:1234:
EOF
}

# fb with the target's names.
fbn() { fb --sysroot sysroot "$@"; }

# The host's ids of a name, or skip.
host_ids() {
	local ids
	ids=$(id -u "$1" 2>/dev/null):$(getent group "$1" 2>/dev/null | cut -d: -f3) || true
	case "$ids" in [0-9]*:[0-9]*) echo "$ids" ;; *) skip "the host has no user and group '$1'" ;; esac
}

probe() {
	cc -O1 -o probe "$NAMES_FIX/probe.c" 2>cc.err || skip "no C compiler: $(head -1 cc.err)"
}

test_names_chown_to_a_target_only_user() {
	target
	touch f
	! id -u app >/dev/null 2>&1 || skip "the host has a user 'app'"
	fbn chown app:app f
	assert_eq 1234:1234 "$(fb stat -c %u:%g f)" "ids recorded"
	assert_eq app:app "$(fbn stat -c %U:%G f)" "names in the session"
	fbn chgrp staff f
	assert_eq 1234:300 "$(fb stat -c %u:%g f)" "chgrp"
}

test_names_target_ids_win_over_the_host() {
	target
	[ "$(host_ids backup)" != 200:200 ] || skip "the host's backup is 200:200 too"
	touch f
	fbn chown backup:backup f
	assert_eq 200:200 "$(fb stat -c %u:%g f)" "target's backup"
	assert_eq "backup backup" "$(fbn stat -c '%U %G' f)" "named back"
}

# Without the options the host's files stay in force (the pass-through).
test_names_host_without_the_option() {
	local want
	want=$(host_ids backup)
	touch f
	fb chown backup:backup f
	assert_eq "$want" "$(fb stat -c %u:%g f)" "host's backup"
	assert_eq "" "$(fb sh -c 'echo ${FAKEBUILD_PASSWD_FILE-}${FAKEBUILD_GROUP_FILE-}')" "no variables"
}

test_names_install_owner_and_group() {
	target
	echo hi > src
	mkdir -p sysroot/usr/bin
	fbn install -o app -g audio -m 4755 src sysroot/usr/bin/x
	assert_eq "1234:29 4755" "$(fb stat -c '%u:%g %a' sysroot/usr/bin/x)"
}

test_names_ls_find_id_whoami() {
	target
	touch f g
	fbn chown app:staff f
	fb chown 200:1 g
	out=$(fbn ls -l f g | awk '{print $3, $4, $NF}')
	assert_eq "app staff f
backup daemon g" "$out" "ls -l"
	assert_eq "1234 300 f" "$(fbn ls -ln f | awk '{print $3, $4, $NF}')" "ls -ln"
	assert_eq ./f "$(fbn find . -user app)" "find -user"
	assert_eq ./f "$(fbn find . -group staff)" "find -group"
	assert_eq ./g "$(fbn find . -user backup -group daemon)" "find -user -group"
	assert_eq "uid=1234(app) gid=1234(app) groups=1234(app),29(audio),300(staff)" \
		"$(fbn id app)" "id app (getgrouplist)"
	assert_eq "root root" "$(fbn sh -c 'echo $(id -un) $(whoami)')" "id -un, whoami"
	assert_eq "uid=0(root) gid=0(root) groups=0(root)" "$(fbn id)" "id"
}

test_names_tar_headers_carry_target_names() {
	target
	mkdir d
	echo x > d/f
	echo y > d/g
	fbn chown app:staff d/f
	fb chown 200:200 d/g	# numeric: only the target names it
	fbn tar -cf a.tar -C d f g
	# Listed outside any session: names from the headers, ids as stored.
	assert_eq "app/staff backup/backup" "$(tar -tvf a.tar | awk '{printf "%s%s", s, $2; s=" "}')" "uname/gname"
	assert_eq "1234/300 200/200" \
		"$(tar -tvf a.tar --numeric-owner | awk '{printf "%s%s", s, $2; s=" "}')" "uid/gid"
}

# Extraction as root maps the header's names through the target, not the
# host: a header saying backup (uid 34) becomes the target's 200.
test_names_tar_extract_maps_names_to_target_ids() {
	target
	mkdir d out
	echo x > d/f
	tar --owner=backup:34 --group=staff:50 -cf b.tar -C d f
	fbn tar -xf b.tar -C out --same-owner
	assert_eq 200:300 "$(fb stat -c %u:%g out/f)" "extracted owner"
	# --numeric-owner keeps the header's ids.
	rm -rf out; mkdir out
	fbn tar -xf b.tar -C out --same-owner --numeric-owner
	assert_eq 34:50 "$(fb stat -c %u:%g out/f)" "numeric"
}

test_names_cpio_lists_and_writes_target_names() {
	need cpio
	target
	echo x > f
	fbn chown app:audio f
	echo f | fbn cpio -o -H newc --quiet > a.cpio
	assert_match '^-rw-r--r-- +1 app +audio ' "$(fbn cpio -tv --quiet < a.cpio)" "cpio -tv in the session"
	assert_match '^-rw-r--r-- +1 1234 +29 ' "$(cpio -tv --quiet --numeric-uid-gid < a.cpio)" "ids in newc"
	echo f | fbn cpio -o -H ustar --quiet > a.ustar
	assert_eq "app/audio" "$(tar -tvf a.ustar | awk '{print $2}')" "names in a ustar header"
}

# getent enumerates with setpwent/getpwent/endpwent and looks up with
# getpwnam, getgrnam, getgrouplist: the wrappers answer all of them.
test_names_getent_enumerates_the_target() {
	target
	assert_eq "$(grep -v '^#' sysroot/etc/passwd)" "$(fbn getent passwd)" "getent passwd"
	assert_eq "staff:x:300:backup,app" "$(fbn getent group staff)" "getent group staff"
	assert_eq "$(grep -v '^#' sysroot/etc/group | sed 's/, /,/')" "$(fbn getent group)" "getent group"
	assert_eq "app                   29 300" "$(fbn getent initgroups app)" "getent initgroups"
	assert_eq "backup:x:200:200:backup:/var/backups:/usr/sbin/nologin" "$(fbn getent passwd 200)"
}

# The library answers as glibc would from the same files: glibc itself is
# made to read them by bind-mounting them over /etc in a user namespace.
test_names_match_glibc_on_the_same_files() {
	need unshare
	probe
	target
	printf 'passwd: files\ngroup: files\n' > nsswitch.conf
	# duplicates and odd members: glibc's rules for them, too
	printf 'dup:x:300:app\nodd:x:301: ,app,,\n' >> sysroot/etc/group
	unshare -U -r -m sh -c '
		mount --bind sysroot/etc/passwd /etc/passwd &&
		mount --bind sysroot/etc/group /etc/group &&
		mount --bind nsswitch.conf /etc/nsswitch.conf &&
		exec ./probe all app 1234 staff 300' > glibc.out 2>glibc.err ||
		skip "no user namespace with bind mounts: $(head -1 glibc.err)"
	fbn ./probe all app 1234 staff 300 > fb.out
	diff glibc.out fb.out >&2 || fail "the session's answers differ from glibc's"
	grep -q "getpwnam_r(user)(len 4): rc=34 result=NULL : none errno=34" fb.out || fail "no ERANGE"
	# And the host's own files, read by glibc outside and by us inside.
	./probe all root 0 root 0 > host.out
	if fb --passwd /etc/passwd --group /etc/group true 2>check.err; then
		fb --passwd /etc/passwd --group /etc/group ./probe all root 0 root 0 > fbhost.out
		diff host.out fbhost.out >&2 || fail "the host's files: answers differ from glibc's"
	fi
}

# _r forms: a buffer too short gives ERANGE, the static forms still work.
test_names_short_buffer_gives_erange() {
	probe
	target
	out=$(fbn ./probe all app 1234 staff 300)
	for f in getpwnam_r getpwuid_r; do
		assert_match "$f\\((user|uid)\\)\\(len 4\\): rc=34 result=NULL" "$out" "$f short"
		assert_match "$f\\((user|uid)\\)\\(len 4096\\): rc=0 result=set : app:x:1234:1234:The App,,,:/home/app:/bin/sh errno=0" "$out" "$f"
	done
	assert_match "getgrnam_r\\(group\\)\\(len 4\\): rc=34 result=NULL" "$out" "getgrnam_r short"
	assert_match "getgrgid_r\\(gid\\)\\(len 4096\\): rc=0 result=set : staff:x:300:backup,app errno=0" "$out"
	assert_match "getpwent_r\\(len 4\\): rc=34 result=NULL errno=34
getpwent_r\\(len 4096\\): rc=0 : root:" "$out" "getpwent_r keeps the entry after ERANGE"
	assert_match "getpwent_r after the end: rc=2 result=NULL" "$out"
}

# A build that adds a user to the target (useradd in a maintainer
# script) and chowns to it: the next lookup sees the user, in the same
# process too, whether the file was appended to or replaced.
test_names_user_added_mid_session_is_seen() {
	need python3
	target
	touch f g
	fbn sh -c 'echo "svc:x:4321:4321::/:/bin/false" >> sysroot/etc/passwd && chown svc f'
	assert_eq 4321 "$(fb stat -c %u f)" "appended, new process"
	out=$(fbn python3 -c '
import os, pwd, grp
a = pwd.getpwnam("app").pw_uid
try:
    pwd.getpwnam("late"); print("early")
except KeyError: pass
with open("sysroot/etc/passwd", "a") as f:
    f.write("late:x:5000:5000::/:/bin/false\n")
b = pwd.getpwnam("late").pw_uid
# replaced by rename, as useradd and sed -i do
with open("sysroot/etc/group.new", "w") as f:
    f.write(open("sysroot/etc/group").read() + "late:x:5001:app\n")
os.rename("sysroot/etc/group.new", "sysroot/etc/group")
c = grp.getgrnam("late").gr_gid
os.chown("g", b, c)
print(a, b, c)')
	assert_eq "1234 5000 5001" "$out" "same process"
	assert_eq 5000:5001 "$(fb stat -c %u:%g g)"
}

test_names_initgroups_uses_target_groups() {
	need python3
	target
	out=$(fbn python3 -c '
import os
os.initgroups("app", 1234)
print(os.getgroups(), flush=True)
os.execvp("id", ["id", "-G"])')
	# Sorted, as the kernel keeps a group list.
	assert_eq "[29, 300, 1234]
0 29 300 1234" "$out"
}

test_names_passwd_alone_keeps_host_groups() {
	target
	local want
	want=$(host_ids backup)
	touch f
	fb --passwd sysroot/etc/passwd chown app:backup f
	assert_eq "1234:${want#*:}" "$(fb stat -c %u:%g f)" "user from the file, group from the host"
	assert_eq "" "$(fb --passwd sysroot/etc/passwd sh -c 'echo ${FAKEBUILD_GROUP_FILE-}')"
}

# Every process keeps the names: children, env -i, a nested fakebuild.
test_names_inherited_by_the_whole_session() {
	target
	touch f g h
	export PATH="$B/bin:$PATH"
	fbn sh -c 'env -i /bin/sh -c "chown app f" && fakebuild chown app g'
	assert_eq "1234 1234" "$(fb stat -c %u f g | tr '\n' ' ' | sed 's/ $//')"
	# A nested fakebuild may name other files.
	sed 's/^app:x:1234:/app:x:777:/' sysroot/etc/passwd > other
	fbn fakebuild --passwd other chown app h
	assert_eq 777 "$(fb stat -c %u h)" "nested --passwd"
}

test_names_missing_file_stops_before_the_command() {
	assert_status 1 fb --passwd nope touch ran
	[ ! -e ran ] || fail "the command ran"
	fb --passwd nope true 2>err || true
	assert_eq "fakebuild: $PWD/nope: No such file or directory" "$(cat err)"
	mkdir -p root/etc
	assert_status 1 fb --sysroot root touch ran
	fb --sysroot root true 2>err || true
	assert_eq "fakebuild: --sysroot root: $PWD/root/etc/passwd: No such file or directory" "$(cat err)"
	cp /etc/passwd root/etc/
	fb --sysroot root true 2>err || true
	assert_eq "fakebuild: --sysroot root: $PWD/root/etc/group: No such file or directory" "$(cat err)"
	# Read again by name during the session: a pipe or a FIFO will not do.
	mkfifo fifo
	timeout 10 "$FAKEBUILD" --passwd fifo true 2>err || true
	assert_eq "fakebuild: $PWD/fifo: not a regular file" "$(cat err)"
	fb --group root true 2>err || true
	assert_eq "fakebuild: $PWD/root: Is a directory" "$(cat err)"
	[ ! -e ran ] || fail "the command ran"
}

test_names_malformed_line_names_file_and_line() {
	target
	printf 'ok:x:1:1::/:/bin/sh\n\nbad:x:12:34\n' > p
	assert_status 1 fb --passwd p touch ran
	fb --passwd p true 2>err || true
	assert_eq "fakebuild: $PWD/p:3: 4 fields, expected 7 (name:password:uid:gid:gecos:directory:shell)" "$(cat err)"
	printf 'root:x:0:0:root:/root:/bin/sh\nx:x:abc:1:::\n' > p
	fb --passwd p true 2>err || true
	assert_eq "fakebuild: $PWD/p:2: uid 'abc' is not a number from 0 to 4294967294" "$(cat err)"
	printf 'root:x:0:\nwheel:x:1x:root\n' > g
	fb --sysroot sysroot --group g true 2>err || true
	assert_eq "fakebuild: $PWD/g:2: gid '1x' is not a number from 0 to 4294967294" "$(cat err)"
	[ ! -e ran ] || fail "the command ran"
	assert_status 1 fb --passwd p --export .
}

# Without root in the target, uid 0 has no name, as with glibc.
test_names_target_without_root() {
	target
	grep -v '^root:' sysroot/etc/passwd > p
	touch f
	assert_eq "UNKNOWN 0" "$(fb --passwd p stat -c '%U %u' f)"
	assert_eq "0" "$(fb --passwd p ls -l f | awk '{print $3}')"
}

test_names_32bit_program() {
	[ -f "$B/lib32/libfakebuild.so" ] || skip "32-bit library not built"
	target
	cc -m32 -O1 -o probe32 "$NAMES_FIX/probe.c" 2>/dev/null || skip "no 32-bit toolchain (gcc-multilib)"
	runner32 ./probe32 pwnam root || skip "$NO32"
	assert_eq "getpwnam: app:x:1234:1234:The App,,,:/home/app:/bin/sh errno=0" "$(fbn $R32 ./probe32 pwnam app)"
	assert_eq "getgrgid: staff:x:300:backup,app errno=0" "$(fbn $R32 ./probe32 grgid 300)"
	assert_eq "getgrouplist(app, 1234, room 64): rc=3 n=3: 1234 29 300" "$(fbn $R32 ./probe32 list app 1234)"
}
