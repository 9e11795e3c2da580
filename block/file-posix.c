/*
 * "file" protocol driver: a regular file or block device accessed with
 * pread/pwrite (POSIX), O_DIRECT for cache.direct=on with bounce buffers for
 * unaligned requests, fallocate for write-zeroes and discard, SEEK_DATA/SEEK_HOLE
 * for block status, fdatasync for flush (skipped under cache.no-flush).
 *
 * Grow-ahead (file_set_grow_ahead, asked for by a format whose image grows as
 * it allocates, with O_DIRECT): an O_DIRECT write that extends a file is
 * serialised by the host file system (ext4 takes the inode lock exclusively and
 * waits for every direct I/O in flight), so concurrent allocating writes at the
 * end of an image would run one at a time.  Instead the file is extended with
 * fallocate in large steps ahead of the writes, and writes land inside it.  The
 * node reports the length its users have written (data_end) as its length, and
 * close truncates the file back to it, so nothing outside sees the extra space;
 * after a crash the file keeps a tail of zeroes that no cluster refers to
 * (qemu-img check is content with it).  Everything at or past data_end reads as
 * zeroes, so a write-zeroes there costs nothing.
 */
#include "block/block_int.h"
#include "block/io-uring.h"
#include "block/linux-aio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct FileState {
    int fd;
    bool is_blockdev;
    bool has_fallocate;
    /* Unaligned O_DIRECT writes do read-modify-write of whole blocks: they take
     * the lock exclusively so no aligned write to the same block slips between
     * their read and write.  Aligned writes take it shared. */
    GRWLock rmw_lock;
    LinuxAioState *laio;         /* aio=native */
    LuringState *luring;         /* aio=io_uring */
    /* Grow-ahead state, under grow_lock; off unless grow_ahead. */
    bool grow_ahead;
    bool grow_failed;            /* an fallocate failed: stop growing ahead */
    GMutex grow_lock;
    int64_t data_end;            /* the length as users see it: all past it reads as zero */
    int64_t alloc_end;           /* the file is at least this long (fallocated ahead) */
} FileState;

/* How far past a write the file is extended when it grows: big enough that the
 * fallocate (which waits for the direct I/O in flight) is rare. */
#define FILE_GROW_STEP (32 << 20)
#define FILE_GROW_ALIGN (1 << 20)

static int file_probe_alignment(BlockDriverState *bs, FileState *s)
{
    /* Find the smallest size an O_DIRECT read accepts: try 512..4096. */
    void *buf = qemu_memalign(4096, 4096);
    bs->request_alignment = 4096;
    bs->buf_alignment = 4096;
    for (uint32_t a = 512; a <= 4096; a <<= 1) {
        if (pread(s->fd, buf, a, 0) >= 0) {
            bs->request_alignment = a;
            break;
        }
        if (errno != EINVAL) {
            break;
        }
    }
    qemu_vfree(buf);
    return 0;
}

