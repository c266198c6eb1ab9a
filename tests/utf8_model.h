/*
 * \summary: a model of UTF-8 for the JSON tests and fuzz target: the rows
 * of well-formed sequences of RFC 3629 section 4 (UTF8-2, UTF8-3, UTF8-4),
 * spelled out as byte ranges, not computed as src/json.c does.
 */
#ifndef CDRMIN_TEST_UTF8_MODEL_H
#define CDRMIN_TEST_UTF8_MODEL_H

#include <stddef.h>

/* Each row: its lead bytes, then the range of each byte after the lead. */
static const struct utf8_model_row {
	unsigned char lead_lo, lead_hi, len, lo[3], hi[3];
} utf8_model_rows[] = {
	{ 0xc2, 0xdf, 2, { 0x80 }, { 0xbf } },
	{ 0xe0, 0xe0, 3, { 0xa0, 0x80 }, { 0xbf, 0xbf } },
	{ 0xe1, 0xec, 3, { 0x80, 0x80 }, { 0xbf, 0xbf } },
	{ 0xed, 0xed, 3, { 0x80, 0x80 }, { 0x9f, 0xbf } },
	{ 0xee, 0xef, 3, { 0x80, 0x80 }, { 0xbf, 0xbf } },
	{ 0xf0, 0xf0, 4, { 0x90, 0x80, 0x80 }, { 0xbf, 0xbf, 0xbf } },
	{ 0xf1, 0xf3, 4, { 0x80, 0x80, 0x80 }, { 0xbf, 0xbf, 0xbf } },
	{ 0xf4, 0xf4, 4, { 0x80, 0x80, 0x80 }, { 0x8f, 0xbf, 0xbf } },
};

/*
 * The length (2 to 4) of the multi-byte sequence at s[0..n), s[0] >= 0x80;
 * 0 when it is not a well-formed one, with *bad the offset from s of the
 * first byte out of place (n when the sequence is cut short).
 */
static inline size_t utf8_model_seq(const unsigned char *s, size_t n, size_t *bad)
{
	size_t r, k;

	for (r = 0; r < sizeof utf8_model_rows / sizeof utf8_model_rows[0]; r++) {
		const struct utf8_model_row *w = &utf8_model_rows[r];

		if (s[0] < w->lead_lo || s[0] > w->lead_hi)
			continue;
		for (k = 1; k < w->len; k++) {
			if (k >= n) {
				*bad = n;
				return 0;
			}
			if (s[k] < w->lo[k - 1] || s[k] > w->hi[k - 1]) {
				*bad = k;
				return 0;
			}
		}
		return w->len;
	}
	*bad = 0; /* no row starts with it: C0, C1, F5..FF, or a continuation byte */
	return 0;
}

#endif
