/*
 * qcow2 format driver: on-disk constants and in-memory state.
 * Follows the QEMU qcow2 image format specification (docs/interop/qcow2.txt):
 * "Header", "Header extensions", "Host cluster management" (refcounts),
 * "Cluster mapping" (L1/L2 tables, compressed and zero clusters), "Extended L2
 * Entries" (128-bit L2 entries with a "Subcluster Allocation Bitmap"), "Snapshots",
 * and external data files (incompatible bit 2, autoclear bit 1, "External data
 * file name" extension): guest clusters then live in another file at host
 * offset == guest offset and are not refcounted.
 */
#ifndef BLOCK_QCOW2_H
#define BLOCK_QCOW2_H

#include "block/block_int.h"
#include "kemu/bswap.h"

#include <stdarg.h>

#define QCOW_MAGIC 0x514649fbu          /* "QFI\xfb" */
#define QCOW2_V2_HEADER_SIZE 72
#define QCOW2_V3_HEADER_SIZE 104        /* without the compression_type byte */
#define QCOW2_DEFAULT_HEADER_LENGTH 112

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32 * 1024 * 1024)          /* as QEMU's limit */
#define QCOW2_MAX_REFTABLE_BYTES (8 * 1024 * 1024)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_HOST_OFFSET ((1ULL << 56) - 1)

/* "Cluster mapping": L1 and L2 entry bits */
#define QCOW_OFLAG_COPIED      (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED  (1ULL << 62)
#define QCOW_OFLAG_ZERO        (1ULL << 0)
#define L1E_OFFSET_MASK        0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK        0x00fffffffffffe00ULL
#define L1E_RESERVED_MASK      0x7f000000000001ffULL
#define L2E_STD_RESERVED_MASK  0x3f000000000001feULL
#define REFT_OFFSET_MASK       0xfffffffffffffe00ULL
#define REFT_RESERVED_MASK     0x1ffULL

/* "Extended L2 Entries": 32 subclusters per cluster; clusters of at least 16 KiB */
#define QCOW2_EXTL2_SUBCLUSTERS     32
#define QCOW2_EXTL2_MIN_CLUSTER_BITS 14
/* "Subcluster Allocation Bitmap": bits 0-31 allocated, 32-63 reads as zeroes */
#define QCOW2_SC_ALL_ALLOC          0x00000000ffffffffULL
#define QCOW2_SC_ALL_ZERO           0xffffffff00000000ULL

/* Feature bits ("Header", bytes 72-95) */
#define QCOW2_INCOMPAT_DIRTY        (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ULL << 4)
#define QCOW2_INCOMPAT_KNOWN        (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | \
                                     QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_COMPRESSION | \
                                     QCOW2_INCOMPAT_EXTL2)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)
#define QCOW2_AUTOCLEAR_BITMAPS     (1ULL << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ULL << 1)

/* "Additional fields", byte 104: compression_type */
#define QCOW2_COMPRESSION_TYPE_ZLIB 0
#define QCOW2_COMPRESSION_TYPE_ZSTD 1

/* "Header extensions" */
#define QCOW2_EXT_END              0x00000000u
#define QCOW2_EXT_BACKING_FORMAT   0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE    0x6803f857u
#define QCOW2_EXT_BITMAPS          0x23852875u
#define QCOW2_EXT_CRYPTO           0x0537be77u
#define QCOW2_EXT_DATA_FILE        0x44415441u

typedef enum Qcow2ClusterType {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,
    QCOW2_CLUSTER_ZERO_ALLOC,
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
    /* Extended L2 only: the cluster has a host cluster, but this subcluster is not
     * allocated (it reads from the backing file, or zeroes). */
    QCOW2_CLUSTER_UNALLOCATED_ALLOC,
} Qcow2ClusterType;

typedef struct Qcow2Snapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;
    char *id_str;
    char *name;
    uint64_t disk_size;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;
    uint32_t extra_data_size;
    uint8_t *unknown_extra;     /* extra data beyond what we interpret, kept verbatim */
} Qcow2Snapshot;

typedef struct Qcow2UnknownExt {
    uint32_t magic;
    uint32_t len;
    uint8_t *data;
} Qcow2UnknownExt;

typedef struct Qcow2Cache Qcow2Cache;

/* An allocation whose data write is in flight without s->lock: guest bytes
 * [start, end), cluster aligned, not yet linked into the L2 table. */
