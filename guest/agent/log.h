/* Logging to the serial console and, once the agent port is open, as LOG frames. */
#ifndef RUNCVM_LOG_H
#define RUNCVM_LOG_H

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_init(void);
void log_set_debug(int on);
int log_debug_enabled(void);
struct chan;
/* The channel LOG frames go to (borrowed; NULL: none). */
void log_set_chan(struct chan *ch);
/* Frames may only be written by the agent process itself, never by a forked child. */
void log_port_enable(int on);
void logmsg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) logmsg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  logmsg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  logmsg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) logmsg(LOG_DEBUG, __VA_ARGS__)

#endif
