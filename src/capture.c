/* \summary: capture sources: pcap and pcapng files, stdin, live interfaces (libpcap) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdrmin/capture.h"

#define CAPTURE_BUFFER_BYTES (32 << 20)
#include "cdrmin/decomp.h"

struct cm_capture {
	pcap_t *p;
	int dlt;
	int live;
	int fd;              /* live: the descriptor to wait on */
	unsigned timeout_ms; /* live: how long one wait lasts */
	uint64_t frames;
	struct cm_zfile *zf;  /* a file: the stream libpcap reads (decompressed when compressed) */
	char name[128];
};

static struct cm_capture *alloc_capture(const char *name, int live, struct cm_err *err)
{
	struct cm_capture *c = calloc(1, sizeof *c);

	if (!c) {
		cm_err_set(err, CM_E_NOMEM, "out of memory");
		return NULL;
	}
	c->live = live;
	snprintf(c->name, sizeof c->name, "%s%s", live ? "interface " : "", name);
	return c;
}

struct cm_capture *cm_capture_open_file(const char *path, struct cm_err *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct cm_capture *c;
	int stdin_ = strcmp(path, "-") == 0;

	struct stat st;
	FILE *fp;
	int fd;

	c = alloc_capture(stdin_ ? "stdin" : path, 0, err);
	if (!c)
		return NULL;
	fd = stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		int e = fd >= 0 && S_ISDIR(st.st_mode) ? EISDIR : errno;

		cm_err_set(err, CM_E_NOINPUT, "%s: cannot read: %s", c->name, strerror(e));
		if (fd > 0)
			close(fd);
		free(c);
		return NULL;
	}
	/* gzip and zstd captures are decompressed on the way (decomp.h) */
	fp = cm_zfile_open(fd, !stdin_, &c->zf, err);
	if (!fp) {
		if (!stdin_)
			close(fd);
		free(c);
		return NULL;
	}
	/* libpcap reads pcap and pcapng; microseconds whatever the file's precision */
	c->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!c->p) {
		const char *why = *cm_zfile_error(c->zf) ? cm_zfile_error(c->zf) : ebuf;

		cm_err_set(err, CM_E_DATA, "%s: cannot read as a capture: %s", c->name, why);
		fclose(fp);
		free(c);
		return NULL;
	}
	c->dlt = pcap_datalink(c->p);
	return c;
}

struct cm_capture *cm_capture_open_live(const char *iface, const char *bpf, unsigned timeout_ms,
					struct cm_err *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct cm_capture *c = alloc_capture(iface, 1, err);
	struct bpf_program prog;
	int rc;

	if (!c)
		return NULL;
	c->p = pcap_create(iface, ebuf);
	if (!c->p) {
		cm_err_set(err, CM_E_NOINPUT, "%s: %s", c->name, ebuf);
		goto fail;
	}
	if (pcap_set_snaplen(c->p, 262144) != 0 || pcap_set_promisc(c->p, 0) != 0 ||
	    pcap_set_immediate_mode(c->p, 1) != 0 || pcap_set_timeout(c->p, (int)timeout_ms) != 0 ||
	    /*
	     * The kernel ring: libpcap's default 2 MiB holds only a few frames
	     * of 256 KiB snaplen, and a burst of signalling overflows it while
	     * the filter is busy. 32 MiB rides out bursts of thousands.
	     */
	    pcap_set_buffer_size(c->p, CAPTURE_BUFFER_BYTES) != 0) {
		cm_err_set(err, CM_E_INTERNAL, "%s: cannot set capture options", c->name);
		goto fail;
	}
	rc = pcap_activate(c->p);
	if (rc < 0) {
		enum cm_errcode code = rc == PCAP_ERROR_PERM_DENIED ? CM_E_KEY
				       : rc == PCAP_ERROR_NO_SUCH_DEVICE ? CM_E_NOINPUT
									  : CM_E_IO;

		cm_err_set(err, code, "%s: cannot capture: %s%s", c->name, pcap_geterr(c->p),
			   code == CM_E_KEY ? " (live capture needs CAP_NET_RAW)" : "");
		goto fail;
	}
	if (bpf && *bpf) {
		if (pcap_compile(c->p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
			cm_err_set(err, CM_E_USAGE, "--bpf: %s", pcap_geterr(c->p));
			goto fail;
		}
		rc = pcap_setfilter(c->p, &prog);
		pcap_freecode(&prog);
		if (rc != 0) {
			cm_err_set(err, CM_E_IO, "%s: cannot set the filter: %s", c->name, pcap_geterr(c->p));
			goto fail;
		}
	}
	/*
	 * libpcap's own read timeout does not return while nothing arrives
	 * (Linux, TPACKET_V3): the capture is non-blocking and waits in poll(),
	 * so that a stop and the flush of an idle stream are never held up.
	 */
	c->fd = pcap_get_selectable_fd(c->p);
	if (c->fd < 0 || pcap_setnonblock(c->p, 1, ebuf) != 0) {
		cm_err_set(err, CM_E_IO, "%s: cannot wait on the capture: %s", c->name, ebuf);
		goto fail;
	}
	c->timeout_ms = timeout_ms;
	c->dlt = pcap_datalink(c->p);
	return c;
fail:
	cm_capture_close(c);
	return NULL;
}

int cm_capture_next(struct cm_capture *c, struct cm_frame *f, struct cm_err *err)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(c->p, &h, &data);

	if (rc == 0 && c->live) {
		/* nothing ready: wait one timeout for the descriptor (a signal ends it too) */
		struct pollfd pfd = {c->fd, POLLIN, 0};
		int k = poll(&pfd, 1, (int)c->timeout_ms);

		if (k <= 0)
			return 2;
		rc = pcap_next_ex(c->p, &h, &data);
	}
	switch (rc) {
	case 1:
		f->dlt = c->dlt;
		f->sec = (int64_t)h->ts.tv_sec;
		f->usec = (uint32_t)h->ts.tv_usec;
		f->data = data;
		f->caplen = h->caplen;
		f->len = h->len;
		f->no = ++c->frames;
		return 1;
	case 0:
		return 2; /* live: the timeout passed */
	case PCAP_ERROR_BREAK:
		return 0;
	default:
		/* libpcap names what it refused (a truncated record, a bad block), or the decompressor */
		return cm_err_set(err, c->live ? CM_E_IO : CM_E_DATA, "%s: after frame %llu: %s", c->name,
				  (unsigned long long)c->frames,
				  c->zf && *cm_zfile_error(c->zf) ? cm_zfile_error(c->zf) : pcap_geterr(c->p));
	}
}

uint64_t cm_capture_dropped(struct cm_capture *c)
{
	struct pcap_stat st;

	if (!c->live || pcap_stats(c->p, &st) != 0)
		return 0;
	return (uint64_t)st.ps_drop + st.ps_ifdrop;
}

uint64_t cm_capture_bytes_in(const struct cm_capture *c)
{
	return c->zf ? cm_zfile_bytes_in(c->zf) : 0;
}

const char *cm_capture_name(const struct cm_capture *c)
{
	return c->name;
}

void cm_capture_break(struct cm_capture *c)
{
	pcap_breakloop(c->p);
}

void cm_capture_close(struct cm_capture *c)
{
	if (!c)
		return;
	if (c->p)
		pcap_close(c->p);
	free(c);
}
