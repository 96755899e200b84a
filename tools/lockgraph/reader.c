/*
 * reader.c: see reader.h. Invariant: start <= end <= size of buf; a
 * returned line lies in buf[start_before .. start), and is overwritten by
 * the next call. The bounds are asserted wherever start or end moves.
 */
#include "reader.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUF_SIZE (LG_MAX_LINE * 2 + 1)

int lg_reader_init(struct lg_reader *r, FILE *f)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->buf = malloc(BUF_SIZE + 1);
	return r->buf ? 0 : ENOMEM;
}

void lg_reader_free(struct lg_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

void lg_reader_restart(struct lg_reader *r)
{
	r->start = r->end = 0;
	r->eof = false;
	r->lineno = 0;
	r->read_errno = 0;
	clearerr(r->f);
}

/* Moves the unread bytes to the front and reads more after them. */
static int fill(struct lg_reader *r)
{
	size_t n;

	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
	n = fread(r->buf + r->end, 1, BUF_SIZE - r->end, r->f);
	r->end += n;
	assert(r->start <= r->end && r->end <= BUF_SIZE);
	if (n == 0 && ferror(r->f)) {
		r->read_errno = errno;
		return EIO;
	}
	if (n == 0)
		r->eof = true;
	return 0;
}

static int take_line(struct lg_reader *r, char *nl, char **line, size_t *len)
{
	char *p = r->buf + r->start;

	*len = (size_t)(nl - p);
	if (*len > LG_MAX_LINE)
		return EMSGSIZE;
	if (memchr(p, '\0', *len))
		return EILSEQ;
	*nl = '\0';
	*line = p;
	r->start += *len + 1;
	assert(r->start <= r->end);
	return 0;
}

int lg_reader_next(struct lg_reader *r, char **line, size_t *len)
{
	r->lineno++;
	for (;;) {
		char *p = r->buf + r->start;
		char *nl = memchr(p, '\n', r->end - r->start);
		int err;

		if (nl)
			return take_line(r, nl, line, len);
		if (r->end - r->start > LG_MAX_LINE)
			return EMSGSIZE;
		if (r->eof)
			return r->end > r->start ? EPIPE : ENODATA;
		err = fill(r);
		if (err)
			return err;
	}
}
