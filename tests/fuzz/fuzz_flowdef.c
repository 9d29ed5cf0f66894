/*
 * fuzz_flowdef: libFuzzer target for core/flowdef's flowdef_parse().
 *
 * Definitions come from admins' requests: any bytes must give a flowdef
 * or FLOW_ERR_INVALID with a message, never a crash or a leak. A parsed
 * definition has 1..FLOW_STEPS_MAX steps and one entry kind, and its
 * audience answers for an empty user without failing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/flowdef.h"

static const json_t *no_attr(void *ctx, const char *name)
{
	(void)ctx, (void)name;
	return NULL;
}

static int never(void *ctx, const char *group)
{
	(void)ctx, (void)group;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[FLOW_ERR_MAX];
	flowdef *f = NULL;
	flow_user u = {no_attr, never, 0, NULL};

	if (flowdef_parse((const char *)data, size, &f, err) != FLOW_OK) {
		if (f || !err[0])
			abort();
		return 0;
	}
	if (flowdef_steps(f) < 1 || flowdef_steps(f) > FLOW_STEPS_MAX ||
	    !flowdef_step(f, 0) || flowdef_step(f, flowdef_steps(f)) ||
	    !flowdef_entry_event(f) == !flowdef_entry_group(f) ||
	    flowdef_audience(f, &u) < 0)
		abort();
	flowdef_sms_match(f, "join");
	flowdef_free(f);
	return 0;
}
