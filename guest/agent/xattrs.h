/* Extended attributes in the write-back: every attribute of a guest file but overlay's own. */
#ifndef RUNCVM_XATTRS_H
#define RUNCVM_XATTRS_H

/* A file: an open fd (name NULL), or the entry name in the directory open at fd (not followed). */
struct xloc {
	int fd;
	const char *name;
};

/* Called for each attribute that could not be copied or removed (errno value err). */
typedef void (*xattr_loss_fn)(const char *path, const char *key, int err);

/* True for the attributes overlayfs keeps for itself (trusted.overlay.*): never copied. */
int xattrs_overlay_own(const char *key);
/* Sets every attribute of src on dst but overlay's own; with prune, also removes those dst has
 * and src lacks (a directory that already existed). Returns how many could not be copied, each
 * reported through loss; -1 (errno set) when src's list cannot be read. */
int xattrs_copy(const struct xloc *src, const struct xloc *dst, int prune, const char *path,
		xattr_loss_fn loss);

#endif
