/*
 * Completion plumbing shared by linux-aio.c and io-uring.c: see
 * include/block/kernel-aio.h.
 */
#include "block/kernel-aio.h"

#include <errno.h>
#include <string.h>
#include <glib-unix.h>

void kaio_request_init(KaioRequest *req, bool is_write, const IOVector *qiov,
                       KaioCompletionFunc *cb, void *opaque)
{
    req->iov = g_memdup2(qiov->iov, sizeof(struct iovec) * qiov->niov);
    req->niov = qiov->niov;
    req->bytes = qiov->size;
    req->is_write = is_write;
    req->cb = cb;
    req->opaque = opaque;
}

void kaio_request_complete(KaioRequest *req, long res)
{
    int ret;
    if (res < 0) {
        ret = (int)res;
    } else if (res == req->bytes) {
        ret = 0;
    } else if (!req->is_write) {
        /* Short read at the end of the file: the rest reads as zeroes. */
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
    g_free(req->iov);
    req->iov = NULL;
    req->cb(req->opaque, ret);
}

bool kaio_source_init(KaioSource *ks, Error **errp)
{
    memset(ks, 0, sizeof(*ks));
    return event_notifier_init(&ks->notifier, false, errp);
}

static gboolean kaio_source_dispatch(gint fd, GIOCondition cond, gpointer data)
{
    KaioSource *ks = data;
    /* The eventfd is consumed only after reap found nothing more: a callback
     * that runs the loop itself (a draining synchronous call) must still be
     * woken for completions that are on the ring.  A completion that lands
     * between the last reap and the clear leaves the counter set: reap again. */
    do {
        ks->reap(ks->data);
    } while (event_notifier_test_and_clear(&ks->notifier));
    return G_SOURCE_CONTINUE;
}

bool kaio_source_bind(KaioSource *ks, void (*reap)(void *data), void *data)
{
    GMainContext *ctx = g_main_context_get_thread_default();
    if (!ctx) {
        ctx = g_main_context_default();
    }
    if (ks->source) {
        return ctx == ks->ctx;
    }
    ks->ctx = g_main_context_ref(ctx);
    ks->reap = reap;
    ks->data = data;
    ks->source = g_unix_fd_source_new(event_notifier_get_fd(&ks->notifier), G_IO_IN);
    g_source_set_callback(ks->source, (GSourceFunc)(void (*)(void))kaio_source_dispatch, ks,
                          NULL);
    /* A completion callback may wait for other requests of the same back end
     * (a synchronous call that drains): let the source dispatch inside itself. */
    g_source_set_can_recurse(ks->source, TRUE);
    g_source_attach(ks->source, ctx);
    return true;
}

void kaio_source_cleanup(KaioSource *ks, const int *in_flight)
{
    while (*in_flight > 0 && ks->ctx) {
        g_main_context_iteration(ks->ctx, TRUE);
    }
    if (ks->source) {
        g_source_destroy(ks->source);
        g_source_unref(ks->source);
        g_main_context_unref(ks->ctx);
    }
    event_notifier_cleanup(&ks->notifier);
}
