/* Fuzz target: caller numbers as they arrive from SIP From headers and
 * flows' lookup keys, through sqlstore_crm_phone_normalize, checking that
 * what it accepts is E.164 (the form the customers.phone CHECK allows)
 * and that normalizing that again is the identity. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlstore_crm.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SQLSTORE_CRM_KEY_MAX)
		return 0;
	char in[SQLSTORE_CRM_KEY_MAX + 1];
	memcpy(in, data, size);
	in[size] = '\0';
	char out[SQLSTORE_CRM_PHONE_LEN];
	memset(out, 'x', sizeof(out));
	int err = sqlstore_crm_phone_normalize(in, out);
	if (err) {
		check(err == -EINVAL);
		return 0;
	}
	size_t n = strlen(out);
	check(n >= 4 && n <= 16);
	check(out[0] == '+' && out[1] >= '1' && out[1] <= '9');
	for (size_t i = 1; i < n; i++)
		check(out[i] >= '0' && out[i] <= '9');
	char again[SQLSTORE_CRM_PHONE_LEN];
	check(sqlstore_crm_phone_normalize(out, again) == 0);
	check(!strcmp(out, again));
	return 0;
}
