/*
 * Storage escape probe for test/e2e/storage.test.ts: busybox cannot call open_by_handle_at.
 * Usage: handles FILE DIR. Prints what name_to_handle_at says about FILE, whether that genuine
 * handle opens again, then tries forged
 * handles (ext4 ino32/gen and FUSE nodeid/gen layouts, inodes 1..4096) relative to DIR and
 * prints the first bytes of every file one of them opens. Built static with musl-gcc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int try_handle(int mfd, int type, const void *bytes, unsigned n)
{
	struct file_handle *h = malloc(sizeof *h + n);
	if (!h)
		return 0;
	h->handle_bytes = n;
	h->handle_type = type;
	memcpy(h->f_handle, bytes, n);
	int fd = open_by_handle_at(mfd, h, O_RDONLY);
	free(h);
	if (fd < 0)
		return 0;
	char buf[65] = {0};
	ssize_t r = read(fd, buf, 64);
	char link[64], path[512] = "?";
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t pl = readlink(link, path, sizeof path - 1);
	if (pl >= 0)
		path[pl] = 0;
	printf("OPENED type %d path %s: %s\n", type, path, r > 0 ? buf : "");
	close(fd);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: handles FILE DIR\n");
		return 2;
	}
	struct file_handle *h = malloc(sizeof *h + 128);
	int mnt;
	h->handle_bytes = 128;
	if (name_to_handle_at(AT_FDCWD, argv[1], h, &mnt, 0) != 0)
		printf("name_to_handle_at: %s\n", strerror(errno));
	else
		printf("name_to_handle_at: ok (type %d, %u bytes)\n", h->handle_type,
		       h->handle_bytes);
	int mfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (mfd < 0) {
		perror(argv[2]);
		return 2;
	}
	int genuine = h->handle_bytes <= 128 ? open_by_handle_at(mfd, h, O_RDONLY) : -1;
	printf("genuine handle: %s\n", genuine >= 0 ? "opened" : strerror(errno));
	if (genuine >= 0)
		close(genuine);
	int opened = 0;
	errno = 0;
	for (uint32_t ino = 1; ino <= 4096; ino++) {
		uint32_t ext4[2] = {ino, 0};
		uint64_t fuse[2] = {ino, 0};
		opened += try_handle(mfd, 1, ext4, sizeof ext4);
		opened += try_handle(mfd, 0x81, fuse, 12);
	}
	printf("forged handles opened: %d (last error: %s)\n", opened, strerror(errno));
	return 0;
}
