/*
 * archive_dl.h - libarchive for build roots, loaded only when a root
 * needs it (an archive to unpack, --keep).  Included by unpack.c, walk.c
 * and root.c instead of <archive.h>.
 *
 * Why not link it: libarchive brings fourteen more libraries (ICU,
 * libstdc++, libcrypto, ...), whose loading cost every fakebuild start
 * 2.5 ms of CPU (measured: plain `fakebuild true`, 5 ms -> 8 ms), and a
 * plain session must not pay for build roots.  Each function below is
 * called through a pointer filled by fb_archive_load(); the names keep
 * their libarchive prototypes.
 */
#ifndef FB_ARCHIVE_DL_H
#define FB_ARCHIVE_DL_H

#include <archive.h>
#include <archive_entry.h>

#define FB_ARCHIVE_FUNCS(X)                                                            \
	X(archive_entry_free) X(archive_entry_gid) X(archive_entry_hardlink)           \
	X(archive_entry_mode) X(archive_entry_new) X(archive_entry_pathname)           \
	X(archive_entry_rdevmajor) X(archive_entry_rdevminor)                          \
	X(archive_entry_set_filetype) X(archive_entry_set_gid)                         \
	X(archive_entry_set_hardlink) X(archive_entry_set_mode)                        \
	X(archive_entry_set_mtime) X(archive_entry_set_pathname)                       \
	X(archive_entry_set_perm) X(archive_entry_set_rdev) X(archive_entry_set_size)  \
	X(archive_entry_set_symlink) X(archive_entry_set_uid) X(archive_entry_size)    \
	X(archive_entry_uid) X(archive_entry_xattr_add_entry)                          \
	X(archive_entry_xattr_clear) X(archive_entry_xattr_next)                       \
	X(archive_entry_xattr_reset) X(archive_error_string) X(archive_errno)         \
	X(archive_clear_error) X(archive_format)                                       \
	X(archive_read_data_block) X(archive_read_free) X(archive_read_new)            \
	X(archive_read_next_header) X(archive_read_open_filename)                      \
	X(archive_read_support_filter_all) X(archive_read_support_format_all)          \
	X(archive_write_close) X(archive_write_data) X(archive_write_data_block)        \
	X(archive_write_disk_new) X(archive_write_disk_set_options)                    \
	X(archive_write_finish_entry) X(archive_write_free) X(archive_write_header)    \
	X(archive_write_new) X(archive_write_open_filename)                            \
	X(archive_write_add_filter_by_name) X(archive_write_set_format_filter_by_ext)

#define FB_ARCHIVE_PTR(f) __typeof__(&f) f;
struct fb_archive_api {
	FB_ARCHIVE_FUNCS(FB_ARCHIVE_PTR)
};
#undef FB_ARCHIVE_PTR
extern struct fb_archive_api fb_ar;

/* Load libarchive once; dies naming what is missing. */
void fb_archive_load(void);

/* A's format and filter from the name of the archive it writes; also for
 * names libarchive before 3.7 does not know (.tar.zst, .txz, .cpio.gz).
 * ARCHIVE_OK, or not when the name says no format we can write. */
int fb_archive_write_set_by_name(struct archive *a, const char *name);

/* libarchive's reason for A's failure, into BUF, with the system's where
 * it has one ("Write failed: No space left on device"); A NULL: out of memory. */
const char *fb_archive_why(struct archive *a, char *buf, size_t len);

/* The same for a reader A: "unexpected end of data" where libarchive says
 * nothing (its readers fail a short read so), without the codes it gives
 * format errors (EILSEQ, EINVAL), which are not the system's. */
const char *fb_archive_read_why(struct archive *a, char *buf, size_t len);

/* Every call below goes through the table. */
#ifndef FB_ARCHIVE_DL_IMPL
#define archive_entry_free (*fb_ar.archive_entry_free)
#define archive_entry_gid (*fb_ar.archive_entry_gid)
#define archive_entry_hardlink (*fb_ar.archive_entry_hardlink)
#define archive_entry_mode (*fb_ar.archive_entry_mode)
#define archive_entry_new (*fb_ar.archive_entry_new)
#define archive_entry_pathname (*fb_ar.archive_entry_pathname)
#define archive_entry_rdevmajor (*fb_ar.archive_entry_rdevmajor)
#define archive_entry_rdevminor (*fb_ar.archive_entry_rdevminor)
#define archive_entry_set_filetype (*fb_ar.archive_entry_set_filetype)
#define archive_entry_set_gid (*fb_ar.archive_entry_set_gid)
#define archive_entry_set_hardlink (*fb_ar.archive_entry_set_hardlink)
#define archive_entry_set_mode (*fb_ar.archive_entry_set_mode)
#define archive_entry_set_mtime (*fb_ar.archive_entry_set_mtime)
#define archive_entry_set_pathname (*fb_ar.archive_entry_set_pathname)
#define archive_entry_set_perm (*fb_ar.archive_entry_set_perm)
#define archive_entry_set_rdev (*fb_ar.archive_entry_set_rdev)
#define archive_entry_set_size (*fb_ar.archive_entry_set_size)
#define archive_entry_set_symlink (*fb_ar.archive_entry_set_symlink)
#define archive_entry_set_uid (*fb_ar.archive_entry_set_uid)
#define archive_entry_size (*fb_ar.archive_entry_size)
#define archive_entry_uid (*fb_ar.archive_entry_uid)
#define archive_entry_xattr_add_entry (*fb_ar.archive_entry_xattr_add_entry)
#define archive_entry_xattr_clear (*fb_ar.archive_entry_xattr_clear)
#define archive_entry_xattr_next (*fb_ar.archive_entry_xattr_next)
#define archive_entry_xattr_reset (*fb_ar.archive_entry_xattr_reset)
#define archive_error_string (*fb_ar.archive_error_string)
#define archive_errno (*fb_ar.archive_errno)
#define archive_clear_error (*fb_ar.archive_clear_error)
#define archive_format (*fb_ar.archive_format)
#define archive_read_data_block (*fb_ar.archive_read_data_block)
#define archive_read_free (*fb_ar.archive_read_free)
#define archive_read_new (*fb_ar.archive_read_new)
#define archive_read_next_header (*fb_ar.archive_read_next_header)
#define archive_read_open_filename (*fb_ar.archive_read_open_filename)
#define archive_read_support_filter_all (*fb_ar.archive_read_support_filter_all)
#define archive_read_support_format_all (*fb_ar.archive_read_support_format_all)
#define archive_write_close (*fb_ar.archive_write_close)
#define archive_write_data (*fb_ar.archive_write_data)
#define archive_write_data_block (*fb_ar.archive_write_data_block)
#define archive_write_disk_new (*fb_ar.archive_write_disk_new)
#define archive_write_disk_set_options (*fb_ar.archive_write_disk_set_options)
#define archive_write_finish_entry (*fb_ar.archive_write_finish_entry)
#define archive_write_free (*fb_ar.archive_write_free)
#define archive_write_header (*fb_ar.archive_write_header)
#define archive_write_new (*fb_ar.archive_write_new)
#define archive_write_open_filename (*fb_ar.archive_write_open_filename)
#define archive_write_add_filter_by_name (*fb_ar.archive_write_add_filter_by_name)
#define archive_write_set_format_filter_by_ext (*fb_ar.archive_write_set_format_filter_by_ext)
#endif

#endif
