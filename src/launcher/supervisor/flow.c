#include "flow.h"

#include "wireio.h"

int win_receive(struct window *w, uint32_t n)
{
	if (n > STREAM_WINDOW || (uint64_t)w->unconsumed + w->ungranted + n > STREAM_WINDOW)
		return -1;
	w->unconsumed += n;
	return 0;
}

uint32_t win_consume(struct window *w, uint32_t n)
{
	w->unconsumed -= n < w->unconsumed ? n : w->unconsumed;
	w->ungranted += n;
	if (w->ungranted < GRANT_BATCH)
		return 0;
	uint32_t g = w->ungranted;
	w->ungranted = 0;
	return g;
}
