/*
 * qtest accelerator and protocol server (accel/qtest/).  With `-accel qtest` no
 * vCPU runs; a test drives I/O ports, guest memory and the virtual clock over a
 * chardev with QEMU's line protocol (QEMU docs/devel/qtest.rst).
 */
#ifndef SYSTEM_QTEST_H
#define SYSTEM_QTEST_H

#include <stdbool.h>

#include "kemu/error.h"

/* `spec` is the -qtest argument: a chardev in legacy syntax ("unix:PATH", "stdio",
 * "tcp:HOST:PORT", ...; unix/tcp connect to a listening test unless server=on);
 * `logfile` the -qtest-log argument (NULL: stderr, "none": no log).
 * Call after the machine is built and before the main loop runs. */
bool qtest_server_init(const char *spec, const char *logfile, Error **errp);

/* True when the current accelerator is qtest (devices may pick a virtual clock). */
bool qtest_enabled(void);

#endif