static int file_open(BlockDriverState *bs, Opts *options, int flags, Error **errp)
{
    FileState *s = bs->opaque;
    int oflags = O_CLOEXEC | ((flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY);
    if (flags & BDRV_O_NOCACHE) {
        oflags |= O_DIRECT;
    }
    s->fd = open(bs->filename, oflags);
    if (s->fd < 0) {
        int err = errno;
        if (err == EINVAL && (flags & BDRV_O_NOCACHE)) {
            error_setg(errp, "Could not open '%s': filesystem does not support O_DIRECT",
                       bs->filename);
        } else {
            error_setg_errno(errp, err, "Could not open '%s'", bs->filename);
        }
        return -err;
    }
    struct stat st;
    if (fstat(s->fd, &st) < 0) {
        int err = errno;
        error_setg_errno(errp, err, "Could not stat '%s'", bs->filename);
        close(s->fd);
        return -err;
    }
    if (S_ISDIR(st.st_mode)) {
        error_setg(errp, "'%s' is a directory", bs->filename);
        close(s->fd);
        return -EISDIR;
    }
    s->is_blockdev = S_ISBLK(st.st_mode);
    s->has_fallocate = true;
    g_rw_lock_init(&s->rmw_lock);
    if (flags & BDRV_O_NOCACHE) {
        file_probe_alignment(bs, s);
    }
    if ((flags & BDRV_O_NATIVE_AIO) && (flags & BDRV_O_NOCACHE)) {
        Error *local_err = NULL;
        s->laio = laio_init(&local_err);
        if (!s->laio) {
            /* Fall back to the worker pool, as QEMU does when io_setup fails. */
            error_free(local_err);
        }
    }
    if (flags & BDRV_O_IO_URING) {
        Error *local_err = NULL;
        s->luring = luring_init(&local_err);
        if (!s->luring) {
            error_free(local_err);
        }
    }
    bs->total_size = bs->drv->getlength(bs);
    return 0;
}

static void file_close(BlockDriverState *bs)
{
    FileState *s = bs->opaque;
    laio_cleanup(s->laio);
    luring_cleanup(s->luring);
    if (s->grow_ahead) {
        struct stat st;
        if (fstat(s->fd, &st) == 0 && st.st_size != s->data_end &&
            ftruncate(s->fd, s->data_end) < 0) {
            /* Only zeroes past the data are left in place (or, for a file that a
             * failed write left short, missing zeroes); nothing is lost. */
            warn_report("Could not truncate '%s' to its data: %s", bs->filename,
                        strerror(errno));
        }
        g_mutex_clear(&s->grow_lock);
    }
    close(s->fd);
    g_rw_lock_clear(&s->rmw_lock);
}

void file_set_grow_ahead(BlockDriverState *bs)
{
    FileState *s = bs->opaque;
    if (bs->drv != &bdrv_file || s->is_blockdev || s->grow_ahead ||
        !(bs->open_flags & BDRV_O_RDWR) || !(bs->open_flags & BDRV_O_NOCACHE)) {
        return;
    }
    struct stat st;
    if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        return;
    }
    g_mutex_init(&s->grow_lock);
    s->data_end = s->alloc_end = st.st_size;
    s->grow_ahead = true;
}

/*
 * A write (or write-zeroes) of [offset, end) is about to be issued: with
 * grow-ahead, raise data_end to cover it and extend the file ahead of it so the
 * write does not extend the file itself.  When the file cannot be extended
 * (ENOSPC for the whole step, or no fallocate) the write extends it as usual.
 * Returns whether [offset, end) lay wholly at or past the old data_end and
 * inside the file: it reads as zeroes and needs no write to be part of the file.
 */
static bool file_grow_for(FileState *s, int64_t offset, int64_t end)
{
    if (!s->grow_ahead) {
        return false;
    }
    g_mutex_lock(&s->grow_lock);
    bool past_data = offset >= s->data_end;
    bool was_zero = false;
    if (end > s->data_end) {
        if (end > s->alloc_end && !s->grow_failed) {
            int64_t want = (end + FILE_GROW_STEP + FILE_GROW_ALIGN - 1) &
                           ~(int64_t)(FILE_GROW_ALIGN - 1);
            if (fallocate(s->fd, 0, s->alloc_end, want - s->alloc_end) == 0) {
                s->alloc_end = want;
            } else {
                /* No space for a whole step (or no fallocate): writes extend
                 * the file from now on.  A failed fallocate may have extended
                 * it partly. */
                struct stat st;
                s->grow_failed = true;
                if (fstat(s->fd, &st) == 0) {
                    s->alloc_end = MAX(s->alloc_end, st.st_size);
                }
            }
        }
        was_zero = past_data && end <= s->alloc_end;
        s->data_end = end;
    }
    g_mutex_unlock(&s->grow_lock);
    return was_zero;
}

static const char *const perm_names[] = { "consistent read", "write", "write unchanged",
                                          "resize" };

static int file_lock_byte(int fd, int type, off_t byte)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Is byte locked by another open file description? */
static bool file_byte_locked_by_other(int fd, off_t byte)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return false;
    }
    return fl.l_type != F_UNLCK;
}

int file_lock_perms(BlockDriverState *bs, unsigned perm, unsigned shared, Error **errp)
{
    FileState *s = bs->opaque;
    if (bs->drv != &bdrv_file || (bs->open_flags & BDRV_O_NO_LOCK)) {
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        if ((perm & (1u << i)) && file_lock_byte(s->fd, F_RDLCK, 100 + i) < 0) {
            return 0;   /* no lock support on this file system: like QEMU, carry on */
        }
        if (!(shared & (1u << i)) && file_lock_byte(s->fd, F_RDLCK, 200 + i) < 0) {
            return 0;
        }
    }
    for (int i = 0; i < 4; i++) {
        const char *what = NULL;
        bool shared_lock = false;
        if ((perm & (1u << i)) && file_byte_locked_by_other(s->fd, 200 + i)) {
            what = perm_names[i];
        } else if (!(shared & (1u << i)) && file_byte_locked_by_other(s->fd, 100 + i)) {
            what = perm_names[i];
            shared_lock = true;
        }
        if (what) {
            for (int k = 0; k < 4; k++) {
                file_lock_byte(s->fd, F_UNLCK, 100 + k);
                file_lock_byte(s->fd, F_UNLCK, 200 + k);
            }
            error_setg(errp, "Failed to get %s\"%s\" lock", shared_lock ? "shared " : "", what);
            error_append_hint(errp, "Is another process using the image [%s]?\n", bs->filename);
            return -EAGAIN;
        }
    }
    return 0;
}

