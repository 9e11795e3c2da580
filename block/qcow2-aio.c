/*
 * qcow2 kernel AIO fast path (aio=native / io_uring, BlockDriver.aio_map):
 * requests that need no metadata I/O are mapped in the thread that runs the
 * completions and go straight to the kernel instead of the worker pool:
 *  - reads of allocated data clusters and in-place overwrites of unshared ones
 *    (qcow2 spec "Cluster mapping": standard cluster descriptors, COPIED flag
 *    for writes), looked up in a cached L2 table;
 *  - whole-cluster writes into unallocated (or plain zero) clusters of an image
 *    without a backing file, when free clusters inside the file (freed by a
 *    discard, say) take them: the clusters are allocated from cached refcount
 *    blocks ("Host cluster management"), the data goes to the kernel, and the
 *    L2 entries are set when it is written, as the slow path orders it.
 *    Clusters at the end of the file go to the pool instead: there the file
 *    grows ahead of the writes into fallocated space (file_set_grow_ahead), and
 *    kernel AIO into that space measured half as fast as synchronous writes
 *    from the pool (tests/bench/block/bench_img.py, qcow2 alloc 64k native:
 *    1.36 s against 0.75 s on ext4).  A partial write needs the rest of its
 *    clusters zeroed, which the pool does.
 * With "Extended L2 Entries" only the first kind is taken, and only when every
 * subcluster the request touches is allocated ("Subcluster Allocation Bitmap"):
 * then no bitmap changes.  Allocations and copy-on-write of subclusters go to the
 * worker pool.
 * Anything else (metadata not cached, compressed or allocated-zero clusters,
 * copy-on-write from a backing file, the metadata lock busy) reports false and
 * takes the worker pool, and so does every request of an image with an external
 * data file (qcow2 spec, incompatible bit 2): the kernel request would go to
 * bs->file, not to the data file.  Mapping only tries the metadata lock.  So does
 * linking a finished allocation; when that cannot be done at once (lock busy,
 * L2 table evicted, write failed) it moves to a worker, because this thread
 * must never wait for the lock: a worker holding it may be waiting for this
 * thread's completions (qcow2_data_io_barrier).
 */
#include "qcow2.h"

#include <errno.h>

#include "block/thread-pool.h"

#define AIO_ALLOC_MAX_SCAN 4096      /* refcounts looked at per allocation, at most */

typedef struct Qcow2AioAlloc {
    BlockDriverState *bs;
    int64_t guest;                   /* cluster-aligned guest offset of the run */
    int64_t host;                    /* its new host clusters */
    int64_t nclusters;
    int ret;                         /* result of the data write */
    BlockCompletionFunc *done;
    void *done_opaque;
} Qcow2AioAlloc;

/* The cached L2 table for guest offset (unshared for writes), or NULL. */
static void *cached_l2(BDRVQcow2State *s, int64_t offset, bool for_write)
{
    uint64_t l1_index = qcow2_l1_index(s, offset);
    if (l1_index >= s->l1_size) {
        return NULL;
    }
    uint64_t l1 = s->l1_table[l1_index];
    uint64_t l2_offset = l1 & L1E_OFFSET_MASK;
    if (!l2_offset || (l2_offset & (s->cluster_size - 1)) ||
        l2_offset < (uint64_t)s->cluster_size || (for_write && !(l1 & QCOW_OFLAG_COPIED))) {
        return NULL;
    }
    return qcow2_cache_lookup(s->l2_cache, l2_offset);
}

/* Extended L2: are all subclusters of entry idx that bytes [from, to) of its cluster
 * touch allocated (with a consistent bitmap)? */
static bool subclusters_allocated(BDRVQcow2State *s, const void *table, int idx, int64_t from,
                                  int64_t to)
{
    uint64_t bitmap = qcow2_l2_bitmap(s, table, idx);
    uint64_t want = qcow2_sc_range((int)(from >> s->subcluster_bits),
                                   (int)((to + s->subcluster_size - 1) >> s->subcluster_bits));
    return !((bitmap >> 32) & bitmap) && (bitmap & want) == want;
}

/* A run of allocated, host-contiguous data clusters (unshared for writes) covering
 * bytes [in_cluster, in_cluster + bytes) of the first one? */
static bool map_allocated(BDRVQcow2State *s, const void *table, bool is_write, int l2_index,
                          int64_t nclusters, int64_t in_cluster, int64_t bytes, uint64_t *host)
{
    uint64_t start = qcow2_l2_entry(s, table, l2_index) & L2E_OFFSET_MASK;
    if (!start || (start & (s->cluster_size - 1))) {
        return false;
    }
    for (int64_t i = 0; i < nclusters; i++) {
        uint64_t e = qcow2_l2_entry(s, table, l2_index + i);
        int64_t base = i << s->cluster_bits;
        if (qcow2_has_subclusters(s) &&
            !subclusters_allocated(s, table, l2_index + (int)i, MAX(in_cluster, base) - base,
                                   MIN(in_cluster + bytes, base + s->cluster_size) - base)) {
            return false;
        }
        if (qcow2_get_cluster_type(s, e) != QCOW2_CLUSTER_NORMAL ||
            (is_write && !(e & QCOW_OFLAG_COPIED)) ||
            (e & L2E_OFFSET_MASK) != start + ((uint64_t)i << s->cluster_bits)) {
            return false;
        }
    }
    *host = start;
    return true;
}

