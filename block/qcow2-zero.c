/*
 * qcow2 write-zeroes and discard (qcow2 spec "Cluster mapping": the zero flag of
 * standard cluster descriptors, v3; "Subcluster Allocation Bitmap": the "reads as
 * zeroes" bits of extended L2 entries), leaving the layout qemu 7.2 leaves.  Requests
 * are cut at (sub)cluster boundaries as qemu's block layer cuts them.  Whole clusters
 * become zero clusters (keeping their host cluster unless unmapping) or are
 * deallocated (their host clusters freed, the discard passed on); with extended L2
 * entries, whole subclusters get their zero bits; a partial piece becomes a whole zero
 * (sub)cluster when the rest of it reads as zeroes already, else it is written as zero
 * data.  v2 has no zero flag: unallocated clusters read as zeroes only without a
 * backing file.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>

#define QCOW2_ZERO_BUF_MAX (1 << 20)   /* zero data written at most this much at a time */

/*
 * Extended L2 entry for whole-cluster write-zeroes (zero) or discard of entry e:
 * false when it stays as it is.  *free_old: the old host cluster is released.
 */
static bool qcow2_ext_zero_entry(BlockDriverState *bs, uint64_t e, uint64_t bitmap, bool zero,
                                 bool unmap, uint64_t *ne, uint64_t *nbitmap, bool *free_old)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2ClusterType t = qcow2_get_cluster_type(s, e);
    bool allocated = t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_COMPRESSED;
    if (zero) {
        /* Every subcluster reads as zeroes; the host cluster stays unless unmapping
         * (a compressed one never stays). */
        *free_old = t == QCOW2_CLUSTER_COMPRESSED || (unmap && allocated);
        *ne = *free_old ? 0 : e;
        *nbitmap = QCOW2_SC_ALL_ZERO;
    } else if (bs->backing_file[0] || allocated) {
        *free_old = allocated;
        *ne = 0;
        *nbitmap = QCOW2_SC_ALL_ZERO;
    } else {
        *free_old = false;
        *ne = e;
        *nbitmap = bitmap;
    }
    return *ne != e || *nbitmap != bitmap;
}

/* After rewriting n entries of an L2 table: release the table, then free the
 * clusters the old entries held (old[i] 0 where nothing is to be freed). */
static void qcow2_l2_update_done(BlockDriverState *bs, void **table, uint64_t *old, int64_t n,
                                 bool discard)
{
    BDRVQcow2State *s = bs->opaque;
    qcow2_cache_mark_dirty(s->l2_cache, *table);
    qcow2_cache_put(s->l2_cache, table);
    for (int64_t i = 0; i < n; i++) {
        if (old[i]) {
            qcow2_free_any_cluster(bs, old[i], discard);
        }
    }
    g_free(old);
}

/*
 * Standard L2 entry for whole-cluster write-zeroes (zero) or discard of entry e (qcow2
 * spec "Cluster mapping", "Standard Cluster Descriptor"); *free_old: e's host cluster
 * loses this reference.
 */
static uint64_t qcow2_std_zero_entry(BlockDriverState *bs, uint64_t e, bool zero, bool unmap,
                                     bool *free_old)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2ClusterType t = qcow2_get_cluster_type(s, e);
    bool allocated = t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC ||
                     t == QCOW2_CLUSTER_COMPRESSED;
    if (zero && t != QCOW2_CLUSTER_COMPRESSED && !(unmap && allocated)) {
        /* Only bit 0 ("reads as zeroes", v3) is set: an allocated cluster keeps its host
         * offset and its COPIED bit 63, as with qemu.  A shared one (refcount > 1, bit 63
         * clear: a snapshot uses it too) stays shared, so the next write copies on write
         * rather than overwriting it in place. */
        *free_old = false;
        return e | QCOW_OFLAG_ZERO;
    }
    /* A compressed cluster has no room for the zero flag next to its descriptor, so it
     * is always released. */
    *free_old = allocated;
    if (zero || (s->qcow_version >= 3 &&
                 (bs->backing_file[0] || allocated || t == QCOW2_CLUSTER_ZERO_PLAIN))) {
        return QCOW_OFLAG_ZERO;
    }
    return 0;   /* v2 discard, or nothing shows through: unallocated reads as zeroes */
}

/* New entry *ne and bitmap *nbitmap for entry i of table (NULL: a missing L2 table, all
 * entries unallocated); true when they differ from the old ones. */
