/*
 * fd.c - calls after which a descriptor number (or the working directory)
 * may name another file.  They change nothing but fb_fd_generation,
 * which retires the remembered directory paths of record.c.
 */
#include <fcntl.h>
#include <unistd.h>

#include "fb.h"

FB_EXPORT int close(int fd)
{
	FB_REAL(close);
	fb_fd_changed();
	return real_close ? real_close(fd) : fb_enosys("close");
}

FB_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	FB_REAL(close_range);
	fb_fd_changed();
	return real_close_range ? real_close_range(first, last, flags) : fb_enosys("close_range");
}

FB_EXPORT void closefrom(int low)
{
	FB_REAL(closefrom);
	fb_fd_changed();
	if (real_closefrom)
		real_closefrom(low);
}

FB_EXPORT int dup2(int old, int new)
{
	FB_REAL(dup2);
	fb_fd_changed();
	return real_dup2 ? real_dup2(old, new) : fb_enosys("dup2");
}

FB_EXPORT int dup3(int old, int new, int flags)
{
	FB_REAL(dup3);
	fb_fd_changed();
	return real_dup3 ? real_dup3(old, new, flags) : fb_enosys("dup3");
}

FB_EXPORT int chdir(const char *path)
{
	FB_REAL(chdir);
	fb_fd_changed();
	return real_chdir ? real_chdir(path) : fb_enosys("chdir");
}

FB_EXPORT int fchdir(int fd)
{
	FB_REAL(fchdir);
	fb_fd_changed();
	return real_fchdir ? real_fchdir(fd) : fb_enosys("fchdir");
}
