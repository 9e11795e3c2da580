/*
 * Generic request path of a block node: argument and permission checks, then
 * dispatch to the driver.  Emulates write-zeroes with zero buffers for drivers
 * that lack it, and walks backing chains for block status.
 */
#include "block/block_int.h"

#include <errno.h>
#include <string.h>

#define ZERO_BUF_SIZE (1 << 20)

static int bdrv_check_request(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    if (offset < 0 || bytes < 0 || bytes > INT64_MAX - offset) {
        return -EIO;
    }
    if (!bs->drv->is_protocol && offset + bytes > bs->total_size) {
        return -EIO;
    }
    return 0;
}

static int bdrv_check_write(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    if (bs->read_only) {
        return -EPERM;
    }
    return bdrv_check_request(bs, offset, bytes);
}

int bdrv_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov, int flags)
{
    int ret = bdrv_check_request(bs, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        return 0;
    }
    return bs->drv->preadv(bs, offset, bytes, qiov, flags);
}

int bdrv_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov, int flags)
{
    int ret = bdrv_check_write(bs, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        return 0;
    }
    if (flags & BDRV_REQ_ZERO_WRITE) {
        return bdrv_pwrite_zeroes(bs, offset, bytes, flags & ~BDRV_REQ_ZERO_WRITE);
    }
    return bs->drv->pwritev(bs, offset, bytes, qiov, flags);
}

int bdrv_pread(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf, int flags)
{
    IOVector qiov;
    iovec_init_buf(&qiov, buf, bytes);
    int ret = bdrv_preadv(bs, offset, bytes, &qiov, flags);
    iovec_destroy(&qiov);
    return ret;
}

int bdrv_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf, int flags)
{
    IOVector qiov;
    iovec_init_buf(&qiov, (void *)buf, bytes);
    int ret = bdrv_pwritev(bs, offset, bytes, &qiov, flags);
    iovec_destroy(&qiov);
    return ret;
}

int bdrv_pwrite_sync(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf)
{
    int ret = bdrv_pwrite(bs, offset, bytes, buf, 0);
    if (ret < 0) {
        return ret;
    }
    return bdrv_flush(bs);
}

static int bdrv_zeroes_fallback(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    size_t chunk = bytes < ZERO_BUF_SIZE ? (size_t)bytes : ZERO_BUF_SIZE;
    void *buf = bdrv_blockalign(bs, chunk);
    memset(buf, 0, chunk);
    int ret = 0;
    while (bytes > 0) {
        int64_t n = MIN(bytes, (int64_t)chunk);
        IOVector qiov;
        iovec_init_buf(&qiov, buf, n);
        ret = bs->drv->pwritev(bs, offset, n, &qiov, 0);
        iovec_destroy(&qiov);
        if (ret < 0) {
            break;
        }
        offset += n;
        bytes -= n;
    }
    qemu_vfree(buf);
    return ret;
}

int bdrv_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags)
{
    int ret = bdrv_check_write(bs, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        return 0;
    }
    if (!(bs->open_flags & BDRV_O_UNMAP)) {
        flags &= ~BDRV_REQ_MAY_UNMAP;
    }
    if (bs->drv->pwrite_zeroes) {
        ret = bs->drv->pwrite_zeroes(bs, offset, bytes, flags);
        if (ret != -ENOTSUP) {
            return ret;
        }
    }
    if (flags & BDRV_REQ_NO_FALLBACK) {
        return -ENOTSUP;
    }
    return bdrv_zeroes_fallback(bs, offset, bytes);
}

int bdrv_pdiscard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    int ret = bdrv_check_write(bs, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    /* Discard is advisory: without discard=unmap or driver support it is a no-op. */
    if (bytes == 0 || !(bs->open_flags & BDRV_O_UNMAP) || !bs->drv->pdiscard) {
        return 0;
    }
    ret = bs->drv->pdiscard(bs, offset, bytes);
    return ret == -ENOTSUP ? 0 : ret;
}

int bdrv_flush(BlockDriverState *bs)
{
    if (bs->read_only) {
        return 0;
    }
    int ret = bs->drv->flush ? bs->drv->flush(bs) : 0;
    if (ret < 0) {
        return ret;
    }
    if (bs->file) {
        ret = bdrv_flush(bs->file);
    }
    return ret;
}