static bool qcow2_zero_entry(BlockDriverState *bs, const void *table, int64_t i, bool zero,
                             bool unmap, uint64_t *ne, uint64_t *nbitmap, bool *free_old)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t e = table ? qcow2_l2_entry(s, table, i) : 0;
    if (qcow2_has_subclusters(s)) {
        uint64_t bitmap = table ? qcow2_l2_bitmap(s, table, i) : 0;
        return qcow2_ext_zero_entry(bs, e, bitmap, zero, unmap, ne, nbitmap, free_old);
    }
    *nbitmap = 0;
    *ne = qcow2_std_zero_entry(bs, e, zero, unmap, free_old);
    return *ne != e;
}

/* Would zeroing/discarding the n entries from offset change any of them? */
static int qcow2_zero_changes(BlockDriverState *bs, int64_t offset, int64_t n, bool zero,
                              bool unmap, bool *changes)
{
    BDRVQcow2State *s = bs->opaque;
    void *table;
    uint64_t l1e, ne, nbitmap;
    bool free_old;
    int ret = qcow2_get_l2(bs, offset, &table, &l1e);
    if (ret < 0) {
        return ret;
    }
    int l2_index = qcow2_l2_index(s, offset);
    *changes = false;
    for (int64_t i = 0; i < (table ? n : 1) && !*changes; i++) {
        *changes = qcow2_zero_entry(bs, table, l2_index + i, zero, unmap, &ne, &nbitmap,
                                    &free_old);
    }
    if (table) {
        qcow2_cache_put(s->l2_cache, &table);
    }
    return 0;
}

/*
 * With s->lock held: wait until no allocation whose data is still being written
 * overlaps the clusters of [offset, end).  Its copy-on-write took what the clusters
 * read before, and linking it later would undo zeroes (or a discard) decided now.
 * Nothing below drops the lock between deciding and updating the L2 entries.
 */
static void qcow2_zero_wait(BlockDriverState *bs, int64_t offset, int64_t end)
{
    BDRVQcow2State *s = bs->opaque;
    qcow2_wait_inflight(bs, qcow2_start_of_cluster(s, offset),
                        qcow2_align_up(end, s->cluster_size));
}

/*
 * Zero (zero flag; all "reads as zeroes" bits with extended L2 entries) or discard the
 * whole clusters [offset, offset+bytes).  Discarded clusters read as zeroes on v3 (zero
 * flag where data or a backing file would otherwise show through), and fall through to
 * the backing file on v2.  As qemu, the L2 tables are made writable (allocated, or
 * copied when a snapshot shares them) even where no entry changes; not when cropping
 * (crop: a shrink cutting the clusters off, whose L2 tables are dropped with the L1).
 */
static int qcow2_zero_or_discard(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                 bool zero, bool unmap, bool crop)
{
    BDRVQcow2State *s = bs->opaque;
    while (bytes > 0) {
        int l2_index = qcow2_l2_index(s, offset);
        int64_t n = MIN(bytes >> s->cluster_bits, s->l2_size - l2_index);
        qcow2_zero_wait(bs, offset, offset + (n << s->cluster_bits));
        bool changes = true;
        int ret = crop ? qcow2_zero_changes(bs, offset, n, zero, unmap, &changes) : 0;
        void *table = NULL;
        if (ret == 0 && changes) {
            ret = qcow2_get_l2_table_for_write(bs, offset, &table);
        }
        if (ret < 0) {
            return ret;
        }
        if (changes) {
            uint64_t *old = g_new0(uint64_t, n);
            for (int64_t i = 0; i < n; i++) {
                uint64_t ne, nbitmap;
                bool free_old;
                uint64_t e = qcow2_l2_entry(s, table, l2_index + i);
                if (qcow2_zero_entry(bs, table, l2_index + i, zero, unmap, &ne, &nbitmap,
                                     &free_old)) {
                    qcow2_l2_set_entry(s, table, l2_index + i, ne);
                    if (qcow2_has_subclusters(s)) {
                        qcow2_l2_set_bitmap(s, table, l2_index + i, nbitmap);
                    }
                    old[i] = free_old ? e : 0;
                }
            }
            qcow2_l2_update_done(bs, &table, old, n, !zero || unmap);
        }
        offset += n << s->cluster_bits;
        bytes -= n << s->cluster_bits;
    }
    return 0;
}

