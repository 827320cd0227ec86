/*
 * format.c - which archive formats and filters cpiotranslate reads and
 * writes, and the limits of their headers.  libarchive does the work; this
 * file only maps what its reader reports to the matching writer.
 */
#include <string.h>
#include "cpiotranslate.h"

/*
 * A plain ustar entry read from a tar stream is written with the
 * restricted pax writer: entries that fit ustar come out as ustar, and an
 * entry that needs an extended header (long name, xattrs) gets one, as
 * bsdtar's default output does.  Numeric ids of plain ustar entries are
 * still held to the ustar limit by the caller (no silent switch to pax).
 */
static const struct outfmt formats[] = {
	{ "newc", ARCHIVE_FORMAT_CPIO_SVR4_NOCRC, archive_write_set_format_cpio_newc,
	  0xffffffffu, LINK_LAST, 512 },
	{ "odc", ARCHIVE_FORMAT_CPIO_POSIX, archive_write_set_format_cpio_odc,
	  0777777, LINK_EVERY, 512 },
	{ "bin", ARCHIVE_FORMAT_CPIO_BIN_LE, archive_write_set_format_cpio_bin,
	  0xffff, LINK_EVERY, 512 },
	{ "ustar", ARCHIVE_FORMAT_TAR_USTAR, archive_write_set_format_ustar,
	  USTAR_ID_MAX, LINK_FIRST, 10240 },
	{ "pax", ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE, archive_write_set_format_pax,
	  UINT64_MAX, LINK_FIRST, 10240 },
	{ "gnutar", ARCHIVE_FORMAT_TAR_GNUTAR, archive_write_set_format_gnutar,
	  UINT64_MAX, LINK_FIRST, 10240 },
	{ "v7", ARCHIVE_FORMAT_TAR, archive_write_set_format_v7tar,
	  USTAR_ID_MAX, LINK_FIRST, 10240 },
	/* Not selectable by name: the writer for ustar input (see above). */
	{ "ustar (pax restricted)", ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
	  archive_write_set_format_pax_restricted, UINT64_MAX, LINK_FIRST, 10240 },
};
#define NFORMATS (sizeof formats / sizeof formats[0])

const struct outfmt *outfmt_by_name(const char *name)
{
	if (strcmp(name, "gnu") == 0)
		name = "gnutar";
	if (strcmp(name, "cpio") == 0)
		name = "odc";
	for (size_t i = 0; i + 1 < NFORMATS; i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

static const struct outfmt *outfmt_by_code(int code)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (formats[i].code == code)
			return &formats[i];
	return NULL;
}

const char *format_label(int code)
{
	switch (code) {
	case ARCHIVE_FORMAT_CPIO_SVR4_CRC: return "cpio crc (070702)";
	case ARCHIVE_FORMAT_CPIO_SVR4_NOCRC: return "cpio newc (070701)";
	case ARCHIVE_FORMAT_CPIO_POSIX: return "cpio odc (070707)";
	case ARCHIVE_FORMAT_CPIO_BIN_LE: return "cpio bin (little-endian)";
	case ARCHIVE_FORMAT_CPIO_BIN_BE: return "cpio bin (big-endian)";
	case ARCHIVE_FORMAT_CPIO_AFIO_LARGE: return "cpio afio large";
	case ARCHIVE_FORMAT_CPIO_PWB: return "cpio pwb";
	case ARCHIVE_FORMAT_TAR: return "tar v7";
	case ARCHIVE_FORMAT_TAR_USTAR: return "tar ustar";
	case ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE: return "tar pax";
	case ARCHIVE_FORMAT_TAR_GNUTAR: return "GNU tar";
	default: return "unknown";
	}
}

const struct outfmt *outfmt_for_input(int code, const char **why)
{
	*why = NULL;
	switch (code) {
	case ARCHIVE_FORMAT_CPIO_BIN_BE:
		/* libarchive writes bin in little-endian order only. */
		code = ARCHIVE_FORMAT_CPIO_BIN_LE;
		break;
	case ARCHIVE_FORMAT_TAR_USTAR:
		code = ARCHIVE_FORMAT_TAR_PAX_RESTRICTED;
		break;
	case ARCHIVE_FORMAT_CPIO_SVR4_CRC:
	case ARCHIVE_FORMAT_CPIO_AFIO_LARGE:
	case ARCHIVE_FORMAT_CPIO_PWB:
		*why = "libarchive cannot write this format";
		return NULL;
	}
	const struct outfmt *f = outfmt_by_code(code);
	if (!f)
		*why = "not a tar or cpio format";
	return f;
}

enum link_conv input_link_conv(int code)
{
	switch (code) {
	case ARCHIVE_FORMAT_CPIO_SVR4_NOCRC:
	case ARCHIVE_FORMAT_CPIO_SVR4_CRC:
		return LINK_LAST;
	case ARCHIVE_FORMAT_CPIO_POSIX:
	case ARCHIVE_FORMAT_CPIO_BIN_LE:
	case ARCHIVE_FORMAT_CPIO_BIN_BE:
	case ARCHIVE_FORMAT_CPIO_AFIO_LARGE:
	case ARCHIVE_FORMAT_CPIO_PWB:
		return LINK_EVERY;
	default:
		return LINK_FIRST;
	}
}

static const struct {
	const char *name;
	int code;
} filters[] = {
	{ "none", ARCHIVE_FILTER_NONE },
	{ "gzip", ARCHIVE_FILTER_GZIP },
	{ "bzip2", ARCHIVE_FILTER_BZIP2 },
	{ "xz", ARCHIVE_FILTER_XZ },
	{ "lzma", ARCHIVE_FILTER_LZMA },
	{ "zstd", ARCHIVE_FILTER_ZSTD },
	{ "lz4", ARCHIVE_FILTER_LZ4 },
	{ "lzip", ARCHIVE_FILTER_LZIP },
	{ "compress", ARCHIVE_FILTER_COMPRESS },
};

int filter_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
		if (strcmp(filters[i].name, name) == 0)
			return filters[i].code;
	return -1;
}

const char *filter_names(void)
{
	return "none, gzip, bzip2, xz, lzma, zstd, lz4, lzip, compress";
}

const char *format_names(void)
{
	return "newc, odc, bin, ustar, pax, gnutar, v7";
}
