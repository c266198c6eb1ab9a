/*
 * cdrmin: frames from capture files and interfaces (libpcap).
 *
 * A capture source gives frames one by one with their link type and
 * capture time: a pcap or pcapng file ("-" for stdin), or an interface
 * captured live in immediate mode with an optional BPF filter. libpcap
 * checks the files' framing (a record longer than the snapshot length, a
 * pcapng block claiming more than it holds); what it refuses ends that
 * source with an error naming it and the frame.
 */
#ifndef CDRMIN_CAPTURE_H
#define CDRMIN_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/err.h"

struct cm_capture;

/* One frame, valid until the next call. */
struct cm_frame {
	int dlt;          /* link type (pcap_datalink) */
	int64_t sec;
	uint32_t usec;
	const uint8_t *data;
	size_t caplen, len;
	uint64_t no;      /* 1-based frame number in the source */
};

/*
 * Opens a pcap or pcapng file, or stdin for "-", decompressed on the way
 * when it is gzip or zstd (decomp.h). CM_E_NOINPUT (missing, unreadable, a
 * directory) or CM_E_DATA (not a capture) on failure.
 */
struct cm_capture *cm_capture_open_file(const char *path, struct cm_err *err);

/*
 * Opens iface for live capture: snapshot length 262144, not promiscuous,
 * immediate mode, a read timeout of timeout_ms (so that the caller can
 * check for a stop and flush while no frame comes), and the BPF filter
 * bpf when not NULL. CM_E_NOINPUT (no such interface), CM_E_KEY (no
 * capture rights, CAP_NET_RAW: exit 77 like a key one cannot read),
 * CM_E_USAGE (a bad filter) on failure.
 */
struct cm_capture *cm_capture_open_live(const char *iface, const char *bpf, unsigned timeout_ms,
					struct cm_err *err);

/*
 * The next frame: 1 and *f filled, 0 at the end of a file, 2 when a live
 * capture's timeout passed without a frame, CM_FAIL with err set (CM_E_DATA
 * for a damaged file, naming the source and frame; CM_E_IO).
 */
int cm_capture_next(struct cm_capture *c, struct cm_frame *f, struct cm_err *err);

/* Frames the kernel dropped (live capture), or 0. */
uint64_t cm_capture_dropped(struct cm_capture *c);

/* Bytes read from a capture file so far (compressed bytes when compressed); 0 when live. */
uint64_t cm_capture_bytes_in(const struct cm_capture *c);

/* A name for messages ("stdin", the path, "interface lo"). */
const char *cm_capture_name(const struct cm_capture *c);

/* Makes a blocked cm_capture_next return (safe from a signal handler). */
void cm_capture_break(struct cm_capture *c);

void cm_capture_close(struct cm_capture *c);

#endif
