/*
 * reader.h: lines of a file, each at most LG_MAX_LINE bytes, from one
 * fixed buffer: memory stays bounded whatever the input (a multi-gigabyte
 * line is an error after LG_MAX_LINE bytes, not an allocation).
 */
#ifndef LOCKGRAPH_READER_H
#define LOCKGRAPH_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LG_MAX_LINE 65536 /* bytes, newline excluded */

struct lg_reader {
	FILE *f;
	char *buf;	   /* LG_MAX_LINE * 2 + 1 bytes */
	size_t start, end; /* unread bytes are buf[start .. end) */
	bool eof;	   /* f has no more bytes */
	uint64_t lineno;   /* number of the line last returned */
	int read_errno;	   /* errno of a failed read */
};

/* 0 or ENOMEM. The reader does not own f. */
int lg_reader_init(struct lg_reader *r, FILE *f);
void lg_reader_free(struct lg_reader *r);

/* Forgets what was read, for reading f again after the caller moved it
 * back (fseeko): the next line is line 1. */
void lg_reader_restart(struct lg_reader *r);

/*
 * The next line, without its newline, NUL-terminated in place. Returns 0;
 * ENODATA at the end of the file; EMSGSIZE for a line over LG_MAX_LINE;
 * EPIPE for a last line without a newline (a cut file); EILSEQ for a NUL
 * byte; EIO for a read error (its errno in r->read_errno). r->lineno is
 * the offending line's number.
 */
int lg_reader_next(struct lg_reader *r, char **line, size_t *len);

#endif /* LOCKGRAPH_READER_H */
