/*
 * BlockBackend (see include/block/block-backend.h): per-user settings on top of a
 * block node and the asynchronous request path.  Async requests run the
 * synchronous node code in a GThreadPool worker (aio=threads) and their
 * completion is posted as an idle GSource on the submitter's GMainContext, so
 * callbacks always run in the main loop, never in a worker.
 */
#include "block/block-backend.h"
#include "block/block_int.h"

#include <errno.h>
#include <string.h>

#define BLK_POOL_MAX_THREADS 64

struct BlockBackend {
    BlockDriverState *bs;
    bool enable_write_cache;
    BlockdevOnError on_read_error;
    BlockdevOnError on_write_error;
    BlockdevDetectZeroes detect_zeroes;
    gint in_flight;
};

typedef enum BlkRequestType {
    BLK_REQ_READ,
    BLK_REQ_WRITE,
    BLK_REQ_WRITE_ZEROES,
    BLK_REQ_DISCARD,
    BLK_REQ_FLUSH,
} BlkRequestType;

typedef struct BlkRequest {
    BlockBackend *blk;
    BlkRequestType type;
    int64_t offset;
    int64_t bytes;
    IOVector *qiov;
    int flags;
    BlockCompletionFunc *cb;
    void *opaque;
    GMainContext *ctx;
    int ret;
} BlkRequest;

int bdrv_parse_cache_mode(const char *mode, int *flags, bool *writethrough)
{
    *flags &= ~(BDRV_O_NOCACHE | BDRV_O_NO_FLUSH);
    if (!strcmp(mode, "off") || !strcmp(mode, "none")) {
        *writethrough = false;
        *flags |= BDRV_O_NOCACHE;
    } else if (!strcmp(mode, "directsync")) {
        *writethrough = true;
        *flags |= BDRV_O_NOCACHE;
    } else if (!strcmp(mode, "writeback")) {
        *writethrough = false;
    } else if (!strcmp(mode, "unsafe")) {
        *writethrough = false;
        *flags |= BDRV_O_NO_FLUSH;
    } else if (!strcmp(mode, "writethrough")) {
        *writethrough = true;
    } else {
        return -1;
    }
    return 0;
}

int bdrv_parse_aio(const char *mode, int *flags)
{
    *flags &= ~(BDRV_O_NATIVE_AIO | BDRV_O_IO_URING);
    if (!strcmp(mode, "native")) {
        *flags |= BDRV_O_NATIVE_AIO;
    } else if (!strcmp(mode, "io_uring")) {
        *flags |= BDRV_O_IO_URING;
    } else if (strcmp(mode, "threads") != 0) {
        return -1;
    }
    return 0;
}

BlockBackend *blk_new_with_bs(BlockDriverState *bs, bool writethrough)
{
    BlockBackend *blk = g_new0(BlockBackend, 1);
    blk->bs = bs;
    blk->enable_write_cache = !writethrough;
    blk->on_read_error = BLOCKDEV_ON_ERROR_REPORT;
    blk->on_write_error = BLOCKDEV_ON_ERROR_ENOSPC;
    return blk;
}

BlockBackend *blk_new_open(const char *filename, const char *format, Opts *options, int flags,
                           bool writethrough, Error **errp)
{
    if ((flags & BDRV_O_NATIVE_AIO) && !(flags & BDRV_O_NOCACHE)) {
        error_setg(errp, "aio=native was specified, but it requires cache.direct=on, "
                   "which was not specified.");
        return NULL;
    }
    BlockDriverState *bs = bdrv_open(filename, format, options, flags, errp);
    if (!bs) {
        return NULL;
    }
    return blk_new_with_bs(bs, writethrough);
}

void blk_unref(BlockBackend *blk)
{
    if (!blk) {
        return;
    }
    blk_drain(blk);
    if (blk->bs) {
        bdrv_flush(blk->bs);
        bdrv_unref(blk->bs);
    }
    g_free(blk);
}

BlockDriverState *blk_bs(BlockBackend *blk)
{
    return blk->bs;
}

bool blk_is_read_only(BlockBackend *blk)
{
    return blk->bs->read_only;
}

int64_t blk_getlength(BlockBackend *blk)
{
    return bdrv_getlength(blk->bs);
}

void blk_set_enable_write_cache(BlockBackend *blk, bool wce)
{
    blk->enable_write_cache = wce;
}

bool blk_enable_write_cache(BlockBackend *blk)
{
    return blk->enable_write_cache;
}

void blk_set_on_error(BlockBackend *blk, BlockdevOnError on_read, BlockdevOnError on_write)
{
    blk->on_read_error = on_read;
    blk->on_write_error = on_write;
}

BlockdevOnError blk_get_on_error(BlockBackend *blk, bool is_read)
{
    return is_read ? blk->on_read_error : blk->on_write_error;
}

