/* Shared by fuzz_twiml.c: is s (n bytes) safe XML character data, i.e.
 * no markup characters, only the five entities, valid UTF-8 and no
 * characters XML 1.0 forbids? */
#ifndef VG_FUZZ_TWIML_CHECK_H
#define VG_FUZZ_TWIML_CHECK_H
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/utf8.h"

static bool twiml_chardata_ok(const char *s, size_t n)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;",
					    "&apos;" };
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '<' || c == '>' || c == '"' || c == '\'')
			return false;
		if (c == '&') {
			size_t k = 0;
			for (; k < 5; k++) {
				size_t l = strlen(ents[k]);
				if (n - i >= l && !memcmp(s + i, ents[k], l))
					break;
			}
			if (k == 5)
				return false;
			i += strlen(ents[k]);
			continue;
		}
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return false;
		size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}
#endif
