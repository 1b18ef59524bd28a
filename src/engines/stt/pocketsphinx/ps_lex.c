/* Pronunciations for the PocketSphinx builders: flite's letter-to-sound
 * for words the CMU dictionary (engines/lexicon/cmudict.h) does not have. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flite.h>

#include "engines/stt/pocketsphinx/ps_build.h"

/* In flite's cmulex library; its header is not installed. */
cst_lexicon *cmu_lex_init(void);

/*
 * Letter-to-sound.
 */
static const char *const cmu_phones[] = {
	"AA", "AE", "AH", "AO", "AW", "AY", "B",  "CH", "D",  "DH",
	"EH", "ER", "EY", "F",	"G",  "HH", "IH", "IY", "JH", "K",
	"L",  "M",  "N",  "NG", "OW", "OY", "P",  "R",	"S",  "SH",
	"T",  "TH", "UH", "UW", "V",  "W",  "Y",  "Z",	"ZH",
};

/* flite phone ("ax0", "ey1", "pau") -> PocketSphinx phone in out; 0 when
 * dropped (pause), -1 unknown. */
static int map_phone(const char *ph, char *out)
{
	char up[4];
	size_t n = 0;
	for (; ph[n] && !(ph[n] >= '0' && ph[n] <= '9'); n++) {
		if (n >= 3)
			return -1;
		char c = ph[n];
		up[n] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	up[n] = '\0';
	if (!strcmp(up, "PAU") || !strcmp(up, "H#") || !n)
		return 0;
	if (!strcmp(up, "AX"))
		strcpy(up, "AH");
	else if (!strcmp(up, "AXR"))
		strcpy(up, "ER");
	for (size_t i = 0; i < sizeof(cmu_phones) / sizeof(*cmu_phones); i++)
		if (!strcmp(up, cmu_phones[i])) {
			strcpy(out, up);
			return 1;
		}
	return -1;
}

static pthread_mutex_t lts_lock = PTHREAD_MUTEX_INITIALIZER;
static cst_lexicon *lts_lex;

int ps_lts(const char *word, char *out, size_t cap)
{
	if (!ps_word_ok(word) || !out || !cap)
		return -EINVAL;
	char buf[PS_PHONES_MAX];
	size_t len = 0;
	int err = 0;

	/* flite's lexicon is process-wide and not documented as reentrant */
	pthread_mutex_lock(&lts_lock);
	if (!lts_lex)
		lts_lex = cmu_lex_init();
	cst_val *v = lts_lex ? lex_lookup(lts_lex, word, NULL, NULL) : NULL;
	for (const cst_val *p = v; p && !err; p = val_cdr(p)) {
		char ph[4];
		int r = map_phone(val_string(val_car(p)), ph);
		if (r < 0)
			err = -ENOENT;
		else if (r && len + strlen(ph) + 2 > sizeof(buf))
			err = -E2BIG;
		else if (r)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len,
						"%s%s", len ? " " : "", ph);
	}
	if (v)
		delete_val(v);
	pthread_mutex_unlock(&lts_lock);
	if (!err && !len)
		err = -ENOENT;
	if (!err && len + 1 > cap)
		err = -E2BIG;
	if (err)
		return err;
	memcpy(out, buf, len + 1);
	return 0;
}
