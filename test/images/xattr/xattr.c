/* xattr: set and read extended attributes where no setfattr/getfattr exists (busybox images).
 *   xattr set PATH NAME HEX   sets NAME to the bytes HEX spells (lsetxattr: a symlink itself)
 *   xattr get PATH NAME       prints the value as hex, or exits 1 with the error
 * Static: built with musl-gcc by test/e2e/image-durability.test.ts. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

static int unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = strlen(s) / 2;
	if (strlen(s) % 2 || n > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)n;
}

int main(int argc, char **argv)
{
	unsigned char buf[4096];
	if (argc == 5 && strcmp(argv[1], "set") == 0) {
		int n = unhex(argv[4], buf, sizeof buf);
		if (n < 0) {
			fprintf(stderr, "xattr: bad hex value %s\n", argv[4]);
			return 2;
		}
		if (lsetxattr(argv[2], argv[3], buf, (size_t)n, 0) != 0) {
			fprintf(stderr, "xattr: set %s on %s: %s\n", argv[3], argv[2],
				strerror(errno));
			return 1;
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "get") == 0) {
		ssize_t n = lgetxattr(argv[2], argv[3], buf, sizeof buf);
		if (n < 0) {
			fprintf(stderr, "xattr: get %s of %s: %s\n", argv[3], argv[2],
				strerror(errno));
			return 1;
		}
		for (ssize_t i = 0; i < n; i++)
			printf("%02x", buf[i]);
		printf("\n");
		return 0;
	}
	fprintf(stderr, "usage: xattr set PATH NAME HEX | xattr get PATH NAME\n");
	return 2;
}