/* The refcount block covering host cluster ci, if it is cached. */
static void *cached_refblock(BDRVQcow2State *s, int64_t ci)
{
    uint64_t rt_index = (uint64_t)ci >> s->refcount_block_bits;
    if (rt_index >= s->refcount_table_size) {
        return NULL;
    }
    uint64_t off = s->refcount_table[rt_index] & REFT_OFFSET_MASK;
    if (!off || (off & (s->cluster_size - 1))) {
        return NULL;
    }
    return qcow2_cache_lookup(s->refcount_cache, off);
}

/* Allocate n contiguous clusters using cached refcount blocks only; -1 when
 * that is not possible (the slow allocator may need a new refcount block). */
static int64_t alloc_cached(BDRVQcow2State *s, int64_t n)
{
    uint64_t mask = (1ULL << s->refcount_block_bits) - 1;
    int64_t max_index = (int64_t)(QCOW2_MAX_HOST_OFFSET >> s->cluster_bits);
    int64_t start = s->free_cluster_index;
    int64_t i = start;
    for (int scanned = 0; i - start < n; scanned++) {
        if (scanned > AIO_ALLOC_MAX_SCAN || i >= max_index) {
            return -1;
        }
        void *block = cached_refblock(s, i);
        if (!block) {
            return -1;
        }
        uint64_t rc = qcow2_get_refcount_ro(s, block, i & mask);
        i++;
        if (rc != 0) {
            start = i;
        }
    }
    for (int64_t ci = start; ci < start + n; ci++) {
        void *block = cached_refblock(s, ci);
        qcow2_set_refcount_ro(s, block, ci & mask, 1);
        qcow2_cache_mark_dirty(s->refcount_cache, block);
    }
    s->free_cluster_index = start + n;
    qcow2_clusters_claimed(s, start, n);
    return start;
}

/* Give back clusters from alloc_cached that were never linked anywhere (so no
 * I/O can still use them and no barrier is needed). */
static void unalloc_cached(BDRVQcow2State *s, int64_t first, int64_t n)
{
    uint64_t mask = (1ULL << s->refcount_block_bits) - 1;
    for (int64_t ci = first; ci < first + n; ci++) {
        void *block = cached_refblock(s, ci);
        if (block && qcow2_get_refcount_ro(s, block, ci & mask) == 1) {
            qcow2_set_refcount_ro(s, block, ci & mask, 0);
            qcow2_cache_mark_dirty(s->refcount_cache, block);
            s->free_cluster_index = MIN(s->free_cluster_index, ci);
            qcow2_cluster_released(s, ci);
        }
    }
}

/* New clusters for a write into clusters that read as zeroes; see the header. */
static bool map_alloc(BlockDriverState *bs, const void *table, int64_t offset, int64_t bytes,
                      int64_t *host, void **token)
{
    BDRVQcow2State *s = bs->opaque;
    if (qcow2_has_subclusters(s) || bs->backing || bs->backing_file[0] ||
        ((s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) &&
         !(s->incompatible_features & QCOW2_INCOMPAT_DIRTY))) {
        return false;       /* COW from the backing file, or the dirty bit must be written */
    }
    int l2_index = qcow2_l2_index(s, offset);
    int64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    if (in_cluster || ((in_cluster + bytes) & (s->cluster_size - 1))) {
        return false;       /* the rest of the cluster must be zeroed or copied */
    }
    int64_t nclusters = qcow2_size_to_clusters(s, in_cluster + bytes);
    for (int64_t i = 0; i < nclusters; i++) {
        Qcow2ClusterType t = qcow2_get_cluster_type(s, qcow2_l2_entry(s, table, l2_index + i));
        if (t != QCOW2_CLUSTER_UNALLOCATED && t != QCOW2_CLUSTER_ZERO_PLAIN) {
            return false;
        }
    }
    int64_t guest = offset - in_cluster;
    int64_t len = nclusters << s->cluster_bits;
    if (qcow2_inflight_overlaps(s, guest, guest + len)) {
        return false;
    }
    int64_t first = alloc_cached(s, nclusters);
    if (first < 0) {
        return false;
    }
    int64_t h = first << s->cluster_bits;
    if (qcow2_overlap_what(s, h, len, true) || h + len > bdrv_getlength(bs->file)) {
        unalloc_cached(s, first, nclusters);
        return false;
    }
    qcow2_inflight_add(s, guest, guest + len);
    Qcow2AioAlloc *a = g_new0(Qcow2AioAlloc, 1);
    *a = (Qcow2AioAlloc){ .bs = bs, .guest = guest, .host = h, .nclusters = nclusters };
    *token = a;
    *host = h + in_cluster;
    return true;
}