static int64_t file_getlength(BlockDriverState *bs)
{
    FileState *s = bs->opaque;
    if (s->grow_ahead) {
        g_mutex_lock(&s->grow_lock);
        int64_t len = s->data_end;
        g_mutex_unlock(&s->grow_lock);
        return len;
    }
    if (s->is_blockdev) {
        uint64_t size;
        if (ioctl(s->fd, BLKGETSIZE64, &size) < 0) {
            return -errno;
        }
        return (int64_t)size;
    }
    struct stat st;
    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return st.st_size;
}

static int64_t file_get_allocated_file_size(BlockDriverState *bs)
{
    FileState *s = bs->opaque;
    struct stat st;
    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

/* Plain preadv/pwritev loop; short reads (EOF) are completed with zeroes. */
static int file_rw_direct(FileState *s, bool write, int64_t offset, IOVector *qiov)
{
    struct iovec *iov = g_memdup2(qiov->iov, sizeof(struct iovec) * qiov->niov);
    struct iovec *cur = iov;
    int n = qiov->niov;
    size_t left = qiov->size;
    int ret = 0;
    while (left > 0) {
        ssize_t r = write ? pwritev(s->fd, cur, MIN(n, IOV_MAX), offset)
                          : preadv(s->fd, cur, MIN(n, IOV_MAX), offset);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            ret = -errno;
            break;
        }
        if (r == 0) {
            if (write) {
                ret = -EIO;
                break;
            }
            /* End of file: the rest reads as zeroes. */
            for (int i = 0; i < n; i++) {
                memset(cur[i].iov_base, 0, cur[i].iov_len);
            }
            break;
        }
        offset += r;
        left -= r;
        while (r > 0 && n > 0) {
            if ((size_t)r >= cur->iov_len) {
                r -= cur->iov_len;
                cur++;
                n--;
            } else {
                cur->iov_base = (uint8_t *)cur->iov_base + r;
                cur->iov_len -= r;
                r = 0;
            }
        }
    }
    g_free(iov);
    return ret;
}

static int file_rw_buf(FileState *s, bool write, int64_t offset, void *buf, size_t len)
{
    IOVector qiov;
    iovec_init_buf(&qiov, buf, len);
    int ret = file_rw_direct(s, write, offset, &qiov);
    iovec_destroy(&qiov);
    return ret;
}

static bool file_aligned(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov)
{
    uint32_t a = bs->request_alignment;
    if (a <= 1) {
        return true;
    }
    return !((offset | bytes) & (a - 1)) && iovec_is_aligned(qiov, bs->buf_alignment);
}

bool file_aio_can_take(BlockDriverState *bs, int64_t offset, IOVector *qiov)
{
    FileState *s = bs->opaque;
    return bs->drv == &bdrv_file && (s->laio || s->luring) &&
           file_aligned(bs, offset, qiov->size, qiov);
}

bool file_aio_submit(BlockDriverState *bs, bool is_write, int64_t offset, IOVector *qiov,
                     BlockCompletionFunc *cb, void *opaque)
{
    FileState *s = bs->opaque;
    if (!file_aio_can_take(bs, offset, qiov)) {
        return false;
    }
    if (is_write && s->grow_ahead) {
        /* The caller's thread must not wait for an fallocate: a write past the
         * extended part goes to the pool, which grows the file. */
        g_mutex_lock(&s->grow_lock);
        int64_t end = offset + (int64_t)qiov->size;
        bool inside = end <= s->alloc_end;
        if (inside) {
            s->data_end = MAX(s->data_end, end);
        }
        g_mutex_unlock(&s->grow_lock);
        if (!inside) {
            return false;
        }
    }
    if (s->laio) {
        return laio_submit(s->laio, s->fd, is_write, offset, qiov, cb, opaque);
    }
    if (s->luring) {
        return luring_submit(s->luring, s->fd, is_write, offset, qiov, cb, opaque);
    }
    return false;
}

