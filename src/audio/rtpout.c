/* RTP sender numbering, absolute-schedule pacer and send-jitter histogram
 * (see rtpout.h). */
#include "audio/rtpout.h"

#include <errno.h>
#include <string.h>

void rtpout_init(struct rtpout *o, uint32_t ssrc, uint16_t seq0, uint32_t ts0)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->ssrc = ssrc;
	o->seq = seq0;
	o->ts = ts0;
}

int rtpout_next(struct rtpout *o, uint32_t nsamples, bool talkspurt_start,
		struct rtpout_hdr *out)
{
	if (!o || !out)
		return -EINVAL;
	out->ssrc = o->ssrc;
	out->seq = o->seq;
	out->ts = o->ts;
	out->marker = talkspurt_start;
	/* unsigned arithmetic: both wrap as RFC 3550 requires */
	o->seq = (uint16_t)(o->seq + 1u);
	o->ts += nsamples;
	o->packets++;
	return 0;
}

void rtpout_skip(struct rtpout *o, uint32_t nsamples)
{
	if (o)
		o->ts += nsamples;
}

void pacer_init(struct pacer *p, uint64_t start_us, uint32_t period_us)
{
	if (!p)
		return;
	memset(p, 0, sizeof(*p));
	p->next_us = start_us;
	p->period_us = period_us ? period_us : 20000;
	p->max_burst = PACER_MAX_BURST;
}

unsigned pacer_due(struct pacer *p, uint64_t now_us)
{
	if (!p || now_us < p->next_us)
		return 0;
	/* every deadline up to now has passed; stay on the grid by advancing
	 * in whole periods from the old deadline, never from now */
	uint64_t n = (now_us - p->next_us) / p->period_us + 1;
	p->next_us += n * p->period_us;
	uint64_t burst = p->max_burst ? p->max_burst : 1;
	if (n > burst) {
		p->skipped += n - burst;
		n = burst;
	}
	p->ticks += n;
	return (unsigned)n;
}

uint64_t pacer_next_deadline_us(const struct pacer *p)
{
	return p ? p->next_us : 0;
}

void pacer_jitter_init(struct pacer_jitter *j, uint32_t period_us)
{
	if (!j)
		return;
	memset(j, 0, sizeof(*j));
	j->period_us = period_us;
}

static unsigned bucket_of(uint64_t dev_us)
{
	if (dev_us < PACER_JITTER_FINE * 100u)
		return (unsigned)(dev_us / 100u);
	if (dev_us < PACER_JITTER_FINE * 100u + PACER_JITTER_COARSE * 1000u)
		return PACER_JITTER_FINE +
		       (unsigned)((dev_us - PACER_JITTER_FINE * 100u) / 1000u);
	return PACER_JITTER_BUCKETS - 1;
}

static uint32_t bucket_top_us(unsigned b)
{
	if (b < PACER_JITTER_FINE)
		return (b + 1) * 100u;
	return PACER_JITTER_FINE * 100u + (b - PACER_JITTER_FINE + 1) * 1000u;
}

void pacer_jitter_record(struct pacer_jitter *j, uint64_t send_us)
{
	if (!j)
		return;
	if (!j->have_last || send_us < j->last_us) {
		/* first send, or a clock that went backwards: new base */
		j->have_last = true;
		j->last_us = send_us;
		return;
	}
	uint64_t interval = send_us - j->last_us;
	uint64_t dev = interval > j->period_us ? interval - j->period_us
					       : j->period_us - interval;
	j->last_us = send_us;
	j->hist[bucket_of(dev)]++;
	j->count++;
	if (dev > j->max_us)
		j->max_us = dev > UINT32_MAX ? UINT32_MAX : (uint32_t)dev;
}

uint32_t pacer_jitter_percentile_us(const struct pacer_jitter *j, double pct)
{
	if (!j || !j->count || !(pct > 0))
		return 0;
	if (pct > 100)
		pct = 100;
	/* the smallest bucket whose cumulative count reaches pct% */
	double want = pct / 100.0 * (double)j->count;
	uint64_t acc = 0;
	for (unsigned b = 0; b < PACER_JITTER_BUCKETS - 1; b++) {
		acc += j->hist[b];
		if ((double)acc >= want) {
			uint32_t top = bucket_top_us(b);
			return top < j->max_us ? top : j->max_us;
		}
	}
	return j->max_us;
}
