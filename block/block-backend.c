/*
 * BlockBackend (see include/block/block-backend.h): per-user settings on top of a
 * block node and the asynchronous request path.  Async requests either go
 * straight to the kernel (aio=native/io_uring, when the format driver can map
 * them without metadata work) or run the synchronous node code in the worker
 * pool (block/thread-pool.c); either way callbacks run in the submitter's
 * GMainContext, never in a worker.
 */
#include "block/block-backend.h"
#include "block/block_int.h"
#include "block/thread-pool.h"

#include <errno.h>
#include <string.h>

struct BlockBackend {
    BlockDriverState *bs;
    bool enable_write_cache;
    BlockdevOnError on_read_error;
    BlockdevOnError on_write_error;
    BlockdevDetectZeroes detect_zeroes;
    gint in_flight;
    gint native_in_flight;      /* of in_flight: on the kernel AIO fast path */
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

/*
 * Synchronous calls made outside the worker pool first wait for the backend's
 * fast-path requests: a format driver keeps what those map pinned until their
 * completion runs in this thread (BlockDriver.aio_map), so a call here that
 * frees or waits for metadata would otherwise wait for itself.
 */
static void blk_sync_enter(BlockBackend *blk)
{
    if (!thread_pool_in_worker() && g_atomic_int_get(&blk->native_in_flight) > 0) {
        blk_drain(blk);
    }
}

int blk_preadv(BlockBackend *blk, int64_t offset, int64_t bytes, IOVector *qiov, int flags)
{
    blk_sync_enter(blk);
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
    blk_sync_enter(blk);
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
    blk_sync_enter(blk);
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
    blk_sync_enter(blk);
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
    blk_sync_enter(blk);
    return bdrv_flush(blk->bs);
}

int blk_truncate(BlockBackend *blk, int64_t offset, bool exact, PreallocMode prealloc,
                 Error **errp)
{
    /* Resizing under in-flight requests of any kind is never wanted: drain. */
    if (!thread_pool_in_worker()) {
        blk_drain(blk);
    }
    return bdrv_truncate(blk->bs, offset, exact, prealloc, errp);
}

/* ---- asynchronous path ---- */

static void blk_request_complete(void *opaque, int ret)
{
    BlkRequest *req = opaque;
    BlockBackend *blk = req->blk;
    BlockCompletionFunc *cb = req->cb;
    void *cb_opaque = req->opaque;
    g_free(req);
    /* Counted out before the callback, which may drain the backend. */
    g_atomic_int_dec_and_test(&blk->in_flight);
    cb(cb_opaque, ret);
}

static int blk_worker(void *arg)
{
    BlkRequest *req = arg;
    BlockBackend *blk = req->blk;
    switch (req->type) {
    case BLK_REQ_READ:
        return blk_preadv(blk, req->offset, req->bytes, req->qiov, req->flags);
    case BLK_REQ_WRITE:
        return blk_pwritev(blk, req->offset, req->bytes, req->qiov, req->flags);
    case BLK_REQ_WRITE_ZEROES:
        return blk_pwrite_zeroes(blk, req->offset, req->bytes, req->flags);
    case BLK_REQ_DISCARD:
        return blk_pdiscard(blk, req->offset, req->bytes);
    case BLK_REQ_FLUSH:
        return blk_flush(blk);
    }
    return -EINVAL;
}

typedef struct BlkNativeRequest {
    BlockBackend *blk;
    void *token;                /* the format driver's, for aio_unmap */
    BlockCompletionFunc *cb;
    void *opaque;
} BlkNativeRequest;

static void blk_native_finish(void *opaque, int ret)
{
    BlkNativeRequest *req = opaque;
    BlockBackend *blk = req->blk;
    BlockCompletionFunc *cb = req->cb;
    void *cb_opaque = req->opaque;
    g_free(req);
    /* Counted out before the callback, which may drain the backend. */
    g_atomic_int_dec_and_test(&blk->native_in_flight);
    g_atomic_int_dec_and_test(&blk->in_flight);
    cb(cb_opaque, ret);
}

static void blk_native_complete(void *opaque, int ret)
{
    BlkNativeRequest *req = opaque;
    BlockDriverState *bs = req->blk->bs;
    if (bs->drv->aio_unmap) {
        bs->drv->aio_unmap(bs, req->token, ret, blk_native_finish, req);
    } else {
        blk_native_finish(req, ret);
    }
}

/* The driver finished undoing a mapping whose request went to the pool. */
static void blk_native_abandoned(void *opaque, int ret)
{
    BlockBackend *blk = opaque;
    g_atomic_int_dec_and_test(&blk->in_flight);
}

/*
 * aio=native/io_uring: plain reads and writes go straight to the kernel when
 * the format driver can map them without metadata I/O (every request of a raw
 * image; allocated clusters of a qcow2 image, and new ones it can allocate from
 * cached metadata).
 */
static bool blk_try_native(BlockBackend *blk, BlkRequestType type, int64_t offset,
                           IOVector *qiov, int flags, BlockCompletionFunc *cb, void *opaque)
{
    BlockDriverState *bs = blk->bs;
    bool is_write = type == BLK_REQ_WRITE;
    if ((type != BLK_REQ_READ && !is_write) || flags || !bs->file || !bs->drv->aio_map ||
        !(bs->file->open_flags & (BDRV_O_NATIVE_AIO | BDRV_O_IO_URING))) {
        return false;
    }
    if (is_write && (bs->read_only || !blk->enable_write_cache ||
                     blk->detect_zeroes != BLOCKDEV_DETECT_ZEROES_OFF)) {
        return false;
    }
    if (qiov->size == 0 || blk_check_request(blk, offset, qiov->size) < 0 ||
        !file_aio_can_take(bs->file, offset, qiov)) {
        return false;       /* (a format's clusters keep the guest offset's alignment) */
    }
    int64_t host;
    void *token = NULL;
    if (!bs->drv->aio_map(bs, is_write, offset, qiov->size, &host, &token)) {
        return false;
    }
    BlkNativeRequest *req = g_new(BlkNativeRequest, 1);
    *req = (BlkNativeRequest){ .blk = blk, .token = token, .cb = cb, .opaque = opaque };
    g_atomic_int_inc(&blk->in_flight);
    g_atomic_int_inc(&blk->native_in_flight);
    if (!file_aio_submit(bs->file, is_write, host, qiov, blk_native_complete, req)) {
        g_atomic_int_dec_and_test(&blk->native_in_flight);
        g_free(req);
        if (bs->drv->aio_unmap) {
            /* The driver undoes its mapping (counted in flight until it is
             * done, so a drain waits for it); the request goes to the pool. */
            bs->drv->aio_unmap(bs, token, -EAGAIN, blk_native_abandoned, blk);
        } else {
            g_atomic_int_dec_and_test(&blk->in_flight);
        }
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
    BlkRequest *req = g_new0(BlkRequest, 1);
    req->blk = blk;
    req->type = type;
    req->offset = offset;
    req->bytes = bytes;
    req->qiov = qiov;
    req->flags = flags;
    req->cb = cb;
    req->opaque = opaque;
    g_atomic_int_inc(&blk->in_flight);
    thread_pool_submit(blk_worker, req, blk_request_complete, req);
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
