/*
 * aio=io_uring: Linux io_uring (liburing) for the file protocol driver.  Same
 * contract as linux-aio.c: submissions from the calling thread, completions
 * signalled on an eventfd watched by a GSource of the submitter's GMainContext.
 */
#include "block/block_int.h"
#include "config-host.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "block/io-uring.h"

#ifdef CONFIG_LINUX_IO_URING
#include <glib-unix.h>
#include <liburing.h>
#include <sys/eventfd.h>

#define LURING_ENTRIES 128

typedef struct LuringRequest {
    struct iovec *iov;
    int niov;
    int64_t bytes;
    bool is_write;
    LuringCompletionFunc *cb;
    void *opaque;
} LuringRequest;

struct LuringState {
    struct io_uring ring;
    int efd;
    GSource *source;
    GMainContext *main_ctx;
    int in_flight;
};

static gboolean luring_dispatch(gint fd, GIOCondition cond, gpointer data)
{
    LuringState *s = data;
    uint64_t val;
    if (read(s->efd, &val, sizeof(val)) != sizeof(val)) {
        return G_SOURCE_CONTINUE;
    }
    struct io_uring_cqe *cqe;
    while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
        LuringRequest *req = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&s->ring, cqe);
        int ret;
        if (res < 0) {
            ret = res;
        } else if (res == req->bytes) {
            ret = 0;
        } else if (!req->is_write) {
            /* Short read at end of file: the rest reads as zeroes. */
            int64_t done = res;
            for (int k = 0; k < req->niov; k++) {
                if (done >= (int64_t)req->iov[k].iov_len) {
                    done -= req->iov[k].iov_len;
                    continue;
                }
                memset((uint8_t *)req->iov[k].iov_base + done, 0, req->iov[k].iov_len - done);
                done = 0;
            }
            ret = 0;
        } else {
            ret = -ENOSPC;
        }
        s->in_flight--;
        req->cb(req->opaque, ret);
        g_free(req->iov);
        g_free(req);
    }
    return G_SOURCE_CONTINUE;
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
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0 || io_uring_register_eventfd(&s->ring, s->efd) < 0) {
        error_setg(errp, "failed to register the io_uring eventfd");
        if (s->efd >= 0) {
            close(s->efd);
        }
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
    while (s->in_flight > 0 && s->main_ctx) {
        g_main_context_iteration(s->main_ctx, TRUE);
    }
    if (s->source) {
        g_source_destroy(s->source);
        g_source_unref(s->source);
        g_main_context_unref(s->main_ctx);
    }
    io_uring_queue_exit(&s->ring);
    close(s->efd);
    g_free(s);
}

bool luring_submit(LuringState *s, int fd, bool is_write, int64_t offset, IOVector *qiov,
                   LuringCompletionFunc *cb, void *opaque)
{
    GMainContext *ctx = g_main_context_ref_thread_default();
    if (!s->source) {
        s->main_ctx = ctx;
        s->source = g_unix_fd_source_new(s->efd, G_IO_IN);
        g_source_set_callback(s->source, (GSourceFunc)(void (*)(void))luring_dispatch, s, NULL);
        g_source_attach(s->source, ctx);
    } else {
        bool same = ctx == s->main_ctx;
        g_main_context_unref(ctx);
        if (!same) {
            return false;
        }
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (!sqe) {
        return false;
    }
    LuringRequest *req = g_new0(LuringRequest, 1);
    req->iov = g_memdup2(qiov->iov, sizeof(struct iovec) * qiov->niov);
    req->niov = qiov->niov;
    req->bytes = qiov->size;
    req->is_write = is_write;
    req->cb = cb;
    req->opaque = opaque;
    if (is_write) {
        io_uring_prep_writev(sqe, fd, req->iov, req->niov, offset);
    } else {
        io_uring_prep_readv(sqe, fd, req->iov, req->niov, offset);
    }
    io_uring_sqe_set_data(sqe, req);
    if (io_uring_submit(&s->ring) < 1) {
        /* The sqe stays queued only if submit failed outright; treat as not taken. */
        g_free(req->iov);
        g_free(req);
        return false;
    }
    s->in_flight++;
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
