/* assets: see assets.h. The table itself is generated. */
#include "lib/assets.h"

#include <string.h>

extern const asset assets_table[]; /* ends with a NULL name */

const asset *asset_find(const char *name)
{
	for (const asset *a = assets_table; name && a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}
