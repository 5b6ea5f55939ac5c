/* One request to Firecracker's REST API on its Unix socket, for what the supervisor asks of a
 * running Firecracker: SendCtrlAltDel when the guest did not power off by itself (the Node driver's
 * kill(), src/vmm/firecracker/driver.ts). Bounded: one deadline for connect, request and the
 * status line; only the status line is read (Firecracker answers 204, or 400 with a
 * fault_message). */
#ifndef RUNCVM_SUPERVISOR_FCAPI_H
#define RUNCVM_SUPERVISOR_FCAPI_H

#include <stddef.h>

/* The body of PUT /actions that Firecracker turns into a Ctrl-Alt-Del key press in the guest: the
 * same call as src/vmm/firecracker/config.ts CTRL_ALT_DEL, checked by the API contract test. */
#define FCAPI_CTRL_ALT_DEL_PATH "/actions"
#define FCAPI_CTRL_ALT_DEL_BODY "{\"action_type\":\"SendCtrlAltDel\"}"

/* The longest status line read ("HTTP/1.1 204 No Content\r\n" and the like). */
#define FCAPI_STATUS_MAX 128

/* Builds the request bytes into out: its length, or -1 when they do not fit. */
int fcapi_request(char *out, size_t cap, const char *method, const char *path, const char *body);

/* Sends `PUT path` with the JSON body to the API socket and reads the status line within
 * timeout_ms: the HTTP status, or -1 with err naming the socket, the path and the reason. */
int fcapi_put(const char *socket_path, const char *path, const char *body, int timeout_ms,
	      char *err, size_t errlen);

#endif
