/*
 * \summary: -j N: records filtered by N threads, written in input order
 *
 * The main thread reads each source in chunks that end at a line feed and
 * queues them; N - 1 worker threads and the main thread, each with its own
 * pipeline and pseudonym engine, filter the chunks in queue order into
 * memory (the main thread while it waits for the chunk to write next);
 * the main thread writes each chunk's output, rejections and counters in
 * input order.
 *
 * A plain file (not stdin, not compressed; chunks of CM_PAR_RANGE_MIN
 * bytes or more) is not read by the main thread past its header: each
 * chunk is a range of the file that its thread reads itself and that
 * holds the records starting in it (read_range), so the bytes are read
 * and parsed on the same core; line numbers are added up in order as the
 * chunks are written (range_fix).
 *
 * A chunk is cut at a line feed without knowing whether that LF ends a
 * record (a quoted CSV field may hold one, a line may be over-long): a
 * worker decodes its chunk as if it started at a record, and says whether
 * it ended at one. When it did not, the chunks after it in that source
 * were decoded from a wrong start: their results are dropped, and the main
 * thread filters the rest of that source itself with the lead pipeline,
 * from the worker's decoder state at the end of the chunk. The output is
 * the same bytes as with one thread either way; only the speed differs.
 *
 * CSV with a header: every chunk of a source after its first is decoded
 * after the source's header line (kept by the reader), so that each worker
 * names the columns and judges the header as a single pipeline would.
 * Until a good header has been seen, every header the reader meets is
 * also shown to every worker and to the lead (which writes the output
 * header at the first good one), in order, with the queue empty.
 *
 * Captures (format sip): the lead reads them and runs the packet stage
 * (IP and TCP reassembly carry state from frame to frame, and cost little);
 * the SIP messages it finds are framed into chunks (each message with its
 * metadata) that the workers decode and filter. Every message stands alone
 * there, so every chunk ends clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cdrmin/csv.h"
#include "cdrmin/fdio.h"
#include "cdrmin/io.h"
#include "cdrmin/parallel.h"
#include "cdrmin/pseudo.h"

enum job_state { J_FREE = 0, J_READY, J_TAKEN, J_DONE };

struct job {
	enum job_state state;
	uint64_t seq;
	size_t src;         /* index of the source */
	const char *name;   /* its name, as the reader shows it */
	char *in;           /* the chunk */
	size_t n, cap;
	uint64_t line, offset;
	int sip;            /* framed SIP messages (sip_hand), not bytes of a source */
	int first;          /* first chunk of its source: starts at its header, if any */
	int last;           /* the source ends with it */
	int stopped;        /* ... because a stop ended the input */
	/*
	 * A range of a plain file (read_ranges): the worker reads it itself,
	 * with pread on fd, from file position fpos to fend (UINT64_MAX: to
	 * the end), and keeps the records that start in it; the chunk is then
	 * in[at..at+n), and its line number is only known when the chunks
	 * before it are written (line is a stand-in until then).
	 */
	int range;
	int fd;
	uint64_t fpos, fend;
	uint64_t doff;      /* file position of the source's data offset 0 (a byte order mark) */
	size_t at, got;
	int feof;
	uint64_t lines;     /* line feeds in the chunk */
	/* results */
	struct cm_buf out;
	uint64_t records;   /* records in out */
	struct cm_stats st;
	struct cm_rejection *rej;
	size_t nrej, rejcap;
	size_t used;        /* bytes of in consumed */
	int clean;          /* ended at a record boundary */
	struct cm_mem_state ms; /* the decoder at the end, when not clean */
	int rc;
	struct cm_err err;
};

/* A source's header line (csv with a header), kept for every chunk after the first. */
struct header {
	char *p;
	size_t n;
	uint64_t lines;
	int known;          /* looked for (p may be NULL: none found in reach) */
	char *name;         /* the source's name, for its chunks (the source closes before they are written) */
	/* read in ranges: the file (a duplicate, open until its last chunk is written) */
	int fd;
	uint64_t wline;     /* the line of the next chunk to write */
	int handed;         /* the lead read the rest itself: its chunks still queued are dropped */
	uint64_t nqueued, nwritten; /* its chunks */
	int reader_done;    /* no more are queued */
};

struct par;

struct worker {
	struct par *par;
	pthread_t th;
	int started;
	struct cm_pipeline *pl;
	struct cm_pseudo *ps;
	struct cm_sink sink;
	struct job *cur;    /* its rejections are collected into */
	int rej_oom;
	struct cm_buf hdr;  /* scratch copy of a header (decoding unescapes in place) */
};

struct par {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct job *ring;
	size_t nring;
	uint64_t next_seq;   /* the next chunk the reader queues */
	uint64_t next_take;  /* the next chunk a worker takes */
	uint64_t next_write; /* the next chunk written */
	int quit;
	struct worker *w;
	unsigned nw;         /* w[0..nw-1) are threads; w[nw-1] is the main thread's own */
	const struct cm_pipeline_opts *o;
	struct cm_pipeline *lead;
	struct cm_sink *sink;
	struct header *hdr; /* per source */
	size_t nsrc;
	/* the source the lead filters itself (SIZE_MAX: none), and its unconsumed bytes */
	size_t seq_src;
	struct cm_buf carry;
	int seq_done;        /* that source has ended */
	int header_ok;       /* a good header has been seen: no more priming */
	/* captures: the messages framed since the last chunk was queued, and the captures' names */
	struct cm_buf batch;
	size_t chunk;
	size_t reach;        /* the most a chunk is read past its range for its last record */
	struct cm_par_opts *po;
	char **names;
	size_t nnames;
};

static struct job *slot(struct par *p, uint64_t seq)
{
	return &p->ring[seq % p->nring];
}

