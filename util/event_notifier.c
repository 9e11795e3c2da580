/* eventfd(2)-backed notifiers (see include/kemu/event_notifier.h). */
#include "kemu/event_notifier.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

bool event_notifier_init(EventNotifier *e, bool active, Error **errp)
{
    e->fd = eventfd(active ? 1 : 0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->fd < 0) {
        error_setg_errno(errp, errno, "cannot create eventfd");
        return false;
    }
    return true;
}

void event_notifier_cleanup(EventNotifier *e)
{
    if (e->fd >= 0) {
        close(e->fd);
        e->fd = -1;
    }
}

bool event_notifier_set(EventNotifier *e)
{
    uint64_t one = 1;
    ssize_t r;
    do {
        r = write(e->fd, &one, sizeof(one));
    } while (r < 0 && errno == EINTR);
    /* EAGAIN means the counter is saturated: the event is pending anyway. */
    return r == sizeof(one) || (r < 0 && errno == EAGAIN);
}

bool event_notifier_test_and_clear(EventNotifier *e)
{
    uint64_t v;
    ssize_t r;
    do {
        r = read(e->fd, &v, sizeof(v));
    } while (r < 0 && errno == EINTR);
    return r == sizeof(v) && v > 0;
}

int event_notifier_get_fd(const EventNotifier *e)
{
    return e->fd;
}