/* Zero data, written from a bounded buffer (the range may be most of the disk). */
static int qcow2_write_zero_buf(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    if (bytes <= 0) {
        return 0;
    }
    int64_t chunk = MIN(bytes, QCOW2_ZERO_BUF_MAX);
    uint8_t *z = g_malloc0(chunk);
    int ret = 0;
    while (bytes > 0 && ret == 0) {
        int64_t n = MIN(bytes, chunk);
        IOVector q;
        iovec_init_buf(&q, z, n);
        ret = qcow2_co_pwritev(bs, offset, n, &q, false);
        iovec_destroy(&q);
        offset += n;
        bytes -= n;
    }
    g_free(z);
    return ret;
}

/*
 * Extended L2: do guest bytes [offset, offset+bytes) read as zeroes by their status
 * alone (zero subclusters, or unallocated ones over nothing or over zeroes of the
 * backing chain), as qemu's test before zeroing a whole subcluster?
 */
static bool qcow2_range_is_zero(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    bytes = MIN(bytes, MAX(0, bs->total_size - offset));
    while (bytes > 0) {
        int64_t n = bytes;
        uint64_t host;
        Qcow2ClusterType type;
        if (qcow2_get_host_offset(bs, offset, &n, &host, &type) < 0) {
            return false;
        }
        if (type == QCOW2_CLUSTER_UNALLOCATED || type == QCOW2_CLUSTER_UNALLOCATED_ALLOC) {
            for (int64_t done = 0; bs->backing && done < n;) {
                int64_t m;
                int st = bdrv_block_status_above(bs->backing, NULL, offset + done, n - done, &m,
                                                 NULL, NULL, NULL);
                if (st < 0 && offset + done >= bdrv_getlength(bs->backing)) {
                    break;      /* past the end of the backing file: zeroes */
                }
                if (st < 0 || !(st & BDRV_BLOCK_ZERO) || m <= 0) {
                    return false;
                }
                done += m;
            }
        } else if (type != QCOW2_CLUSTER_ZERO_PLAIN && type != QCOW2_CLUSTER_ZERO_ALLOC) {
            return false;
        }
        offset += n;
        bytes -= n;
    }
    return true;
}

/* Extended L2: subclusters [sc, sc + nsc) of the cluster at offset read as zeroes from
 * now on; -ENOTSUP for a compressed cluster, which has no subclusters. */
static int qcow2_zero_subclusters(BlockDriverState *bs, int64_t offset, int nsc)
{
    BDRVQcow2State *s = bs->opaque;
    void *table;
    int ret = qcow2_get_l2_table_for_write(bs, offset, &table);
    if (ret < 0) {
        return ret;
    }
    int idx = qcow2_l2_index(s, offset);
    int sc = qcow2_sc_index(s, offset);
    if (qcow2_l2_entry(s, table, idx) & QCOW_OFLAG_COMPRESSED) {
        qcow2_cache_put(s->l2_cache, &table);
        return -ENOTSUP;
    }
    uint64_t r = qcow2_sc_range(sc, MIN(sc + nsc, QCOW2_EXTL2_SUBCLUSTERS));
    uint64_t old = qcow2_l2_bitmap(s, table, idx);
    uint64_t bitmap = (old | (r << 32)) & ~r;
    if (bitmap != old) {
        qcow2_l2_set_bitmap(s, table, idx, bitmap);
        qcow2_cache_mark_dirty(s->l2_cache, table);
    }
    qcow2_cache_put(s->l2_cache, &table);
    return 0;
}

/* Extended L2: zero the subcluster-aligned [offset, end) (end may be the disk end):
 * partial clusters per subcluster, whole clusters through their entries. */
static int qcow2_zeroize_aligned_ext(BlockDriverState *bs, int64_t offset, int64_t end,
                                     int flags)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t head = MIN(end, qcow2_align_up(offset, s->cluster_size)) - offset;
    offset += head;
    int64_t tail = end >= bs->total_size ? 0
                                         : end - MAX(offset, qcow2_start_of_cluster(s, end));
    end -= tail;
    int ret = 0;
    if (head) {
        ret = qcow2_zero_subclusters(bs, offset - head,
                                     (int)qcow2_align_up(head, s->subcluster_size) >>
                                     s->subcluster_bits);
    }
    if (ret == 0 && end > offset) {
        ret = qcow2_zero_or_discard(bs, offset,
                                    qcow2_size_to_clusters(s, end - offset) << s->cluster_bits,
                                    true, flags & BDRV_REQ_MAY_UNMAP, false);
    }
    if (ret == 0 && tail) {
        ret = qcow2_zero_subclusters(bs, end, (int)qcow2_align_up(tail, s->subcluster_size) >>
                                     s->subcluster_bits);
    }
    return ret;
}

