/* Voice activity detection (see vad.h): a 256-point spectrum of each 20 ms
 * frame, per-band SNR against an adaptive noise floor, and cues that tell
 * speech from what else a phone line carries: syllabic modulation (the level
 * of speech rises and falls several times a second; line noise does not),
 * tonality (DTMF and call-progress tones put nearly all their energy in two
 * or three narrow peaks, hold music most of it), and steadiness (notes and
 * tones keep the same spectrum for many frames, speech seldom does). A short
 * hangover keeps dips inside words from splitting them, and a bridge keeps
 * a long steady vowel or nasal inside confirmed speech ("know...", which
 * looks tonal and unmodulated on its own) from ending the utterance. The
 * thresholds were set from the labelled set of bench/vad/make_set.sh
 * (docs/SPEECH.md). */
#include "audio/vad.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/clip.h"

#define NFFT 256
#define NHALF (NFFT / 2)
/* Analysed band: 250-3500 Hz (bins of 31.25 Hz): below is hum and the
 * bottom edge of G.711 lines, above is the anti-alias roll-off. */
#define BIN_LO 8
#define BIN_HI 112
#define NBIN (BIN_HI - BIN_LO)
#define NBAND 12
/* Frames of history (320 ms) for modulation, tonality and steadiness. */
#define HIST 16
/* Lowest band level (dB re full scale): mu-law's quietest steps. */
#define BAND_MIN_DB (-90.0f)
/* Highest band level a first frame may set the noise floor to. */
#define PRIME_MAX_DB (-70.0f)
/* Raw speech frames in a row that arm the hangover: a click does not. */
#define HANG_ARM 3
/* Bridge: after confirmed speech, frames that are still loud (SNR and
 * energy bars, and within BRIDGE_DROP_DB of the speech's level) count as
 * speech whatever the modulation, tonality and steadiness cues say, for at
 * most the level's bridge frames in a row (800 ms at the default): a held
 * vowel, not a tone after speech (which ends the utterance that much later
 * at worst). */
#define BRIDGE_DROP_DB 15.0f

/* Per aggressiveness: a frame is speech when every cue clears its bar. */
struct level {
	float snr_db;	  /* mean band SNR at least */
	float mod_db;	  /* energy range over 320 ms at least */
	float tonal;	  /* share of 3 peaks below */
	float steady;	  /* share of steady frames over 320 ms below */
	float energy_db;  /* band energy at least */
	float tonal_mean; /* mean share of 3 peaks over 320 ms below */
	unsigned hang;	  /* frames of hangover */
	unsigned bridge;  /* frames of bridge at most (BRIDGE_DROP_DB); none
			     at 3, the level that rejects most */
};

static const struct level levels[4] = {
	{ 5.0f, 9.0f, 0.990f, 0.55f, -62.0f, 0.84f, 5, 50 },
	{ 5.5f, 10.0f, 0.980f, 0.45f, -60.0f, 0.80f, 4, 40 },
	{ 6.5f, 12.0f, 0.970f, 0.40f, -58.0f, 0.78f, 3, 25 },
	{ 8.0f, 14.0f, 0.960f, 0.35f, -55.0f, 0.76f, 2, 0 },
};

struct vad {
	struct vad_cfg cfg;
	float window[AUDIO_FRAME_SAMPLES];
	float tw_re[NHALF], tw_im[NHALF]; /* e^{-2 pi i k / NFFT} */
	unsigned char bitrev[NHALF];	  /* 7-bit reversal for fft128 */

	bool primed;	       /* floors initialised from a first frame */
	float floor_db[NBAND]; /* noise floor per band */
	float mag[2][NBIN];    /* magnitude spectra, by frame parity */
	unsigned mag_i;
	float energy_db[HIST]; /* band energy of recent frames */
	float similar[HIST];   /* similarity of recent frames */
	float tonal[HIST];     /* tonality of recent frames */
	unsigned hist_i;
	unsigned nframes;
	unsigned run;	  /* raw speech frames in a row */
	unsigned hang;	  /* frames of hangover left */
	bool in_speech;	  /* armed (HANG_ARM) and not yet ended */
	float speech_db;  /* loudest raw speech frame of this stretch */
	unsigned bridged; /* bridged frames in a row */
};

/* Band edges (bins), roughly equal on a mel scale over BIN_LO..BIN_HI. */
static const unsigned char band_edge[NBAND + 1] = {
	8, 12, 16, 21, 26, 32, 39, 47, 56, 67, 80, 95, 112,
};

