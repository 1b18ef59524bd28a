/* Semantic endpointing (see turnend.h): the last word of the transcript,
 * and the domain LM's end-of-sentence probability where a step has one. */
#include "engines/stt/turnend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engines/stt/stt.h"

/* Words a caller's sentence seldom ends with; "on", "in", "up", "out",
 * "about" often do ("log in", "what is it about"), so they are not here.
 * Even these end 3 % of the STT set's finished turns as transcribed ("can
 * i add money with", "verify my [id]": BENCHMARKS.md "Where the
 * endpointed turns lose words"). Sorted for bsearch. */
static const char *const dangling[] = {
	"a",	"an",  "and",	"at",	"because", "but",  "by", "for",
	"from", "i",   "if",	"into", "my",	   "of",   "or", "our",
	"than", "the", "their", "to",	"with",	   "your",
};

static int word_cmp(const void *a, const void *b)
{
	return strcmp(a, *(const char *const *)b);
}

bool stt_turn_unfinished(const char *text, double eos_logp)
{
	char norm[STT_TEXT_MAX + 1];
	if (!text)
		return false;
	int len = stt_text_normalize(text, strlen(text), norm, sizeof(norm));
	if (len <= 0)
		return false;
	const char *last = strrchr(norm, ' ');
	last = last ? last + 1 : norm;
	if (bsearch(last, dangling, sizeof(dangling) / sizeof(dangling[0]),
		    sizeof(dangling[0]), word_cmp))
		return true;
	return !isnan(eos_logp) && eos_logp < STT_TURN_EOS_LOGP;
}
