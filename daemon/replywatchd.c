/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

#include "alert.h"
#include "conf.h"
#include "http.h"
#include "exporter.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "notify.h"
#include "outbox.h"
#include "poller.h"
#include "routes.h"
#include "store.h"
#include "watch.h"
#include "xmalloc.h"

/*
 * replywatchd: polls the configured accounts and keeps the store up to
 * date. It runs in the foreground, one loop on one thread; a supervisor
 * (systemd) starts and stops it.
 *
 * Start-up: configuration, database, HTTP client, connectors, the open
 * waits, then the first polls. SIGTERM or SIGINT: stop scheduling, cancel
 * the polls in flight (what they fetched since their last commit is
 * dropped: the cursor was not moved past it), close every handle, exit 0.
 */

#define FIRST_POLL_SPREAD_MS	1000

/* The daemon's top-level context: its only mutable state. */
struct daemon {
	uv_loop_t	 loop;
	const char	*conf_path;
	struct conf	*conf;
	struct conf	**old_confs;	/* replaced by reloads; connectors of
					   kept accounts still point into them */
	size_t		 nold_confs;
	uv_timer_t	 watchdog;
	char		 status[256];	/* last STATUS= sent */
	struct store	*store;
	struct http	*http;
	struct poller	*poller;
	struct watch	*watch;
	struct routeset	*routes;
	struct routeset	**old_routes;	/* replaced by reloads */
	size_t		 nold_routes;
	struct outbox	*outbox;
	struct alerts	*alerts;
	struct metrics_server *metrics;
	struct exporter	 exporter;
	uv_signal_t	 sigterm, sigint, sighup;
	int		 stopping;
	int		 exit_code;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: replywatchd [-c FILE] [-v] [--check-config]\n"
	    "       replywatchd --help | --version\n"
	    "\n"
	    "Polls the brand accounts of the configuration and records their\n"
	    "messages and reply times. Runs in the foreground; logs to stderr.\n"
	    "\n"
	    "Options:\n"
	    "  -c, --config FILE  the configuration (default: %s)\n"
	    "  -t, --check-config check the configuration, the secrets it names\n"
	    "                     and the connectors' settings, print each\n"
	    "                     problem as FILE:LINE: why, and exit\n"
	    "  -v, --verbose      log debug messages too (overrides log_level)\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      the version\n"
	    "\n"
	    "Signals: SIGTERM or SIGINT stop it cleanly; SIGHUP reloads the\n"
	    "configuration (an invalid one is refused, the old one stays).\n"
	    "Exit status: 0 stopped on request (or configuration fine), 1 failure.\n",
	    CONF_DEFAULT_PATH);
}

/* ---- configuration ------------------------------------------------------ */

static void
print_errors(struct conf_errors *errs, int logged)
{
	size_t i;

	for (i = 0; i < errs->n; i++) {
		if (logged)
			log_err("%s", errs->msgs[i]);
		else
			fprintf(stderr, "%s\n", errs->msgs[i]);
	}
	conf_errors_clear(errs);
}

/* The file and everything it names; every problem printed (logged when
 * the daemon runs). */
static struct conf *
load_conf(const char *path, int logged)
{
	struct conf_errors errs = { 0 };
	struct conf *conf;
	char *why = NULL;
	size_t i;

	/* every problem: the file's, then each account's */
	if ((conf = conf_load_partial(path, &errs)) == NULL) {
		print_errors(&errs, logged);
		return NULL;
	}
	for (i = 0; i < conf->naccounts; i++)
		poller_check_account(conf, &conf->accounts[i], &errs);
	if (conf->naccounts == 0)
		conf_errors_add(&errs, conf->path, 0, "no [account \"NAME\"] "
		    "section: there is nothing to poll");
	if (conf->metrics_listen != NULL &&
	    metrics_parse_listen(conf->metrics_listen, &why) == -1) {
		conf_errors_add(&errs, conf->path, 0, "%s", why);
		free(why);
	}
	if (errs.n > 0) {
		print_errors(&errs, logged);
		conf_free(conf);
		return NULL;
	}
	return conf;
}