/* Whether the reader may fill j (read under the lock: a worker may be setting its state). */
static int slot_free(struct par *p, const struct job *j)
{
	int free_;

	pthread_mutex_lock(&p->mu);
	free_ = j->state == J_FREE;
	pthread_mutex_unlock(&p->mu);
	return free_;
}

/* A worker's rejection, kept for the main thread to report in order. */
static void collect(void *ud, const struct cm_rejection *r)
{
	struct worker *w = ud;
	struct job *j = w->cur;

	if (j->nrej == j->rejcap) {
		size_t cap = j->rejcap ? 2 * j->rejcap : 64;
		struct cm_rejection *v = realloc(j->rej, cap * sizeof *v);

		if (!v) {
			w->rej_oom = 1;
			return;
		}
		j->rej = v;
		j->rejcap = cap;
	}
	j->rej[j->nrej++] = *r;
}

static void stats_delta(struct cm_stats *d, const struct cm_stats *a, const struct cm_stats *b)
{
	size_t i;

	d->read = b->read - a->read;
	d->written = 0; /* counted when the main thread writes the bytes */
	d->filtered = b->filtered - a->filtered;
	d->rejected = b->rejected - a->rejected;
	for (i = 0; i < CM_REJ__COUNT; i++)
		d->by_reason[i] = b->by_reason[i] - a->by_reason[i];
	d->bytes_in = 0; /* the reader counts the sources' bytes */
	d->other = b->other - a->other;
}

/* Decodes the source's header line into pl (the first chunk carries it itself). */
static int feed_header(struct worker *w, struct cm_pipeline *pl, const struct header *h,
		       const char *name, struct cm_err *err)
{
	cm_buf_reset(&w->hdr);
	cm_buf_add(&w->hdr, h->p, h->n);
	if (w->hdr.oom)
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	return cm_pipeline_mem_feed(pl, name, w->hdr.p, h->n, 0, err) < 0 ? CM_FAIL : 0;
}

/*
 * A chunk of SIP messages, each framed as its metadata, its length and
 * its bytes (sip_hand), decoded and filtered one by one.
 */
static int run_sip(struct worker *w, struct job *j)
{
	size_t at = 0;

	while (at < j->n) {
		struct cm_pkt_meta m;
		size_t len;

		memcpy(&m, j->in + at, sizeof m);
		memcpy(&len, j->in + at + sizeof m, sizeof len);
		at += sizeof m + sizeof len;
		if (cm_pipeline_mem_sip(w->pl, j->name, &m, j->in + at, len, &j->err) != 0)
			return CM_FAIL;
		at += len;
	}
	j->used = j->n;
	j->clean = 1;
	return 0;
}

/*
 * Lines in b[0..n): the line feeds. SSE2: 16 bytes to a compare, whose
 * matches (-1 each) are summed bytewise for up to 255 blocks, then added up.
 */
static uint64_t count_lf(const char *b, size_t n)
{
	uint64_t lf = 0;
	size_t i = 0;
#if defined(__SSE2__)
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();

	while (n - i >= 16) {
		__m128i acc = zero, sum;
		unsigned k;

		for (k = 0; k < 255 && n - i >= 16; k++, i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(b + i));

			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nl));
		}
		sum = _mm_sad_epu8(acc, zero);
		lf += (uint64_t)_mm_cvtsi128_si64(sum);
		lf += (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
	}
#endif
	for (; i < n; i++)
		lf += b[i] == '\n';
	return lf;
}

/*
 * j's input buffer, made room for n bytes, its first keep kept (a slot's
 * buffer is reused; an old one is wiped). Chunks end at the last line feed
 * read, so their sizes jitter by a line: a buffer grown by a quarter more
 * than asked is not grown again for every chunk a few bytes longer than
 * the last, each time on fresh pages.
 */
static int slot_grow(struct job *j, size_t n, size_t keep, struct cm_err *err)
{
	size_t cap;
	char *nb;

	if (j->cap >= n && j->in)
		return 0;
	cap = n + n / 4 + 1; /* an empty last chunk still has a buffer */
	if (!(nb = malloc(cap)))
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	if (j->in) {
		if (keep)
			memcpy(nb, j->in, keep);
		sodium_memzero(j->in, j->cap);
		free(j->in);
	}
	j->in = nb;
	j->cap = cap;
	return 0;
}

/*
 * j->in holds at least need bytes of the file from position s0 (fewer at
 * its end: j->feof), read with pread; the buffer grows as a slot's does
 * (slot_grow), the old one wiped.
 */
static int range_read(struct job *j, uint64_t s0, size_t need, const char *name,
		      struct cm_err *err)
{
	ssize_t k;

	if (slot_grow(j, need, j->got, err) != 0)
		return CM_FAIL;
	if (j->got >= need || j->feof)
		return 0;
	k = cm_pread_full(j->fd, (unsigned char *)j->in + j->got, need - j->got, s0 + j->got);
	if (k < 0)
		return cm_err_set(err, CM_E_IO, "%s: read error: %s", name, strerror(errno));
	if ((size_t)k < need - j->got)
		j->feof = 1; /* cm_pread_full reads short only at the end */
	j->got += (size_t)k;
	return 0;
}

/* Bytes read past a range at a time while its last record's line feed is looked for. */
#define RANGE_STEP ((size_t)64 << 10)

/*
 * Reads j's range of the file: the records that start at a position in
 * [fpos, fend), i.e. from fpos when the range is the source's first, else
 * from just past the first line feed at fpos - 1 or later, to just past
 * the first line feed at fend - 1 or later (or the end of the file; or,
 * for a line that goes on past p->reach, where reading stopped: the chunk
 * then ends inside a record and the lead goes on from there). Every range
 * thus starts where the one before it ended.
 */
