/*
 * assets: the files of web/ (the capture widget), compiled into the
 * binary so optd serves them with nothing to install beside it. The
 * Makefile writes their table with scripts/embed.sh; a file changed in
 * web/ is in the next build.
 */
#ifndef OPTD_ASSETS_H
#define OPTD_ASSETS_H

#include <stddef.h>

typedef struct {
	const char *name;          /* the file's name in web/ */
	const unsigned char *data; /* its bytes, then a NUL */
	size_t len;                /* without the NUL */
} asset;

/* The file of web/ called `name`, or NULL. */
const asset *asset_find(const char *name);

#endif
