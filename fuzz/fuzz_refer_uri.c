/* Fuzz target: the REFER's Refer-To URI with transfer context
 * (sipep_refer_uri). Flow variables (caller input among them) become
 * header values in a SIP message: whatever they hold, the URI must stay
 * one header line and one URI (no CR, LF, '<', '>', '"', blanks) that
 * starts with the target, and must fit the buffer.
 * Input: NUL-separated fields: cap (first byte), target, then key, value,
 * key, value... */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call/channel.h"
#include "telephony/sip/sipep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS_MAX (2 + 2 * 40)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	size_t cap = (size_t)data[0] * 16 + 1;
	char *copy = malloc(size);
	char *out = malloc(cap);
	if (!copy || !out)
		abort();
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	const char *field[FIELDS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < size - 1 && n < FIELDS_MAX;) {
		field[n++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	const char *target = n ? field[0] : "";
	struct channel_kv kv[40];
	unsigned nkv = 0;
	for (size_t i = 1; i + 1 < n && nkv < 40; i += 2) {
		kv[nkv].key = field[i];
		kv[nkv].value = field[i + 1];
		nkv++;
	}
	unsigned dropped = 0;
	int err = sipep_refer_uri(out, cap, target, kv, nkv, &dropped);
	if (!err) {
		size_t len = strnlen(out, cap);
		if (len == cap || strncmp(out, target, strlen(target)))
			abort();
		for (size_t i = 0; i < len; i++)
			if (strchr("\r\n<>\" \t", out[i]))
				abort();
		if (dropped > nkv)
			abort();
	}
	free(copy);
	free(out);
	return 0;
}