/* ---- telling systemd ----------------------------------------------------- */

static void
status_line(struct daemon *d, char *buf, size_t len)
{
	size_t n = d->poller != NULL ? poller_naccounts(d->poller) : 0;
	size_t failing = d->poller != NULL ? poller_nfailing(d->poller) : 0;
	size_t overdue = d->watch != NULL ? watch_noverdue(d->watch) : 0;
	size_t open = d->watch != NULL ? watch_nopen(d->watch) : 0;
	size_t firing = d->alerts != NULL ? alerts_nfiring(d->alerts) : 0;

	snprintf(buf, len, "%zu account%s, %zu wait%s open, %zu overdue, "
	    "%zu stream%s failing, %zu alert%s firing", n, n == 1 ? "" : "s",
	    open, open == 1 ? "" : "s", overdue, failing,
	    failing == 1 ? "" : "s", firing, firing == 1 ? "" : "s");
}

/* STATUS= when it says something new. */
static void
status_update(struct daemon *d)
{
	char buf[sizeof d->status];

	if (d->stopping)
		return;
	status_line(d, buf, sizeof buf);
	if (strcmp(buf, d->status) == 0)
		return;
	memcpy(d->status, buf, sizeof buf);
	notify_status(buf);
}

static void
on_watchdog(uv_timer_t *t)
{
	struct daemon *d = t->data;

	notify_watchdog();
	status_update(d);
}

/* Half the interval systemd asked for, so that a late loop turn is no
 * reason to be killed but a stuck loop is. */
static void
watchdog_start(struct daemon *d)
{
	int64_t ms = notify_watchdog_ms();

	uv_timer_init(&d->loop, &d->watchdog);
	d->watchdog.data = d;
	if (ms <= 0)
		return;
	uv_timer_start(&d->watchdog, on_watchdog, (uint64_t)ms / 2,
	    (uint64_t)ms / 2);
	log_info("watchdog: every %lld ms", (long long)ms / 2);
}

/* ---- shutdown ------------------------------------------------------------- */

static void
on_any_closed(uv_handle_t *h)
{
	(void)h;
}

static void
close_rest(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, on_any_closed);
}

/* Every poll has ended and the poll timers are closed. */
static void
on_poller_stopped(void *arg)
{
	struct daemon *d = arg;

	if (d->watch != NULL)
		watch_stop(d->watch);
	if (d->alerts != NULL)
		alerts_stop(d->alerts);
	if (d->outbox != NULL)
		outbox_stop(d->outbox);
	if (d->metrics != NULL)
		metrics_server_close(d->metrics, NULL, NULL);
	d->metrics = NULL;
	if (d->http != NULL)
		http_free(d->http);
	d->http = NULL;
	uv_walk(&d->loop, close_rest, NULL);
}

static void
daemon_stop(struct daemon *d, int code)
{
	if (d->stopping)
		return;
	d->stopping = 1;
	d->exit_code = code;
	notify_stopping();
	if (d->poller != NULL)
		poller_stop(d->poller, on_poller_stopped, d);
	else
		on_poller_stopped(d);
}

/* Database and HTTP settings are the daemon's own: they take effect on
 * restart; say so rather than pretend. */
static void
reload_warn_fixed(const struct conf *old, const struct conf *new)
{
	if (strcmp(old->database, new->database) != 0)
		log_warn("reload: database changes on restart only");
	if (old->http_timeout_ms != new->http_timeout_ms ||
	    old->connect_timeout_ms != new->connect_timeout_ms ||
	    old->max_host_connections != new->max_host_connections ||
	    old->max_response_size != new->max_response_size)
		log_warn("reload: http_timeout, connect_timeout, "
		    "max_host_connections and max_response_size change on "
		    "restart only");
}

