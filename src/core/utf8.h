/* UTF-8 validation shared by everything that passes outside text on (JSON
 * replies, CDR fields, slot values). */
#ifndef VG_CORE_UTF8_H
#define VG_CORE_UTF8_H
#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at s (at most n > 0 bytes), or 0
 * if it is invalid: a stray continuation byte, an overlong form, a surrogate,
 * a code point beyond U+10FFFF, or a sequence cut short. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
#endif