static int read_range(struct par *p, struct job *j, struct cm_err *err)
{
	uint64_t s0 = j->first ? j->fpos : j->fpos - 1;
	int to_end = j->fend == UINT64_MAX;
	size_t span = to_end ? p->chunk : (size_t)(j->fend - s0);
	size_t st = 0, end, from;
	const char *lf = NULL;

	j->got = 0;
	j->feof = 0;
	if (range_read(j, s0, span + 512, j->name, err) != 0)
		return CM_FAIL;
	while (to_end && !j->feof)
		if (range_read(j, s0, j->got + p->chunk, j->name, err) != 0)
			return CM_FAIL;
	if (!j->first) {
		/* a record starts past a line feed at fpos - 1 to fend - 2 (the last range: any) */
		size_t win = to_end ? j->got : span - 1 < j->got ? span - 1 : j->got;

		if (win)
			lf = memchr(j->in, '\n', win);
		if (!lf) {
			end = st = 0; /* none starts in the range */
			goto done;
		}
		st = (size_t)(lf - j->in) + 1;
	}
	if (to_end) {
		end = j->got;
		goto done;
	}
	/* the first line feed at fend - 1 or later */
	from = span - 1;
	for (;;) {
		if (from < j->got && (lf = memchr(j->in + from, '\n', j->got - from)) != NULL) {
			end = (size_t)(lf - j->in) + 1;
			break;
		}
		if (j->feof || j->got - st >= span + p->reach) {
			end = j->got;
			break;
		}
		if (from < j->got)
			from = j->got;
		if (range_read(j, s0, j->got + RANGE_STEP, j->name, err) != 0)
			return CM_FAIL;
	}
done:
	j->at = st;
	j->n = end - st;
	j->offset = s0 + st - j->doff;
	j->lines = count_lf(j->in + st, j->n);
	return 0;
}

