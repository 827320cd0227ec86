/*
 * exe.h - is the program an exec would run statically linked?  Nothing is
 * preloaded into such a program, so both the preload library's exec
 * wrappers (preload/exec.c) and the fakebuild command, which execs a
 * session's first program itself, warn about it.  libc only.
 */
#ifndef FB_EXE_H
#define FB_EXE_H

#include <stddef.h>

/* An ELF executable without PT_INTERP (the kernel runs it with no loader)? */
int fb_elf_is_static(int fd);

/* Is PATH the dynamic loader itself (no PT_INTERP either; ldd runs it)? */
int fb_elf_is_loader(const char *path);

/*
 * The file execvp(FILE) would run, searching SEARCH (a PATH value) as
 * glibc does: FILE itself if it has a slash, else the first DIR/FILE that
 * access(X_OK) accepts.  0 with OUT (LEN bytes) set, or -1.
 */
int fb_exec_search(const char *file, const char *search, char *out, size_t len);

#endif
