/* Loads the kernel modules the initramfs carries, in dependency order. */
#ifndef RUNCVM_MODULES_H
#define RUNCVM_MODULES_H

#include <stddef.h>

/* Inserts one module file; an already loaded module is success. 0, or -1 with a message in err. */
int modules_insert(const char *path, char *err, size_t errlen);
/* list: a file with one module path per line. Returns the number of failures. */
int modules_load(const char *list);

#endif
