/*
 * cdrmin: the CLOCK replacement of the set-associative memo caches
 * (pseudo.c, cryptopan.c): each set of at most 8 ways keeps a bit per way
 * for "holds a value" and "was hit since the hand passed", and a hand.
 */
#ifndef CDRMIN_CLOCK_H
#define CDRMIN_CLOCK_H

#include <stdint.h>

/*
 * The way to fill in a set of ways ways: a free one, else the first way
 * from the hand whose reference bit is clear (the bits passed are
 * cleared, and the hand moves past the victim).
 */
static inline unsigned cm_clock_victim(uint8_t valid, uint8_t *ref, uint8_t *hand, unsigned ways)
{
	unsigned w;

	if (valid != (uint8_t)((1u << ways) - 1)) {
		for (w = 0; valid >> w & 1; w++)
			;
		return w;
	}
	w = *hand;
	while (*ref >> w & 1) {
		*ref &= (uint8_t)~(1u << w);
		w = (w + 1) % ways;
	}
	*hand = (uint8_t)((w + 1) % ways);
	return w;
}

#endif