struct feat {
	float energy_db;     /* band energy, dBFS (full-scale sine 0 dB) */
	float snr_db;	     /* mean over bands of the SNR, 0..30 each */
	float tonal;	     /* share of energy in the 3 strongest peaks */
	float similar;	     /* spectral similarity with 2 frames ago */
	float modulation_db; /* energy range over HIST frames */
	float tonal_mean;    /* mean tonality over HIST frames */
	float steady;	     /* share of HIST frames with similar >= 0.9 */
};

static const struct vad_cfg default_cfg = { .aggressiveness = 1 };

/* ---- FFT: 128-point complex radix-2 on the packed real frame ---- */

static void fft_init(struct vad *v)
{
	for (unsigned k = 0; k < NHALF; k++) {
		double a = -2.0 * M_PI * (double)k / NFFT;
		v->tw_re[k] = (float)cos(a);
		v->tw_im[k] = (float)sin(a);
		unsigned r = 0;
		for (unsigned b = 0; b < 7; b++)
			r |= ((k >> b) & 1u) << (6 - b);
		v->bitrev[k] = (unsigned char)r;
	}
}

/* In-place 128-point complex FFT of input already in bit-reversed order.
 * Twiddles for N=128 are every second NFFT twiddle. */
static void fft128(const struct vad *v, float *re, float *im)
{
	/* The first two stages need no multiplications (twiddles 1, -i). */
	for (unsigned s = 0; s < 128; s += 4) {
		float ar = re[s] + re[s + 1], ai = im[s] + im[s + 1];
		float br = re[s] - re[s + 1], bi = im[s] - im[s + 1];
		float cr = re[s + 2] + re[s + 3], ci = im[s + 2] + im[s + 3];
		float dr = re[s + 2] - re[s + 3], di = im[s + 2] - im[s + 3];
		re[s] = ar + cr, im[s] = ai + ci;
		re[s + 2] = ar - cr, im[s + 2] = ai - ci;
		/* d times -i is (di, -dr) */
		re[s + 1] = br + di, im[s + 1] = bi - dr;
		re[s + 3] = br - di, im[s + 3] = bi + dr;
	}
	for (unsigned len = 8; len <= 128; len <<= 1) {
		unsigned half = len >> 1, step = NFFT / len;
		for (unsigned s = 0; s < 128; s += len) {
			for (unsigned k = 0; k < half; k++) {
				float wr = v->tw_re[k * step];
				float wi = v->tw_im[k * step];
				unsigned a = s + k, b = a + half;
				float xr = re[b] * wr - im[b] * wi;
				float xi = re[b] * wi + im[b] * wr;
				re[b] = re[a] - xr;
				im[b] = im[a] - xi;
				re[a] += xr;
				im[a] += xi;
			}
		}
	}
}

/* Power spectrum of the windowed frame, bins BIN_LO..BIN_HI-1. */
static void spectrum(const struct vad *v, const int16_t *pcm, float *pow)
{
	float re[128], im[128];
	/* Pack z[n] = x[2n] + i x[2n+1] straight into bit-reversed order;
	 * samples 160..255 are zero padding. */
	for (unsigned n = 0; n < AUDIO_FRAME_SAMPLES / 2; n++) {
		unsigned j = v->bitrev[n];
		re[j] = v->window[2 * n] * pcm[2 * n];
		im[j] = v->window[2 * n + 1] * pcm[2 * n + 1];
	}
	for (unsigned n = AUDIO_FRAME_SAMPLES / 2; n < 128; n++) {
		unsigned j = v->bitrev[n];
		re[j] = 0.0f;
		im[j] = 0.0f;
	}
	fft128(v, re, im);
	/* Split: X[k] = E[k] + W^k O[k] with E, O the spectra of the even and
	 * odd samples, recovered from Z[k] and conj(Z[128-k]). */
	for (unsigned k = BIN_LO; k < BIN_HI; k++) {
		unsigned m = (128 - k) & 127;
		float er = 0.5f * (re[k] + re[m]), ei = 0.5f * (im[k] - im[m]);
		float or_ = 0.5f * (im[k] + im[m]),
		      oi = -0.5f * (re[k] - re[m]);
		float wr = v->tw_re[k], wi = v->tw_im[k];
		float xr = er + or_ * wr - oi * wi;
		float xi = ei + or_ * wi + oi * wr;
		pow[k - BIN_LO] = xr * xr + xi * xi;
	}
}

