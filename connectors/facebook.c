/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stddef.h>

#include "connector.h"
#include "graph.h"

/*
 * Facebook Pages, over the Graph API (connectors/graph.c): the page's
 * Messenger conversations, the comments on its posts and the posts of
 * visitors on its feed, and the posts that tag it. platform_id is the
 * page's id; what the page writes is outbound (from.id == page id).
 */

#define MESSAGE_FIELDS	"fields=id,created_time,from,to,message&limit=50"
#define POST_FIELDS	"id,created_time,from,message,permalink_url"

static const char *const facebook_stream_names[] = {
	"conversations", "comments", "tagged", NULL,
};

static const struct graph_stream facebook_streams[] = {
	{
		.name = "conversations",
		.walk = GW_THREADS,
		.edge = "conversations",
		.query = "platform=messenger&fields=id,updated_time",
		.list = { "updated_time", NULL, NULL },
		.kind = MSG_DIRECT,
		.child_edge = "messages",
		.child_query = MESSAGE_FIELDS,
		.child = { "created_time", "message", NULL },
	},
	{
		/* the feed: the page's posts and visitors' posts */
		.name = "comments",
		.walk = GW_POSTS,
		.edge = "feed",
		.query = "fields=" POST_FIELDS ",updated_time",
		.list = { "created_time", "message", "permalink_url" },
		.kind = MSG_BROADCAST,
		.child_edge = "comments",
		.child_query = "filter=stream&order=reverse_chronological"
		    "&fields=id,created_time,from,message,parent%7Bid%7D,"
		    "permalink_url&limit=100",
		.child = { "created_time", "message", "permalink_url" },
		.child_since = 1,
	},
	{
		.name = "tagged",
		.walk = GW_LIST,
		.edge = "tagged",
		.query = "fields=" POST_FIELDS,
		.list = { "created_time", "message", "permalink_url" },
		.kind = MSG_BROADCAST,
	},
};

static const struct graph_def facebook_def = {
	.who = "facebook",
	.streams = facebook_streams,
	.need_page_id = 0,
};

static void *
facebook_new(const struct connector_env *env, char **errstr)
{
	return graph_new(env, &facebook_def, errstr);
}

const struct connector_def connector_facebook = {
	.name = "facebook",
	.platform = "facebook",
	.streams = facebook_stream_names,
	.needs_secret = 1,
	.default_url = "https://graph.facebook.com",
	/* Meta's standard messaging window */
	.reply_window_ms = 24 * 3600 * 1000LL,
	.new = facebook_new,
	.free = graph_free,
	.poll = graph_poll,
	.cancel = graph_cancel,
};
