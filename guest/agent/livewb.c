#include "livewb.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "writeback.h"

/* An entry whose ctime is this close to the moment a pass read it may change again within the
 * same timestamp tick (the kernel's coarse clock), unseen by the signature: copy it again. */
#define SETTLE_NS 20000000LL
/* The record is rewritten from the table when it grows past this plus four times its live part. */
#define RECORD_SLACK (1u << 20)
/* The stop's write-back reads at most this much of the record (compaction keeps it far below). */
#define RECORD_MAX  (4 * (size_t)LIVEWB_MAX_BYTES + 2 * RECORD_SLACK)
#define RECORD_HEAD 12 /* u64 inode number, u32 path length, then the path (no NUL) */

/* What a pass last did with one upper-dir path. The signature (inode, type and mode, owner, size,
 * times) says whether the upper entry changed since. */
struct ent {
	ino_t ino;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec mtim, ctim;
	/* The host inode a pass created at this path (0: none, e.g. a directory the host already
	 * had or a whiteout): only such an entry is ever removed by the sweep. */
	ino_t host_ino;
	unsigned gen;
	unsigned char valid; /* the signature may be trusted to skip the entry */
	char path[];
};

/* The live process's state (one per process; PID 1 never touches it). */
static struct ent **tab;
static size_t tab_cap, tab_used, tab_bytes;
static unsigned cur_gen, tmp_counter;
static int record_fd = -1;
static size_t record_size;

struct pass {
	const struct imgroot *ir; /* the paths left out */
	int host;		  /* the host share's root */
	int tmp;		  /* LIVEWB_TMP in it, -1 until a pass needs it */
	struct timespec t0;	  /* CLOCK_REALTIME at the start of the pass */
	unsigned copied, removed;
	int retry, errors, full;
};

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