/*
 * Extended L2 write-zeroes, split as qemu's block layer splits it at subcluster
 * alignment: an unaligned head and tail each on their own, zeroed as a whole
 * subcluster when the rest of it reads as zeroes already, else written as zero data
 * (as is a piece that meets a compressed cluster).
 */
static int qcow2_subcluster_zeroize(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                    int flags)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t sc = s->subcluster_size;
    int64_t end = offset + bytes;
    int64_t end_tail = end & (sc - 1);
    while (offset < end) {
        int64_t n = end - offset;
        if (offset & (sc - 1)) {
            n = MIN(n, sc - (offset & (sc - 1)));
        } else if (end_tail && n > sc) {
            n -= end_tail;
        }
        if (!(offset & (sc - 1))) {
            /* Whole subclusters: a partial cluster at either end goes on its own, so
             * that only it (a compressed cluster) can need the zero-data fallback
             * below, never the whole request. */
            int64_t cs = s->cluster_size;
            if (offset & (cs - 1)) {
                n = MIN(n, cs - (offset & (cs - 1)));
            } else if (((offset + n) & (cs - 1)) && n > cs) {
                n = qcow2_start_of_cluster(s, offset + n) - offset;
            }
        }
        qcow2_zero_wait(bs, offset, offset + n);
        int64_t start = offset, stop = offset + n;
        int64_t pad_head = start & (sc - 1);
        int64_t pad_tail = stop == bs->total_size ? 0 : qcow2_align_up(stop, sc) - stop;
        int ret = 0;
        if (pad_head || pad_tail) {
            int64_t len = sc;
            uint64_t host;
            Qcow2ClusterType type = QCOW2_CLUSTER_NORMAL;
            start -= pad_head;
            stop = start + sc;
            if (!qcow2_range_is_zero(bs, start, pad_head) ||
                !qcow2_range_is_zero(bs, offset + n, pad_tail)) {
                ret = -ENOTSUP;
            } else {
                ret = qcow2_get_host_offset(bs, start, &len, &host, &type);
            }
            if (ret == 0 && type != QCOW2_CLUSTER_UNALLOCATED &&
                type != QCOW2_CLUSTER_UNALLOCATED_ALLOC && type != QCOW2_CLUSTER_ZERO_PLAIN &&
                type != QCOW2_CLUSTER_ZERO_ALLOC) {
                ret = -ENOTSUP;
            }
        }
        if (ret == 0) {
            ret = qcow2_zeroize_aligned_ext(bs, start, stop, flags);
        }
        if (ret == -ENOTSUP && !(flags & BDRV_REQ_NO_FALLBACK)) {
            ret = qcow2_write_zero_buf(bs, offset, n);
        }
        if (ret < 0) {
            return ret;
        }
        offset += n;
    }
    return 0;
}

/*
 * Standard L2 entries, qemu's test before zeroing the whole cluster [start, end) for a
 * request covering only [a, b) of it: the rest of the cluster reads as zeroes already
 * (through the backing chain too, where the cluster is unallocated), and the cluster
 * has no data of its own (unallocated, or a zero cluster with or without a host
 * cluster).  Zeroing it then writes no data.
 */
static bool qcow2_can_zero_cluster(BlockDriverState *bs, int64_t start, int64_t a, int64_t b,
                                   int64_t end)
{
    int64_t len = end - start;
    uint64_t host;
    Qcow2ClusterType type;
    if (!qcow2_range_is_zero(bs, start, a - start) || !qcow2_range_is_zero(bs, b, end - b) ||
        qcow2_get_host_offset(bs, start, &len, &host, &type) < 0) {
        return false;
    }
    return type == QCOW2_CLUSTER_UNALLOCATED || type == QCOW2_CLUSTER_ZERO_PLAIN ||
           type == QCOW2_CLUSTER_ZERO_ALLOC;
}