static float to_db(float p)
{
	return 10.0f * log10f(p + 1e-12f);
}

static void analyse(struct vad *v, const int16_t *pcm, struct feat *f)
{
	float pow[NBIN];
	spectrum(v, pcm, pow);

	/* Scale: a full-scale sine gives a peak of (32768 * sum(w) / 2)^2 in
	 * one bin, spread over about 1.5 bins by the Hann window. */
	static const float full_scale = 32768.0f * 80.0f / 2.0f;
	const float norm = 1.0f / (1.5f * full_scale * full_scale);

	float total = 0.0f;
	float snr_sum = 0.0f;
	for (unsigned b = 0; b < NBAND; b++) {
		float e = 0.0f;
		for (unsigned k = band_edge[b]; k < band_edge[b + 1]; k++)
			e += pow[k - BIN_LO];
		total += e;
		/* Clamped: in digital silence every frame would otherwise be
		 * far above a floor of nothing. */
		float db = to_db(e * norm);
		if (db < BAND_MIN_DB)
			db = BAND_MIN_DB;
		/* The floor starts from the first frame, but no higher than a
		 * quiet line: a stream that begins with speech (a phone with
		 * silence suppression, a late start) must not take the
		 * speech for the floor, or barge-in waits for a pause. */
		if (!v->primed)
			v->floor_db[b] = db < PRIME_MAX_DB ? db : PRIME_MAX_DB;
		float snr = db - v->floor_db[b];
		/* Floor: follows the band down quickly, creeps up slowly
		 * (about 2 dB/s), so it sits in the dips between syllables. */
		if (snr < 0.0f)
			v->floor_db[b] += 0.5f * snr;
		else
			v->floor_db[b] += 0.04f;
		snr = snr < 0.0f ? 0.0f : snr > 30.0f ? 30.0f : snr;
		snr_sum += snr;
	}
	v->primed = true;
	f->energy_db = to_db(total * norm);
	f->snr_db = snr_sum / NBAND;

	/* Tonality: energy within +-2 bins of the three strongest local
	 * maxima. */
	unsigned pk[3] = { 0, 0, 0 };
	float pv[3] = { 0, 0, 0 };
	for (unsigned k = 1; k + 1 < NBIN; k++) {
		float p = pow[k];
		if (p < pow[k - 1] || p < pow[k + 1] || p <= pv[2])
			continue;
		if (p > pv[0]) {
			pv[2] = pv[1], pk[2] = pk[1];
			pv[1] = pv[0], pk[1] = pk[0];
			pv[0] = p, pk[0] = k;
		} else if (p > pv[1]) {
			pv[2] = pv[1], pk[2] = pk[1];
			pv[1] = p, pk[1] = k;
		} else {
			pv[2] = p, pk[2] = k;
		}
	}
	/* Sum +-2 bins around each, in bin order so overlaps count once. */
	for (unsigned i = 0; i < 2; i++)
		for (unsigned j = 0; j < 2 - i; j++)
			if (pk[j] > pk[j + 1]) {
				unsigned t = pk[j];
				pk[j] = pk[j + 1];
				pk[j + 1] = t;
			}
	float in_peaks = 0.0f;
	unsigned next = 0; /* first bin not yet summed */
	for (unsigned i = 0; i < 3; i++) {
		if (pk[i] == 0) /* fewer than three peaks */
			continue;
		unsigned lo = pk[i] >= 2 ? pk[i] - 2 : 0;
		unsigned hi = pk[i] + 2 < NBIN ? pk[i] + 2 : NBIN - 1;
		for (unsigned k = lo > next ? lo : next; k <= hi; k++)
			in_peaks += pow[k];
		next = hi + 1;
	}
	f->tonal = total > 0.0f ? in_peaks / total : 0.0f;

	/* Similarity: cosine of the magnitude spectra 40 ms apart (mag[t %
	 * 2] holds frame t - 2 until overwritten with frame t). */
	float *cur = v->mag[v->mag_i];
	float dot = 0.0f, n1 = 0.0f, n2 = 0.0f;
	for (unsigned k = 0; k < NBIN; k++) {
		float m = sqrtf(pow[k]);
		dot += m * cur[k];
		n1 += m * m;
		n2 += cur[k] * cur[k];
		cur[k] = m;
	}
	v->mag_i ^= 1u;
	f->similar = n1 > 0.0f && n2 > 0.0f ? dot / sqrtf(n1 * n2) : 0.0f;

	v->energy_db[v->hist_i] = f->energy_db;
	v->similar[v->hist_i] = f->similar;
	v->tonal[v->hist_i] = f->tonal;
	v->hist_i = (v->hist_i + 1) % HIST;
	v->nframes++;
	unsigned n = v->nframes < HIST ? v->nframes : HIST;
	float lo = 1e9f, hi = -1e9f, t = 0.0f;
	unsigned steady = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = (v->hist_i + HIST - 1 - i) % HIST;
		if (v->energy_db[j] < lo)
			lo = v->energy_db[j];
		if (v->energy_db[j] > hi)
			hi = v->energy_db[j];
		t += v->tonal[j];
		steady += v->similar[j] >= 0.9f;
	}
	f->modulation_db = hi - lo;
	f->tonal_mean = t / (float)n;
	f->steady = (float)steady / (float)n;
}