typedef struct Qcow2InflightAlloc {
    int64_t start, end;
} Qcow2InflightAlloc;

typedef struct BDRVQcow2State {
    GMutex lock;                 /* serialises metadata access on this node */
    GRWLock data_lock;           /* held shared by data I/O running without `lock` */
    /* Kernel AIO fast-path requests in flight (see qcow2_aio_map); they may
     * complete on another thread than the one that mapped them, so they are
     * counted rather than holding data_lock.  fast_io_lock guards the count. */
    GMutex fast_io_lock;
    GCond fast_io_done;
    int fast_io;
    int fast_io_waiters;
    /* Allocating writes whose data write runs unlocked (qcow2-cluster.c);
     * waited for with inflight_done and `lock`. */
    GArray *inflight_allocs;     /* Qcow2InflightAlloc */
    GCond inflight_done;
    int inflight_waiters;
    int qcow_version;
    int cluster_bits;
    int64_t cluster_size;
    int l2_bits;                 /* log2 of entries per L2 table */
    int64_t l2_size;
    int subcluster_bits;         /* log2 of the subcluster size (= cluster_bits without
                                  * extended L2 entries) */
    int64_t subcluster_size;
    int csize_shift;             /* compressed descriptor: sector count position */
    uint64_t csize_mask;
    uint64_t cluster_offset_mask;
    int refcount_order;
    int refcount_bits;
    uint64_t refcount_max;
    int refcount_block_bits;     /* log2 of entries per refcount block */
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t header_length;
    uint8_t compression_type;

    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t *l1_table;          /* host byte order */

    uint64_t refcount_table_offset;
    uint32_t refcount_table_size;    /* entries */
    uint64_t *refcount_table;        /* host byte order */
    bool reftable_relocating;        /* new table lives only in memory for now */

    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t snapshots_size;
    Qcow2Snapshot *snapshots;

    Qcow2Cache *l2_cache;
    Qcow2Cache *refcount_cache;
    int64_t free_cluster_index;
    int64_t free_byte_offset;        /* compressed writes: next free byte in a cluster */
    /* Its cluster was freed and handed out again by the cluster allocator since (and is
     * still in use): compressed data must not go on there (see qcow2_alloc_bytes). */
    bool free_byte_claimed;

    GArray *unknown_exts;            /* Qcow2UnknownExt, preserved on header rewrite */
    bool corrupt_reported;
    bool lazy_dirty;                 /* dirty bit set by us (lazy refcounts) */
    bool metadata_preallocation;     /* looks preallocated: holes may hide behind data */
    bool metadata_preallocation_checked;   /* decided at the first block-status query */

    uint8_t *cluster_cache;          /* last decompressed cluster */
    int64_t cluster_cache_offset;    /* its host offset, -1 if none */
    void *zstd_cctx;                 /* ZSTD_CCtx, made at the first compressed write */
    void *zstd_dctx;                 /* ZSTD_DCtx, made at the first compressed read */

    /* External data file (incompatible bit 2): the node guest data goes to.  It is
     * bs->file for images without one, and NULL only when one is needed but was
     * not opened (BDRV_O_NO_IO: kemu-img info). */
    BlockDriverState *data_file;
    char *data_file_name;            /* "External data file name" extension, or NULL */
} BDRVQcow2State;

static inline bool qcow2_has_data_file(const BDRVQcow2State *s)
{
    return s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE;
}

/* Autoclear bit 1: the data file must read as the guest disk on its own. */
static inline bool qcow2_data_file_is_raw(const BDRVQcow2State *s)
{
    return qcow2_has_data_file(s) && (s->autoclear_features & QCOW2_AUTOCLEAR_DATA_FILE_RAW);
}

/* qcow2.c */
int qcow2_update_header(BlockDriverState *bs);
int qcow2_mark_dirty(BlockDriverState *bs);
int qcow2_mark_clean(BlockDriverState *bs);
/* Record detected corruption: sets the corrupt bit (if writable) and reports
 * once; returns -EIO for the caller to propagate. */
