/* runc's --log file (src/runtime/runc-log.ts is the TypeScript writer): containerd shows the user
 * the last "error" line, so a failed exec must land there or Docker only says "unable to retrieve
 * OCI runtime error". */
#ifndef EXEC_PREP_RUNC_LOG_H
#define EXEC_PREP_RUNC_LOG_H

/* Appends one error line to path (stderr when path is NULL or cannot be opened), as JSON when
 * format is "json", else in runc's text format. */
void runc_log_error(const char *path, const char *format, const char *msg);

#endif