/*
 * Standard L2 entries: zero [offset, offset+n), either whole clusters (the disk end
 * counts as a cluster end) or part of one cluster.  A part is widened to its whole
 * cluster when qcow2_can_zero_cluster allows, else written as zero data (-ENOTSUP
 * with BDRV_REQ_NO_FALLBACK, as qemu).  Whole clusters get the zero flag (qcow2 spec
 * "Standard Cluster Descriptor", bit 0, v3 only); v2 has no zero flag, but without a
 * backing file (the caller checks) unallocated clusters read as zeroes, so v2
 * clusters are discarded instead.
 */
static int qcow2_zeroize_std_piece(BlockDriverState *bs, int64_t offset, int64_t n, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t start = offset, end = offset + n;
    qcow2_zero_wait(bs, start, end);
    if (qcow2_offset_into_cluster(s, start) ||
        (qcow2_offset_into_cluster(s, end) && end < bs->total_size)) {
        start = qcow2_start_of_cluster(s, offset);
        end = MIN(start + s->cluster_size, bs->total_size);
        if (!qcow2_can_zero_cluster(bs, start, offset, offset + n, end)) {
            return flags & BDRV_REQ_NO_FALLBACK ? -ENOTSUP : qcow2_write_zero_buf(bs, offset, n);
        }
    }
    bool v3 = s->qcow_version >= 3;
    return qcow2_zero_or_discard(bs, start, qcow2_align_up(end, s->cluster_size) - start, v3,
                                 !v3 || (flags & BDRV_REQ_MAY_UNMAP), false);
}

/*
 * Standard L2 write-zeroes, cut as qemu's block layer cuts a request at cluster
 * alignment: an unaligned head up to the first cluster boundary, the whole clusters,
 * then the unaligned tail, each on its own (so each partial piece allocates, and frees
 * what it replaces, before the next one, as with qemu).
 */
static int qcow2_zeroize_std(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t end = offset + bytes;
    while (offset < end) {
        int64_t n = end - offset;
        if (qcow2_offset_into_cluster(s, offset)) {
            n = MIN(n, s->cluster_size - qcow2_offset_into_cluster(s, offset));
        } else if (qcow2_offset_into_cluster(s, end) && n > s->cluster_size) {
            n = qcow2_start_of_cluster(s, end) - offset;
        }
        int ret = qcow2_zeroize_std_piece(bs, offset, n, flags);
        if (ret < 0) {
            return ret;
        }
        offset += n;
    }
    return 0;
}

int qcow2_cluster_zeroize(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    /* v2 has no zero flag: without a backing file unallocated clusters read as zero,
     * so clusters are deallocated; with one, zero data must be written (by the caller,
     * as qemu's block layer does). */
    if (s->qcow_version < 3 && bs->backing_file[0]) {
        return -ENOTSUP;
    }
    if (qcow2_data_file_is_raw(s)) {
        /* Autoclear bit 1: the data file must read as the guest disk on its own, so
         * the zeroes go there as well as into the L2 entries. */
        int ret = bdrv_pwrite_zeroes(s->data_file, offset, bytes, flags & BDRV_REQ_MAY_UNMAP);
        if (ret < 0) {
            return ret;
        }
    }
    if (qcow2_has_subclusters(s)) {
        return qcow2_subcluster_zeroize(bs, offset, bytes, flags);
    }
    return qcow2_zeroize_std(bs, offset, bytes, flags);
}

/* Discard the whole clusters of [offset, offset+bytes) (a partial last cluster at the
 * disk end counts); crop: a shrink cuts them off (see qcow2_zero_or_discard). */
int qcow2_cluster_discard(BlockDriverState *bs, int64_t offset, int64_t bytes, bool crop)
{
    BDRVQcow2State *s = bs->opaque;
    if (!crop && s->qcow_version < 3 && bs->backing_file[0]) {
        /* v2 has no zero flag, and a deallocated cluster would show the backing file's
         * data instead of the guest's: qemu discards nothing there. */
        return 0;
    }
    int64_t end = offset + bytes;
    int64_t start = qcow2_align_up(offset, s->cluster_size);
    end = end == bs->total_size ? qcow2_align_up(end, s->cluster_size)
                                : qcow2_start_of_cluster(s, end);
    if (end <= start) {
        return 0;
    }
    return qcow2_zero_or_discard(bs, start, end - start, false, true, crop);
}
