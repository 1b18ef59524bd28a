/* The CRM tables of the SQLite store (customers, accounts, cards, tickets;
 * docs/CRM.md): the queries behind store_crm_query() and the demo bank.
 * Called on the store thread only, outside any open transaction. */
#ifndef VG_STORE_SQLITE_SQLSTORE_CRM_H
#define VG_STORE_SQLITE_SQLSTORE_CRM_H
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Longest key store_crm_query() accepts (a caller URI fits). */
#define SQLSTORE_CRM_KEY_MAX 512
/* Ticket subjects are cut to this many bytes (at a UTF-8 boundary). */
#define SQLSTORE_CRM_SUBJECT_MAX 1024
/* Rows in an accounts/cards/tickets reply at most. */
#define SQLSTORE_CRM_ROWS_MAX 20
/* E.164: '+', at most 15 digits, NUL. */
#define SQLSTORE_CRM_PHONE_LEN 17

struct sqlstore_crm;

/* Prepare the CRM statements on db (borrowed; must stay open until
 * sqlstore_crm_close). Returns 0, -EIO, -ENOMEM. */
int sqlstore_crm_open(sqlite3 *db, struct sqlstore_crm **out);
/* Finalize the statements. NULL is a no-op. */
void sqlstore_crm_close(struct sqlstore_crm *c);

/* Run query q (enum store_crm_query) for key (and subject for
 * CREATE_TICKET, already capped; now_ms is its created time). Reads run in
 * one read transaction; CREATE_TICKET commits before this returns. Sets
 * *jsonp (malloc'd) and *lenp as store.h documents. Returns 0, -ENOENT
 * (no such customer), -EINVAL (unknown q, empty subject), -EIO, -ENOMEM. */
int sqlstore_crm_run(struct sqlstore_crm *c, int q, const char *key,
		     const char *subject, int64_t now_ms, char **jsonp,
		     size_t *lenp);

/* Insert the demo bank in one transaction when customers is empty.
 * *addedp (may be NULL) gets the customers added (0 when not empty).
 * Returns 0, -EIO, -ENOMEM. */
int sqlstore_crm_seed_demo(struct sqlstore_crm *c, unsigned *addedp);

/* Caller number as dialled or as a SIP/tel URI ("sip:+14155550101@host",
 * "\"Al\" <sip:4155550101@h>", "+1 (415) 555-0101", "0044 20 7946 0958")
 * to E.164 in out: digits only after a '+'; "00" counts as '+'; without
 * one, 10 digits get "+1" (NANP), 11 and more a bare '+', fewer are
 * refused (a local number of an unknown country). Spaces,
 * '-', '.', '(', ')' and '/' are separators; anything else (letters:
 * "anonymous") is not a phone number. Returns 0, or -EINVAL when in is not
 * a phone number of 3..15 digits. Pure; any thread. */
int sqlstore_crm_phone_normalize(const char *in,
				 char out[SQLSTORE_CRM_PHONE_LEN]);

/* cents as a decimal amount: 125040 -> "1250.40", -5 -> "-0.05". out holds
 * at least 24 bytes. Pure. */
void sqlstore_crm_money_print(int64_t cents, char out[24]);
#endif
