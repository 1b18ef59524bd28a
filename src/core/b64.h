/* Base64 (RFC 4648, standard alphabet, '=' padding). Pure; any thread. */
#ifndef VG_CORE_B64_H
#define VG_CORE_B64_H

#include <stddef.h>
#include <stdint.h>

/* Encode in[0..n) into out[cap] with a terminating NUL. Returns the text
 * length, or -ENOSPC when out is too small. */
int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* Decode in[0..len) into out[cap]. Padding is optional but, when present,
 * must complete the last group; the unused bits of a short final group
 * must be zero. Returns the byte count, -EILSEQ (not base64) or
 * -EMSGSIZE (out too small). */
int b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