static int file_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                       int flags)
{
    FileState *s = bs->opaque;
    if (file_aligned(bs, offset, bytes, qiov)) {
        return file_rw_direct(s, false, offset, qiov);
    }
    /* O_DIRECT bounce: read the covering aligned range, copy out the middle. */
    uint32_t a = bs->request_alignment;
    int64_t start = offset & ~(int64_t)(a - 1);
    int64_t end = (offset + bytes + a - 1) & ~(int64_t)(a - 1);
    uint8_t *buf = qemu_memalign(bs->buf_alignment, end - start);
    int ret = file_rw_buf(s, false, start, buf, end - start);
    if (ret == 0) {
        iovec_from_buf(qiov, 0, buf + (offset - start), bytes);
    }
    qemu_vfree(buf);
    return ret;
}

static int file_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                        int flags)
{
    FileState *s = bs->opaque;
    int ret;
    file_grow_for(s, offset, offset + bytes);
    if (file_aligned(bs, offset, bytes, qiov)) {
        if (bs->request_alignment > 1) {
            g_rw_lock_reader_lock(&s->rmw_lock);
        }
        ret = file_rw_direct(s, true, offset, qiov);
        if (bs->request_alignment > 1) {
            g_rw_lock_reader_unlock(&s->rmw_lock);
        }
    } else {
        uint32_t a = bs->request_alignment;
        int64_t start = offset & ~(int64_t)(a - 1);
        int64_t end = (offset + bytes + a - 1) & ~(int64_t)(a - 1);
        uint8_t *buf = qemu_memalign(bs->buf_alignment, end - start);
        g_rw_lock_writer_lock(&s->rmw_lock);
        ret = 0;
        if (start != offset || end != offset + bytes) {
            /* Head and tail blocks keep their old contents. */
            ret = file_rw_buf(s, false, start, buf, a);
            if (ret == 0 && end - a > start) {
                ret = file_rw_buf(s, false, end - a, buf + (end - a - start), a);
            }
        }
        if (ret == 0) {
            iovec_to_buf(qiov, 0, buf + (offset - start), bytes);
            ret = file_rw_buf(s, true, start, buf, end - start);
        }
        g_rw_lock_writer_unlock(&s->rmw_lock);
        qemu_vfree(buf);
    }
    if (ret == 0 && (flags & BDRV_REQ_FUA) && !(bs->open_flags & BDRV_O_NO_FLUSH)) {
        if (fdatasync(s->fd) < 0) {
            ret = -errno;
        }
    }
    return ret;
}

static int file_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags)
{
    FileState *s = bs->opaque;
    if (s->is_blockdev || !s->has_fallocate) {
        return -ENOTSUP;
    }
    int64_t len = file_getlength(bs);
    if (file_grow_for(s, offset, offset + bytes)) {
        return 0;           /* past the data: zeroes already */
    }
    int mode = FALLOC_FL_ZERO_RANGE;
    if ((flags & BDRV_REQ_MAY_UNMAP) && len >= offset + bytes) {
        mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    }
    if (fallocate(s->fd, mode, offset, bytes) == 0) {
        return 0;
    }
    if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) {
        return -ENOTSUP;
    }
    return -errno;
}

static int file_pdiscard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    FileState *s = bs->opaque;
    if (s->is_blockdev) {
        return -ENOTSUP;
    }
    if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, bytes) == 0) {
        return 0;
    }
    return (errno == EOPNOTSUPP || errno == ENOSYS) ? -ENOTSUP : -errno;
}

static int file_flush(BlockDriverState *bs)
{
    FileState *s = bs->opaque;
    if (bs->open_flags & BDRV_O_NO_FLUSH) {
        return 0;
    }
    if (fdatasync(s->fd) < 0) {
        return -errno;
    }
    return 0;
}

static int file_write_zero_range(FileState *s, int64_t offset, int64_t end)
{
    size_t chunk = 1 << 20;
    uint8_t *buf = g_malloc0(chunk);
    int ret = 0;
    while (offset < end && ret == 0) {
        size_t n = MIN((int64_t)chunk, end - offset);
        ret = file_rw_buf(s, true, offset, buf, n);
        offset += n;
    }
    g_free(buf);
    return ret;
}

