/*
 * Block driver interface: what a format or protocol driver implements, and the
 * node structure drivers see.  Driver callbacks are synchronous and may be called
 * concurrently from worker threads; a driver with shared mutable state (qcow2's
 * caches) serialises with its own lock.  Callbacks are only called with requests
 * already checked against the node's size and read-only state by block/io.c.
 */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include <limits.h>
#include <inttypes.h>
#include <glib.h>

#include "block/block.h"

#define BDRV_FILENAME_MAX 4096

typedef struct BlockCreateOption {
    const char *name;
    const char *type;          /* "str", "size", "bool", "number" for -o help */
    const char *help;
    const char *def;           /* default shown in the "Formatting" line, or NULL */
    bool protocol;             /* the file layer's: -o help lists it only with a filename */
    bool create_only;          /* amend refuses it ("only supported for image creation") */
} BlockCreateOption;

typedef void BlockCompletionFunc(void *opaque, int ret);

struct BlockDriver {
    const char *format_name;
    size_t instance_size;
    bool is_protocol;
    bool grows_file;           /* allocates at the end of its file: file_set_grow_ahead */
    /* Score (0..100) that buf (the first bytes of the file) is this format. */
    int (*probe)(const uint8_t *buf, int buf_size, const char *filename);
    int (*open)(BlockDriverState *bs, Opts *options, int flags, Error **errp);
    void (*close)(BlockDriverState *bs);
    int (*preadv)(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                  int flags);
    int (*pwritev)(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                   int flags);
    int (*pwrite_zeroes)(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags);
    int (*pdiscard)(BlockDriverState *bs, int64_t offset, int64_t bytes);
    /* Flush driver state to bs->file; io.c flushes the file node afterwards. */
    int (*flush)(BlockDriverState *bs);
    int (*truncate)(BlockDriverState *bs, int64_t offset, bool exact, PreallocMode prealloc,
                    Error **errp);
    int64_t (*get_allocated_file_size)(BlockDriverState *bs);
    /* Current length for nodes whose size changes under them (protocols). */
    int64_t (*getlength)(BlockDriverState *bs);
    int (*block_status)(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum,
                        int64_t *map, BlockDriverState **file);
    int (*get_info)(BlockDriverState *bs, BlockDriverInfo *bdi);
    int (*check)(BlockDriverState *bs, BdrvCheckResult *res, int fix);
    int (*snapshot_list)(BlockDriverState *bs, BlockSnapshotInfo **list);
    int (*snapshot_create)(BlockDriverState *bs, const char *name, Error **errp);
    int (*snapshot_goto)(BlockDriverState *bs, const char *id_or_name, Error **errp);
    int (*snapshot_delete)(BlockDriverState *bs, const char *id_or_name, Error **errp);
    int (*change_backing_file)(BlockDriverState *bs, const char *file, const char *fmt);
    /* Drop all data so that everything reads from the backing file again. */
    int (*make_empty)(BlockDriverState *bs);
    int (*amend)(BlockDriverState *bs, Opts *opts, bool force, Error **errp);
    /*
     * aio=native/io_uring fast path, called from a thread whose context runs the
     * completions; must not block (no metadata I/O, only try-locks): map guest
     * [offset, offset+bytes) onto one contiguous range of bs->file that the
     * request can go to as it is (allocated data, or for writes also clusters
     * the driver could allocate from cached metadata).  True with *host set:
     * the driver keeps the mapping valid until aio_unmap(bs, *token, ret, done,
     * opaque), called once with the I/O's result when it has completed (or
     * failed to start, ret < 0); the driver then finishes its part and calls
     * done(opaque, result) with the request's result, at once or later from
     * the same context.  False: use the worker pool.  NULL: never (a driver
     * without aio_unmap needs no finishing).
     */
    bool (*aio_map)(BlockDriverState *bs, bool is_write, int64_t offset, int64_t bytes,
                    int64_t *host, void **token);
    void (*aio_unmap)(BlockDriverState *bs, void *token, int ret, BlockCompletionFunc *done,
                      void *opaque);
    /* Create: options table for -o help and the "Formatting" summary, and the function. */
    const BlockCreateOption *create_opts;
    int (*create)(const char *filename, Opts *opts, Error **errp);
};

struct BlockDriverState {
    const BlockDriver *drv;
    void *opaque;
    char filename[BDRV_FILENAME_MAX];
    int open_flags;
    bool read_only;
    bool probed;                     /* format was guessed */
    int refcnt;
    BlockDriverState *file;          /* protocol child of a format node */
    BlockDriverState *backing;
    char backing_file[BDRV_FILENAME_MAX];        /* as stored in the image */
    char backing_format[32];
    char full_backing_filename[BDRV_FILENAME_MAX];
    int64_t total_size;              /* bytes (virtual size for formats) */
    uint32_t request_alignment;      /* smallest I/O unit (O_DIRECT logical block) */
    uint32_t buf_alignment;          /* memory alignment for O_DIRECT buffers */
};

extern const BlockDriver bdrv_file;
extern const BlockDriver bdrv_raw;
extern const BlockDriver bdrv_qcow2;

/* Create (truncate) a plain file of `size` bytes with the given preallocation. */
int file_create_with_size(const char *filename, int64_t size, PreallocMode prealloc,
                          Error **errp);

/* aio=native fast path: submit to the kernel if the file node can take the request
 * as is (O_DIRECT-aligned); cb then runs from the caller's main context.  False:
 * not taken, use the synchronous path. */
bool file_aio_submit(BlockDriverState *bs, bool is_write, int64_t offset, IOVector *qiov,
                     BlockCompletionFunc *cb, void *opaque);
/* Whether file_aio_submit could take a request at offset (kernel AIO set up,
 * O_DIRECT alignment), checked before a format driver maps one. */
bool file_aio_can_take(BlockDriverState *bs, int64_t offset, IOVector *qiov);
/* Extend the file in large fallocated steps ahead of writes past its end, and
 * truncate it back to the written length on close (O_DIRECT, read-write regular
 * files only; see file-posix.c).  For formats that grow their image file. */
void file_set_grow_ahead(BlockDriverState *bs);

/*
 * Image locking compatible with QEMU: OFD locks on bytes 100+bit (permissions we
 * use) and 200+bit (permissions we deny others), bits as QEMU's: 0 consistent
 * read, 1 write, 2 write unchanged, 3 resize.  Fails with QEMU's
 * 'Failed to get "write" lock' style message when another process conflicts.
 */
#define BLK_PERM_CONSISTENT_READ 0x1
#define BLK_PERM_WRITE           0x2
#define BLK_PERM_WRITE_UNCHANGED 0x4
#define BLK_PERM_RESIZE          0x8
#define BLK_PERM_ALL             0xf
int file_lock_perms(BlockDriverState *file, unsigned perm, unsigned shared, Error **errp);

/* Resolve `backing` relative to the directory of `base` (unless absolute). */
char *bdrv_path_combine(const char *base, const char *backing);
/* Open a backing file for bs (sets bs->backing); called by format drivers' open or
 * by bdrv_open after the driver filled bs->backing_file/backing_format. */
int bdrv_open_backing(BlockDriverState *bs, int flags, Error **errp);
/* Allocate memory suitable for I/O on bs (O_DIRECT-aligned). Free with qemu_vfree. */
void *bdrv_blockalign(BlockDriverState *bs, size_t size);
void *qemu_memalign(size_t align, size_t size);
void qemu_vfree(void *ptr);      /* NULL is fine */

#endif