static int
same_listen(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
daemon_reload(struct daemon *d)
{
	struct conf *conf;
	struct routeset *routes = NULL;
	char *err = NULL;

	notify_reloading();
	log_notice("SIGHUP: reloading %s", d->conf_path);
	if ((conf = load_conf(d->conf_path, 1)) == NULL ||
	    (routes = routeset_new(conf, &err)) == NULL ||
	    poller_reload(d->poller, conf, &err) == -1) {
		if (err != NULL)
			log_err("%s", err);
		free(err);
		routeset_free(routes);
		conf_free(conf);
		log_err("reload: the new configuration is refused; the old "
		    "one stays in force");
		d->status[0] = '\0';
		status_line(d, d->status, sizeof d->status);
		notify_ready(d->status);
		return;
	}
	reload_warn_fixed(d->conf, conf);
	if (!same_listen(d->conf->metrics_listen, conf->metrics_listen))
		log_warn("reload: metrics_listen changes on restart only");
	log_set_level(conf->log_level);
	watch_reconfigure(d->watch, conf);
	alerts_reconfigure(d->alerts, conf, routes);
	outbox_set_routes(d->outbox, routes);
	d->old_routes = xreallocarray(d->old_routes, d->nold_routes + 1,
	    sizeof *d->old_routes);
	d->old_routes[d->nold_routes++] = d->routes;
	d->routes = routes;
	d->old_confs = xreallocarray(d->old_confs, d->nold_confs + 1,
	    sizeof *d->old_confs);
	d->old_confs[d->nold_confs++] = d->conf;
	d->conf = conf;
	status_line(d, d->status, sizeof d->status);
	notify_ready(d->status);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		if (!d->stopping && d->poller != NULL)
			daemon_reload(d);
		return;
	}
	log_notice("%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	daemon_stop(d, 0);
}

/* ---- start-up ------------------------------------------------------------ */

static void
on_message(const struct msg *m, void *arg)
{
	struct daemon *d = arg;

	watch_message(d->watch, m);
	alerts_message(d->alerts, m);
}

static void
on_polled(const struct poller_poll *pp, void *arg)
{
	struct daemon *d = arg;

	alerts_polled(d->alerts, pp);
	status_update(d);
}

static void
signals_start(struct daemon *d)
{
	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sighup);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sighup, on_signal, SIGHUP);
}

static int
daemon_start(struct daemon *d)
{
	struct http_options ho;
	struct poller_hooks hooks;
	struct watch_hooks wh;
	char *err = NULL;

	if ((d->store = store_open(d->conf->database,
	    STORE_CREATE | STORE_DAEMON, &err)) == NULL)
		goto fail;
	memset(&ho, 0, sizeof ho);
	ho.connect_timeout_ms = (long)d->conf->connect_timeout_ms;
	ho.timeout_ms = (long)d->conf->http_timeout_ms;
	ho.max_host_connections = (long)d->conf->max_host_connections;
	ho.max_body = (size_t)d->conf->max_response_size;
	if ((d->http = http_new(&d->loop, &ho, &err)) == NULL)
		goto fail;
	if ((d->routes = routeset_new(d->conf, &err)) == NULL)
		goto fail;
	d->outbox = outbox_new(&d->loop, d->store, d->http, d->routes);
	d->alerts = alerts_new(&d->loop, d->store, d->outbox, d->conf,
	    d->routes);
	d->watch = watch_new(&d->loop, d->conf);
	memset(&wh, 0, sizeof wh);
	wh.due = alerts_due;
	wh.closed = alerts_closed;
	wh.open_count = alerts_open_count;
	wh.arg = d->alerts;
	watch_set_hooks(d->watch, &wh);
	store_set_observer(d->store, watch_observe, d->watch);
	if (alerts_load(d->alerts, &err) == -1 ||
	    watch_load(d->watch, d->store, &err) == -1 ||
	    alerts_start(d->alerts, d->watch, &err) == -1 ||
	    outbox_load(d->outbox, &err) == -1)
		goto fail;
	memset(&hooks, 0, sizeof hooks);
	hooks.message = on_message;
	hooks.polled = on_polled;
	hooks.arg = d;
	d->poller = poller_new(&d->loop, d->conf, d->store, d->http, &hooks,
	    &err);
	if (err != NULL)
		goto fail;
	if (d->conf->metrics_listen != NULL) {
		d->exporter.poller = d->poller;
		d->exporter.watch = d->watch;
		d->exporter.alerts = d->alerts;
		d->exporter.outbox = d->outbox;
		if ((d->metrics = metrics_server_new(&d->loop,
		    d->conf->metrics_listen, exporter_collect, &d->exporter,
		    &err)) == NULL)
			goto fail;
		log_info("metrics on http://%s/metrics",
		    d->conf->metrics_listen);
	}
	poller_start(d->poller, FIRST_POLL_SPREAD_MS);
	log_notice("started: %zu account%s, database %s",
	    poller_naccounts(d->poller),
	    poller_naccounts(d->poller) == 1 ? "" : "s", d->conf->database);
	status_line(d, d->status, sizeof d->status);
	notify_ready(d->status);
	return 0;
fail:
	log_err("%s", err);
	free(err);
	daemon_stop(d, 1);
	return -1;
}

