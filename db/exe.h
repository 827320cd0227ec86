/*
 * exe.h - is the program an exec would run one the library cannot fake:
 * statically linked (nothing is preloaded into it), or a Go program (its
 * runtime makes system calls itself, even when the program is
 * dynamically linked)?  Both the preload library's exec wrappers
 * (preload/exec.c) and the fakebuild command, which execs a session's
 * first program itself, warn about it.  libc only.
 */
#ifndef FB_EXE_H
#define FB_EXE_H

#include <stddef.h>

#define FB_ELF_STATIC 1	/* an ELF executable without PT_INTERP: no loader runs */
#define FB_ELF_GO 2	/* Go's build ID note: Go's linker made it, static or not */

/* FB_ELF_STATIC, FB_ELF_GO, or 0 for any other file. */
int fb_elf_unfaked(int fd);

/*
 * Is PATH a static program that runs a dynamic program's own loader, so
 * that the preload still works: the dynamic loader itself (ldd runs it),
 * or a qemu user-mode emulator (qemu-i386-static PROG: PROG's loader
 * preloads the library of PROG's ELF class)?
 */
int fb_elf_is_loader(const char *path);
/* Is PATH a qemu user-mode emulator (qemu-*), whose program the library checks instead? */
int fb_is_qemu_user(const char *path);

/*
 * The file execvp(FILE) would run, searching SEARCH (a PATH value) as
 * glibc does: FILE itself if it has a slash, else the first DIR/FILE that
 * access(X_OK) accepts.  0 with OUT (LEN bytes) set, or -1.
 */
int fb_exec_search(const char *file, const char *search, char *out, size_t len);

#endif
