/*
 * sqlite_vfs: the system's default VFS, with each WAL's frames written
 * a transaction at a time.
 *
 * SQLite writes a WAL frame as two writes, its 24-byte header and then its
 * page, so a commit of n pages cost 2n pwrite calls, each one a trip
 * through the kernel's page cache for part of a page. Here the writes to a
 * WAL that follow on from each other are gathered in a buffer and written
 * with one call:
 *  - when the header of a commit frame (one whose database size is not
 *    zero) has been added, and again after its page;
 *  - when the buffer is full, or a write does not follow on;
 *  - before anything else is done with the file: read, size, truncate,
 *    sync, lock, file control, close.
 * Invariants: the buffer is empty whenever a write of a commit frame (its
 * header, or the page after it) returns, so a transaction is wholly in
 * the file before SQLite tells readers of it (in the wal-index) and before
 * optd's syncer fsyncs the WAL through a descriptor of its own; a failed
 * write is reported by the call that made it, never lost. Files other
 * than WALs are the default VFS's own, untouched.
 */
#include "store/sqlite_int.h"

#include <stdint.h>
#include <string.h>

#define SQLT_VFS_NAME "optd"
#define SQLT_VFS_BUF (1024 * 1024) /* bytes gathered before a write */
#define SQLT_FRAME_HDR 24          /* a WAL frame header's size */
/* The unix VFS keeps only the low 17 bits of a write's length. */
#define SQLT_VFS_WRITE_MAX (124 * 1024)

typedef struct {
	sqlite3_file base;
	sqlite3_file *sub;     /* the default VFS's file, after this struct */
	unsigned char *buf;    /* SQLT_VFS_BUF bytes, from the first write */
	size_t len;            /* bytes in buf */
	sqlite3_int64 off;     /* where buf[0] goes in the file */
	int commit;            /* the last write was a commit frame's header */
} walf;

static sqlite3_vfs sqlt_vfs;
static int sqlt_vfs_on; /* registered */
static sqlite3_io_methods walf_methods;

static int walf_flush(walf *f)
{
	int rc = SQLITE_OK;

	for (size_t at = 0, n; rc == SQLITE_OK && at < f->len; at += n) {
		n = f->len - at;
		if (n > SQLT_VFS_WRITE_MAX)
			n = SQLT_VFS_WRITE_MAX;
		rc = f->sub->pMethods->xWrite(f->sub, f->buf + at, (int)n,
					      f->off + (sqlite3_int64)at);
	}
	f->len = 0;
	return rc;
}

static int walf_append(walf *f, const void *p, int n, sqlite3_int64 off)
{
	int rc = SQLITE_OK;

	if (f->len && off != f->off + (sqlite3_int64)f->len)
		rc = walf_flush(f);
	if (rc == SQLITE_OK && f->len + (size_t)n > SQLT_VFS_BUF)
		rc = walf_flush(f);
	if (rc != SQLITE_OK)
		return rc;
	if (!f->buf)
		f->buf = sqlite3_malloc(SQLT_VFS_BUF);
	if (!f->buf || (size_t)n > SQLT_VFS_WRITE_MAX) /* as it comes */
		return f->sub->pMethods->xWrite(f->sub, p, n, off);
	if (!f->len)
		f->off = off;
	memcpy(f->buf + f->len, p, (size_t)n);
	f->len += (size_t)n;
	return SQLITE_OK;
}

static int walf_write(sqlite3_file *file, const void *p, int n,
		      sqlite3_int64 off)
{
	walf *f = (walf *)file;
	const unsigned char *h = p;
	int was_commit = f->commit;
	int rc;

	rc = walf_append(f, p, n, off);
	if (rc != SQLITE_OK)
		return rc;
	if (n == SQLT_FRAME_HDR) {
		/* Bytes 4-7: the database's size after a commit, else 0. A
		 * commit frame's header goes out at once: when SQLite
		 * rewrites the headers of a transaction that overwrote frames
		 * it had spilled, that header is its last write, and no page
		 * follows it. */
		f->commit = (h[4] | h[5] | h[6] | h[7]) != 0;
		return f->commit ? walf_flush(f) : SQLITE_OK;
	}
	f->commit = 0;
	return was_commit ? walf_flush(f) : SQLITE_OK;
}

static int walf_close(sqlite3_file *file)
{
	walf *f = (walf *)file;
	int rc = walf_flush(f);
	int rc2 = f->sub->pMethods->xClose(f->sub);

	sqlite3_free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

/* Every other method: the gathered frames first, then the file's own. */
#define WALF_FLUSHED(call)                   \
	walf *f = (walf *)file;              \
	int rc = walf_flush(f);              \
	if (rc != SQLITE_OK)                 \
		return rc;                   \
	return f->sub->pMethods->call

static int walf_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
	WALF_FLUSHED(xRead)(f->sub, p, n, off);
}

static int walf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	WALF_FLUSHED(xTruncate)(f->sub, size);
}

static int walf_sync(sqlite3_file *file, int flags)
{
	WALF_FLUSHED(xSync)(f->sub, flags);
}

