/*
 * failsync: an LD_PRELOAD library for one e2e test. While the file named
 * by OPTD_TEST_FAIL_SYNC exists, fdatasync() fails with EIO, as it does
 * when a disk drops a write; otherwise it is the C library's. Only the
 * test that builds it uses it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int fdatasync(int fd)
{
	static int (*real)(int);
	const char *mark = getenv("OPTD_TEST_FAIL_SYNC");

	if (mark && access(mark, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return real ? real(fd) : (errno = ENOSYS, -1);
}
