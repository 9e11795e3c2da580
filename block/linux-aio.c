/*
 * aio=native: Linux kernel AIO (libaio, io_submit/io_getevents) for O_DIRECT
 * files.  Requests are submitted from the calling thread; the kernel signals
 * completion on an eventfd watched by a GSource in the submitter's
 * GMainContext, so callbacks run in the main loop like every other block
 * completion.  Requests the kernel path cannot take (unaligned, queue full)
 * report false and go through the worker pool instead.
 */
#include "block/block_int.h"
#include "config-host.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "block/linux-aio.h"

#ifdef CONFIG_LINUX_AIO
#include <libaio.h>
#include <sys/eventfd.h>
#include <glib-unix.h>

#define LAIO_MAX_EVENTS 256

typedef struct LaioRequest {
    struct iocb iocb;
    struct iovec *iov;
    int niov;
    int64_t bytes;
    bool is_write;
    LaioCompletionFunc *cb;
    void *opaque;
} LaioRequest;

struct LinuxAioState {
    io_context_t ctx;
    int efd;
    GSource *source;
    GMainContext *main_ctx;
    int in_flight;
};

static gboolean laio_dispatch(gpointer data)
{
    LinuxAioState *s = data;
    uint64_t val;
    if (read(s->efd, &val, sizeof(val)) != sizeof(val)) {
        return G_SOURCE_CONTINUE;
    }
    struct io_event events[LAIO_MAX_EVENTS];
    struct timespec zero = { 0, 0 };
    int n;
    while ((n = io_getevents(s->ctx, 0, LAIO_MAX_EVENTS, events, &zero)) > 0) {
        for (int i = 0; i < n; i++) {
            LaioRequest *req = events[i].data;
            long res = (long)events[i].res;
            int ret;
            if (res < 0) {
                ret = (int)res;
            } else if (res == req->bytes) {
                ret = 0;
            } else if (!req->is_write) {
                /* Short read at the end of the file: the rest reads as zeroes. */
                int64_t done = res;
                struct iovec *iov = req->iov;
                int niov = req->niov;
                for (int k = 0; k < niov; k++) {
                    if (done >= (int64_t)iov[k].iov_len) {
                        done -= iov[k].iov_len;
                        continue;
                    }
                    memset((uint8_t *)iov[k].iov_base + done, 0, iov[k].iov_len - done);
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
    }
    return G_SOURCE_CONTINUE;
}

static gboolean laio_source_cb(gint fd, GIOCondition cond, gpointer data)
{
    return laio_dispatch(data);
}

LinuxAioState *laio_init(Error **errp)
{
    LinuxAioState *s = g_new0(LinuxAioState, 1);
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0) {
        error_setg_errno(errp, errno, "Failed to create eventfd for linux-aio");
        g_free(s);
        return NULL;
    }
    int r = io_setup(LAIO_MAX_EVENTS, &s->ctx);
    if (r < 0) {
        error_setg_errno(errp, -r, "Failed to create linux AIO context");
        close(s->efd);
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
    while (s->in_flight > 0 && s->main_ctx) {
        g_main_context_iteration(s->main_ctx, TRUE);
    }
    if (s->source) {
        g_source_destroy(s->source);
        g_source_unref(s->source);
        g_main_context_unref(s->main_ctx);
    }
    io_destroy(s->ctx);
    close(s->efd);
    g_free(s);
}

bool laio_submit(LinuxAioState *s, int fd, bool is_write, int64_t offset, IOVector *qiov,
                 LaioCompletionFunc *cb, void *opaque)
{
    GMainContext *ctx = g_main_context_ref_thread_default();
    if (!s->source) {
        s->main_ctx = ctx;
        s->source = g_unix_fd_source_new(s->efd, G_IO_IN);
        g_source_set_callback(s->source, (GSourceFunc)(void (*)(void))laio_source_cb, s, NULL);
        g_source_attach(s->source, ctx);
    } else if (ctx != s->main_ctx) {
        /* Completions are tied to one context: others use the worker pool. */
        g_main_context_unref(ctx);
        return false;
    } else {
        g_main_context_unref(ctx);
    }
    LaioRequest *req = g_new0(LaioRequest, 1);
    req->iov = g_memdup2(qiov->iov, sizeof(struct iovec) * qiov->niov);
    req->niov = qiov->niov;
    req->bytes = qiov->size;
    req->is_write = is_write;
    req->cb = cb;
    req->opaque = opaque;
    if (is_write) {
        io_prep_pwritev(&req->iocb, fd, req->iov, qiov->niov, offset);
    } else {
        io_prep_preadv(&req->iocb, fd, req->iov, qiov->niov, offset);
    }
    io_set_eventfd(&req->iocb, s->efd);
    req->iocb.data = req;
    struct iocb *iocbs[1] = { &req->iocb };
    if (io_submit(s->ctx, 1, iocbs) != 1) {
        g_free(req->iov);
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