/* Filters one chunk into the job's results. */
static void run_job(struct worker *w, struct job *j)
{
	struct par *p = w->par;
	const struct header *h = &p->hdr[j->src];
	struct cm_stats before = *cm_pipeline_stats(w->pl);
	struct cm_buf swap;
	ssize_t k;

	w->cur = j;
	w->rej_oom = 0;
	j->nrej = 0;
	j->rc = 0;
	memset(&j->err, 0, sizeof j->err);
	if (j->sip) {
		if (run_sip(w, j) != 0) {
			j->rc = CM_FAIL;
			return;
		}
		goto results;
	}
	if (j->range && read_range(p, j, &j->err) != 0) {
		j->rc = CM_FAIL;
		return;
	}
	if (j->first || !h->p) {
		cm_pipeline_mem_begin(w->pl, j->line, j->offset, j->first);
	} else {
		cm_pipeline_mem_begin(w->pl, j->line - h->lines, j->offset - h->n, 1);
		if (feed_header(w, w->pl, h, j->name, &j->err) != 0) {
			j->rc = CM_FAIL;
			return;
		}
	}
	/*
	 * Room for the output at once (it is seldom longer than the input):
	 * grown step by step, each chunk's buffer would be copied and faulted
	 * in again at every doubling. Memory short, this fails the job as the
	 * growth would have.
	 */
	if (w->sink.buf.cap < j->n + j->n / 4 && !w->sink.buf.oom)
		(void)cm_buf_reserve(&w->sink.buf, j->n + j->n / 4);
	k = cm_pipeline_mem_feed(w->pl, j->name, j->in + j->at, j->n, j->last && !j->stopped,
				 &j->err);
	if (k < 0) {
		j->rc = CM_FAIL;
		return;
	}
	j->used = (size_t)k;
	j->clean = j->used == j->n && cm_pipeline_mem_clean(w->pl);
	if (j->stopped && !j->clean) {
		/* a stop cut the last record: rejected, as one pipeline does */
		cm_pipeline_mem_truncated(w->pl, j->name);
		j->used = j->n;
		j->clean = 1;
	}
	if (!j->clean)
		cm_pipeline_mem_save(w->pl, &j->ms);
results:
	stats_delta(&j->st, &before, cm_pipeline_stats(w->pl));
	j->records = cm_pipeline_mem_take(w->pl);
	/* The output bytes change hands: the job's buffer becomes the sink's. */
	swap = j->out;
	j->out = w->sink.buf;
	w->sink.buf = swap;
	cm_buf_reset(&w->sink.buf);
	if (w->rej_oom || j->out.oom) {
		j->rc = cm_err_set(&j->err, CM_E_NOMEM, "out of memory");
		return;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct par *p = w->par;
	struct job *j;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		j = slot(p, p->next_take);
		while (!p->quit && !(j->state == J_READY && j->seq == p->next_take)) {
			pthread_cond_wait(&p->work, &p->mu);
			j = slot(p, p->next_take);
		}
		if (p->quit)
			break;
		j->state = J_TAKEN;
		p->next_take++;
		pthread_mutex_unlock(&p->mu);
		run_job(w, j);
		pthread_mutex_lock(&p->mu);
		j->state = J_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/*
 * Appends out to the sink, writing it out past the sink's mark. A chunk's
 * output of a quarter of the mark or more is written from where it is:
 * copied into the sink first, every output byte was moved once more (a
 * 256 KiB chunk's records are about 200 KiB, under the mark), and that
 * copy was a third of what -j 2 cost over -j 1 in CPU.
 */
static int put_out(struct par *p, const char *b, size_t n, struct cm_err *err)
{
	if (n >= p->sink->flush_at / 4)
		return cm_sink_write(p->sink, b, n, err);
	cm_buf_add(&p->sink->buf, b, n);
	if (p->sink->buf.oom)
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	if (p->sink->buf.n >= p->sink->flush_at)
		return cm_sink_flush(p->sink, err);
	return 0;
}

/*
 * The lead filters the bytes carried so far and buf[0..n) of the source
 * in fallback (seq_src), from where the last call stopped. last: the
 * source ends with these bytes (stopped: because of a stop).
 */
static int lead_feed(struct par *p, const char *name, const char *buf, size_t n, int last,
		     int stopped, struct cm_err *err)
{
	ssize_t k;

	cm_buf_add(&p->carry, buf, n);
	if (p->carry.oom)
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	static char none[1];

	k = cm_pipeline_mem_feed(p->lead, name, p->carry.p ? p->carry.p : none, p->carry.n,
				 last && !stopped, err);
	if (k < 0)
		return CM_FAIL;
	if (last && stopped && (size_t)k < p->carry.n) {
		cm_pipeline_mem_truncated(p->lead, name);
		k = (ssize_t)p->carry.n;
	}
	if ((size_t)k < p->carry.n)
		memmove(p->carry.p, p->carry.p + k, p->carry.n - (size_t)k);
	p->carry.n -= (size_t)k;
	if (last) {
		/* the carry held originals */
		if (p->carry.p)
			sodium_memzero(p->carry.p, p->carry.cap);
		p->carry.n = 0;
		p->seq_done = 1;
	}
	/* the lead's records count as written when its sink writes them (flush) */
	return 0;
}

/* A file read in ranges: closed once no chunk of it is queued or being filtered. */
static void range_release(struct header *h)
{
	if (h->fd >= 0 && h->reader_done && h->nwritten == h->nqueued) {
		close(h->fd);
		h->fd = -1;
	}
}

/*
 * A range's line numbers, now that the chunks before it are written: its
 * rejections and its decoder state counted from a stand-in line (j->line),
 * from the one its first line has. The header fed before it keeps its own.
 */
static void range_fix(struct par *p, struct job *j)
{
	struct header *h = &p->hdr[j->src];
	uint64_t d = h->wline - j->line;
	size_t i;

	for (i = 0; i < j->nrej; i++)
		if (j->rej[i].line >= j->line)
			j->rej[i].line += d;
	if (!j->clean) {
		if (j->ms.line >= j->line)
			j->ms.line += d;
		if (j->ms.lline >= j->line)
			j->ms.lline += d;
		if (j->ms.last_skip_line >= j->line)
			j->ms.last_skip_line += d;
	}
	h->wline += j->lines;
	j->st.bytes_in = j->used;
}

/*
 * A range that ended inside a record: the lead, from the range's decoder
 * state, reads the rest of the file itself (the chunks of it still queued
 * are dropped as they come up).
 */
static int lead_rest(struct par *p, const struct job *j, struct cm_err *err)
{
	struct header *h = &p->hdr[j->src];
	uint64_t pos = j->doff + j->offset + j->used;
	char *b = malloc(p->chunk);
	int rc = 0;

	if (!b)
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	h->handed = 1;
	cm_buf_reset(&p->carry);
	for (;;) {
		struct cm_stats bytes;
		ssize_t k;

		if (p->o->stop && *p->o->stop) {
			rc = lead_feed(p, j->name, b, 0, 1, 1, err);
			cm_pipeline_set_stopped(p->lead);
			break;
		}
		k = cm_pread_full(h->fd, (unsigned char *)b, p->chunk, pos);
		if (k < 0) {
			rc = cm_err_set(err, CM_E_IO, "%s: read error: %s", j->name, strerror(errno));
			break;
		}
		memset(&bytes, 0, sizeof bytes);
		bytes.bytes_in = (uint64_t)k;
		cm_pipeline_add_stats(p->lead, &bytes);
		if ((rc = lead_feed(p, j->name, b, (size_t)k, k == 0, 0, err)) != 0 || k == 0)
			break;
		pos += (uint64_t)k;
		if (p->o->tick && (rc = p->o->tick(p->o->ud, err)) != 0)
			break;
	}
	sodium_memzero(b, p->chunk);
	free(b);
	return rc;
}

/*
 * Writes the chunks queued before chunk upto, in order, each once it is
 * done. A chunk that did not end at a record boundary turns the rest of
 * its source over to the lead: the chunks of that source queued after it
 * are filtered again, by the lead, continuing from the chunk's end.
 */
static int write_upto(struct par *p, uint64_t upto, struct cm_err *err)
{
	for (;;) {
		struct job *j = slot(p, p->next_write);
		size_t i;

		if (p->next_write == p->next_seq || p->next_write >= upto)
			return 0;
		pthread_mutex_lock(&p->mu);
		while (j->state != J_DONE) {
			/*
			 * Waiting, the main thread filters the next chunk itself,
			 * when that leaves a chunk queued for every worker thread
			 * (one would wait for the main thread otherwise).
			 */
			struct job *t = slot(p, p->next_take);

			if (p->next_seq - p->next_take >= p->nw && t->state == J_READY &&
			    t->seq == p->next_take) {
				t->state = J_TAKEN;
				p->next_take++;
				pthread_mutex_unlock(&p->mu);
				run_job(&p->w[p->nw - 1], t);
				pthread_mutex_lock(&p->mu);
				t->state = J_DONE;
				continue;
			}
			pthread_cond_wait(&p->done, &p->mu);
		}
		pthread_mutex_unlock(&p->mu);
		if (j->range ? p->hdr[j->src].handed : p->seq_src == j->src) {
			/* decoded from a wrong start: the lead goes on through it (a range: went) */
			p->po->refiltered++;
			if (!j->range && lead_feed(p, j->name, j->in + j->at, j->n, j->last, j->stopped,
						   err) != 0)
				return CM_FAIL;
			goto next;
		}
		if (j->rc) {
			*err = j->err;
			return CM_FAIL;
		}
		if (j->range)
			range_fix(p, j);
		if (j->out.n && put_out(p, j->out.p, j->out.n, err) != 0)
			return CM_FAIL;
		cm_buf_reset(&j->out);
		j->st.written = j->records;
		cm_pipeline_add_stats(p->lead, &j->st);
		for (i = 0; i < j->nrej; i++)
			if (p->o->on_reject)
				p->o->on_reject(p->o->ud, &j->rej[i]);
		if (!j->clean && j->range) {
			/* the lead reads the rest of this file from where the chunk's records ended */
			cm_pipeline_mem_restore(p->lead, &j->ms);
			if (lead_rest(p, j, err) != 0)
				return CM_FAIL;
		} else if (!j->clean) {
			/* the lead takes over this source where the chunk's records ended */
			cm_pipeline_mem_restore(p->lead, &j->ms);
			p->seq_src = j->src;
			p->seq_done = 0;
			cm_buf_reset(&p->carry);
			if (lead_feed(p, j->name, j->in + j->at + j->used, j->n - j->used, j->last,
				      j->stopped, err) != 0)
				return CM_FAIL;
		}
	next:
		if (j->range) {
			p->hdr[j->src].nwritten++;
			range_release(&p->hdr[j->src]);
		}
		pthread_mutex_lock(&p->mu);
		j->state = J_FREE;
		p->next_write++;
		pthread_mutex_unlock(&p->mu);
	}
}

/* Writes every chunk queued, in order. */
static int write_done(struct par *p, struct cm_err *err)
{
	return write_upto(p, UINT64_MAX, err);
}

/* The reader's state in one source. */
struct reader {
	struct cm_source src;
	size_t idx;
	uint64_t line, offset; /* of the next byte not yet queued */
	int first;             /* nothing queued yet */
};

/*
 * Waiting for input: every chunk queued is written, and output goes out
 * (a live stream is not held back), then the caller's tick.
 */
struct idle_ctx {
	struct par *p;
	struct cm_err *err;
};

static int on_idle(void *ud)
{
	struct idle_ctx *c = ud;

	if (write_done(c->p, c->err) != 0 || cm_sink_flush(c->p->sink, c->err) != 0)
		return CM_FAIL;
	return c->p->o->tick ? c->p->o->tick(c->p->o->ud, c->err) : 0;
}

/*
 * The slot of the next chunk, once free: the chunk that had it is written
 * (and those before it), not every chunk queued, so that the queue is
 * never drained while the workers could go on.
 */
static int next_slot(struct par *p, struct job **jp, struct cm_err *err)
{
	for (;;) {
		*jp = slot(p, p->next_seq);
		if (slot_free(p, *jp))
			return 0;
		if (write_upto(p, p->next_seq - p->nring + 1, err) != 0)
			return CM_FAIL;
	}
}

/* A copy of b[0..n) as j's input. */
static int fill_slot(struct job *j, const char *b, size_t n, struct cm_err *err)
{
	if (slot_grow(j, n, 0, err) != 0)
		return CM_FAIL;
	if (n)
		memcpy(j->in, b, n);
	j->n = n;
	return 0;
}

/* Hands the filled slot j to the workers. */
static void publish(struct par *p, struct job *j)
{
	p->po->chunks++;
	pthread_mutex_lock(&p->mu);
	j->state = J_READY;
	p->next_seq++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

/*
 * Queues buf[0..n) of the source as a chunk (or feeds it to the lead when
 * the source is in its hands), waiting for a free slot while writing what
 * is done.
 */
static int queue(struct par *p, struct reader *r, const char *buf, size_t n, int last, int stopped,
		 struct cm_err *err)
{
	struct job *j;

	if (p->seq_src == r->idx) {
		/* chunks of this source before the hand-over are written first */
		if (write_done(p, err) != 0)
			return CM_FAIL;
		return lead_feed(p, r->src.name, buf, n, last, stopped, err);
	}
	if (next_slot(p, &j, err) != 0)
		return CM_FAIL;
	if (p->seq_src == r->idx) {
		/* handed over while we waited: the chunks queued after that one go first */
		if (write_done(p, err) != 0)
			return CM_FAIL;
		return lead_feed(p, r->src.name, buf, n, last, stopped, err);
	}
	if (fill_slot(j, buf, n, err) != 0)
		return CM_FAIL;
	j->seq = p->next_seq;
	j->sip = 0;
	j->range = 0;
	j->at = 0;
	j->src = r->idx;
	j->name = p->hdr[r->idx].name;
	j->line = r->line;
	j->offset = r->offset;
	j->first = r->first;
	j->last = last;
	j->stopped = stopped;
	r->first = 0;
	r->line += count_lf(buf, n);
	r->offset += n;
	publish(p, j);
	return 0;
}

/* Queues the SIP messages framed so far as a chunk, waiting for a free slot while writing what is done. */
static int sip_queue(struct par *p, struct cm_err *err)
{
	struct job *j;

	if (!p->batch.n)
		return 0;
	if (next_slot(p, &j, err) != 0 || fill_slot(j, p->batch.p, p->batch.n, err) != 0)
		return CM_FAIL;
	p->batch.n = 0;
	j->seq = p->next_seq;
	j->src = 0;
	j->name = p->names[p->nnames - 1];
	j->sip = 1;
	j->range = 0;
	j->at = 0;
	j->first = j->last = j->stopped = 0;
	j->line = j->offset = 0;
	publish(p, j);
	return 0;
}

/* A SIP message the lead's packet stage found in capture name: framed into the next chunk. */
static int sip_hand(void *ud, const char *name, const struct cm_pkt_meta *m, const char *msg,
		    size_t n, struct cm_err *err)
{
	struct par *p = ud;

	if (!p->nnames || strcmp(p->names[p->nnames - 1], name) != 0) {
		/* a chunk holds one capture's messages; the name outlives the capture */
		char **v;

		if (sip_queue(p, err) != 0)
			return CM_FAIL;
		v = realloc(p->names, (p->nnames + 1) * sizeof *v);
		if (!v)
			return cm_err_set(err, CM_E_NOMEM, "out of memory");
		p->names = v;
		if (!(p->names[p->nnames] = strdup(name)))
			return cm_err_set(err, CM_E_NOMEM, "out of memory");
		p->nnames++;
	}
	cm_buf_add(&p->batch, m, sizeof *m);
	cm_buf_add(&p->batch, &n, sizeof n);
	cm_buf_add(&p->batch, msg, n);
	if (p->batch.oom)
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	return p->batch.n >= p->chunk ? sip_queue(p, err) : 0;
}

/* Before the lead reports something itself: every message handed on so far is written. */
static int sip_sync(void *ud, struct cm_err *err)
{
	struct par *p = ud;

	if (sip_queue(p, err) != 0 || write_done(p, err) != 0)
		return CM_FAIL;
	return 0;
}

/*
 * The captures, read by the lead; their messages filtered by the workers.
 * A capture that cannot be opened ends the run after what came before it
 * is written, as with one thread.
 */
static int run_captures(struct par *p, const char *const *paths, size_t n, struct cm_err *err)
{
	size_t i;

	cm_pipeline_set_hand(p->lead, sip_hand, sip_sync, p);
	for (i = 0; i < n && !cm_pipeline_stopped(p->lead); i++) {
		if (p->o->stop && *p->o->stop) {
			cm_pipeline_set_stopped(p->lead);
			break;
		}
		if (cm_pipeline_feed(p->lead, paths[i], err) != 0) {
			struct cm_err e2;

			memset(&e2, 0, sizeof e2);
			if (err->code != CM_E_NOMEM && sip_sync(p, &e2) == 0)
				(void)cm_pipeline_flush(p->lead, NULL);
			return CM_FAIL;
		}
	}
	return sip_sync(p, err);
}

/*
 * The header line of a CSV source, from the bytes buffered at its start
 * (a copy is decoded: decoding unescapes in place): h->p stays NULL when
 * there is none in reach (the source is then the lead's). Blank lines
 * before it belong to it.
 */
static int find_header(struct par *p, struct reader *r, struct header *h, struct cm_err *err)
{
	struct cm_csv dec;
	struct cm_csv_opts co;
	struct cm_csv_result res;
	struct cm_buf copy;
	size_t at = 0;
	ssize_t k;
	int rc = 0;

	h->known = 1;
	cm_csv_opts_default(&co);
	co.delim = p->o->rules->delim;
	if (p->o->max_record)
		co.max_record = p->o->max_record;
	if (cm_csv_init(&dec, &co) != 0)
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	cm_buf_init(&copy);
	for (;;) {
		size_t have = r->src.end - r->src.start;

		cm_buf_reset(&copy);
		cm_buf_add(&copy, r->src.buf + r->src.start, have);
		if (copy.oom) {
			rc = cm_err_set(err, CM_E_NOMEM, "out of memory");
			goto out;
		}
		cm_csv_reset(&dec);
		at = 0;
		do {
			k = cm_csv_next(&dec, copy.p + at, have - at, r->src.eof, &res);
			if (k > 0)
				at += (size_t)k;
		} while (k > 0 && res.what == CM_CSV_NOTHING && !dec.skipping);
		if (k > 0 && !dec.skipping)
			break; /* the header record ends at at */
		if (k == CM_FAIL) {
			rc = cm_err_set(err, CM_E_NOMEM, "out of memory");
			goto out;
		}
		if (k == 0 || dec.skipping || r->src.eof || have >= r->src.cap)
			goto out; /* empty, or not in reach: the lead reads this source */
		if (cm_source_fill(&r->src, NULL, NULL, p->o->stop, err) < 0) {
			rc = CM_FAIL;
			goto out;
		}
		if (r->src.stopped)
			goto out;
	}
	h->p = malloc(at ? at : 1);
	if (!h->p) {
		rc = cm_err_set(err, CM_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(h->p, r->src.buf + r->src.start, at);
	h->n = at;
	h->lines = count_lf(h->p, at);
out:
	cm_buf_deinit(&copy);
	cm_csv_deinit(&dec);
	return rc;
}

/*
 * Until the plan is known, every header goes to every pipeline in input
 * order, as to one pipeline: the queue is emptied first.
 */
static int prime(struct par *p, const struct header *h, const char *name, struct cm_err *err)
{
	unsigned i;

	if (write_done(p, err) != 0)
		return CM_FAIL;
	for (i = 0; i < p->nw; i++) {
		cm_pipeline_mem_begin(p->w[i].pl, 1, 0, 1);
		if (feed_header(&p->w[i], p->w[i].pl, h, name, err) != 0)
			return CM_FAIL;
	}
	return 0;
}

/*
 * A plain file is queued as ranges of --chunk bytes from where the reader
 * stands (past a byte order mark; at the header, which the first range
 * starts with): each worker reads its own (read_range), and the main
 * thread reads nothing more of it. Returns 1 when the file cannot be
 * (its size unknown, no descriptor to spare): it is then read as a stream.
 */
static int read_ranges(struct par *p, struct reader *r, struct cm_err *err)
{
	struct header *h = &p->hdr[r->idx];
	uint64_t pos = r->src.raw_bytes - (r->src.end - r->src.start), doff = pos - r->offset;
	struct stat st;

	if (fstat(r->src.fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < pos ||
	    (h->fd = fcntl(r->src.fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return 1;
	h->wline = r->line;
	r->src.bytes = pos; /* the reader's own; each range counts its bytes when written */
	for (;;) {
		uint64_t end = pos + p->chunk;
		int last = end >= (uint64_t)st.st_size;
		struct job *j;

		if (p->o->stop && *p->o->stop) {
			r->src.stopped = 1;
			break;
		}
		if (next_slot(p, &j, err) != 0)
			return CM_FAIL;
		if (h->handed)
			break; /* the lead has read the rest */
		j->seq = p->next_seq;
		j->sip = 0;
		j->range = 1;
		j->fd = h->fd;
		j->fpos = pos;
		j->fend = last ? UINT64_MAX : end;
		j->doff = doff;
		j->at = j->n = 0;
		j->src = r->idx;
		j->name = h->name;
		j->line = r->first ? r->line : h->p ? h->lines + 1 : 1; /* a stand-in: range_fix */
		j->first = r->first;
		j->last = last;
		j->stopped = 0;
		r->first = 0;
		h->nqueued++;
		publish(p, j);
		r->src.raw_bytes = last ? (uint64_t)st.st_size : end; /* progress */
		if (last)
			break;
		pos = end;
		if (p->o->tick && p->o->tick(p->o->ud, err) != 0)
			return CM_FAIL;
	}
	h->reader_done = 1;
	range_release(h);
	return 0;
}

/* Reads one source into chunks. */
static int read_source(struct par *p, struct reader *r, struct cm_err *err)
{
	static const char bom[3] = {'\xef', '\xbb', '\xbf'};
	struct idle_ctx ic = {p, err};
	struct header *h = &p->hdr[r->idx];
	size_t chunk = p->chunk;
	int csv_header = p->o->rules->format == CM_FORMAT_CSV && p->o->rules->header;

	/* A UTF-8 byte order mark is not data (as cm_pipeline_feed). */
	while (r->src.end - r->src.start < 3 && !r->src.eof &&
	       memcmp(r->src.buf + r->src.start, bom, r->src.end - r->src.start) == 0)
		if (cm_source_fill(&r->src, on_idle, &ic, p->o->stop, err) < 0)
			return CM_FAIL;
	if (r->src.end - r->src.start >= 3 && memcmp(r->src.buf + r->src.start, bom, 3) == 0)
		r->src.start += 3;

	if (csv_header) {
		if (find_header(p, r, h, err) != 0)
			return CM_FAIL;
		if (!h->p) {
			/* no header in reach: this source is the lead's, from its start */
			if (write_done(p, err) != 0)
				return CM_FAIL;
			cm_pipeline_mem_begin(p->lead, 1, 0, 1);
			p->seq_src = r->idx;
			p->seq_done = 0;
			cm_buf_reset(&p->carry);
		} else if (!p->header_ok) {
			struct cm_mem_state ms;

			if (prime(p, h, r->src.name, err) != 0)
				return CM_FAIL;
			cm_pipeline_mem_begin(p->lead, 1, 0, 1);
			if (feed_header(&p->w[p->nw - 1], p->lead, h, r->src.name, err) != 0)
				return CM_FAIL;
			/* the lead wrote the output header when this one was good */
			cm_pipeline_mem_save(p->lead, &ms);
			p->header_ok = !ms.bad_header;
		}
	}
	if (p->seq_src != r->idx && r->src.owned && !r->src.may_block && r->src.sniffed &&
	    !r->src.z && !r->src.eof && p->chunk >= CM_PAR_RANGE_MIN) {
		int k = read_ranges(p, r, err);

		if (k <= 0)
			return k;
	}
	for (;;) {
		size_t have = r->src.end - r->src.start, lim = have < chunk ? have : chunk;
		const char *b = r->src.buf + r->src.start, *lf;
		int cut;

		/*
		 * A chunk ends at the last LF within its first chunk bytes (a
		 * longer line: at its own end), or at a full buffer with none.
		 * A pipe that would block hands over what it has.
		 */
		if (r->src.eof)
			cut = have > chunk;
		else
			cut = have >= chunk || (have > 0 && r->src.may_block) || have == r->src.cap;
		if (cut) {
			lf = memrchr(b, '\n', lim);
			if (!lf && have > lim)
				lf = memchr(b + lim, '\n', have - lim);
			if (lf || (have == r->src.cap && !r->src.eof)) {
				size_t n = lf ? (size_t)(lf - b) + 1 : have;

				if (queue(p, r, b, n, 0, 0, err) != 0)
					return CM_FAIL;
				r->src.start += n;
				if (p->o->tick && p->o->tick(p->o->ud, err) != 0)
					return CM_FAIL;
				continue;
			}
		}
		if (r->src.eof) {
			if (queue(p, r, b, have, 1, r->src.stopped, err) != 0)
				return CM_FAIL;
			r->src.start = r->src.end;
			return 0;
		}
		if (cm_source_fill(&r->src, on_idle, &ic, p->o->stop, err) < 0)
			return CM_FAIL;
	}
}

static void par_free(struct par *p)
{
	size_t i;
	unsigned k;

	if (p->w) {
		pthread_mutex_lock(&p->mu);
		p->quit = 1;
		pthread_cond_broadcast(&p->work);
		pthread_mutex_unlock(&p->mu);
		for (k = 0; k < p->nw; k++) {
			struct worker *w = &p->w[k];

			if (w->started)
				pthread_join(w->th, NULL);
			cm_pipeline_free(w->pl);
			if (w->ps) {
				struct cm_pseudo_stats st;

				cm_pseudo_get_stats(w->ps, &st);
				p->po->cache.hits += st.hits;
				p->po->cache.misses += st.misses;
				p->po->cache.ahead += st.ahead;
			}
			cm_pseudo_free(w->ps);
			cm_buf_deinit(&w->sink.buf);
			cm_buf_deinit(&w->hdr);
		}
		free(p->w);
	}
	for (i = 0; p->ring && i < p->nring; i++) {
		struct job *j = &p->ring[i];

		if (j->in) {
			sodium_memzero(j->in, j->cap);
			free(j->in);
		}
		cm_buf_deinit(&j->out);
		free(j->rej);
	}
	free(p->ring);
	for (i = 0; p->hdr && i < p->nsrc; i++) {
		if (p->hdr[i].fd >= 0)
			close(p->hdr[i].fd);
		free(p->hdr[i].p);
		free(p->hdr[i].name);
	}
	free(p->hdr);
	for (i = 0; i < p->nnames; i++)
		free(p->names[i]);
	free(p->names);
	cm_buf_deinit(&p->batch); /* wipes: originals */
	cm_buf_deinit(&p->carry);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
}

int cm_par_run(struct cm_pipeline *lead, const struct cm_pipeline_opts *o,
	       struct cm_sink *sink, const char *const *paths, size_t n,
	       struct cm_par_opts *po, struct cm_err *err)
{
	static char mem_name[] = "memory";
	struct par p;
	struct cm_csv_opts co;
	size_t i, cap, chunk = po->chunk ? po->chunk : CM_PAR_CHUNK_DEFAULT;
	unsigned k;
	int rc = CM_FAIL;

	memset(&p, 0, sizeof p);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.done, NULL);
	cm_buf_init(&p.carry);
	cm_buf_init(&p.batch);
	p.chunk = chunk;
	p.po = po;
	p.o = o;
	p.lead = lead;
	p.sink = sink;
	p.seq_src = SIZE_MAX;
	p.nsrc = n;
	p.nw = po->jobs;
	p.nring = 4 * (size_t)po->jobs;
	p.ring = calloc(p.nring, sizeof *p.ring);
	p.hdr = calloc(n ? n : 1, sizeof *p.hdr);
	p.w = calloc(p.nw, sizeof *p.w);
	if (!p.ring || !p.hdr || !p.w) {
		cm_err_set(err, CM_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < p.nring; i++)
		cm_buf_init(&p.ring[i].out);
	for (i = 0; i < n; i++)
		p.hdr[i].fd = -1;
	for (k = 0; k < p.nw; k++) {
		struct worker *w = &p.w[k];
		struct cm_pipeline_opts wo = *o;

		w->par = &p;
		cm_buf_init(&w->hdr);
		memset(&w->sink, 0, sizeof w->sink);
		w->sink.fd = -1;
		w->sink.name = mem_name;
		cm_buf_init(&w->sink.buf);
		w->sink.flush_at = chunk; /* never reached by a worker's flush: see below */
		if (o->ps && !(w->ps = po->engine(po->ud, err)))
			goto out;
		wo.ps = w->ps;
		wo.header_out = 0;
		wo.on_reject = collect;
		wo.ud = w;
		wo.store = NULL;
		wo.stop = NULL;
		wo.tick = NULL;
		wo.flush_ms = (unsigned)-1; /* records wait in memory: the main thread writes them */
		if (!(w->pl = cm_pipeline_new(&wo, &w->sink, err)))
			goto out;
	}
	/* A worker's sink is never written: its mark is out of reach once the pipelines exist. */
	for (k = 0; k < p.nw; k++)
		p.w[k].sink.flush_at = SIZE_MAX;
	for (k = 0; k + 1 < p.nw; k++) {
		if (pthread_create(&p.w[k].th, NULL, worker_main, &p.w[k]) != 0) {
			cm_err_set(err, CM_E_NOMEM, "cannot start worker threads");
			goto out;
		}
		p.w[k].started = 1;
	}
	if (cm_pipeline_start_output(lead, err) != 0)
		goto out;
	if (o->rules->format == CM_FORMAT_SIP) {
		rc = run_captures(&p, paths, n, err);
		goto out;
	}

	cm_csv_opts_default(&co);
	cap = (o->max_record ? o->max_record : co.max_record) + chunk + 64 * 1024;
	p.reach = cap - chunk;
	for (i = 0; i < n; i++) {
		struct reader r;
		int rrc, stopped;

		if (o->stop && *o->stop) {
			cm_pipeline_set_stopped(lead);
			break;
		}
		memset(&r, 0, sizeof r);
		r.idx = i;
		r.line = 1;
		r.first = 1;
		if (cm_source_open(&r.src, paths[i], cap, err) != 0) {
			if (o->stop && *o->stop) {
				cm_pipeline_set_stopped(lead);
				break;
			}
			/* what came before it is written, as with one pipeline */
			if (write_done(&p, err) == 0)
				(void)cm_pipeline_flush(lead, NULL);
			goto out;
		}
		if (!(p.hdr[i].name = strdup(r.src.name))) {
			cm_source_close(&r.src);
			cm_err_set(err, CM_E_NOMEM, "out of memory");
			goto out;
		}
		cm_pipeline_mem_source(lead, &r.src);
		rrc = read_source(&p, &r, err);
		{
			struct cm_stats bytes;

			memset(&bytes, 0, sizeof bytes);
			bytes.bytes_in = r.src.bytes;
			cm_pipeline_add_stats(lead, &bytes);
		}
		cm_pipeline_mem_source(lead, NULL);
		stopped = r.src.stopped;
		cm_source_close(&r.src);
		if (rrc != 0)
			goto out;
		if (stopped) {
			cm_pipeline_set_stopped(lead);
			break;
		}
	}
	if (write_done(&p, err) != 0)
		goto out;
	rc = 0;
out:
	cm_pipeline_set_hand(lead, NULL, NULL, NULL);
	par_free(&p);
	return rc;
}