BlockErrorAction blk_get_error_action(BlockBackend *blk, bool is_read, int error)
{
    switch (blk_get_on_error(blk, is_read)) {
    case BLOCKDEV_ON_ERROR_ENOSPC:
        return error == -ENOSPC ? BLOCK_ERROR_ACTION_STOP : BLOCK_ERROR_ACTION_REPORT;
    case BLOCKDEV_ON_ERROR_STOP:
        return BLOCK_ERROR_ACTION_STOP;
    case BLOCKDEV_ON_ERROR_IGNORE:
        return BLOCK_ERROR_ACTION_IGNORE;
    default:
        return BLOCK_ERROR_ACTION_REPORT;
    }
}

void blk_set_detect_zeroes(BlockBackend *blk, BlockdevDetectZeroes mode)
{
    blk->detect_zeroes = mode;
}

static int blk_check_request(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    if (offset < 0 || bytes < 0) {
        return -EIO;
    }
    int64_t len = blk_getlength(blk);
    if (len < 0) {
        return (int)len;
    }
    if (offset > len || bytes > len - offset) {
        return -EIO;
    }
    return 0;
}

int blk_preadv(BlockBackend *blk, int64_t offset, int64_t bytes, IOVector *qiov, int flags)
{
    int ret = blk_check_request(blk, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_preadv(blk->bs, offset, bytes, qiov, flags);
}

static int blk_after_write(BlockBackend *blk, int ret)
{
    if (ret == 0 && !blk->enable_write_cache) {
        ret = bdrv_flush(blk->bs);
    }
    return ret;
}

int blk_pwritev(BlockBackend *blk, int64_t offset, int64_t bytes, IOVector *qiov, int flags)
{
    int ret = blk_check_request(blk, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (blk->bs->read_only) {
        return -EPERM;
    }
    if (blk->detect_zeroes != BLOCKDEV_DETECT_ZEROES_OFF && !(flags & BDRV_REQ_ZERO_WRITE) &&
        !(flags & BDRV_REQ_WRITE_COMPRESSED) && iovec_is_zero(qiov, 0, bytes)) {
        flags |= BDRV_REQ_ZERO_WRITE;
        if (blk->detect_zeroes == BLOCKDEV_DETECT_ZEROES_UNMAP) {
            flags |= BDRV_REQ_MAY_UNMAP;
        }
    }
    if (flags & BDRV_REQ_ZERO_WRITE) {
        ret = bdrv_pwrite_zeroes(blk->bs, offset, bytes, flags & ~BDRV_REQ_ZERO_WRITE);
    } else {
        ret = bdrv_pwritev(blk->bs, offset, bytes, qiov, flags);
    }
    return blk_after_write(blk, ret);
}

int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf, int flags)
{
    IOVector qiov;
    iovec_init_buf(&qiov, buf, bytes);
    int ret = blk_preadv(blk, offset, bytes, &qiov, flags);
    iovec_destroy(&qiov);
    return ret;
}

int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes, const void *buf, int flags)
{
    IOVector qiov;
    iovec_init_buf(&qiov, (void *)buf, bytes);
    int ret = blk_pwritev(blk, offset, bytes, &qiov, flags);
    iovec_destroy(&qiov);
    return ret;
}

int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes, int flags)
{
    int ret = blk_check_request(blk, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (blk->bs->read_only) {
        return -EPERM;
    }
    return blk_after_write(blk, bdrv_pwrite_zeroes(blk->bs, offset, bytes, flags));
}

int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    int ret = blk_check_request(blk, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (blk->bs->read_only) {
        return -EPERM;
    }
    return bdrv_pdiscard(blk->bs, offset, bytes);
}

int blk_flush(BlockBackend *blk)
{
    return bdrv_flush(blk->bs);
}

int blk_truncate(BlockBackend *blk, int64_t offset, bool exact, PreallocMode prealloc,
                 Error **errp)
{
    return bdrv_truncate(blk->bs, offset, exact, prealloc, errp);
}

/* ---- asynchronous path ---- */

static GThreadPool *blk_pool;

static gboolean blk_request_complete(gpointer data)
{
    BlkRequest *req = data;
    BlockBackend *blk = req->blk;
    req->cb(req->opaque, req->ret);
    g_main_context_unref(req->ctx);
    g_free(req);
    g_atomic_int_dec_and_test(&blk->in_flight);
    return G_SOURCE_REMOVE;
}

static void blk_worker(gpointer data, gpointer user_data)
{
    BlkRequest *req = data;
    BlockBackend *blk = req->blk;
    switch (req->type) {
    case BLK_REQ_READ:
        req->ret = blk_preadv(blk, req->offset, req->bytes, req->qiov, req->flags);
        break;
    case BLK_REQ_WRITE:
        req->ret = blk_pwritev(blk, req->offset, req->bytes, req->qiov, req->flags);
        break;
    case BLK_REQ_WRITE_ZEROES:
        req->ret = blk_pwrite_zeroes(blk, req->offset, req->bytes, req->flags);
        break;
    case BLK_REQ_DISCARD:
        req->ret = blk_pdiscard(blk, req->offset, req->bytes);
        break;
    case BLK_REQ_FLUSH:
        req->ret = blk_flush(blk);
        break;
    }
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, blk_request_complete, req, NULL);
    g_source_attach(src, req->ctx);
    g_source_unref(src);
}

