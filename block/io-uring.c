/*
 * aio=io_uring: Linux io_uring (liburing) for the file protocol driver.  Same
 * contract as linux-aio.c: submissions from the calling thread, completions
 * signalled on an eventfd registered with the ring and watched in the
 * submitter's GMainContext (block/kernel-aio.c).
 */
#include "block/block_int.h"
#include "config-host.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "block/io-uring.h"
#include "block/kernel-aio.h"

#ifdef CONFIG_LINUX_IO_URING
#include <liburing.h>

#define LURING_ENTRIES 128

typedef struct LuringRequest {
    KaioRequest kreq;
} LuringRequest;

struct LuringState {
    struct io_uring ring;
    KaioSource src;
    int in_flight;              /* queued or with the kernel */
    int unsubmitted;            /* prepared sqes not yet handed to the kernel */
};

static void luring_reap(void *data)
{
    LuringState *s = data;
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
        LuringRequest *req = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&s->ring, cqe);
        s->in_flight--;
        kaio_request_complete(&req->kreq, res);
        g_free(req);
    }
}

/*
 * Hand the prepared sqes to the kernel.  io_uring_enter only fails on resource
 * shortage here (the ring and its fds are ours); when requests are with the
 * kernel the next completion retries, otherwise we wait briefly and retry, since
 * an sqe in the ring cannot be withdrawn.
 */
static void luring_submit_pending(LuringState *s)
{
    while (s->unsubmitted > 0) {
        int r = io_uring_submit(&s->ring);
        if (r > 0) {
            s->unsubmitted -= MIN(r, s->unsubmitted);
            continue;
        }
        if (s->in_flight > s->unsubmitted) {
            return;
        }
        g_usleep(100);
    }
}

LuringState *luring_init(Error **errp)
{
    LuringState *s = g_new0(LuringState, 1);
    int r = io_uring_queue_init(LURING_ENTRIES, &s->ring, 0);
    if (r < 0) {
        error_setg_errno(errp, -r, "failed to init linux io_uring ring");
        g_free(s);
        return NULL;
    }
    if (!kaio_source_init(&s->src, errp)) {
        io_uring_queue_exit(&s->ring);
        g_free(s);
        return NULL;
    }
    if (io_uring_register_eventfd(&s->ring, event_notifier_get_fd(&s->src.notifier)) < 0) {
        error_setg(errp, "failed to register the io_uring eventfd");
        kaio_source_cleanup(&s->src, &s->in_flight);
        io_uring_queue_exit(&s->ring);
        g_free(s);
        return NULL;
    }
    return s;
}

void luring_cleanup(LuringState *s)
{
    if (!s) {
        return;
    }
    luring_submit_pending(s);
    kaio_source_cleanup(&s->src, &s->in_flight);
    io_uring_queue_exit(&s->ring);
    g_free(s);
}

bool luring_submit(LuringState *s, int fd, bool is_write, int64_t offset, IOVector *qiov,
                   LuringCompletionFunc *cb, void *opaque)
{
    if (!kaio_source_bind(&s->src, luring_reap, s)) {
        return false;
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (!sqe) {
        return false;
    }
    LuringRequest *req = g_new0(LuringRequest, 1);
    kaio_request_init(&req->kreq, is_write, qiov, cb, opaque);
    if (is_write) {
        io_uring_prep_writev(sqe, fd, req->kreq.iov, req->kreq.niov, offset);
    } else {
        io_uring_prep_readv(sqe, fd, req->kreq.iov, req->kreq.niov, offset);
    }
    io_uring_sqe_set_data(sqe, req);
    s->unsubmitted++;
    s->in_flight++;
    luring_submit_pending(s);
    return true;
}

#else

LuringState *luring_init(Error **errp)
{
    error_setg(errp, "aio=io_uring is not supported by this build");
    return NULL;
}

void luring_cleanup(LuringState *s)
{
}

bool luring_submit(LuringState *s, int fd, bool is_write, int64_t offset, IOVector *qiov,
                   LuringCompletionFunc *cb, void *opaque)
{
    return false;
}

#endif