int qcow2_signal_corruption(BlockDriverState *bs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The two above with a va_list: fatal events (on a writable image) mark it corrupt. */
void qcow2_corruption_event(BlockDriverState *bs, bool fatal, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Report corruption without marking the image corrupt (qemu's non-fatal events). */
void qcow2_report_corruption(BlockDriverState *bs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int64_t qcow2_size_to_l1(BDRVQcow2State *s, int64_t size);
/* Refuse host ranges that overlap fixed metadata (header, L1, refcount table,
 * snapshot table) or cached L2/refcount blocks; returns -EIO after signalling. */
int qcow2_check_overlap(BlockDriverState *bs, int64_t offset, int64_t size, bool data);
/* What [offset, offset+size) overlaps (as in the message above), or NULL. */
const char *qcow2_overlap_what(BDRVQcow2State *s, int64_t offset, int64_t size, bool data);

/* qcow2-cache.c */
Qcow2Cache *qcow2_cache_create(BlockDriverState *bs, int num_tables, bool is_l2);
void qcow2_cache_destroy(Qcow2Cache *c);
/* Table at `offset`, read from disk (or zero-filled when !read). Pin until put. */
int qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c, uint64_t offset, void **table, bool read);
void qcow2_cache_put(Qcow2Cache *c, void **table);
/* The cached table at `offset` without pinning or I/O (callers hold s->lock and
 * drop the pointer before releasing it), or NULL when it is not cached. */
void *qcow2_cache_lookup(Qcow2Cache *c, uint64_t offset);
void qcow2_cache_mark_dirty(Qcow2Cache *c, void *table);
int qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c);
int qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c);
/* Forget a cached table whose cluster was freed. */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset);
bool qcow2_cache_is_dirty(Qcow2Cache *c);
bool qcow2_cache_contains_range(Qcow2Cache *c, uint64_t offset, uint64_t size);

/* qcow2-refcount.c */
int qcow2_refcount_init(BlockDriverState *bs, Error **errp);
uint64_t qcow2_get_refcount_ro(BDRVQcow2State *s, const void *block, uint64_t index);
void qcow2_set_refcount_ro(BDRVQcow2State *s, void *block, uint64_t index, uint64_t value);
int qcow2_get_refcount(BlockDriverState *bs, int64_t cluster_index, uint64_t *refcount);
int64_t qcow2_alloc_clusters(BlockDriverState *bs, int64_t size);
/* Allocate up to n free clusters starting exactly at host `offset` (whose refcount
 * blocks exist): how many it got, 0 when the first one is in use. */
int64_t qcow2_alloc_clusters_at(BlockDriverState *bs, int64_t offset, int64_t n);
int64_t qcow2_alloc_bytes(BlockDriverState *bs, int size);
/* addend is +1/-1 per cluster of [offset, offset+size). */
int qcow2_update_cluster_refcount(BlockDriverState *bs, int64_t offset, int64_t size,
                                  int addend);
void qcow2_free_clusters(BlockDriverState *bs, int64_t offset, int64_t size, bool discard);
void qcow2_free_any_cluster(BlockDriverState *bs, uint64_t l2_entry, bool discard);
int qcow2_check_refcounts(BlockDriverState *bs, BdrvCheckResult *res, int fix);
int qcow2_flush_caches(BlockDriverState *bs);

/* qcow2-cluster.c */
Qcow2ClusterType qcow2_get_cluster_type(BDRVQcow2State *s, uint64_t l2_entry);
/* Type of subcluster sc of an extended L2 entry; false for an impossible
 * combination ("Subcluster Allocation Bitmap": allocated and reading as zeroes,
 * or allocated without a host cluster), which the caller reports as corruption.
 * Bits in a compressed cluster's bitmap are only reported by check, as qemu does. */
bool qcow2_get_subcluster_type(BDRVQcow2State *s, uint64_t l2_entry, uint64_t l2_bitmap, int sc,
                               Qcow2ClusterType *type);
/* Pin the L2 table for guest offset (qcow2_cache_put releases it); *table NULL when
 * the L1 entry is empty.  Called with s->lock held. */
int qcow2_get_l2(BlockDriverState *bs, int64_t offset, void **table, uint64_t *l1_entry);
int qcow2_get_host_offset(BlockDriverState *bs, int64_t offset, int64_t *bytes,
                          uint64_t *host_offset, Qcow2ClusterType *type);
int qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size, bool exact);
int qcow2_write_l1_entry(BlockDriverState *bs, int l1_index);
/* In-flight allocations (with s->lock held); remove wakes the waiters. */
bool qcow2_inflight_overlaps(BDRVQcow2State *s, int64_t start, int64_t end);
bool qcow2_wait_inflight(BlockDriverState *bs, int64_t start, int64_t end);
void qcow2_inflight_add(BDRVQcow2State *s, int64_t start, int64_t end);
void qcow2_inflight_remove(BDRVQcow2State *s, int64_t start);
/* Point the L2 entries of guest clusters [guest, +nclusters) (one L2 table) at
 * host clusters just written, then free what they pointed to before. */
int qcow2_link_clusters(BlockDriverState *bs, int64_t guest, int64_t host, int64_t nclusters);
/* Pin a writable (refcount 1) L2 table for offset, allocating or copying it. */
int qcow2_get_l2_table_for_write(BlockDriverState *bs, int64_t offset, void **table);

/* qcow2-aio.c: the kernel AIO fast path (BlockDriver.aio_map / aio_unmap) */
bool qcow2_aio_map(BlockDriverState *bs, bool is_write, int64_t offset, int64_t bytes,
                   int64_t *host, void **token);
void qcow2_aio_unmap(BlockDriverState *bs, void *token, int ret, BlockCompletionFunc *done,
                     void *done_opaque);

/* qcow2-compress.c */
int qcow2_write_compressed(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov);
/* Compress in (in_len bytes) into out with the image's compression type; returns the
 * compressed size, or -ENOSPC when it does not fit in out_len bytes. */
ssize_t qcow2_compress_buf(BDRVQcow2State *s, uint8_t *out, size_t out_len, const uint8_t *in,
                           size_t in_len);
/* Decompress the stored bytes of one compressed cluster (in_len may exceed the compressed
 * data: the rest is ignored) into exactly out_len bytes; -EIO unless the data is well
 * formed and yields exactly out_len bytes. */
int qcow2_decompress_buf(BDRVQcow2State *s, uint8_t *out, size_t out_len, const uint8_t *in,
                         size_t in_len);
/* Free the compression contexts of s. */
void qcow2_compress_cleanup(BDRVQcow2State *s);
/* Name of a compression type, as qemu-img info prints it. */
const char *qcow2_compression_type_name(uint8_t type);
int qcow2_co_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov);
/* unlocked_io: drop s->lock around reads of data clusters (top-level requests only). */
int qcow2_co_preadv_flags(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                          bool unlocked_io);
/* Wait until no data I/O runs unlocked; callers hold s->lock (so none can start). */
void qcow2_data_io_barrier(BlockDriverState *bs);
int qcow2_co_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                     bool compressed);
int qcow2_preallocate_metadata(BlockDriverState *bs, int64_t offset, int64_t new_length,
                               PreallocMode mode);
int qcow2_decompress_cluster(BlockDriverState *bs, uint64_t l2_entry, uint8_t **out);
/* Compressed cluster descriptor: host offset and stored byte count. */
void qcow2_parse_compressed(BDRVQcow2State *s, uint64_t l2_entry, uint64_t *coffset,
                            int64_t *csize);

/* qcow2-zero.c: write-zeroes (BDRV_REQ_MAY_UNMAP in flags) and discard */
int qcow2_cluster_zeroize(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags);
int qcow2_cluster_discard(BlockDriverState *bs, int64_t offset, int64_t bytes, bool crop);

/* qcow2-snapshot.c */
int qcow2_read_snapshots(BlockDriverState *bs, Error **errp);
void qcow2_free_snapshots(BDRVQcow2State *s);
int qcow2_snapshot_list(BlockDriverState *bs, BlockSnapshotInfo **list);
int qcow2_snapshot_create(BlockDriverState *bs, const char *name, Error **errp);
int qcow2_snapshot_goto(BlockDriverState *bs, const char *id_or_name, Error **errp);
int qcow2_snapshot_delete(BlockDriverState *bs, const char *id_or_name, Error **errp);

/* qcow2-amend.c */
int qcow2_change_backing_file(BlockDriverState *bs, const char *file, const char *fmt);
int qcow2_make_empty(BlockDriverState *bs);
int qcow2_amend(BlockDriverState *bs, Opts *opts, bool force, Error **errp);

/* qcow2-create.c */
int qcow2_create(const char *filename, Opts *opts, Error **errp);
extern const BlockCreateOption qcow2_create_opts[];