int bdrv_truncate(BlockDriverState *bs, int64_t offset, bool exact, PreallocMode prealloc,
                  Error **errp)
{
    if (bs->read_only) {
        error_setg(errp, "Image is read-only");
        return -EPERM;
    }
    if (offset < 0) {
        error_setg(errp, "Image size cannot be negative");
        return -EINVAL;
    }
    if (!bs->drv->truncate) {
        error_setg(errp, "Image format driver does not support resize");
        return -ENOTSUP;
    }
    return bs->drv->truncate(bs, offset, exact, prealloc, errp);
}

int64_t bdrv_getlength(BlockDriverState *bs)
{
    if (bs->drv->getlength) {
        return bs->drv->getlength(bs);
    }
    return bs->total_size;
}

int64_t bdrv_get_allocated_file_size(BlockDriverState *bs)
{
    if (bs->drv->get_allocated_file_size) {
        return bs->drv->get_allocated_file_size(bs);
    }
    if (bs->file) {
        return bdrv_get_allocated_file_size(bs->file);
    }
    return -ENOTSUP;
}

int bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum,
                      int64_t *map, BlockDriverState **file)
{
    int64_t dummy_map;
    BlockDriverState *dummy_file;
    map = map ? map : &dummy_map;
    file = file ? file : &dummy_file;
    *map = 0;
    *file = NULL;
    *pnum = 0;
    int64_t len = bdrv_getlength(bs);
    if (len < 0) {
        return (int)len;
    }
    if (offset < 0 || bytes <= 0 || offset >= len) {
        return -EINVAL;
    }
    bytes = MIN(bytes, len - offset);
    if (!bs->drv->block_status) {
        *pnum = bytes;
        *map = offset;
        *file = bs;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
    }
    int ret = bs->drv->block_status(bs, offset, bytes, pnum, map, file);
    if (ret >= 0 && (*pnum <= 0 || *pnum > bytes)) {
        return -EIO;
    }
    if (ret >= 0 && (ret & BDRV_BLOCK_RECURSE) && *file && *file != bs &&
        (ret & BDRV_BLOCK_DATA) && (ret & BDRV_BLOCK_OFFSET_VALID) && !(ret & BDRV_BLOCK_ZERO)) {
        /* Data mapped onto a hole of the host file reads as zeroes: say so. */
        int64_t flen = bdrv_getlength(*file);
        if (flen >= 0 && *map >= flen) {
            ret |= BDRV_BLOCK_ZERO;
        } else if (flen >= 0) {
            int64_t fnum;
            int64_t fmap;
            BlockDriverState *ffile;
            int ret2 = bdrv_block_status(*file, *map, *pnum, &fnum, &fmap, &ffile);
            if (ret2 >= 0) {
                *pnum = fnum;
                ret |= ret2 & BDRV_BLOCK_ZERO;
            }
        }
    }
    if (ret >= 0) {
        ret &= ~BDRV_BLOCK_RECURSE;
    }
    return ret;
}

int bdrv_block_status_above(BlockDriverState *bs, BlockDriverState *base, int64_t offset,
                            int64_t bytes, int64_t *pnum, int64_t *map, BlockDriverState **file,
                            int *depth)
{
    int d = 0;
    int64_t want = bytes;
    int ret = 0;
    BlockDriverState *b;
    for (b = bs; b && b != base; b = b->backing, d++) {
        int64_t n;
        if (offset >= bdrv_getlength(b)) {
            /* Past the end of a shorter backing file: reads as zeroes. */
            *pnum = want;
            if (map) {
                *map = 0;
            }
            if (file) {
                *file = NULL;
            }
            if (depth) {
                *depth = d;
            }
            return BDRV_BLOCK_ZERO;
        }
        ret = bdrv_block_status(b, offset, want, &n, map, file);
        if (ret < 0) {
            return ret;
        }
        if (ret & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
            *pnum = n;
            if (depth) {
                *depth = d;
            }
            return ret;
        }
        /* Unallocated here: narrow to that range and look below. */
        want = n;
    }
    *pnum = want;
    if (map) {
        *map = 0;
    }
    if (file) {
        *file = NULL;
    }
    if (depth) {
        *depth = d;
    }
    return (b == NULL) ? BDRV_BLOCK_ZERO : 0;
}

int bdrv_is_allocated(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum)
{
    int ret = bdrv_block_status(bs, offset, bytes, pnum, NULL, NULL);
    if (ret < 0) {
        return ret;
    }
    return !!(ret & BDRV_BLOCK_ALLOCATED);
}