static int
run(const char *cpath, int verbose)
{
	struct daemon d;
	size_t i;
	int rc;

	memset(&d, 0, sizeof d);
	d.conf_path = cpath;
	if ((d.conf = load_conf(cpath, 0)) == NULL)
		return 1;
	log_set_level(verbose ? LOG_LEVEL_DEBUG : d.conf->log_level);
	if (store_init_daemon() == -1)
		log_warn("SQLite's page cache is set up already");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("cannot initialise libcurl");
		conf_free(d.conf);
		return 1;
	}
	uv_loop_init(&d.loop);
	signals_start(&d);
	watchdog_start(&d);
	daemon_start(&d);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	if ((rc = uv_loop_close(&d.loop)) != 0)
		log_err("loop closed with handles still open: %s",
		    uv_strerror(rc));
	poller_free(d.poller);
	alerts_free(d.alerts);
	outbox_free(d.outbox);
	watch_free(d.watch);
	routeset_free(d.routes);
	for (i = 0; i < d.nold_routes; i++)
		routeset_free(d.old_routes[i]);
	free(d.old_routes);
	store_close(d.store);
	curl_global_cleanup();
	conf_free(d.conf);
	for (i = 0; i < d.nold_confs; i++)
		conf_free(d.old_confs[i]);
	free(d.old_confs);
	if (d.exit_code == 0)
		log_notice("stopped");
	return d.exit_code;
}

static void
on_check_stopped(void *arg)
{
	struct http **http = arg;

	http_free(*http);
	*http = NULL;
}

/* Set the connectors up as the daemon would, to hear their objections. */
static int
check_connectors(const struct conf *conf)
{
	struct http_options ho;
	struct poller *p;
	struct http *http;
	uv_loop_t loop;
	char *err = NULL;

	uv_loop_init(&loop);
	memset(&ho, 0, sizeof ho);
	if ((http = http_new(&loop, &ho, &err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		uv_loop_close(&loop);
		return -1;
	}
	p = poller_new(&loop, conf, NULL, http, NULL, &err);
	poller_stop(p, on_check_stopped, &http);
	uv_run(&loop, UV_RUN_DEFAULT);
	poller_free(p);
	uv_loop_close(&loop);
	if (err != NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

static int
check_config(const char *cpath)
{
	struct conf *conf;
	struct routeset *rs;
	char *err = NULL;
	int bad;

	if ((conf = load_conf(cpath, 0)) == NULL)
		return 1;
	bad = check_connectors(conf) == -1;
	/* the routes' secrets, as the daemon will read them */
	if ((rs = routeset_new(conf, &err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		bad = 1;
	}
	routeset_free(rs);
	if (bad) {
		conf_free(conf);
		return 1;
	}
	printf("%s: configuration OK, %zu account%s, %zu route%s\n",
	    conf->path, conf->naccounts, conf->naccounts == 1 ? "" : "s",
	    conf->nroutes, conf->nroutes == 1 ? "" : "s");
	conf_free(conf);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cpath = CONF_DEFAULT_PATH;
	int ch, check = 0, verbose = 0;

	log_init("replywatchd", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "c:tvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("replywatchd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "replywatchd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (check)
		return check_config(cpath);
	return run(cpath, verbose);
}
