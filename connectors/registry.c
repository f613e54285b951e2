/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <string.h>

#include "connector.h"

/* The connectors. Adding one: its file, and one line here. */
extern const struct connector_def connector_mastodon;
extern const struct connector_def connector_bluesky;
extern const struct connector_def connector_exec;
extern const struct connector_def connector_facebook, connector_instagram;
extern const struct connector_def connector_linkedin;
extern const struct connector_def connector_x;

static const struct connector_def *const connectors[] = {
	&connector_mastodon,
	&connector_bluesky,
	&connector_exec,
	&connector_facebook, &connector_instagram,
	&connector_linkedin,
	&connector_x,
};

const struct connector_def *
connector_at(size_t i)
{
	if (i >= sizeof connectors / sizeof connectors[0])
		return NULL;
	return connectors[i];
}

const struct connector_def *
connector_find(const char *name)
{
	const struct connector_def *c;
	size_t i;

	for (i = 0; (c = connector_at(i)) != NULL; i++) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}
