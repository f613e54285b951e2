/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stddef.h>

#include "connector.h"
#include "graph.h"

/*
 * Instagram professional accounts, over the Graph API with Facebook Login
 * (connectors/graph.c): the comments and replies on the account's media,
 * the media it is tagged in, and its direct messages, which are the
 * conversations (platform=instagram) of the Facebook page it is linked
 * to. platform_id is the Instagram account's id, page_id the page's.
 * What the account writes is outbound: from.id == platform_id, or the
 * username is the account's `handle` when that is set.
 *
 * Caption and comment @mentions are delivered only by webhook and are
 * not polled.
 */

#define MESSAGE_FIELDS	"fields=id,created_time,from,to,message&limit=50"
#define COMMENT_FIELDS	"id,text,timestamp,username,from,parent_id"

static const char *const instagram_stream_names[] = {
	"comments", "tags", "dm", NULL,
};

static const struct graph_stream instagram_streams[] = {
	{
		/* the account's media, then their comments */
		.name = "comments",
		.walk = GW_POSTS,
		.edge = "media",
		.query = "fields=id,timestamp,caption,comments_count,permalink",
		.list = { "timestamp", "caption", "permalink" },
		.kind = MSG_BROADCAST,
		.own = 1,
		.child_edge = "comments",
		.child_query = "fields=" COMMENT_FIELDS ",replies.limit(50)"
		    "%7B" COMMENT_FIELDS "%7D&limit=50",
		.child = { "timestamp", "text", NULL },
		.count_cache = 1,
	},
	{
		.name = "tags",
		.walk = GW_LIST,
		.edge = "tags",
		.query = "fields=id,timestamp,caption,username,permalink",
		.list = { "timestamp", "caption", "permalink" },
		.kind = MSG_BROADCAST,
	},
	{
		.name = "dm",
		.walk = GW_THREADS,
		.on_page = 1,
		.edge = "conversations",
		.query = "platform=instagram&fields=id,updated_time",
		.list = { "updated_time", NULL, NULL },
		.kind = MSG_DIRECT,
		.child_edge = "messages",
		.child_query = MESSAGE_FIELDS,
		.child = { "created_time", "message", NULL },
	},
};

static const struct graph_def instagram_def = {
	.who = "instagram",
	.streams = instagram_streams,
	.need_page_id = 1,
	.page_id_why = "the id of the Facebook page linked to the Instagram "
	    "account, whose conversations hold its direct messages",
};

static void *
instagram_new(const struct connector_env *env, char **errstr)
{
	return graph_new(env, &instagram_def, errstr);
}

const struct connector_def connector_instagram = {
	.name = "instagram",
	.platform = "instagram",
	.streams = instagram_stream_names,
	.needs_secret = 1,
	.default_url = "https://graph.facebook.com",
	/* Meta's standard messaging window */
	.reply_window_ms = 24 * 3600 * 1000LL,
	.new = instagram_new,
	.free = graph_free,
	.poll = graph_poll,
	.cancel = graph_cancel,
};
