/*
 * "raw" format driver: guest bytes map 1:1 onto the protocol node.  When the
 * format was probed rather than given, writes that would make sector 0 look like
 * another image format are refused (QEMU's "write operations on block 0 will be
 * restricted"), so a guest cannot turn its disk into, say, a qcow2 header.
 */
#include "block/block_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int raw_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    return 1;   /* the fallback: any other match wins */
}

static int raw_open(BlockDriverState *bs, Opts *options, int flags, Error **errp)
{
    int64_t len = bdrv_getlength(bs->file);
    if (len < 0) {
        error_setg_errno(errp, (int)-len, "Could not get image size");
        return (int)len;
    }
    /* Cached like any format's size (truncate refreshes it): no fstat per request. */
    bs->total_size = len;
    if (bs->probed && (flags & BDRV_O_RDWR)) {
        fprintf(stderr,
                "WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
                "         Automatically detecting the format is dangerous for raw images, "
                "write operations on block 0 will be restricted.\n"
                "         Specify the 'raw' format explicitly to remove the restrictions.\n",
                bs->filename);
    }
    bs->request_alignment = bs->file->request_alignment;
    bs->buf_alignment = bs->file->buf_alignment;
    return 0;
}

/* Would writing qiov at offset (< 512) make sector 0 probe as a non-raw format? */
static bool raw_write_changes_format(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                     IOVector *qiov)
{
    extern const BlockDriver bdrv_qcow2;
    static const BlockDriver *const formats[] = { &bdrv_qcow2 };
    uint8_t sector[BDRV_SECTOR_SIZE];
    if (offset != 0 || bytes < BDRV_SECTOR_SIZE) {
        memset(sector, 0, sizeof(sector));
        if (bdrv_pread(bs->file, 0, BDRV_SECTOR_SIZE, sector, 0) < 0) {
            return true;
        }
    }
    int64_t n = MIN(bytes, BDRV_SECTOR_SIZE - offset);
    iovec_to_buf(qiov, 0, sector + offset, n);
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        if (formats[i]->probe(sector, BDRV_SECTOR_SIZE, bs->filename) > 1) {
            return true;
        }
    }
    return false;
}

static int raw_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                      int flags)
{
    return bdrv_preadv(bs->file, offset, bytes, qiov, flags);
}

static int raw_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                       int flags)
{
    if (bs->probed && offset < BDRV_SECTOR_SIZE &&
        raw_write_changes_format(bs, offset, bytes, qiov)) {
        return -EPERM;
    }
    return bdrv_pwritev(bs->file, offset, bytes, qiov, flags);
}

static int raw_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags)
{
    return bdrv_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static int raw_pdiscard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    return bdrv_pdiscard(bs->file, offset, bytes);
}

static int raw_truncate(BlockDriverState *bs, int64_t offset, bool exact, PreallocMode prealloc,
                        Error **errp)
{
    if (prealloc == PREALLOC_MODE_METADATA) {
        error_setg(errp, "Unsupported preallocation mode: metadata");
        return -ENOTSUP;
    }
    int ret = bdrv_truncate(bs->file, offset, exact, prealloc, errp);
    if (ret == 0) {
        bs->total_size = offset;
    }
    return ret;
}

static int raw_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum,
                            int64_t *map, BlockDriverState **file)
{
    int ret = bdrv_block_status(bs->file, offset, bytes, pnum, map, file);
    if (ret < 0) {
        return ret;
    }
    return ret | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID;
}

static int raw_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return 0;
}

static const BlockCreateOption raw_create_opts[] = {
    { "size", "size", "Virtual disk size", NULL },
    { "preallocation", "str", "Preallocation mode (allowed values: off, falloc, full)", NULL,
      .protocol = true },
    { "extent_size_hint", "size", "Extent size hint for the image file, 0 to disable", NULL,
      .protocol = true },
    { "nocow", "bool (on/off)", "Turn off copy-on-write (valid only on btrfs)", NULL,
      .protocol = true },
    { NULL },
};

static int raw_create(const char *filename, Opts *opts, Error **errp)
{
    Error *local_err = NULL;
    uint64_t size = opts_get_size(opts, "size", 0, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return -EINVAL;
    }
    const char *p = opts_get(opts, "preallocation");
    int prealloc = p ? prealloc_mode_parse(p) : PREALLOC_MODE_OFF;
    if (prealloc < 0 || prealloc == PREALLOC_MODE_METADATA) {
        error_setg(errp, "Parameter 'preallocation' does not accept value '%s'", p);
        return -EINVAL;
    }
    if (size > INT64_MAX) {
        error_setg(errp, "Image size must be less than 8 EiB!");
        return -EINVAL;
    }
    return file_create_with_size(filename, (int64_t)size, prealloc, errp);
}

/* Every byte maps 1:1; only a probed image's sector 0 needs the checked path. */
static bool raw_aio_map(BlockDriverState *bs, bool is_write, int64_t offset, int64_t bytes,
                        int64_t *host, void **token)
{
    if (is_write && bs->probed && offset < BDRV_SECTOR_SIZE) {
        return false;
    }
    *host = offset;
    return true;
}

const BlockDriver bdrv_raw = {
    .format_name = "raw",
    .probe = raw_probe,
    .open = raw_open,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .pwrite_zeroes = raw_pwrite_zeroes,
    .pdiscard = raw_pdiscard,
    .truncate = raw_truncate,
    .block_status = raw_block_status,
    .get_info = raw_get_info,
    .create_opts = raw_create_opts,
    .create = raw_create,
    .aio_map = raw_aio_map,
};
