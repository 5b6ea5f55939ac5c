/* Loads the kernel modules the initramfs carries, in dependency order. */
#ifndef RUNCVM_MODULES_H
#define RUNCVM_MODULES_H

#include "agenterr.h"

/* Inserts one module file; an already loaded module is success. 0, or -1 with e filled. */
int modules_insert(const char *path, struct agent_err *e);
/* list: a file with one module path per line. Returns the number of failures. */
int modules_load(const char *list);

#endif
