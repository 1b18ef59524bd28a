/* Structured logging: one line per event, key=value (default) or JSON.
 * Thread-safe; each line is written with a single write(2). */
#ifndef VG_CORE_LOG_H
#define VG_CORE_LOG_H
#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum log_format { LOG_FMT_KV, LOG_FMT_JSON };

/* Configure once at start (before threads): minimum level, format, fd (2). */
void log_setup(enum log_level min, enum log_format fmt, int fd);
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);

/* Log one event. call_id may be NULL. fmt yields space-separated key=value
 * pairs; a value that may contain spaces, quotes or outside bytes must be
 * passed through log_esc() (it returns a quoted, escaped copy). Example:
 *   log_event(LOG_LVL_INFO, id, "call_end", "reason=%s from=%s", r,
 * log_esc(f));
 */
void log_event(enum log_level lvl, const char *call_id, const char *event,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void log_eventv(enum log_level lvl, const char *call_id, const char *event,
		const char *fmt, va_list ap);

/* Quote and escape s for a key=value log line: "..." with \" \\ \n and
 * \xNN for control bytes, cut at 200 bytes. Returns a pointer into one of
 * 8 thread-local rotating buffers: valid until 8 more calls on this thread. */
const char *log_esc(const char *s);

#define LOGD(id, ev, ...) log_event(LOG_LVL_DEBUG, id, ev, __VA_ARGS__)
#define LOGI(id, ev, ...) log_event(LOG_LVL_INFO, id, ev, __VA_ARGS__)
#define LOGW(id, ev, ...) log_event(LOG_LVL_WARN, id, ev, __VA_ARGS__)
#define LOGE(id, ev, ...) log_event(LOG_LVL_ERROR, id, ev, __VA_ARGS__)
#endif
