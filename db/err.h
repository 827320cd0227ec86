/*
 * err.h - the error handle of db/: the library never prints; it leaves
 * one message ("FILE: what is wrong") for the tool to print.
 */
#ifndef FB_ERR_H
#define FB_ERR_H

struct fb_err {
	char msg[1024];
};

__attribute__((format(printf, 2, 3)))
int fb_err_set(struct fb_err *err, const char *fmt, ...);

#endif