static int file_truncate_to(BlockDriverState *bs, int64_t old, int64_t offset,
                                PreallocMode prealloc, Error **errp)
{
    FileState *s = bs->opaque;
    if (ftruncate(s->fd, offset) < 0) {
        int err = errno;
        error_setg_errno(errp, err, "Failed to resize the file");
        return -err;
    }
    if (s->grow_ahead) {
        s->data_end = s->alloc_end = offset;
    }
    if (offset > old && prealloc == PREALLOC_MODE_FALLOC) {
        int r = posix_fallocate(s->fd, old, offset - old);
        if (r) {
            error_setg_errno(errp, r, "Could not preallocate new data");
            return -r;
        }
    } else if (offset > old && prealloc == PREALLOC_MODE_FULL) {
        int r = file_write_zero_range(s, old, offset);
        if (r < 0) {
            error_setg_errno(errp, -r, "Could not write zeros for preallocation");
            return r;
        }
    }
    bs->total_size = offset;
    return 0;
}

static int file_truncate(BlockDriverState *bs, int64_t offset, bool exact, PreallocMode prealloc,
                         Error **errp)
{
    FileState *s = bs->opaque;
    int64_t old = file_getlength(bs);
    if (old < 0) {
        error_setg_errno(errp, (int)-old, "Failed to get file length");
        return (int)old;
    }
    if (s->is_blockdev) {
        if (offset > old || (exact && offset != old)) {
            error_setg(errp, "Cannot grow device files");
            return -EINVAL;
        }
        return 0;
    }
    if (prealloc != PREALLOC_MODE_OFF && prealloc != PREALLOC_MODE_FALLOC &&
        prealloc != PREALLOC_MODE_FULL) {
        error_setg(errp, "Unsupported preallocation mode '%s'", prealloc_mode_name(prealloc));
        return -ENOTSUP;
    }
    if (!s->grow_ahead) {
        return file_truncate_to(bs, old, offset, prealloc, errp);
    }
    /* Grow-ahead: the new length and data_end change together, so no write
     * can raise data_end past a length being cut. */
    g_mutex_lock(&s->grow_lock);
    int ret = file_truncate_to(bs, s->data_end, offset, prealloc, errp);
    g_mutex_unlock(&s->grow_lock);
    return ret;
}

static int file_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum,
                             int64_t *map, BlockDriverState **file)
{
    FileState *s = bs->opaque;
    *map = offset;
    *file = bs;
    *pnum = bytes;
    off_t data = lseek(s->fd, offset, SEEK_DATA);
    if (data < 0) {
        if (errno == ENXIO) {
            /* In a trailing hole. */
            return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
        }
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
    }
    if (data > offset) {
        *pnum = MIN(bytes, data - offset);
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
    }
    off_t hole = lseek(s->fd, offset, SEEK_HOLE);
    if (hole > offset) {
        *pnum = MIN(bytes, hole - offset);
    }
    return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_ALLOCATED;
}

static const BlockCreateOption file_create_opts[] = {
    { "size", "size", "Virtual disk size", NULL },
    { "preallocation", "str", "Preallocation mode (allowed values: off, falloc, full)", NULL },
    { NULL },
};

int file_create_with_size(const char *filename, int64_t size, PreallocMode prealloc,
                          Error **errp)
{
    int fd = open(filename, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        error_setg_errno(errp, err, "Could not create '%s'", filename);
        return -err;
    }
    FileState s = { .fd = fd };
    int ret = 0;
    if (ftruncate(fd, size) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not resize file");
    } else if (prealloc == PREALLOC_MODE_FALLOC && size > 0) {
        int r = posix_fallocate(fd, 0, size);
        if (r) {
            ret = -r;
            error_setg_errno(errp, r, "Could not preallocate data for the new file");
        }
    } else if (prealloc == PREALLOC_MODE_FULL) {
        ret = file_write_zero_range(&s, 0, size);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not write zeros for preallocation");
        }
    }
    if (close(fd) < 0 && ret == 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not close the new file");
    }
    return ret;
}

static int file_create(const char *filename, Opts *opts, Error **errp)
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
        error_setg(errp, "Invalid parameter '%s'", p);
        return -EINVAL;
    }
    return file_create_with_size(filename, (int64_t)size, prealloc, errp);
}

const BlockDriver bdrv_file = {
    .format_name = "file",
    .instance_size = sizeof(FileState),
    .is_protocol = true,
    .open = file_open,
    .close = file_close,
    .preadv = file_preadv,
    .pwritev = file_pwritev,
    .pwrite_zeroes = file_pwrite_zeroes,
    .pdiscard = file_pdiscard,
    .flush = file_flush,
    .truncate = file_truncate,
    .getlength = file_getlength,
    .get_allocated_file_size = file_get_allocated_file_size,
    .block_status = file_block_status,
    .create_opts = file_create_opts,
    .create = file_create,
};
