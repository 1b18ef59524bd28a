/* Energy detector and percentiles for `voxgate simulate`. */
#include "sim/detect.h"

#include <math.h>
#include <stdlib.h>

double sim_level_dbfs(const int16_t *s, size_t n)
{
	if (!s || !n)
		return -120.0;
	double acc = 0;
	for (size_t i = 0; i < n; i++)
		acc += (double)s[i] * (double)s[i];
	double rms = sqrt(acc / (double)n);
	if (rms < 1.0)
		return -120.0;
	return 20.0 * log10(rms / 32768.0);
}

void sim_detect_init(struct sim_detect *d, double thresh_db,
		     unsigned off_frames)
{
	d->thresh_db = thresh_db < 0 ? thresh_db : SIM_DETECT_THRESH_DB;
	d->off_frames = off_frames ? off_frames : SIM_DETECT_OFF_FRAMES;
	d->voiced = false;
	d->quiet_run = 0;
	d->frames = 0;
	d->last_voice = 0;
}

enum sim_edge sim_detect_feed(struct sim_detect *d, const int16_t *s, size_t n)
{
	bool loud = sim_level_dbfs(s, n) >= d->thresh_db;
	d->frames++;
	if (loud) {
		d->quiet_run = 0;
		d->last_voice = d->frames;
		if (!d->voiced) {
			d->voiced = true;
			return SIM_EDGE_ON;
		}
		return SIM_EDGE_NONE;
	}
	d->quiet_run++;
	if (d->voiced && d->quiet_run == d->off_frames) {
		d->voiced = false;
		return SIM_EDGE_OFF;
	}
	return SIM_EDGE_NONE;
}

size_t sim_speech_end_frame(const int16_t *s, size_t n, size_t frame_len,
			    double thresh_db)
{
	if (!s || !frame_len)
		return 0;
	size_t end = 0;
	for (size_t f = 0; f * frame_len < n; f++) {
		size_t len = n - f * frame_len;
		if (len > frame_len)
			len = frame_len;
		if (sim_level_dbfs(s + f * frame_len, len) >= thresh_db)
			end = f + 1;
	}
	return end;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double sim_percentile(double *v, size_t n, double p)
{
	if (!v || !n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	double rank = ceil(p / 100.0 * (double)n);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	return v[i < n ? i : n - 1];
}
