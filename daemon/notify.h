/* SPDX-License-Identifier: ISC */
#ifndef RW_NOTIFY_H
#define RW_NOTIFY_H

#include <stdint.h>

/*
 * Telling the service manager (systemd's sd_notify protocol) how the
 * daemon is: READY, STATUS, RELOADING, STOPPING and the watchdog's
 * keep-alive. Without $NOTIFY_SOCKET, or when built without libsystemd,
 * these do nothing.
 */

void	notify_ready(const char *status);
void	notify_reloading(void);
void	notify_stopping(void);
void	notify_status(const char *status);
void	notify_watchdog(void);
/* The watchdog interval systemd asked for, in ms; 0 if none. */
int64_t	notify_watchdog_ms(void);

#endif