bool qcow2_aio_map(BlockDriverState *bs, bool is_write, int64_t offset, int64_t bytes,
                   int64_t *host, void **token)
{
    BDRVQcow2State *s = bs->opaque;
    *token = NULL;
    if (!g_mutex_trylock(&s->lock)) {
        return false;
    }
    bool ok = false;
    int l2_index = qcow2_l2_index(s, offset);
    int64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    int64_t nclusters = qcow2_size_to_clusters(s, in_cluster + bytes);
    const void *table = qcow2_has_data_file(s) ? NULL : cached_l2(s, offset, is_write);
    if (!table || nclusters > s->l2_size - l2_index ||
        (is_write && (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT))) {
        goto out;
    }
    uint64_t start;
    if (map_allocated(s, table, is_write, l2_index, nclusters, in_cluster, bytes, &start)) {
        if (is_write && qcow2_overlap_what(s, (int64_t)start + in_cluster, bytes, true)) {
            goto out;   /* the slow path reports the corruption */
        }
        /* Counted while s->lock is held: a barrier (which holds it) sees it. */
        g_mutex_lock(&s->fast_io_lock);
        s->fast_io++;
        g_mutex_unlock(&s->fast_io_lock);
        *host = (int64_t)start + in_cluster;
        ok = true;
    } else if (is_write) {
        ok = map_alloc(bs, table, offset, bytes, host, token);
    }
out:
    g_mutex_unlock(&s->lock);
    return ok;
}

/* Point the L2 entries at the new clusters without I/O; false if that needs
 * more (table evicted or shared, old entries holding clusters to free). */
static bool link_cached(BDRVQcow2State *s, Qcow2AioAlloc *a)
{
    uint8_t *table = cached_l2(s, a->guest, true);
    if (!table || (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) ||
        qcow2_has_subclusters(s)) {
        return false;
    }
    int l2_index = qcow2_l2_index(s, a->guest);
    for (int64_t i = 0; i < a->nclusters; i++) {
        Qcow2ClusterType t = qcow2_get_cluster_type(s, qcow2_l2_entry(s, table, l2_index + i));
        if (t != QCOW2_CLUSTER_UNALLOCATED && t != QCOW2_CLUSTER_ZERO_PLAIN) {
            return false;
        }
    }
    for (int64_t i = 0; i < a->nclusters; i++) {
        qcow2_l2_set_entry(s, table, l2_index + i,
                     (uint64_t)(a->host + (i << s->cluster_bits)) | QCOW_OFLAG_COPIED);
    }
    qcow2_cache_mark_dirty(s->l2_cache, table);
    return true;
}

/* In a worker, with every tool of the slow path: link, or free on failure. */
static int link_worker(void *arg)
{
    Qcow2AioAlloc *a = arg;
    BlockDriverState *bs = a->bs;
    BDRVQcow2State *s = bs->opaque;
    g_mutex_lock(&s->lock);
    int ret = a->ret;
    if (ret == 0 && !link_cached(s, a)) {
        ret = qcow2_link_clusters(bs, a->guest, a->host, a->nclusters);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, a->host, a->nclusters << s->cluster_bits, false);
    }
    qcow2_inflight_remove(s, a->guest);
    g_mutex_unlock(&s->lock);
    return ret;
}

static void link_worker_done(void *opaque, int ret)
{
    Qcow2AioAlloc *a = opaque;
    BlockCompletionFunc *done = a->done;
    void *done_opaque = a->done_opaque;
    g_free(a);
    done(done_opaque, ret);
}

void qcow2_aio_unmap(BlockDriverState *bs, void *token, int ret, BlockCompletionFunc *done,
                     void *done_opaque)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2AioAlloc *a = token;
    if (!a) {
        g_mutex_lock(&s->fast_io_lock);
        if (--s->fast_io == 0 && s->fast_io_waiters) {
            g_cond_broadcast(&s->fast_io_done);
        }
        g_mutex_unlock(&s->fast_io_lock);
        done(done_opaque, ret);
        return;
    }
    if (ret == 0 && g_mutex_trylock(&s->lock)) {
        bool linked = link_cached(s, a);
        if (linked) {
            qcow2_inflight_remove(s, a->guest);
        }
        g_mutex_unlock(&s->lock);
        if (linked) {
            g_free(a);
            done(done_opaque, 0);
            return;
        }
    }
    a->ret = ret;
    a->done = done;
    a->done_opaque = done_opaque;
    thread_pool_submit(link_worker, a, link_worker_done, a);
}