static int walf_size(sqlite3_file *file, sqlite3_int64 *size)
{
	WALF_FLUSHED(xFileSize)(f->sub, size);
}

static int walf_lock(sqlite3_file *file, int level)
{
	WALF_FLUSHED(xLock)(f->sub, level);
}

static int walf_unlock(sqlite3_file *file, int level)
{
	WALF_FLUSHED(xUnlock)(f->sub, level);
}

static int walf_reserved(sqlite3_file *file, int *out)
{
	WALF_FLUSHED(xCheckReservedLock)(f->sub, out);
}

static int walf_control(sqlite3_file *file, int op, void *arg)
{
	WALF_FLUSHED(xFileControl)(f->sub, op, arg);
}

static int walf_sector(sqlite3_file *file)
{
	walf *f = (walf *)file;

	return f->sub->pMethods->xSectorSize(f->sub);
}

static int walf_caps(sqlite3_file *file)
{
	walf *f = (walf *)file;

	return f->sub->pMethods->xDeviceCharacteristics(f->sub);
}

static int vfs_open(sqlite3_vfs *vfs, const char *name,
		    sqlite3_file *file, int flags, int *out_flags)
{
	sqlite3_vfs *dflt = vfs->pAppData;
	walf *f = (walf *)file;
	int rc;

	if (!(flags & SQLITE_OPEN_WAL)) /* the default VFS's file, as is */
		return dflt->xOpen(dflt, name, file, flags, out_flags);
	memset(f, 0, sizeof *f);
	f->sub = (sqlite3_file *)(f + 1);
	rc = dflt->xOpen(dflt, name, f->sub, flags, out_flags);
	if (rc != SQLITE_OK || !f->sub->pMethods)
		return rc;
	f->base.pMethods = &walf_methods;
	return SQLITE_OK;
}

/* The rest is the default VFS's, called on it. */
static int vfs_delete(sqlite3_vfs *v, const char *name, int dir)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xDelete(d, name, dir);
}

static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xAccess(d, name, flags, out);
}

static int vfs_full(sqlite3_vfs *v, const char *name, int n, char *out)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xFullPathname(d, name, n, out);
}

static void *vfs_dlopen(sqlite3_vfs *v, const char *name)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xDlOpen(d, name);
}

static void vfs_dlerror(sqlite3_vfs *v, int n, char *out)
{
	sqlite3_vfs *d = v->pAppData;
	d->xDlError(d, n, out);
}

static void (*vfs_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xDlSym(d, h, sym);
}

static void vfs_dlclose(sqlite3_vfs *v, void *h)
{
	sqlite3_vfs *d = v->pAppData;
	d->xDlClose(d, h);
}

static int vfs_random(sqlite3_vfs *v, int n, char *out)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xRandomness(d, n, out);
}

static int vfs_sleep(sqlite3_vfs *v, int us)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xSleep(d, us);
}

static int vfs_time(sqlite3_vfs *v, double *out)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xCurrentTime(d, out);
}

static int vfs_lasterr(sqlite3_vfs *v, int n, char *out)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xGetLastError ? d->xGetLastError(d, n, out) : 0;
}

static int vfs_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	sqlite3_vfs *d = v->pAppData;
	return d->xCurrentTimeInt64(d, out);
}

/* A WAL is only ever written, read, synced, truncated and sized: the
 * memory-mapping and shared-memory methods belong to the database file,
 * so a WAL's methods stop at version 1. */
static sqlite3_io_methods walf_methods = {
	.iVersion = 1,
	.xClose = walf_close,
	.xRead = walf_read,
	.xWrite = walf_write,
	.xTruncate = walf_truncate,
	.xSync = walf_sync,
	.xFileSize = walf_size,
	.xLock = walf_lock,
	.xUnlock = walf_unlock,
	.xCheckReservedLock = walf_reserved,
	.xFileControl = walf_control,
	.xSectorSize = walf_sector,
	.xDeviceCharacteristics = walf_caps,
};

const char *sqlt_vfs_name(void)
{
	return sqlt_vfs_on ? SQLT_VFS_NAME : NULL;
}

int sqlt_vfs_register(void)
{
	sqlite3_vfs *d = sqlite3_vfs_find(NULL);

	if (!d || d->iVersion < 2)
		return SQLITE_ERROR;
	sqlt_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(walf) + d->szOsFile,
		.mxPathname = d->mxPathname,
		.zName = SQLT_VFS_NAME,
		.pAppData = d,
		.xOpen = vfs_open,
		.xDelete = vfs_delete,
		.xAccess = vfs_access,
		.xFullPathname = vfs_full,
		.xDlOpen = vfs_dlopen,
		.xDlError = vfs_dlerror,
		.xDlSym = vfs_dlsym,
		.xDlClose = vfs_dlclose,
		.xRandomness = vfs_random,
		.xSleep = vfs_sleep,
		.xCurrentTime = vfs_time,
		.xGetLastError = vfs_lasterr,
		.xCurrentTimeInt64 = vfs_time64,
	};
	if (sqlite3_vfs_register(&sqlt_vfs, 0) != SQLITE_OK)
		return SQLITE_ERROR;
	sqlt_vfs_on = 1;
	return SQLITE_OK;
}
