/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
static void
send_state(const char *state)
{
	int rc;

	/* 0: no $NOTIFY_SOCKET, not run by systemd: nothing to do */
	if ((rc = sd_notify(0, state)) < 0)
		log_warn("sd_notify: cannot tell the service manager: error %d",
		    -rc);
}
#else
static void
send_state(const char *state)
{
	(void)state;
}
#endif

void
notify_ready(const char *status)
{
	char buf[512];

	snprintf(buf, sizeof buf, "READY=1\nSTATUS=%s", status);
	send_state(buf);
}

void
notify_reloading(void)
{
	char buf[96];
	struct timespec ts;

	/* systemd 253 and later want the time of the reload with it */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	send_state(buf);
}

void
notify_stopping(void)
{
	send_state("STOPPING=1\nSTATUS=stopping");
}

void
notify_status(const char *status)
{
	char buf[512];

	snprintf(buf, sizeof buf, "STATUS=%s", status);
	send_state(buf);
}

void
notify_watchdog(void)
{
	send_state("WATCHDOG=1");
}

int64_t
notify_watchdog_ms(void)
{
#ifdef HAVE_LIBSYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return (int64_t)(usec / 1000);
#endif
	return 0;
}
