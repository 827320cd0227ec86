/*
 * mount.c - mount.  Core: mount_core.
 *
 * A session can mount only where the kernel lets the real user: inside a
 * user namespace that owns its mount namespace (a build root, `unshare -U
 * -r -m`).  There every mount is made for real; the one request faked is
 * the one a root-made build needs and a user namespace cannot honour as
 * asked: a devpts whose uid= or gid= option names an id the namespace
 * does not map (mmdebstrap and sbuild mount the target's /dev/pts with
 * gid=5, the tty group; the kernel refuses it with EINVAL).  It is mounted
 * without those options: the ptys belong to the namespace's root, mode=
 * and ptmxmode= still apply.  Everything else, refusals included (sysfs
 * without the network namespace, proc without the pid namespace), is the
 * kernel's answer: the tools that build roots fall back by themselves
 * (mmdebstrap bind-mounts /sys and /proc, debootstrap ignores the
 * failure), and a mount that pretended to succeed would hide an empty
 * directory from them.  See fakebuild(7), "Mounts and device nodes".
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fb.h"

/* Is ID mapped by the user namespace (MAP: /proc/self/uid_map or gid_map)?
 * 1 yes, 0 no, -1 unknown (no /proc). */
static int id_mapped(const char *map, unsigned long long id)
{
	FB_REAL(open);
	FB_REAL(close);
	if (!real_open || !real_close)
		return -1;
	char buf[512];
	fb_guard++;
	int fd = real_open(map, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		real_close(fd);
	fb_guard--;
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* Lines "inside outside count", numbers padded with spaces. */
	const char *s = buf;
	while (*s) {
		unsigned long long v[3];
		int i = 0;
		for (; i < 3; i++) {
			while (*s == ' ')
				s++;
			if (fb_parse_ull(&s, &v[i]) < 0)
				break;
		}
		if (i == 3 && id >= v[0] && id - v[0] < v[2])
			return 1;
		s = strchr(s, '\n');
		if (!s)
			break;
		s++;
	}
	return 0;
}

/*
 * DATA without the uid=N and gid=N options the namespace cannot map, in
 * OUT; returns how many were dropped (0: nothing to retry).
 */
static int drop_unmapped(const char *data, char *out, size_t len)
{
	size_t o = 0;
	int dropped = 0;
	while (*data) {
		size_t n = strcspn(data, ",");
		const char *map = strncmp(data, "uid=", 4) == 0 ? "/proc/self/uid_map"
				: strncmp(data, "gid=", 4) == 0 ? "/proc/self/gid_map" : NULL;
		unsigned long long id;
		const char *num = data + 4;
		if (map && fb_parse_ull(&num, &id) == 0 && num == data + n && id_mapped(map, id) == 0) {
			dropped++;
		} else {
			if (o + n + 2 > len)
				return 0;
			if (o)
				out[o++] = ',';
			memcpy(out + o, data, n);
			o += n;
		}
		data += n;
		if (*data == ',')
			data++;
	}
	out[o] = 0;
	return dropped;
}

static int mount_core(const char *src, const char *tgt, const char *type, unsigned long flags,
		      const void *data)
{
	FB_REAL(mount);
	if (!real_mount)
		return -ENOSYS;
	if (real_mount(src, tgt, type, flags, data) == 0)
		return 0;
	int e = errno;
	char opts[1024];
	if (e == EINVAL && type && strcmp(type, "devpts") == 0 && data &&
	    !(flags & (MS_REMOUNT | MS_BIND | MS_MOVE)) &&
	    strlen(data) < sizeof opts && drop_unmapped(data, opts, sizeof opts) > 0) {
		fb_debug(1, "mount devpts on %s: without the unmapped ids of \"%s\"", tgt,
			 (const char *)data);
		return real_mount(src, tgt, type, flags, opts) == 0 ? 0 : -errno;
	}
	return -e;
}

FB_EXPORT int mount(const char *src, const char *tgt, const char *type, unsigned long flags,
		    const void *data)
{
	FB_PROLOGUE(mount, src, tgt, type, flags, data);
	return fb_ret(mount_core(src, tgt, type, flags, data));
}
