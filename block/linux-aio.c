/*
 * aio=native: Linux kernel AIO (libaio: io_setup/io_submit) for O_DIRECT files.
 * Requests are submitted from the calling thread; the kernel signals completion
 * on an eventfd watched in the submitter's GMainContext (block/kernel-aio.c), so
 * callbacks run in the main loop like every other block completion.
 * Completions are read straight from the completion ring the kernel maps into
 * the process (the io_context_t handle points at it; layout and magic as in
 * Linux's fs/aio.c "struct aio_ring"), which saves an io_getevents call per
 * batch; io_getevents is the fallback for a ring this code does not know.
 * Requests the kernel path cannot take (queue full) report false and go
 * through the worker pool instead.
 */
#include "block/block_int.h"
#include "config-host.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "block/kernel-aio.h"
#include "block/linux-aio.h"

#ifdef CONFIG_LINUX_AIO
#include <libaio.h>

#define LAIO_MAX_EVENTS 256
#define LAIO_RING_MAGIC 0xa10a10a1u

/* The kernel's completion ring header (ABI shared with user space). */
typedef struct LaioRing {
    unsigned id;
    unsigned nr;                /* io_events in the ring */
    unsigned head;              /* advanced by whoever consumes */
    unsigned tail;              /* advanced by the kernel */
    unsigned magic;
    unsigned compat_features;
    unsigned incompat_features;
    unsigned header_length;
    struct io_event io_events[];
} LaioRing;

typedef struct LaioRequest {
    struct iocb iocb;
    KaioRequest kreq;
} LaioRequest;

struct LinuxAioState {
    io_context_t ctx;
    KaioSource src;
    int in_flight;
};

/* Take up to `max` completions off the ring. */
static int laio_reap_events(LinuxAioState *s, struct io_event *ev, int max)
{
    LaioRing *ring = (LaioRing *)s->ctx;
    if (ring->magic != LAIO_RING_MAGIC || ring->incompat_features != 0 || ring->nr == 0) {
        struct timespec zero = { 0, 0 };
        int n = io_getevents(s->ctx, 0, max, ev, &zero);
        return n < 0 ? 0 : n;
    }
    unsigned head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
    unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    int n = 0;
    while (head != tail && n < max) {
        if (head >= ring->nr) {
            head %= ring->nr;
            continue;
        }
        ev[n++] = ring->io_events[head];
        head = (head + 1) % ring->nr;
    }
    __atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
    return n;
}

/* One completion at a time: a callback may drain, and the nested reap must
 * find the rest on the ring. */
static void laio_reap(void *data)
{
    LinuxAioState *s = data;
    struct io_event ev;
    while (laio_reap_events(s, &ev, 1) > 0) {
        LaioRequest *req = ev.data;
        s->in_flight--;
        kaio_request_complete(&req->kreq, (long)ev.res);
        g_free(req);
    }
}

LinuxAioState *laio_init(Error **errp)
{
    LinuxAioState *s = g_new0(LinuxAioState, 1);
    if (!kaio_source_init(&s->src, errp)) {
        g_free(s);
        return NULL;
    }
    int r = io_setup(LAIO_MAX_EVENTS, &s->ctx);
    if (r < 0) {
        error_setg_errno(errp, -r, "Failed to create linux AIO context");
        kaio_source_cleanup(&s->src, &s->in_flight);
        g_free(s);
        return NULL;
    }
    return s;
}

void laio_cleanup(LinuxAioState *s)
{
    if (!s) {
        return;
    }
    kaio_source_cleanup(&s->src, &s->in_flight);
    io_destroy(s->ctx);
    g_free(s);
}

bool laio_submit(LinuxAioState *s, int fd, bool is_write, int64_t offset, IOVector *qiov,
                 LaioCompletionFunc *cb, void *opaque)
{
    if (s->in_flight >= LAIO_MAX_EVENTS || !kaio_source_bind(&s->src, laio_reap, s)) {
        return false;
    }
    LaioRequest *req = g_new0(LaioRequest, 1);
    kaio_request_init(&req->kreq, is_write, qiov, cb, opaque);
    if (is_write) {
        io_prep_pwritev(&req->iocb, fd, req->kreq.iov, req->kreq.niov, offset);
    } else {
        io_prep_preadv(&req->iocb, fd, req->kreq.iov, req->kreq.niov, offset);
    }
    io_set_eventfd(&req->iocb, event_notifier_get_fd(&s->src.notifier));
    req->iocb.data = req;
    struct iocb *iocbs[1] = { &req->iocb };
    if (io_submit(s->ctx, 1, iocbs) != 1) {
        g_free(req->kreq.iov);
        g_free(req);
        return false;
    }
    s->in_flight++;
    return true;
}

#else

LinuxAioState *laio_init(Error **errp)
{
    error_setg(errp, "aio=native is not supported by this build");
    return NULL;
}

void laio_cleanup(LinuxAioState *s)
{
}

bool laio_submit(LinuxAioState *s, int fd, bool is_write, int64_t offset, IOVector *qiov,
                 LaioCompletionFunc *cb, void *opaque)
{
    return false;
}

#endif
