/*
 * cdrmin: whole reads and writes on a file descriptor.
 *
 * The kernel may move fewer bytes than asked, and a signal may interrupt a
 * call: these retry until all is done, the end of the file, or a real
 * error (errno set).
 */
#ifndef CDRMIN_FDIO_H
#define CDRMIN_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to n bytes from fd into p. Returns the bytes read (less than n only at end of file), or -1. */
ssize_t cm_read_full(int fd, unsigned char *p, size_t n);

/* Reads up to n bytes of fd at offset off (pread). Returns as cm_read_full. */
ssize_t cm_pread_full(int fd, unsigned char *p, size_t n, uint64_t off);

/* Writes all n bytes of p to fd. Returns 0 or -1. */
int cm_write_full(int fd, const unsigned char *p, size_t n);

#endif
