/*
 * EventNotifier: an eventfd used to signal between threads, or between KVM and
 * userspace (ioeventfd: a guest write becomes an fd event without a vCPU exit;
 * irqfd: an fd write injects an interrupt).
 */
#ifndef KEMU_EVENT_NOTIFIER_H
#define KEMU_EVENT_NOTIFIER_H

#include <stdbool.h>

#include "kemu/error.h"

typedef struct EventNotifier {
    int fd;
} EventNotifier;

bool event_notifier_init(EventNotifier *e, bool active, Error **errp);
void event_notifier_cleanup(EventNotifier *e);
bool event_notifier_set(EventNotifier *e);
/* Consume pending events; returns true if any were pending. */
bool event_notifier_test_and_clear(EventNotifier *e);
int event_notifier_get_fd(const EventNotifier *e);

#endif