static inline int64_t qcow2_offset_into_cluster(BDRVQcow2State *s, int64_t offset)
{
    return offset & (s->cluster_size - 1);
}

static inline int64_t qcow2_start_of_cluster(BDRVQcow2State *s, int64_t offset)
{
    return offset & ~(s->cluster_size - 1);
}

static inline int64_t qcow2_size_to_clusters(BDRVQcow2State *s, int64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}

/* Do the byte ranges [a, a+alen) and [b, b+blen) share a byte? (Empty ones never do.) */
static inline bool qcow2_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* Host clusters [first, first+n) were just handed out by the cluster allocator: the
 * compressed byte allocator must not go on inside one of them (see qcow2_alloc_bytes). */
static inline void qcow2_clusters_claimed(BDRVQcow2State *s, int64_t first, int64_t n)
{
    int64_t ci = s->free_byte_offset >> s->cluster_bits;
    if (s->free_byte_offset && ci >= first && ci < first + n) {
        s->free_byte_claimed = true;
    }
}

/* Host cluster ci's refcount dropped to 0: whoever claimed it is gone. */
static inline void qcow2_cluster_released(BDRVQcow2State *s, int64_t ci)
{
    if (s->free_byte_offset && (s->free_byte_offset >> s->cluster_bits) == ci) {
        s->free_byte_claimed = false;
    }
}

/* Word i of a big-endian 64-bit table (L1, refcount table, standard L2 table). */
static inline uint64_t qcow2_l2_get(const void *table, int64_t i)
{
    return ldq_be_p((const uint8_t *)table + i * 8);
}

static inline void qcow2_l2_set(void *table, int64_t i, uint64_t v)
{
    stq_be_p((uint8_t *)table + i * 8, v);
}

/* "Extended L2 Entries": 128-bit L2 entries, 32 subclusters per cluster. */
static inline bool qcow2_has_subclusters(const BDRVQcow2State *s)
{
    return s->incompatible_features & QCOW2_INCOMPAT_EXTL2;
}

/* Bytes of one L2 entry: 8, or 16 with extended L2 entries. */
static inline int qcow2_l2_entry_size(const BDRVQcow2State *s)
{
    return qcow2_has_subclusters(s) ? 16 : 8;
}

/* The descriptor (first 64 bits) of L2 entry i. */
static inline uint64_t qcow2_l2_entry(const BDRVQcow2State *s, const void *table, int64_t i)
{
    return qcow2_l2_get(table, qcow2_has_subclusters(s) ? 2 * i : i);
}

static inline void qcow2_l2_set_entry(const BDRVQcow2State *s, void *table, int64_t i,
                                      uint64_t v)
{
    qcow2_l2_set(table, qcow2_has_subclusters(s) ? 2 * i : i, v);
}

/* The subcluster allocation bitmap of L2 entry i (0 without extended L2 entries). */
static inline uint64_t qcow2_l2_bitmap(const BDRVQcow2State *s, const void *table, int64_t i)
{
    return qcow2_has_subclusters(s) ? qcow2_l2_get(table, 2 * i + 1) : 0;
}

static inline void qcow2_l2_set_bitmap(const BDRVQcow2State *s, void *table, int64_t i,
                                       uint64_t v)
{
    if (qcow2_has_subclusters(s)) {
        qcow2_l2_set(table, 2 * i + 1, v);
    }
}

/* Allocation bits of subclusters [first, end) (0 <= first <= end <= 32); the
 * matching "reads as zeroes" bits are these shifted left by 32. */
static inline uint64_t qcow2_sc_range(int first, int end)
{
    return ((1ULL << end) - 1) & ~((1ULL << first) - 1);
}

/* Index of the subcluster containing guest offset within its cluster. */
static inline int qcow2_sc_index(const BDRVQcow2State *s, int64_t offset)
{
    return (int)((offset & (s->cluster_size - 1)) >> s->subcluster_bits);
}

static inline int qcow2_l2_index(BDRVQcow2State *s, int64_t offset)
{
    return (int)((offset >> s->cluster_bits) & (s->l2_size - 1));
}

static inline uint64_t qcow2_l1_index(BDRVQcow2State *s, int64_t offset)
{
    return (uint64_t)offset >> (s->l2_bits + s->cluster_bits);
}

static inline int64_t qcow2_align_up(int64_t v, int64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

#endif
