/* Loads the kernel modules the initramfs carries, in dependency order. */
#ifndef RUNCVM_MODULES_H
#define RUNCVM_MODULES_H

/* list: a file with one module path per line. Returns the number of failures. */
int modules_load(const char *list);

#endif
