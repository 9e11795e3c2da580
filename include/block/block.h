/*
 * Block layer public API: block nodes (format drivers over protocol drivers, with
 * backing chains), synchronous thread-safe I/O on nodes, image creation and check.
 * Node I/O (bdrv_*) is synchronous and may be called from any thread; the
 * asynchronous device-facing API is the BlockBackend (include/block/block-backend.h).
 * Offsets and lengths are bytes.  Functions returning int return 0 (or a
 * positive count) on success and -errno on failure.
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "block/iov.h"
#include "kemu/error.h"
#include "kemu/option.h"

typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;

/* Open flags (as QEMU's BDRV_O_*). */
#define BDRV_O_RDWR         0x0002
#define BDRV_O_SNAPSHOT     0x0008   /* temporary overlay, discarded on close */
#define BDRV_O_NOCACHE      0x0020   /* O_DIRECT (cache.direct=on) */
#define BDRV_O_NATIVE_AIO   0x0080   /* aio=native (libaio) */
#define BDRV_O_NO_BACKING   0x0100   /* do not open the backing file */
#define BDRV_O_NO_FLUSH     0x0200   /* cache.no-flush=on (cache=unsafe) */
#define BDRV_O_UNMAP        0x4000   /* discard=unmap: pass discards down */
#define BDRV_O_IO_URING     0x40000  /* aio=io_uring */
#define BDRV_O_CHECK        0x1000   /* opened for kemu-img check: tolerate dirty images */
#define BDRV_O_NO_IO        0x10000  /* metadata only (info): skip repair, no data file needed */
#define BDRV_O_NO_LOCK      0x80000  /* take no image locks (-U/force-share, tool-internal) */

/* Request flags. */
#define BDRV_REQ_ZERO_WRITE      0x2
#define BDRV_REQ_MAY_UNMAP       0x4
#define BDRV_REQ_FUA             0x10
#define BDRV_REQ_WRITE_COMPRESSED 0x20
#define BDRV_REQ_NO_FALLBACK     0x100

/* Block status bits (bdrv_block_status). */
#define BDRV_BLOCK_DATA          0x01
#define BDRV_BLOCK_ZERO          0x02
#define BDRV_BLOCK_OFFSET_VALID  0x04
#define BDRV_BLOCK_ALLOCATED     0x10   /* determined by this layer (not the backing) */
#define BDRV_BLOCK_COMPRESSED    0x40
#define BDRV_BLOCK_RECURSE       0x80   /* ask the file node whether the data is a hole */

#define BDRV_SECTOR_SIZE 512

typedef enum PreallocMode {
    PREALLOC_MODE_OFF,
    PREALLOC_MODE_METADATA,
    PREALLOC_MODE_FALLOC,
    PREALLOC_MODE_FULL,
} PreallocMode;

/* "off" / "metadata" / "falloc" / "full" -> mode; -1 when unknown. */
int prealloc_mode_parse(const char *str);
const char *prealloc_mode_name(PreallocMode mode);

/* Result of an image consistency check (kemu-img check). */
typedef struct BdrvCheckResult {
    int corruptions;
    int leaks;
    int check_errors;
    int corruptions_fixed;
    int leaks_fixed;
    int64_t image_end_offset;
    uint64_t total_clusters;
    uint64_t allocated_clusters;
    uint64_t fragmented_clusters;
    uint64_t compressed_clusters;
    bool has_clusters;          /* format reports cluster statistics */
} BdrvCheckResult;

#define BDRV_FIX_LEAKS  1
#define BDRV_FIX_ERRORS 2

/* An internal snapshot as listed by `snapshot -l` / info. */
typedef struct BlockSnapshotInfo {
    char *id;
    char *name;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;          /* UINT64_MAX when absent */
} BlockSnapshotInfo;

/* Static image facts reported by `info`. */
typedef struct BlockDriverInfo {
    int64_t cluster_size;       /* 0 when the format has no clusters */
    int64_t vm_state_offset;
    bool is_dirty;
    /* qcow2 "Format specific information" */
    bool has_qcow2_info;
    int qcow_version;           /* 2 or 3 */
    bool lazy_refcounts;
    int refcount_bits;
    bool corrupt;
    bool extended_l2;
    const char *compression_type;
    bool has_data_file;         /* incompatible bit 2: "data file raw" is shown */
    const char *data_file;      /* its name from the header, or NULL */
    bool data_file_raw;
} BlockDriverInfo;

BlockDriver *bdrv_find_format(const char *name);
const char *bdrv_get_format_name(const BlockDriverState *bs);
/* Space-separated list of format names (for help output). */
char *bdrv_format_list(void);

/*
 * Open `filename` with `format` (NULL: probe; probing never picks a format other
 * than raw's fallback unless the contents say so).  `options` (may be NULL) holds
 * driver options such as "l2-cache-size"; keys "backing.file"... are not supported.
 * The backing chain is opened read-only unless BDRV_O_NO_BACKING.
 */
