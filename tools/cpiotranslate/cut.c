/*
 * cut.c - ending an output written in place (stdout, a device, a FIFO)
 * after an error, so that no reader takes it for a whole archive.
 *
 * Leaving out the trailer is not enough.  libarchive writes whole blocks
 * of OUT_BLOCK bytes; when the last one sent ends on a member boundary,
 * GNU tar and bsdtar take a tar without its end blocks for complete (and
 * bsdtar an empty file for an empty archive).  So after what was sent we
 * write a line of text, too short for a header: libarchive fails on it
 * ("Truncated tar archive"), as do cpio readers (a cpio archive must end
 * with its trailer), and no compressed stream ends with it.  GNU tar drops
 * a short last block unread, so an uncompressed tar gets whole blocks of
 * the text before it, which GNU tar finds where a header should be (a bad
 * checksum: it fails) and libarchive retries past.  Not so for cpio: GNU
 * cpio reports every byte of such text as a malformed header.
 *
 * Where a header should be: the blocks sent may end inside a member, whose
 * rest a reader takes from our text.  Between entries (an error comes
 * before the entry's header), the member cut is the one that ends at the
 * first entry boundary at or after the cut, which we know: the text covers
 * it and goes a block past.  Inside an entry (its data cut short), the
 * member ends past the cut: the short piece alone leaves its data short,
 * which both readers fail on, where whole blocks could end exactly with it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "cpiotranslate.h"

#define CUT_LINE "\n*** " PROG ": the archive is cut short here by an error ***\n"
#define TAR_BLOCK 512

static struct {
	int fd;			/* -1: no output in place, or already cut */
	struct archive *out;
	bool blocks;		/* an uncompressed tar: offsets in it are offsets in the output */
	int64_t block;		/* libarchive's output block */
	int64_t win;		/* the output block of... */
	int64_t first;		/* ...the first entry boundary in it */
	bool in_entry;		/* a header written, its data not all */
} cut = { .fd = -1 };

/* Bytes the format has written so far: the offset in an unfiltered output. */
static int64_t offset(void)
{
	return archive_filter_bytes(cut.out, 0);
}

static void boundary(void)
{
	int64_t o = offset();

	if (o / cut.block != cut.win) {
		cut.win = o / cut.block;
		cut.first = o;
	}
}

void cut_init(int fd, struct archive *out, bool blocks, int64_t block)
{
	cut.fd = fd;
	cut.out = out;
	cut.blocks = blocks;
	cut.block = block;
	cut.win = -1;
	boundary();
}

void cut_entry(bool begin)
{
	if (cut.fd < 0)
		return;
	cut.in_entry = begin;
	if (!begin)
		boundary();
}

static void put(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(cut.fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		/* After a write error this fails too, and would say nothing new. */
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

void cut_output(void)
{
	static const char line[] = CUT_LINE;
	char buf[TAR_BLOCK];
	int64_t blocks = 0;

	if (cut.fd < 0)
		return;
	if (cut.blocks && !cut.in_entry) {
		boundary();
		/* what the block sent last holds of the member that ends at cut.first, and one */
		blocks = 1 + (cut.first - cut.win * cut.block + TAR_BLOCK - 1) / TAR_BLOCK;
	}
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = line[i % (sizeof line - 1)];
	while (blocks-- > 0)
		put(buf, sizeof buf);
	put(line, sizeof line - 1);
	cut.fd = -1;
}
