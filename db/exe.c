/*
 * exe.c - static programs and the PATH search of execvp (see exe.h).
 */
#include <elf.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "exe.h"

/* Has the note segment of FD at OFF (LEN bytes) Go's build ID note
 * (name "Go", type 4), which Go's linker puts in every program? */
static int go_note(int fd, uint64_t off, uint64_t len)
{
	unsigned char n[1024];
	if (len > sizeof n)
		len = sizeof n;	/* Go's note comes first in its segment */
	ssize_t got = pread(fd, n, (size_t)len, (off_t)off);
	for (size_t p = 0; got > 0 && p + 12 <= (size_t)got;) {
		uint32_t w[3];	/* namesz, descsz, type */
		memcpy(w, n + p, sizeof w);
		size_t name = p + 12, desc = name + ((w[0] + 3u) & ~3u);
		if (w[0] > sizeof n || w[1] > sizeof n || desc > (size_t)got)
			break;
		if ((w[0] == 3 || w[0] == 4) && w[2] == 4 && memcmp(n + name, "Go", 3) == 0)
			return 1;
		p = desc + ((w[1] + 3u) & ~3u);
	}
	return 0;
}

int fb_elf_unfaked(int fd)
{
	union {
		unsigned char ident[EI_NIDENT];
		Elf64_Ehdr e64;
		Elf32_Ehdr e32;
	} h;
	if (pread(fd, &h, sizeof h, 0) < (ssize_t)sizeof h.e32 || memcmp(h.ident, ELFMAG, SELFMAG) != 0)
		return 0;	/* a script, or too short to be a program */
	int is64 = h.ident[EI_CLASS] == ELFCLASS64;
	unsigned type = is64 ? h.e64.e_type : h.e32.e_type;
	if (type != ET_EXEC && type != ET_DYN)
		return 0;
	uint64_t off = is64 ? h.e64.e_phoff : h.e32.e_phoff;
	unsigned num = is64 ? h.e64.e_phnum : h.e32.e_phnum;
	unsigned size = is64 ? h.e64.e_phentsize : h.e32.e_phentsize;
	unsigned want = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (num == 0 || num > 128 || size < want)
		return 0;	/* not something we understand: assume dynamic */
	unsigned char ph[128 * sizeof(Elf64_Phdr)];
	if (size > sizeof(Elf64_Phdr) * 2)
		return 0;
	size_t len = (size_t)num * size;
	if (len > sizeof ph || pread(fd, ph, len, (off_t)off) != (ssize_t)len)
		return 0;
	int interp = 0, go = 0;
	for (unsigned i = 0; i < num; i++) {
		const unsigned char *e = ph + (size_t)i * size;
		uint32_t pt;
		memcpy(&pt, e, sizeof pt);	/* p_type is first in both classes */
		if (pt == PT_INTERP)
			interp = 1;
		if (pt != PT_NOTE || go)
			continue;
		Elf64_Phdr p64;
		Elf32_Phdr p32;
		if (is64)
			memcpy(&p64, e, sizeof p64);
		else
			memcpy(&p32, e, sizeof p32);
		go = go_note(fd, is64 ? p64.p_offset : p32.p_offset, is64 ? p64.p_filesz : p32.p_filesz);
	}
	return go ? FB_ELF_GO : interp ? 0 : FB_ELF_STATIC;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

int fb_is_qemu_user(const char *path)
{
	return strncmp(base_name(path), "qemu-", 5) == 0;
}

int fb_elf_is_loader(const char *path)
{
	const char *b = base_name(path);
	return strncmp(b, "ld-", 3) == 0 || strncmp(b, "ld.so", 5) == 0 || strncmp(b, "ld64.so", 7) == 0 ||
	       fb_is_qemu_user(b);
}

int fb_exec_search(const char *file, const char *search, char *out, size_t len)
{
	size_t fl = strlen(file);
	if (strchr(file, '/')) {
		if (fl >= len)
			return -1;
		memcpy(out, file, fl + 1);
		return 0;
	}
	if (!fl || fl > NAME_MAX)
		return -1;
	if (!search)
		search = "/bin:/usr/bin";
	for (const char *d = search;; d++) {
		size_t dl = strcspn(d, ":");
		if (dl + fl + 2 <= len) {
			memcpy(out, d, dl);
			size_t off = dl;
			if (dl)
				out[off++] = '/';
			memcpy(out + off, file, fl + 1);
			if (access(out, X_OK) == 0)
				return 0;
		}
		d += dl;
		if (!*d)
			return -1;
	}
}