BlockDriverState *bdrv_open(const char *filename, const char *format, Opts *options, int flags,
                            Error **errp);
void bdrv_ref(BlockDriverState *bs);
void bdrv_unref(BlockDriverState *bs);

/* True when the image format was guessed (no format given) and came out raw. */
bool bdrv_probed_raw(const BlockDriverState *bs);
const char *bdrv_get_filename(const BlockDriverState *bs);
BlockDriverState *bdrv_get_backing(const BlockDriverState *bs);
BlockDriverState *bdrv_get_file(const BlockDriverState *bs);
/* As stored in the image ("" when none), and resolved relative to the image. */
const char *bdrv_get_backing_filename(const BlockDriverState *bs);
const char *bdrv_get_full_backing_filename(const BlockDriverState *bs);
const char *bdrv_get_backing_format(const BlockDriverState *bs);
bool bdrv_is_read_only(const BlockDriverState *bs);
int bdrv_get_flags(const BlockDriverState *bs);

int64_t bdrv_getlength(BlockDriverState *bs);
/* Bytes the image occupies on the host (st_blocks * 512), -errno if unknown. */
int64_t bdrv_get_allocated_file_size(BlockDriverState *bs);
int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi);

int bdrv_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov, int flags);
int bdrv_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                 int flags);
int bdrv_pread(BlockDriverState *bs, int64_t offset, int64_t bytes, void *buf, int flags);
int bdrv_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf, int flags);
/* Write and flush (for metadata that must be on disk before something else). */
int bdrv_pwrite_sync(BlockDriverState *bs, int64_t offset, int64_t bytes, const void *buf);
int bdrv_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags);
int bdrv_pdiscard(BlockDriverState *bs, int64_t offset, int64_t bytes);
int bdrv_flush(BlockDriverState *bs);
int bdrv_truncate(BlockDriverState *bs, int64_t offset, bool exact, PreallocMode prealloc,
                  Error **errp);

/*
 * Status of [offset, offset + bytes) in this node only: returns BDRV_BLOCK_* bits
 * (or -errno), sets *pnum to the length (>0) sharing that status, *map to the host
 * offset when BDRV_BLOCK_OFFSET_VALID, and *file to the node holding the data.
 * Unallocated ranges of a node with a backing file return 0 (no bits).
 */
int bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum,
                      int64_t *map, BlockDriverState **file);
/* Walk the backing chain from bs down to (not including) base; *depth gets the
 * index of the layer that answered (0 = bs).  Past the chain end reads as zero. */
int bdrv_block_status_above(BlockDriverState *bs, BlockDriverState *base, int64_t offset,
                            int64_t bytes, int64_t *pnum, int64_t *map,
                            BlockDriverState **file, int *depth);
/* 1 when allocated in bs itself (data or zero cluster), 0 if not, -errno. */
int bdrv_is_allocated(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum);

int bdrv_check(BlockDriverState *bs, BdrvCheckResult *res, int fix);
bool bdrv_can_check(const BlockDriverState *bs);

/* Internal snapshots.  Return -ENOTSUP when the format has none. */
int bdrv_snapshot_list(BlockDriverState *bs, BlockSnapshotInfo **list);
void bdrv_snapshot_list_free(BlockSnapshotInfo *list, int n);
int bdrv_snapshot_create(BlockDriverState *bs, const char *name, Error **errp);
int bdrv_snapshot_goto(BlockDriverState *bs, const char *id_or_name, Error **errp);
int bdrv_snapshot_delete(BlockDriverState *bs, const char *id_or_name, Error **errp);

/* Rewrite the backing file name/format recorded in the image (NULL/"" removes). */
int bdrv_change_backing_file(BlockDriverState *bs, const char *file, const char *fmt);
/* Discard everything so the image reads through to its backing file (commit). */
int bdrv_make_empty(BlockDriverState *bs);
/* qemu-img amend: change format options of an existing image. */
int bdrv_amend(BlockDriverState *bs, Opts *opts, bool force, Error **errp);

/*
 * Create an image.  `opts` holds the -o options of the format (size, backing_file,
 * backing_fmt, cluster_size, compat, ...).  On success, if `summary` is not NULL it
 * receives the "fmt=... size=..." description qemu-img prints after "Formatting".
 */
int bdrv_create(const char *format, const char *filename, Opts *opts, char **summary,
                Error **errp);
/* Print the create options of a format as `-o help` does. */
/* -o help of create/convert: the format's options, and the protocol's too when a
 * target filename was given (with qemu-img's headings). */
void bdrv_print_create_options(const char *format, bool with_protocol);
/* -o help of amend; false when the format cannot amend. */
bool bdrv_print_amend_options(const char *format);
bool bdrv_has_create(const char *format);

#endif