static struct ent **slot(struct ent **t, size_t cap, const char *path)
{
	size_t i = hash(path) & (cap - 1);
	while (t[i] && strcmp(t[i]->path, path) != 0)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static int tab_grow(void)
{
	size_t cap = tab_cap ? tab_cap * 2 : 1024;
	struct ent **t = calloc(cap, sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < tab_cap; i++)
		if (tab[i])
			*slot(t, cap, tab[i]->path) = tab[i];
	free(tab);
	tab = t;
	tab_cap = cap;
	return 0;
}

/* The entry for path, added (zeroed) when new; NULL when the table is full (ps->full set, logged).
 */
static struct ent *tab_get(struct pass *ps, const char *path)
{
	if (tab_cap) {
		struct ent *e = *slot(tab, tab_cap, path);
		if (e)
			return e;
	}
	size_t n = strlen(path);
	if (tab_used >= LIVEWB_MAX_ENTRIES || tab_bytes + n > LIVEWB_MAX_BYTES) {
		log_error("live write-back: the upper dir has more than %u entries or %u bytes of "
			  "names: "
			  "stopping; the container's layer gets the guest's changes when it stops",
			  LIVEWB_MAX_ENTRIES, LIVEWB_MAX_BYTES);
		ps->full = 1;
		return NULL;
	}
	if ((tab_used + 1) * 2 > tab_cap && tab_grow() != 0) {
		log_error("live write-back: table of %zu entries: %s", tab_used, strerror(errno));
		ps->full = 1;
		return NULL;
	}
	struct ent *e = calloc(1, sizeof *e + n + 1);
	if (!e) {
		log_error("live write-back: entry for %s: %s", path, strerror(errno));
		ps->full = 1;
		return NULL;
	}
	memcpy(e->path, path, n + 1);
	*slot(tab, tab_cap, path) = e;
	tab_used++;
	tab_bytes += n;
	return e;
}

static int same(const struct ent *e, const struct stat *st)
{
	return e->valid && e->ino == st->st_ino && e->mode == st->st_mode && e->uid == st->st_uid &&
	       e->gid == st->st_gid && e->size == st->st_size &&
	       e->mtim.tv_sec == st->st_mtim.tv_sec && e->mtim.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ctim.tv_sec == st->st_ctim.tv_sec && e->ctim.tv_nsec == st->st_ctim.tv_nsec;
}

/* Remembers st as handled; trusted only if it had settled before the pass read it. */
static void remember(struct pass *ps, struct ent *e, const struct stat *st)
{
	e->ino = st->st_ino;
	e->mode = st->st_mode;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = st->st_size;
	e->mtim = st->st_mtim;
	e->ctim = st->st_ctim;
	long long age = (long long)(ps->t0.tv_sec - st->st_ctim.tv_sec) * 1000000000LL +
			(ps->t0.tv_nsec - st->st_ctim.tv_nsec);
	e->valid = age > SETTLE_NS;
	if (!e->valid)
		ps->retry = 1;
}

/* --- the record of host entries the passes created --- */

static int record_open(int rw)
{
	record_fd = openat(rw, LIVEWB_RECORD,
			   O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;
	if (record_fd < 0 || fstat(record_fd, &st) != 0) {
		log_error("live write-back: open the record /rw/%s: %s", LIVEWB_RECORD,
			  strerror(errno));
		return -1;
	}
	record_size = (size_t)st.st_size;
	return 0;
}

static size_t record_encode(unsigned char *b, ino_t ino, const char *path, size_t n)
{
	uint64_t i = (uint64_t)ino;
	uint32_t len = (uint32_t)n;
	memcpy(b, &i, 8);
	memcpy(b + 8, &len, 4);
	memcpy(b + RECORD_HEAD, path, n);
	return RECORD_HEAD + n;
}

static int record_write(int fd, ino_t ino, const char *path)
{
	unsigned char b[RECORD_HEAD + 4096];
	size_t n = strlen(path);
	if (n > 4096)
		return errno = ENAMETOOLONG, -1;
	size_t len = record_encode(b, ino, path, n);
	ssize_t w = write(fd, b, len);
	if (w != (ssize_t)len)
		return errno = w < 0 ? errno : EIO, -1;
	return 0;
}

/* Before the entry gets its name on the host: a kill right after still finds it in the record. */
static int record_add(ino_t ino, const char *path)
{
	if (record_write(record_fd, ino, path) != 0) {
		log_error("live write-back: record %s: %s", path, strerror(errno));
		return -1;
	}
	record_size += RECORD_HEAD + strlen(path);
	return 0;
}

/* Rewrites the record from the table (only entries a pass created and still follows) when the old
 * one is mostly superseded lines; a new file renamed over the old, so a crash leaves either. */
static void record_compact(int rw)
{
	size_t live = 0;
	for (size_t i = 0; i < tab_cap; i++)
		if (tab[i] && tab[i]->host_ino)
			live += RECORD_HEAD + strlen(tab[i]->path);
	if (record_size <= 4 * live + RECORD_SLACK)
		return;
	static const char tmp[] = LIVEWB_RECORD ".new";
	int fd = openat(rw, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < tab_cap; i++)
		if (tab[i] && tab[i]->host_ino)
			rc = record_write(fd, tab[i]->host_ino, tab[i]->path);
	if (rc == 0 && fsync(fd) != 0)
		rc = -1;
	if (fd >= 0 && close(fd) != 0)
		rc = -1;
	if (rc == 0 && renameat(rw, tmp, rw, LIVEWB_RECORD) != 0)
		rc = -1;
	if (rc != 0) {
		log_error("live write-back: compact the record: %s", strerror(errno));
		return;
	}
	close(record_fd);
	if (record_open(rw) == 0)
		log_debug("live write-back: record compacted to %zu bytes", record_size);
}

/* --- paths below a root, never following a symlink --- */

/* The directory holding path ("/a/b/c" -> a/b), opened component by component with O_NOFOLLOW;
 * *base points into path at the last component. Returns a new fd, or -1 (errno). */
static int open_parent(int root, const char *path, const char **base)
{
	char buf[4096];
	const char *rel = path[0] == '/' ? path + 1 : path;
	const char *last = strrchr(rel, '/');
	*base = last ? last + 1 : rel;
	if (!**base)
		return errno = EINVAL, -1;
	size_t n = last ? (size_t)(last - rel) : 0;
	if (n >= sizeof buf)
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, rel, n);
	buf[n] = 0;
	int fd = openat(root, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	for (char *c = buf, *next; fd >= 0 && n && c; c = next) {
		next = strchr(c, '/');
		if (next)
			*next++ = 0;
		int sub = openat(fd, c, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
		int err = errno;
		close(fd);
		errno = err;
		fd = sub;
	}
	return fd;
}

static int gone_errno(int err)
{
	return err == ENOENT || err == ENOTDIR || err == ELOOP;
}

/* Removes path below root if it is still inode ino (what a pass created); a directory only when
 * empty, so nothing another writer put there (a `docker cp` into the running container) goes. */
static int remove_if_ours(int root, const char *path, ino_t ino)
{
	const char *base;
	int dir = open_parent(root, path, &base);
	if (dir < 0)
		return gone_errno(errno) ? 0 : -1;
	struct stat st;
	int rc = 0;
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (st.st_ino == ino &&
		    unlinkat(dir, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 &&
		    errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
			rc = -1;
		else if (st.st_ino == ino)
			rc = 1;
	} else if (errno != ENOENT) {
		rc = -1;
	}
	int err = errno;
	close(dir);
	errno = err;
	return rc;
}

/* --- one pass --- */

static int tmp_dir(struct pass *ps)
{
	if (ps->tmp >= 0)
		return ps->tmp;
	if (mkdirat(ps->host, LIVEWB_TMP, 0700) != 0 && errno != EEXIST)
		return -1;
	ps->tmp = openat(ps->host, LIVEWB_TMP, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
	return ps->tmp;
}

/* Makes the copy (or an empty directory) under LIVEWB_TMP, records it, and renames it over
 * host/name: `docker cp` sees the old entry or the whole new one. */
static int put(struct pass *ps, int up, const char *name, int host, const struct stat *st,
	       const char *path, ino_t *ino)
{
	int tmp = tmp_dir(ps);
	if (tmp < 0)
		return -1;
	char t[16];
	snprintf(t, sizeof t, "%u", ++tmp_counter);
	if (wb_remove_at(tmp, t) != 0)
		return -1;
	int rc = S_ISDIR(st->st_mode) ? mkdirat(tmp, t, 0700)
				      : wb_copy_nondir(up, name, tmp, t, st, path);
	struct stat ts;
	if (rc == 0)
		rc = fstatat(tmp, t, &ts, AT_SYMLINK_NOFOLLOW);
	if (rc == 0)
		rc = record_add(ts.st_ino, path);
	if (rc == 0 && renameat(tmp, t, host, name) != 0) {
		rc = -1;
		/* A directory (or a file where a directory goes): the guest replaced it, as the
		 * stop's write-back would. */
		if ((errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST ||
		     errno == ENOTDIR) &&
		    wb_remove_at(host, name) == 0)
			rc = renameat(tmp, t, host, name);
	}
	if (rc != 0) {
		int err = errno;
		wb_remove_at(tmp, t);
		errno = err;
		return -1;
	}
	*ino = ts.st_ino;
	ps->copied++;
	return 0;
}

static void live_dir(struct pass *ps, int up, int host, char *path, size_t plen, int *changed);

static void failed(struct pass *ps, const char *what, const char *path)
{
	log_error("live write-back: %s %s: %s", what, path, strerror(errno));
	ps->errors++;
}

/* A directory of the upper dir. Replacing what the host has (opaque, or not a directory there)
 * happens once per upper directory; then its entries, then its metadata if anything changed. */
static void live_subdir(struct pass *ps, int up, int host, const char *name, const struct stat *st,
			struct ent *e, char *path, size_t plen, int *changed)
{
	int cup = openat(up, name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
	if (cup < 0) {
		if (!gone_errno(errno)) /* else removed or replaced since readdir: the next pass
					   sees it */
			failed(ps, "open", path);
		return;
	}
	int known = e->ino == st->st_ino && S_ISDIR(e->mode);
	struct stat hst;
	int have = fstatat(host, name, &hst, AT_SYMLINK_NOFOLLOW) == 0;
	if (!have && errno != ENOENT) {
		failed(ps, "stat the host's", path);
		goto out;
	}
	if (have && (!S_ISDIR(hst.st_mode) || (!known && wb_is_opaque(cup)))) {
		if (wb_remove_at(host, name) != 0) {
			failed(ps, "remove the host's", path);
			goto out;
		}
		have = 0;
		*changed = 1;
	}
	if (!have) {
		ino_t ino;
		if (put(ps, up, name, host, st, path, &ino) != 0) {
			failed(ps, "create", path);
			goto out;
		}
		e->host_ino = ino;
		*changed = 1;
	} else if (!known && e->host_ino != hst.st_ino) {
		e->host_ino = 0; /* a directory the host had: never removed by a pass */
	}
	int chost = openat(host, name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
	if (chost < 0) {
		failed(ps, "open the host's", path);
		goto out;
	}
	int sub = 0;
	live_dir(ps, cup, chost, path, plen, &sub);
	if ((!have || sub || !same(e, st)) && wb_dir_meta(cup, chost, st, have, path) != 0)
		ps->errors++;
	remember(ps, e, st);
	close(chost);
out:
	close(cup);
}

static void live_entry(struct pass *ps, int up, int host, const char *name, char *path, size_t plen,
		       int *changed)
{
	struct stat st;
	if (fstatat(up, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			failed(ps, "stat", path);
		return;
	}
	struct ent *e = tab_get(ps, path);
	if (!e)
		return;
	e->gen = cur_gen;
	if (S_ISDIR(st.st_mode)) {
		live_subdir(ps, up, host, name, &st, e, path, plen, changed);
		return;
	}
	if (same(e, &st))
		return;
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		/* A whiteout: the guest deleted the path. Once: a later `docker cp` there stays. */
		if (wb_remove_at(host, name) != 0) {
			failed(ps, "remove", path);
			e->valid = 0;
			return;
		}
		ps->removed++;
		e->host_ino = 0;
	} else {
		ino_t ino;
		if (put(ps, up, name, host, &st, path, &ino) != 0) {
			failed(ps, "copy", path);
			e->valid = 0;
			return;
		}
		e->host_ino = ino;
	}
	*changed = 1;
	remember(ps, e, &st);
}

/* path holds the guest path of the dir (plen bytes, "" for the root). */
static void live_dir(struct pass *ps, int up, int host, char *path, size_t plen, int *changed)
{
	DIR *d = wb_open_dir(up);
	if (!d) {
		failed(ps, "read dir", plen ? path : "/");
		return;
	}
	struct dirent *de;
	while (!ps->full && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		size_t n = strlen(de->d_name);
		if (plen + 1 + n >= 4096) {
			errno = ENAMETOOLONG;
			failed(ps, "below", plen ? path : "/");
			continue;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, n + 1);
		if (!wb_is_excluded(ps->ir, path))
			live_entry(ps, up, host, de->d_name, path, plen + 1 + n, changed);
		path[plen] = 0;
	}
	if (errno != 0 && !ps->full)
		failed(ps, "read dir", plen ? path : "/");
	closedir(d);
}

static int deeper_first(const void *a, const void *b)
{
	size_t x = strlen((*(struct ent *const *)a)->path),
	       y = strlen((*(struct ent *const *)b)->path);
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Entries not met by this pass are gone from the upper dir: remove from the host what a pass
 * created there (children first), forget them all. Skipped after an error, which may have hidden
 * a subtree that is still there. */
static void sweep(struct pass *ps)
{
	if (ps->errors || ps->full)
		return;
	size_t nstale = 0;
	for (size_t i = 0; i < tab_cap; i++)
		nstale += tab[i] && tab[i]->gen != cur_gen;
	if (!nstale)
		return;
	struct ent **stale = malloc(nstale * sizeof *stale);
	struct ent **kept = calloc(tab_cap, sizeof *kept);
	if (!stale || !kept) {
		log_error("live write-back: sweep of %zu entries: %s", nstale, strerror(errno));
		free(stale);
		free(kept);
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < tab_cap; i++) {
		struct ent *e = tab[i];
		if (e && e->gen != cur_gen)
			stale[k++] = e;
		else if (e)
			*slot(kept, tab_cap, e->path) = e;
	}
	qsort(stale, nstale, sizeof *stale, deeper_first);
	for (size_t i = 0; i < nstale; i++) {
		struct ent *e = stale[i];
		int r = e->host_ino ? remove_if_ours(ps->host, e->path, e->host_ino) : 0;
		if (r < 0)
			log_error("live write-back: remove %s: %s", e->path, strerror(errno));
		ps->removed += r > 0;
		tab_bytes -= strlen(e->path);
		free(e);
	}
	tab_used -= nstale;
	free(tab);
	tab = kept;
	free(stale);
}

int livewb_pass(const struct imgroot *ir)
{
	int upper_fd = ir->upper_fd, host_fd = ir->host_fd, rw_fd = ir->rw_fd;
	if (record_fd < 0 && record_open(rw_fd) != 0)
		return -1;
	struct pass ps = {.ir = ir, .host = host_fd, .tmp = -1};
	if (clock_gettime(CLOCK_REALTIME, &ps.t0) != 0) {
		log_error("live write-back: clock_gettime: %s", strerror(errno));
		return -1;
	}
	cur_gen++;
	char path[4096] = "";
	int changed = 0;
	live_dir(&ps, upper_fd, host_fd, path, 0, &changed);
	if (ps.tmp >= 0) {
		close(ps.tmp);
		if (unlinkat(host_fd, LIVEWB_TMP, AT_REMOVEDIR) != 0)
			log_error("live write-back: remove /%s: %s", LIVEWB_TMP, strerror(errno));
	}
	if (ps.full)
		return -1;
	sweep(&ps);
	record_compact(rw_fd);
	if (ps.copied || ps.removed || ps.errors)
		log_debug("live write-back: %u copied, %u removed, %d errors, %zu entries followed",
			  ps.copied, ps.removed, ps.errors, tab_used);
	/* An error is retried at the next change, not at once: it may well persist. */
	return ps.retry ? 1 : 0;
}

/* --- the stop's side --- */

/* True when the upper dir still has something at path (an error counts as yes: keep). */
static int upper_has(int upper, const char *path)
{
	const char *base;
	int dir = open_parent(upper, path, &base);
	if (dir < 0)
		return !gone_errno(errno);
	struct stat st;
	int has = fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
	close(dir);
	return has;
}

static int read_record(int rw, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = openat(rw, LIVEWB_RECORD, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) != 0) {
		/* errno says why */
	} else if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
	} else {
		if ((size_t)st.st_size > RECORD_MAX)
			errno = EFBIG;
		else if ((*buf = malloc((size_t)st.st_size + 1)))
			for (rc = 0; rc == 0 && *len < (size_t)st.st_size;) {
				ssize_t n = read(fd, *buf + *len, (size_t)st.st_size - *len);
				if (n > 0)
					*len += (size_t)n;
				else if (n == 0)
					break;
				else if (errno != EINTR)
					rc = -1;
			}
	}
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

struct rec {
	ino_t ino;
	char *path;
};

static int longer_first(const void *a, const void *b)
{
	size_t x = strlen(((const struct rec *)a)->path), y = strlen(((const struct rec *)b)->path);
	return x < y ? 1 : x > y ? -1 : 0;
}

int livewb_prune(int upper_fd, int host_fd, int rw_fd)
{
	char *buf;
	size_t len;
	if (rw_fd < 0)
		return 0;
	if (read_record(rw_fd, &buf, &len) != 0) {
		log_error("write-back: read the live write-back's record: %s", strerror(errno));
		free(buf);
		return -1;
	}
	size_t n = 0;
	for (size_t off = 0; off + RECORD_HEAD <= len; n++) {
		uint32_t l;
		memcpy(&l, buf + off + 8, 4);
		off += RECORD_HEAD + l;
	}
	struct rec *recs = calloc(n ? n : 1, sizeof *recs);
	if (!recs) {
		log_error("write-back: %zu records of the live write-back: %s", n, strerror(errno));
		free(buf);
		return -1;
	}
	size_t k = 0;
	/* Each path is NUL-terminated in place by moving it one byte back over its length field's
	 * end. */
	for (size_t off = 0; off + RECORD_HEAD <= len && k < n;) {
		uint64_t ino;
		uint32_t l;
		memcpy(&ino, buf + off, 8);
		memcpy(&l, buf + off + 8, 4);
		if (l == 0 || l > 4096 || off + RECORD_HEAD + l > len)
			break; /* a record cut by a crash: the ones before it stand */
		char *p = buf + off + RECORD_HEAD - 1;
		memmove(p, p + 1, l);
		p[l] = 0;
		recs[k++] = (struct rec){(ino_t)ino, p};
		off += RECORD_HEAD + l;
	}
	qsort(recs, k, sizeof *recs, longer_first);
	int rc = 0;
	unsigned removed = 0;
	for (size_t i = 0; i < k; i++) {
		if (recs[i].path[0] != '/' || upper_has(upper_fd, recs[i].path))
			continue;
		int r = remove_if_ours(host_fd, recs[i].path, recs[i].ino);
		if (r < 0) {
			log_error("write-back: remove %s (written live, since removed by the "
				  "guest): %s",
				  recs[i].path, strerror(errno));
			rc = -1;
		}
		removed += r > 0;
	}
	if (k)
		log_debug("write-back: %zu live records, %u entries the guest removed since", k,
			  removed);
	free(recs);
	free(buf);
	return rc;
}

int livewb_forget(int rw_fd)
{
	if (rw_fd < 0)
		return 0;
	if (unlinkat(rw_fd, LIVEWB_RECORD, 0) != 0 && errno != ENOENT) {
		log_error("write-back: remove the live write-back's record: %s", strerror(errno));
		return -1;
	}
	if (syncfs(rw_fd) != 0) {
		log_error("write-back: syncfs on the writable drive: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --- the process --- */

static void drain(int fd)
{
	char b[256];
	ssize_t n;
	while ((n = read(fd, b, sizeof b)) > 0)
		;
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_error("live write-back: read the wake pipe: %s", strerror(errno));
}

/* Waits for a change (a byte from the flusher), then for the pacing, then runs a pass. */
static void __attribute__((noreturn)) live_main(int wake, const struct imgroot *ir)
{
	int host = ir->host_fd;
	long long last_start = -LIVEWB_MIN_INTERVAL_MS, last_end = 0, last_dur = 0;
	int pending = 1; /* a first pass: the drive may hold a previous run's changes */
	if (wb_remove_at(host, LIVEWB_TMP) != 0)
		log_error("live write-back: remove a stale /%s: %s", LIVEWB_TMP, strerror(errno));
	for (;;) {
		if (!pending) {
			struct pollfd p = {wake, POLLIN, 0};
			if (poll(&p, 1, -1) < 0 && errno != EINTR) {
				log_error("live write-back: poll: %s", strerror(errno));
				sleep(1);
			}
		}
		long long next = last_start + LIVEWB_MIN_INTERVAL_MS;
		if (last_end + LIVEWB_COST_FACTOR * last_dur > next)
			next = last_end + LIVEWB_COST_FACTOR * last_dur;
		long long now = clock_ms();
		if (now < next)
			usleep((useconds_t)((next - now) * 1000));
		drain(wake); /* changes from now on call for another pass */
		last_start = clock_ms();
		int r = livewb_pass(ir);
		last_end = clock_ms();
		last_dur = last_end - last_start;
		if (r < 0)
			_exit(1);
		pending = r;
	}
}

int livewb_start(struct imgroot *ir, int wake_fd)
{
	if (ir->upper_fd < 0 || ir->host_fd < 0 || ir->rw_fd < 0) {
		log_error("live write-back: not started (no %s): docker cp and diff see the "
			  "guest's changes when it stops",
			  ir->host_fd < 0 ? "host share" : "writable drive");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("live write-back: fork: %s (docker cp and diff see the guest's changes "
			  "when it stops)",
			  strerror(errno));
		return -1;
	}
	if (pid == 0) {
		log_port_enable(
			0); /* the port belongs to PID 1: this process logs to the console */
		live_main(wake_fd, ir);
	}
	ir->live_pid = pid;
	log_debug("live write-back: pid %d, every >= %d ms and >= %dx the last pass", pid,
		  LIVEWB_MIN_INTERVAL_MS, LIVEWB_COST_FACTOR);
	return 0;
}

void livewb_stop(struct imgroot *ir)
{
	pid_t live_pid = ir->live_pid;
	if (live_pid < 0)
		return;
	if (kill(live_pid, SIGKILL) != 0 && errno != ESRCH)
		log_error("live write-back: kill pid %d: %s", live_pid, strerror(errno));
	int st;
	while (waitpid(live_pid, &st, 0) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != ECHILD)
			log_error("live write-back: wait for pid %d: %s", live_pid,
				  strerror(errno));
		break;
	}
	ir->live_pid = -1;
}

int livewb_reaped(struct imgroot *ir, pid_t pid, int status)
{
	if (ir->live_pid < 0 || pid != ir->live_pid)
		return 0;
	log_error("live write-back: the process (pid %d) ended (status 0x%x): docker cp and diff "
		  "of the running container "
		  "no longer see the guest's changes; the layer gets them when it stops",
		  pid, status);
	ir->live_pid = -1;
	return 1;
}