static gpointer blk_pool_create(gpointer unused)
{
    blk_pool = g_thread_pool_new(blk_worker, NULL, BLK_POOL_MAX_THREADS, false, NULL);
    return NULL;
}

static void blk_native_complete(void *opaque, int ret)
{
    BlkRequest *req = opaque;
    BlockBackend *blk = req->blk;
    req->cb(req->opaque, ret);
    g_free(req);
    g_atomic_int_dec_and_test(&blk->in_flight);
}

/* aio=native/io_uring: plain reads/writes of a raw image go straight to the kernel. */
static bool blk_try_native(BlockBackend *blk, BlkRequestType type, int64_t offset,
                           IOVector *qiov, int flags, BlockCompletionFunc *cb, void *opaque)
{
    BlockDriverState *bs = blk->bs;
    bool is_write = type == BLK_REQ_WRITE;
    if ((type != BLK_REQ_READ && !is_write) || flags || !bs->file ||
        !(bs->file->open_flags & (BDRV_O_NATIVE_AIO | BDRV_O_IO_URING)) ||
        bs->drv != &bdrv_raw) {
        return false;
    }
    if (is_write && (bs->read_only || !blk->enable_write_cache ||
                     blk->detect_zeroes != BLOCKDEV_DETECT_ZEROES_OFF ||
                     (bs->probed && offset < BDRV_SECTOR_SIZE))) {
        return false;
    }
    if (blk_check_request(blk, offset, qiov->size) < 0 || qiov->size == 0) {
        return false;
    }
    BlkRequest *req = g_new0(BlkRequest, 1);
    req->blk = blk;
    req->cb = cb;
    req->opaque = opaque;
    g_atomic_int_inc(&blk->in_flight);
    if (!file_aio_submit(bs->file, is_write, offset, qiov, blk_native_complete, req)) {
        g_atomic_int_dec_and_test(&blk->in_flight);
        g_free(req);
        return false;
    }
    return true;
}

static void blk_submit(BlockBackend *blk, BlkRequestType type, int64_t offset, int64_t bytes,
                       IOVector *qiov, int flags, BlockCompletionFunc *cb, void *opaque)
{
    if (qiov && blk_try_native(blk, type, offset, qiov, flags, cb, opaque)) {
        return;
    }
    static GOnce once = G_ONCE_INIT;
    g_once(&once, blk_pool_create, NULL);
    BlkRequest *req = g_new0(BlkRequest, 1);
    req->blk = blk;
    req->type = type;
    req->offset = offset;
    req->bytes = bytes;
    req->qiov = qiov;
    req->flags = flags;
    req->cb = cb;
    req->opaque = opaque;
    req->ctx = g_main_context_ref_thread_default();
    g_atomic_int_inc(&blk->in_flight);
    g_thread_pool_push(blk_pool, req, NULL);
}

void blk_aio_preadv(BlockBackend *blk, int64_t offset, IOVector *qiov, int flags,
                    BlockCompletionFunc *cb, void *opaque)
{
    blk_submit(blk, BLK_REQ_READ, offset, qiov->size, qiov, flags, cb, opaque);
}

void blk_aio_pwritev(BlockBackend *blk, int64_t offset, IOVector *qiov, int flags,
                     BlockCompletionFunc *cb, void *opaque)
{
    blk_submit(blk, BLK_REQ_WRITE, offset, qiov->size, qiov, flags, cb, opaque);
}

void blk_aio_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes, int flags,
                           BlockCompletionFunc *cb, void *opaque)
{
    blk_submit(blk, BLK_REQ_WRITE_ZEROES, offset, bytes, NULL, flags, cb, opaque);
}

void blk_aio_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BlockCompletionFunc *cb, void *opaque)
{
    blk_submit(blk, BLK_REQ_DISCARD, offset, bytes, NULL, 0, cb, opaque);
}

void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque)
{
    blk_submit(blk, BLK_REQ_FLUSH, 0, 0, NULL, 0, cb, opaque);
}

int blk_in_flight(BlockBackend *blk)
{
    return g_atomic_int_get(&blk->in_flight);
}

void blk_drain(BlockBackend *blk)
{
    GMainContext *ctx = g_main_context_ref_thread_default();
    bool owner = g_main_context_acquire(ctx);
    while (g_atomic_int_get(&blk->in_flight) > 0) {
        if (owner) {
            g_main_context_iteration(ctx, TRUE);
        } else {
            /* Another thread runs this context (the main loop): it delivers the
             * completions; we only wait for them. */
            g_usleep(100);
        }
    }
    if (owner) {
        g_main_context_release(ctx);
    }
    g_main_context_unref(ctx);
}
