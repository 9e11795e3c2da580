/*
 * BlockBackend: what a device (or a tool) uses to do I/O on a block graph.  It
 * holds the user-facing settings of a -drive: cache mode (write cache on/off),
 * read-only, werror/rerror policies, detect-zeroes, discard.
 *
 * blk_aio_* requests run in a shared worker pool (aio=threads) and complete by
 * calling cb(opaque, ret) from the GMainContext that was the thread-default
 * context of the submitting thread (the main loop, for kemu-system).  blk_drain()
 * iterates that context until the backend has no request in flight.  The blk_p*
 * functions are synchronous and may be called from any thread.
 */
#ifndef BLOCK_BLOCK_BACKEND_H
#define BLOCK_BLOCK_BACKEND_H

#include "block/block.h"

typedef struct BlockBackend BlockBackend;
typedef void BlockCompletionFunc(void *opaque, int ret);

typedef enum BlockdevOnError {
    BLOCKDEV_ON_ERROR_REPORT,
    BLOCKDEV_ON_ERROR_IGNORE,
    BLOCKDEV_ON_ERROR_ENOSPC,
    BLOCKDEV_ON_ERROR_STOP,
    BLOCKDEV_ON_ERROR_AUTO,
} BlockdevOnError;

typedef enum BlockErrorAction {
    BLOCK_ERROR_ACTION_REPORT,
    BLOCK_ERROR_ACTION_IGNORE,
    BLOCK_ERROR_ACTION_STOP,
} BlockErrorAction;

typedef enum BlockdevDetectZeroes {
    BLOCKDEV_DETECT_ZEROES_OFF,
    BLOCKDEV_DETECT_ZEROES_ON,
    BLOCKDEV_DETECT_ZEROES_UNMAP,
} BlockdevDetectZeroes;

/*
 * Parse a cache mode ("none", "writeback", "writethrough", "directsync",
 * "unsafe") into BDRV_O_NOCACHE/BDRV_O_NO_FLUSH bits of *flags (others are kept)
 * and *writethrough.  Returns -1 for an unknown mode.
 */
int bdrv_parse_cache_mode(const char *mode, int *flags, bool *writethrough);
/* "threads", "native", "io_uring" -> BDRV_O_NATIVE_AIO / BDRV_O_IO_URING bits. */
int bdrv_parse_aio(const char *mode, int *flags);

/* Open an image and wrap it; flags are BDRV_O_*; writethrough disables the write cache. */
BlockBackend *blk_new_open(const char *filename, const char *format, Opts *options, int flags,
                           bool writethrough, Error **errp);
BlockBackend *blk_new_with_bs(BlockDriverState *bs, bool writethrough);
void blk_unref(BlockBackend *blk);

BlockDriverState *blk_bs(BlockBackend *blk);
bool blk_is_read_only(BlockBackend *blk);
int64_t blk_getlength(BlockBackend *blk);
void blk_set_enable_write_cache(BlockBackend *blk, bool wce);
bool blk_enable_write_cache(BlockBackend *blk);
void blk_set_on_error(BlockBackend *blk, BlockdevOnError on_read, BlockdevOnError on_write);
BlockdevOnError blk_get_on_error(BlockBackend *blk, bool is_read);
/* What a device should do about a failed request (ret = -errno). */
BlockErrorAction blk_get_error_action(BlockBackend *blk, bool is_read, int error);
void blk_set_detect_zeroes(BlockBackend *blk, BlockdevDetectZeroes mode);

int blk_preadv(BlockBackend *blk, int64_t offset, int64_t bytes, IOVector *qiov, int flags);
int blk_pwritev(BlockBackend *blk, int64_t offset, int64_t bytes, IOVector *qiov, int flags);
int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf, int flags);
int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes, const void *buf, int flags);
int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes, int flags);
int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes);
int blk_flush(BlockBackend *blk);
int blk_truncate(BlockBackend *blk, int64_t offset, bool exact, PreallocMode prealloc,
                 Error **errp);

/* Asynchronous variants; qiov must stay valid until cb runs. */
void blk_aio_preadv(BlockBackend *blk, int64_t offset, IOVector *qiov, int flags,
                    BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwritev(BlockBackend *blk, int64_t offset, IOVector *qiov, int flags,
                     BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes, int flags,
                           BlockCompletionFunc *cb, void *opaque);
void blk_aio_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BlockCompletionFunc *cb, void *opaque);
void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque);
/* Requests of this backend not yet completed (callback not yet run). */
int blk_in_flight(BlockBackend *blk);
/* Wait until nothing is in flight: runs the thread-default main context when this
 * thread can own it, otherwise waits for the thread that runs it (the main loop) to
 * deliver the completions -- so never call it from a thread the main loop waits on
 * (e.g. a vCPU holding the big lock) while requests are pending. */
void blk_drain(BlockBackend *blk);

#endif