int vad_create(struct vad **vp, const struct vad_cfg *cfg)
{
	if (!vp)
		return -EINVAL;
	if (!cfg)
		cfg = &default_cfg;
	if (cfg->aggressiveness > 3)
		return -EINVAL;
	struct vad *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->cfg = *cfg;
	for (unsigned i = 0; i < AUDIO_FRAME_SAMPLES; i++)
		v->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * (i + 0.5) /
						       AUDIO_FRAME_SAMPLES));
	fft_init(v);
	vad_reset(v);
	*vp = v;
	return 0;
}

void vad_destroy(struct vad *v)
{
	free(v);
}

void vad_reset(struct vad *v)
{
	if (!v)
		return;
	v->primed = false;
	memset(v->floor_db, 0, sizeof(v->floor_db));
	memset(v->mag, 0, sizeof(v->mag));
	memset(v->energy_db, 0, sizeof(v->energy_db));
	memset(v->similar, 0, sizeof(v->similar));
	memset(v->tonal, 0, sizeof(v->tonal));
	v->mag_i = 0;
	v->hist_i = 0;
	v->nframes = 0;
	v->run = 0;
	v->hang = 0;
	v->in_speech = false;
	v->speech_db = BAND_MIN_DB;
	v->bridged = 0;
}

static float min4(float a, float b, float c, float d)
{
	float m = a < b ? a : b;
	m = m < c ? m : c;
	return m < d ? m : d;
}

float vad_process(struct vad *v, const int16_t *pcm)
{
	if (!v)
		return 0.0f;
	if (!pcm) {
		v->run = 0;
		v->hang = 0;
		v->in_speech = false;
		v->bridged = 0;
		return 0.0f;
	}
	struct feat f;
	analyse(v, pcm, &f);

	/* Each cue's margin over its bar, in rough units of its spread on
	 * speech; the weakest one decides. */
	const struct level *l = &levels[v->cfg.aggressiveness];
	float m = min4((f.snr_db - l->snr_db) / 2.0f,
		       (f.modulation_db - l->mod_db) / 3.0f,
		       (f.energy_db - l->energy_db) / 3.0f,
		       (l->tonal - f.tonal) / 0.01f);
	m = min4(m, (l->tonal_mean - f.tonal_mean) / 0.02f,
		 (l->steady - f.steady) / 0.06f, m);
	float p = 1.0f / (1.0f + expf(-2.0f * m));

	if (p >= 0.5f) {
		if (++v->run >= HANG_ARM) {
			v->hang = l->hang;
			if (!v->in_speech)
				v->speech_db = f.energy_db;
			v->in_speech = true;
		}
		if (v->in_speech && f.energy_db > v->speech_db)
			v->speech_db = f.energy_db;
		v->bridged = 0;
		return p;
	}
	v->run = 0;
	if (v->in_speech && v->bridged < l->bridge && f.snr_db >= l->snr_db &&
	    f.energy_db >= l->energy_db &&
	    f.energy_db >= v->speech_db - BRIDGE_DROP_DB) {
		v->bridged++;
		v->hang = l->hang;
		return 0.5f;
	}
	/* A bridge used up stays so until speech comes back: a tone after
	 * speech is bridged once, not again after each hangover. */
	if (v->hang) {
		v->hang--;
		return 0.5f;
	}
	v->in_speech = false;
	v->bridged = 0;
	return p;
}
