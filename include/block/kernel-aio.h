/*
 * Plumbing shared by the two kernel AIO back ends of the file protocol driver
 * (linux-aio.c for aio=native, io-uring.c for aio=io_uring):
 *  - KaioSource: the completion eventfd, watched by a GSource in the GMainContext
 *    of the thread that submitted first (completions run there, like every other
 *    block completion).  Submissions are not batched: handing each request to
 *    the kernel at once measured faster (lower latency per request) than
 *    collecting those made by completion callbacks into one call;
 *  - KaioRequest: the part of a request both back ends keep, and the mapping of
 *    a kernel result (bytes or -errno) onto the block layer's 0 / -errno, with
 *    short reads at end of file reading as zeroes.
 */
#ifndef BLOCK_KERNEL_AIO_H
#define BLOCK_KERNEL_AIO_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "block/iov.h"
#include "kemu/error.h"
#include "kemu/event_notifier.h"

typedef void KaioCompletionFunc(void *opaque, int ret);

typedef struct KaioRequest {
    struct iovec *iov;          /* own copy: the caller's vector may change */
    int niov;
    int64_t bytes;
    bool is_write;
    KaioCompletionFunc *cb;
    void *opaque;
} KaioRequest;

typedef struct KaioSource {
    EventNotifier notifier;
    GSource *source;
    GMainContext *ctx;
    void (*reap)(void *data);   /* complete what the kernel finished */
    void *data;
} KaioSource;

void kaio_request_init(KaioRequest *req, bool is_write, const IOVector *qiov,
                       KaioCompletionFunc *cb, void *opaque);
/* Map the kernel's result, run the callback and free the vector copy. */
void kaio_request_complete(KaioRequest *req, long res);

bool kaio_source_init(KaioSource *ks, Error **errp);
/*
 * Bind to the calling thread's default GMainContext on first use; when the
 * eventfd fires the source calls reap(data).  False when the source already
 * belongs to another context: such callers use the worker pool instead.
 */
bool kaio_source_bind(KaioSource *ks, void (*reap)(void *data), void *data);
/* Wait (by iterating the bound context) until *in_flight drops to 0, then free. */
void kaio_source_cleanup(KaioSource *ks, const int *in_flight);

#endif
