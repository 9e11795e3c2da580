/*
 * qcow2 cluster mapping (qcow2 spec "Cluster mapping"): guest offset -> L1 entry
 * -> L2 table -> host cluster; allocating writes with copy-on-write of the
 * untouched part of a cluster from the old cluster or the backing file; zero
 * clusters (v3); compressed clusters (reading their stored bytes; decompression and
 * writes in qcow2-compress.c); L1 table growth; metadata preallocation.
 * Write-zeroes and discard are in qcow2-zero.c.
 * With "Extended L2 Entries" the "Subcluster Allocation Bitmap" of each entry says,
 * per 1/32 of the cluster, whether the host cluster holds the data, the subcluster
 * reads as zeroes, or it is unallocated: lookups report runs of subclusters, an
 * allocating write copies only the subclusters it touches partly (and, into a new
 * host cluster, those already allocated in the old one), as qemu does.
 * Every entry read from the image is validated before use; a bad one marks the
 * image corrupt instead of being followed.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>

Qcow2ClusterType qcow2_get_cluster_type(BDRVQcow2State *s, uint64_t l2_entry)
{
    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if ((l2_entry & QCOW_OFLAG_ZERO) && s->qcow_version >= 3 && !qcow2_has_subclusters(s)) {
        return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC
                                              : QCOW2_CLUSTER_ZERO_PLAIN;
    }
    if (l2_entry & L2E_OFFSET_MASK) {
        return QCOW2_CLUSTER_NORMAL;
    }
    /* "Standard Cluster Descriptor": with an external data file, offset 0 is guest
     * cluster 0, told from an unallocated cluster by the COPIED flag (every data
     * cluster there has an implicit refcount of 1). */
    return (l2_entry & QCOW_OFLAG_COPIED) && qcow2_has_data_file(s) ? QCOW2_CLUSTER_NORMAL
                                                                    : QCOW2_CLUSTER_UNALLOCATED;
}

bool qcow2_get_subcluster_type(BDRVQcow2State *s, uint64_t l2_entry, uint64_t l2_bitmap, int sc,
                               Qcow2ClusterType *type)
{
    uint32_t alloc = (uint32_t)(l2_bitmap & QCOW2_SC_ALL_ALLOC);
    uint32_t zero = (uint32_t)(l2_bitmap >> 32);
    uint32_t bit = 1u << sc;
    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        *type = QCOW2_CLUSTER_COMPRESSED;
        return true;
    }
    if (qcow2_get_cluster_type(s, l2_entry) == QCOW2_CLUSTER_NORMAL) {  /* a host cluster */
        if (alloc & zero) {
            return false;
        }
        *type = (zero & bit)    ? QCOW2_CLUSTER_ZERO_ALLOC
                : (alloc & bit) ? QCOW2_CLUSTER_NORMAL
                                : QCOW2_CLUSTER_UNALLOCATED_ALLOC;
        return true;
    }
    if (alloc) {
        return false;
    }
    *type = (zero & bit) ? QCOW2_CLUSTER_ZERO_PLAIN : QCOW2_CLUSTER_UNALLOCATED;
    return true;
}

/* Validate an L2 entry of a standard cluster. */
static int qcow2_check_l2_entry(BlockDriverState *bs, uint64_t l2_entry, int64_t guest_offset)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2ClusterType t = qcow2_get_cluster_type(s, l2_entry);
    if (t == QCOW2_CLUSTER_COMPRESSED && qcow2_has_data_file(s)) {
        /* Incompatible bit 2: an external data file excludes compressed clusters. */
        return qcow2_signal_corruption(bs, "Compressed cluster entry found in image with "
                                       "external data file (guest offset: %#" PRIx64 ")",
                                       guest_offset);
    }
    if (t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC) {
        uint64_t host = l2_entry & L2E_OFFSET_MASK;
        int l2_index = qcow2_l2_index(s, guest_offset);
        if (host & (s->cluster_size - 1)) {
            /* Where the entry is, in qemu's words (callers looked the table up already). */
            uint64_t l1_index = qcow2_l1_index(s, guest_offset);
            uint64_t l2_offset = l1_index < s->l1_size ? s->l1_table[l1_index] & L1E_OFFSET_MASK
                                                       : 0;
            return qcow2_signal_corruption(bs, "Cluster allocation offset %#" PRIx64
                                           " unaligned (L2 offset: %#" PRIx64
                                           ", L2 index: %#x)", host, l2_offset, l2_index);
        }
        uint64_t guest_cluster = qcow2_start_of_cluster(s, guest_offset);
        if (qcow2_has_data_file(s) && host != guest_cluster) {
            /* Incompatible bit 2: the offset must match the guest offset.  (The odd
             * closing parenthesis is qemu 7.2's.) */
            return qcow2_signal_corruption(bs, "External data file host cluster offset %#"
                                           PRIx64 " does not match guest cluster offset: %#"
                                           PRIx64 ", L2 index: %#x)", host, guest_cluster,
                                           l2_index);
        }
    }
    return 0;
}

/* Pin the L2 table for guest offset; *table NULL when the L1 entry is empty. */
int qcow2_get_l2(BlockDriverState *bs, int64_t offset, void **table, uint64_t *l1_entry)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_index = qcow2_l1_index(s, offset);
    *table = NULL;
    *l1_entry = 0;
    if (l1_index >= s->l1_size) {
        return 0;
    }
    uint64_t e = s->l1_table[l1_index];
    *l1_entry = e;
    uint64_t l2_offset = e & L1E_OFFSET_MASK;
    if (!l2_offset) {
        return 0;
    }
    if (l2_offset & (s->cluster_size - 1)) {
        return qcow2_signal_corruption(bs, "L2 table offset %#" PRIx64 " unaligned "
                                       "(L1 index: %#" PRIx64 ")", l2_offset, l1_index);
    }
    if (l2_offset < (uint64_t)s->cluster_size) {
        return qcow2_signal_corruption(bs, "L2 table offset %#" PRIx64 " overlaps the "
                                       "image header (L1 index: %#" PRIx64 ")",
                                       l2_offset, l1_index);
    }
    return qcow2_cache_get(bs, s->l2_cache, l2_offset, table, true);
}

/*
 * qcow2_get_host_offset with extended L2 entries: the run of subclusters of the same
 * type from offset on (host-contiguous where they have a host cluster), at most
 * `want` bytes.  An impossible bitmap in the first entry is corruption; a later one
 * just ends the run (it is reported when a lookup starts there).
 */
static int qcow2_get_host_offset_ext(BlockDriverState *bs, const void *table, uint64_t l2_offset,
                                     int64_t offset, int64_t want, int64_t *bytes,
                                     uint64_t *host_offset, Qcow2ClusterType *type)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index = qcow2_l2_index(s, offset);
    int64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    uint64_t first = qcow2_l2_entry(s, table, l2_index);
    Qcow2ClusterType t;
    if (!qcow2_get_subcluster_type(s, first, qcow2_l2_bitmap(s, table, l2_index),
                                   qcow2_sc_index(s, offset), &t)) {
        return qcow2_signal_corruption(bs, "Invalid cluster entry found  (L2 offset: %#" PRIx64
                                       ", L2 index: %#x)", l2_offset, l2_index);
    }
    int ret = qcow2_check_l2_entry(bs, first, offset);
    if (ret < 0) {
        return ret;
    }
    int64_t n;
    if (t == QCOW2_CLUSTER_COMPRESSED) {
        n = MIN(want, s->cluster_size - in_cluster);
    } else {
        bool has_host = t != QCOW2_CLUSTER_UNALLOCATED && t != QCOW2_CLUSTER_ZERO_PLAIN;
        uint64_t host0 = first & L2E_OFFSET_MASK;
        int idx = l2_index;
        int sc = qcow2_sc_index(s, offset) + 1;
        uint64_t e = first, bitmap = qcow2_l2_bitmap(s, table, l2_index);
        n = s->subcluster_size - (offset & (s->subcluster_size - 1));
        while (n < want) {
            if (sc == QCOW2_EXTL2_SUBCLUSTERS) {
                if (++idx >= s->l2_size) {
                    break;
                }
                e = qcow2_l2_entry(s, table, idx);
                bitmap = qcow2_l2_bitmap(s, table, idx);
                sc = 0;
                if (has_host && (e & L2E_OFFSET_MASK) !=
                    host0 + ((uint64_t)(idx - l2_index) << s->cluster_bits)) {
                    break;
                }
            }
            Qcow2ClusterType t2;
            if (!qcow2_get_subcluster_type(s, e, bitmap, sc, &t2) || t2 != t) {
                break;
            }
            n += s->subcluster_size;
            sc++;
        }
        n = MIN(n, want);
    }
    *type = t;
    if (t == QCOW2_CLUSTER_COMPRESSED) {
        *host_offset = first;     /* the raw descriptor; callers parse it */
    } else if (t != QCOW2_CLUSTER_UNALLOCATED && t != QCOW2_CLUSTER_ZERO_PLAIN) {
        *host_offset = (first & L2E_OFFSET_MASK) + in_cluster;
    }
    *bytes = n;
    return 0;
}

int qcow2_get_host_offset(BlockDriverState *bs, int64_t offset, int64_t *bytes,
                          uint64_t *host_offset, Qcow2ClusterType *type)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    int l2_index = qcow2_l2_index(s, offset);
    /* Never cross the end of this L2 table. */
    int64_t max = ((int64_t)(s->l2_size - l2_index) << s->cluster_bits) - in_cluster;
    int64_t want = MIN(*bytes, max);
    void *table;
    uint64_t l1e;
    *host_offset = 0;
    int ret = qcow2_get_l2(bs, offset, &table, &l1e);
    if (ret < 0) {
        return ret;
    }
    if (!table) {
        *type = QCOW2_CLUSTER_UNALLOCATED;
        *bytes = want;
        return 0;
    }
    if (qcow2_has_subclusters(s)) {
        ret = qcow2_get_host_offset_ext(bs, table, l1e & L1E_OFFSET_MASK, offset, want, bytes,
                                        host_offset, type);
        qcow2_cache_put(s->l2_cache, &table);
        return ret;
    }
    uint64_t first = qcow2_l2_get(table, l2_index);
    Qcow2ClusterType t = qcow2_get_cluster_type(s, first);
    ret = qcow2_check_l2_entry(bs, first, offset);
    if (ret < 0) {
        qcow2_cache_put(s->l2_cache, &table);
        return ret;
    }
    int64_t n = MIN(want, s->cluster_size - in_cluster);
    if (t != QCOW2_CLUSTER_COMPRESSED) {
        uint64_t expect = first & L2E_OFFSET_MASK;
        for (int i = l2_index + 1; n < want; i++) {
            uint64_t e = qcow2_l2_get(table, i);
            if (qcow2_get_cluster_type(s, e) != t) {
                break;
            }
            if (t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC) {
                expect += s->cluster_size;
                if ((e & L2E_OFFSET_MASK) != expect) {
                    break;
                }
            }
            n = MIN(want, n + s->cluster_size);
        }
    }
    *type = t;
    if (t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC) {
        *host_offset = (first & L2E_OFFSET_MASK) + in_cluster;
    } else if (t == QCOW2_CLUSTER_COMPRESSED) {
        *host_offset = first;     /* the raw descriptor; callers parse it */
    }
    *bytes = n;
    qcow2_cache_put(s->l2_cache, &table);
    return 0;
}

int qcow2_decompress_cluster(BlockDriverState *bs, uint64_t l2_entry, uint8_t **out)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t coffset;
    int64_t csize;
    qcow2_parse_compressed(s, l2_entry, &coffset, &csize);
    if (s->cluster_cache_offset == (int64_t)coffset) {
        *out = s->cluster_cache;
        return 0;
    }
    if (csize <= 0 || coffset > QCOW2_MAX_HOST_OFFSET) {
        return qcow2_signal_corruption(bs, "Compressed cluster descriptor %#" PRIx64
                                       " invalid", l2_entry);
    }
    int64_t file_len = bdrv_getlength(bs->file);
    if (file_len < 0) {
        return (int)file_len;
    }
    if ((int64_t)coffset >= file_len) {
        return qcow2_signal_corruption(bs, "Compressed cluster at %#" PRIx64 " is beyond "
                                       "the end of the image file", coffset);
    }
    /* The sector count may overshoot the file end (the last cluster of an image). */
    csize = MIN(csize, file_len - (int64_t)coffset);
    uint8_t *cbuf = g_malloc(csize);
    int ret = bdrv_pread(bs->file, coffset, csize, cbuf, 0);
    if (ret < 0) {
        g_free(cbuf);
        return ret;
    }
    if (!s->cluster_cache) {
        s->cluster_cache = g_malloc(s->cluster_size);
    }
    ret = qcow2_decompress_buf(s, s->cluster_cache, s->cluster_size, cbuf, csize);
    g_free(cbuf);
    if (ret < 0) {
        s->cluster_cache_offset = -1;
        return ret;
    }
    s->cluster_cache_offset = coffset;
    *out = s->cluster_cache;
    return 0;
}

/*
 * Data I/O without the metadata lock: called with s->lock held, returns with it
 * held.  The data lock is taken shared so that freeing clusters (which first
 * drains it, see qcow2_data_io_barrier) never races with I/O to a cluster that
 * might be reused.
 */
static int qcow2_unlocked_data_io(BlockDriverState *bs, bool write, int64_t host, int64_t n,
                                  IOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    g_rw_lock_reader_lock(&s->data_lock);
    g_mutex_unlock(&s->lock);
    int ret = write ? bdrv_pwritev(s->data_file, host, n, qiov, 0)
                    : bdrv_preadv(s->data_file, host, n, qiov, 0);
    g_rw_lock_reader_unlock(&s->data_lock);
    g_mutex_lock(&s->lock);
    return ret;
}

void qcow2_data_io_barrier(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_rw_lock_writer_lock(&s->data_lock);
    g_rw_lock_writer_unlock(&s->data_lock);
    g_mutex_lock(&s->fast_io_lock);
    while (s->fast_io > 0) {
        s->fast_io_waiters++;
        g_cond_wait(&s->fast_io_done, &s->fast_io_lock);
        s->fast_io_waiters--;
    }
    g_mutex_unlock(&s->fast_io_lock);
}

int qcow2_co_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov)
{
    return qcow2_co_preadv_flags(bs, offset, bytes, qiov, false);
}

int qcow2_co_preadv_flags(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                          bool unlocked_io)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t done = 0;
    while (done < bytes) {
        int64_t n = bytes - done;
        uint64_t host;
        Qcow2ClusterType type;
        int ret = qcow2_get_host_offset(bs, offset + done, &n, &host, &type);
        if (ret < 0) {
            return ret;
        }
        IOVector sub;
        switch (type) {
        case QCOW2_CLUSTER_UNALLOCATED:
        case QCOW2_CLUSTER_UNALLOCATED_ALLOC:
            if (bs->backing) {
                int64_t blen = bdrv_getlength(bs->backing);
                int64_t from = offset + done;
                int64_t avail = blen > from ? MIN(n, blen - from) : 0;
                if (avail > 0) {
                    iovec_init(&sub, qiov->niov);
                    iovec_concat(&sub, qiov, done, avail);
                    ret = bdrv_preadv(bs->backing, from, avail, &sub, 0);
                    iovec_destroy(&sub);
                    if (ret < 0) {
                        return ret;
                    }
                }
                if (avail < n) {
                    iovec_memset(qiov, done + avail, 0, n - avail);
                }
            } else {
                iovec_memset(qiov, done, 0, n);
            }
            break;
        case QCOW2_CLUSTER_ZERO_PLAIN:
        case QCOW2_CLUSTER_ZERO_ALLOC:
            iovec_memset(qiov, done, 0, n);
            break;
        case QCOW2_CLUSTER_NORMAL:
            iovec_init(&sub, qiov->niov);
            iovec_concat(&sub, qiov, done, n);
            ret = unlocked_io ? qcow2_unlocked_data_io(bs, false, host, n, &sub)
                              : bdrv_preadv(s->data_file, host, n, &sub, 0);
            iovec_destroy(&sub);
            if (ret < 0) {
                return ret;
            }
            break;
        case QCOW2_CLUSTER_COMPRESSED: {
            uint8_t *data;
            ret = qcow2_decompress_cluster(bs, host, &data);
            if (ret < 0) {
                return ret;
            }
            iovec_from_buf(qiov, done, data + qcow2_offset_into_cluster(s, offset + done), n);
            break;
        }
        }
        done += n;
    }
    return 0;
}

int qcow2_write_l1_entry(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t be = GUINT64_TO_BE(s->l1_table[l1_index]);
    int ret = qcow2_check_overlap(bs, s->l1_table_offset + (uint64_t)l1_index * 8, 8, false);
    if (ret < 0) {
        return ret;
    }
    return bdrv_pwrite(bs->file, s->l1_table_offset + (uint64_t)l1_index * 8, 8, &be, 0);
}

int qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size, bool exact)
{
    BDRVQcow2State *s = bs->opaque;
    if (min_size <= s->l1_size) {
        return 0;
    }
    uint64_t new_size = min_size;
    if (!exact) {
        uint64_t grown = s->l1_size ? s->l1_size + s->l1_size / 2 : 1;
        new_size = MAX(min_size, grown);
    }
    if (new_size > QCOW2_MAX_L1_BYTES / 8) {
        if (min_size > QCOW2_MAX_L1_BYTES / 8) {
            return -EFBIG;
        }
        new_size = QCOW2_MAX_L1_BYTES / 8;
    }
    int64_t bytes = qcow2_align_up(new_size * 8, 512);
    uint64_t *be = g_malloc0(bytes);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        be[i] = GUINT64_TO_BE(s->l1_table[i]);
    }
    /* L2 tables referenced by the new table must be on disk before it goes live. */
    int ret = qcow2_cache_flush(bs, s->l2_cache);
    int64_t new_offset = ret < 0 ? ret : qcow2_alloc_clusters(bs, bytes);
    if (new_offset < 0) {
        g_free(be);
        return (int)new_offset;
    }
    ret = qcow2_cache_flush(bs, s->refcount_cache);
    if (ret == 0) {
        ret = bdrv_pwrite_sync(bs->file, new_offset, bytes, be);
    }
    g_free(be);
    if (ret == 0) {
        uint8_t hdr[12];
        uint32_t sz = GUINT32_TO_BE((uint32_t)new_size);
        uint64_t off = GUINT64_TO_BE((uint64_t)new_offset);
        memcpy(hdr, &sz, 4);
        memcpy(hdr + 4, &off, 8);
        ret = bdrv_pwrite_sync(bs->file, 36, 12, hdr);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, new_offset, bytes, false);
        return ret;
    }
    uint64_t old_offset = s->l1_table_offset;
    int64_t old_bytes = (int64_t)s->l1_size * 8;
    s->l1_table = g_renew(uint64_t, s->l1_table, new_size);
    memset(s->l1_table + s->l1_size, 0, (new_size - s->l1_size) * 8);
    s->l1_size = new_size;
    s->l1_table_offset = new_offset;
    if (old_bytes > 0) {
        qcow2_free_clusters(bs, old_offset, old_bytes, false);
    }
    return 0;
}

/*
 * Pin a writable L2 table (refcount 1, COPIED in L1) for guest offset, creating
 * it or copying a shared one (internal snapshots) as needed.
 */
int qcow2_get_l2_table_for_write(BlockDriverState *bs, int64_t offset, void **table)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_index = qcow2_l1_index(s, offset);
    int ret;
    if (l1_index >= s->l1_size) {
        ret = qcow2_grow_l1_table(bs, l1_index + 1, false);
        if (ret < 0) {
            return ret;
        }
    }
    uint64_t l1e;
    ret = qcow2_get_l2(bs, offset, table, &l1e);
    if (ret < 0) {
        return ret;
    }
    if (*table && (l1e & QCOW_OFLAG_COPIED)) {
        return 0;
    }
    /* New table: zeroed, or a copy of the shared one. */
    uint8_t *copy = NULL;
    uint64_t old_offset = l1e & L1E_OFFSET_MASK;
    if (*table) {
        copy = g_memdup2(*table, s->cluster_size);
        qcow2_cache_put(s->l2_cache, table);
    }
    int64_t new_offset = qcow2_alloc_clusters(bs, s->cluster_size);
    if (new_offset < 0) {
        g_free(copy);
        return (int)new_offset;
    }
    ret = qcow2_cache_get(bs, s->l2_cache, new_offset, table, false);
    if (ret < 0) {
        g_free(copy);
        return ret;
    }
    if (copy) {
        memcpy(*table, copy, s->cluster_size);
        g_free(copy);
    }
    qcow2_cache_mark_dirty(s->l2_cache, *table);
    /* The table (and the refcounts it depends on) reach the disk before L1 points to it. */
    ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret == 0) {
        s->l1_table[l1_index] = (uint64_t)new_offset | QCOW_OFLAG_COPIED;
        ret = qcow2_write_l1_entry(bs, l1_index);
        if (ret < 0) {
            s->l1_table[l1_index] = l1e;
        }
    }
    if (ret < 0) {
        qcow2_cache_put(s->l2_cache, table);
        return ret;
    }
    if (old_offset) {
        qcow2_cache_put(s->l2_cache, table);
        qcow2_free_clusters(bs, old_offset, s->cluster_size, false);
        return qcow2_get_l2(bs, offset, table, &l1e);
    }
    return 0;
}

/* Fill buf (len bytes at guest offset `offset`) with what the guest currently sees. */
static int qcow2_read_old(BlockDriverState *bs, int64_t offset, int64_t len, uint8_t *buf)
{
    if (len <= 0) {
        return 0;
    }
    IOVector q;
    iovec_init_buf(&q, buf, len);
    int ret = qcow2_co_preadv(bs, offset, len, &q);
    iovec_destroy(&q);
    return ret;
}

/*
 * Allocations whose data write runs without s->lock: a request touching the
 * same guest clusters waits until the allocation is linked into the L2 table
 * (otherwise both would allocate and one would leak or lose data).
 */
/* With s->lock held: wait while [start, end) overlaps an in-flight allocation.
 * True when it waited (the caller must look at the L2 entries again). */
bool qcow2_wait_inflight(BlockDriverState *bs, int64_t start, int64_t end)
{
    BDRVQcow2State *s = bs->opaque;
    bool waited = false;
    while (qcow2_inflight_overlaps(s, start, end)) {
        s->inflight_waiters++;
        g_cond_wait(&s->inflight_done, &s->lock);
        s->inflight_waiters--;
        waited = true;
    }
    return waited;
}

bool qcow2_inflight_overlaps(BDRVQcow2State *s, int64_t start, int64_t end)
{
    for (guint i = 0; i < s->inflight_allocs->len; i++) {
        Qcow2InflightAlloc *a = &g_array_index(s->inflight_allocs, Qcow2InflightAlloc, i);
        if (a->start < end && start < a->end) {
            return true;
        }
    }
    return false;
}

void qcow2_inflight_add(BDRVQcow2State *s, int64_t start, int64_t end)
{
    Qcow2InflightAlloc a = { start, end };
    g_array_append_val(s->inflight_allocs, a);
}

void qcow2_inflight_remove(BDRVQcow2State *s, int64_t start)
{
    for (guint i = 0; i < s->inflight_allocs->len; i++) {
        if (g_array_index(s->inflight_allocs, Qcow2InflightAlloc, i).start == start) {
            g_array_remove_index_fast(s->inflight_allocs, i);
            break;
        }
    }
    if (s->inflight_waiters) {
        g_cond_broadcast(&s->inflight_done);    /* (a futex call even without waiters) */
    }
}

/*
 * Write the data of a new allocation with s->lock dropped (called with it
 * held, returns with it held).  head/tail are the copy-on-write parts around
 * the guest bytes; when both read as zeroes the clusters are zeroed with a
 * cheap fallocate and only the guest bytes are written, so a small write into
 * an empty cluster costs the guest bytes, not a whole cluster.  That holds past
 * the end of the file too, where the fallocate extends the file: a small
 * O_DIRECT write that extends the file is serialised by the host filesystem
 * (ext4 takes the inode lock exclusively), so concurrent allocating writes
 * would run one at a time.  (A whole-cluster write past the end is left as one
 * extending write: an fallocate before it costs more than it saves.)
 */
static int qcow2_write_new_clusters(BlockDriverState *bs, int64_t host, int64_t alloc_bytes,
                                    uint8_t *head, int64_t head_len, IOVector *data,
                                    uint8_t *tail, int64_t tail_len)
{
    BDRVQcow2State *s = bs->opaque;
    bool zero_cow = (head || tail) && (!head || buffer_is_zero(head, head_len)) &&
                    (!tail || buffer_is_zero(tail, tail_len));
    g_rw_lock_reader_lock(&s->data_lock);
    g_mutex_unlock(&s->lock);
    int ret = -ENOTSUP;
    if (zero_cow) {
        ret = bdrv_pwrite_zeroes(s->data_file, host, alloc_bytes, BDRV_REQ_NO_FALLBACK);
        if (ret == 0) {
            ret = bdrv_pwritev(s->data_file, host + head_len, data->size, data, 0);
        }
    }
    if (ret == -ENOTSUP) {
        IOVector w;
        iovec_init(&w, data->niov + 2);
        if (head) {
            iovec_add(&w, head, head_len);
        }
        iovec_concat(&w, data, 0, data->size);
        if (tail) {
            iovec_add(&w, tail, tail_len);
        }
        ret = bdrv_pwritev(s->data_file, host, alloc_bytes, &w, 0);
        iovec_destroy(&w);
    }
    g_rw_lock_reader_unlock(&s->data_lock);
    g_mutex_lock(&s->lock);
    return ret;
}

/* Extended L2: mark the subclusters of L2 entry idx that bytes [from, to) of its
 * cluster touch as allocated (and no longer reading as zeroes). */
static void qcow2_mark_subclusters(BDRVQcow2State *s, void *table, int idx, int64_t from,
                                   int64_t to)
{
    if (!qcow2_has_subclusters(s) || from >= to) {
        return;
    }
    uint64_t r = qcow2_sc_range((int)(from >> s->subcluster_bits),
                                (int)((to + s->subcluster_size - 1) >> s->subcluster_bits));
    uint64_t bitmap = qcow2_l2_bitmap(s, table, idx);
    qcow2_l2_set_bitmap(s, table, idx, (bitmap | r) & ~(r << 32));
}

/*
 * qcow2_link_clusters where only bytes [from, to) (relative to guest) of the new
 * clusters were written: with extended L2 entries just the subclusters they touch
 * become allocated, the rest keep their old state (unallocated or reading as zeroes).
 */
static int qcow2_link_range(BlockDriverState *bs, int64_t guest, int64_t host, int64_t nclusters,
                            int64_t from, int64_t to)
{
    BDRVQcow2State *s = bs->opaque;
    void *table;
    int ret = qcow2_get_l2_table_for_write(bs, guest, &table);
    if (ret < 0) {
        return ret;
    }
    int l2_index = qcow2_l2_index(s, guest);
    uint64_t *old = g_new(uint64_t, nclusters);
    for (int64_t i = 0; i < nclusters; i++) {
        int64_t base = i << s->cluster_bits;
        old[i] = qcow2_l2_entry(s, table, l2_index + i);
        qcow2_l2_set_entry(s, table, l2_index + i, (uint64_t)(host + base) | QCOW_OFLAG_COPIED);
        qcow2_mark_subclusters(s, table, l2_index + i, MAX(from, base) - base,
                               MIN(to, base + s->cluster_size) - base);
    }
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_cache_put(s->l2_cache, &table);
    for (int64_t i = 0; i < nclusters; i++) {
        qcow2_free_any_cluster(bs, old[i], false);
    }
    g_free(old);
    return 0;
}

int qcow2_link_clusters(BlockDriverState *bs, int64_t guest, int64_t host, int64_t nclusters)
{
    BDRVQcow2State *s = bs->opaque;
    return qcow2_link_range(bs, guest, host, nclusters, 0, nclusters << s->cluster_bits);
}

/* Report an extended L2 entry whose bitmap is impossible (see qcow2_get_subcluster_type)
 * met by a write (qemu's wording there has one space less than on the read side). */
static int qcow2_invalid_entry(BlockDriverState *bs, int64_t offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_index = qcow2_l1_index(s, offset);
    uint64_t l2_offset = l1_index < s->l1_size ? s->l1_table[l1_index] & L1E_OFFSET_MASK : 0;
    return qcow2_signal_corruption(bs, "Invalid cluster entry found (L2 offset: %#" PRIx64
                                   ", L2 index: %#x)", l2_offset, qcow2_l2_index(s, offset));
}

/* Is the extended L2 entry idx of table consistent (any subcluster will do)? */
static bool qcow2_ext_entry_valid(BDRVQcow2State *s, const void *table, int idx)
{
    Qcow2ClusterType t;
    return qcow2_get_subcluster_type(s, qcow2_l2_entry(s, table, idx),
                                     qcow2_l2_bitmap(s, table, idx), 0, &t);
}

/* Fill the COW tail buffer: guest bytes [guest, guest+len), zeroes past the disk end. */
static int qcow2_read_tail(BlockDriverState *bs, int64_t guest, int64_t len, uint8_t *buf)
{
    int64_t readable = MIN(len, MAX(0, bs->total_size - guest));
    memset(buf, 0, len);
    return qcow2_read_old(bs, guest, readable, buf);
}

/*
 * Extended L2: overwrite bytes [offset, offset+n) of a run of unshared host clusters
 * (first at `host`, table pinned and released here).  Subclusters that are not yet
 * allocated get their untouched part copied from what the guest sees now (backing
 * file or zeroes) and their allocation bits set once the data is written.
 */
static int64_t qcow2_write_in_place_ext(BlockDriverState *bs, void *table, int64_t offset,
                                        int64_t n, uint64_t host, IOVector *qiov,
                                        size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index = qcow2_l2_index(s, offset);
    int64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    int64_t cluster_start = offset - in_cluster;
    int64_t rel_to = in_cluster + n;
    int64_t sc_from = in_cluster & ~(s->subcluster_size - 1);
    int64_t sc_to = qcow2_align_up(rel_to, s->subcluster_size);
    int64_t nclusters = qcow2_size_to_clusters(s, rel_to);
    Qcow2ClusterType head_t = QCOW2_CLUSTER_NORMAL, tail_t = QCOW2_CLUSTER_NORMAL;
    bool all_normal = true;
    for (int64_t c = sc_from; c < sc_to; c += s->subcluster_size) {
        int idx = l2_index + (int)(c >> s->cluster_bits);
        Qcow2ClusterType t;
        if (!qcow2_get_subcluster_type(s, qcow2_l2_entry(s, table, idx),
                                       qcow2_l2_bitmap(s, table, idx),
                                       qcow2_sc_index(s, c), &t)) {
            qcow2_cache_put(s->l2_cache, &table);
            return qcow2_invalid_entry(bs, cluster_start + c);
        }
        if (c == sc_from) {
            head_t = t;
        }
        tail_t = t;
        all_normal &= t == QCOW2_CLUSTER_NORMAL;
    }
    qcow2_cache_put(s->l2_cache, &table);
    int64_t head_len = head_t == QCOW2_CLUSTER_NORMAL ? 0 : in_cluster - sc_from;
    int64_t tail_len = tail_t == QCOW2_CLUSTER_NORMAL ? 0 : sc_to - rel_to;
    int64_t from = in_cluster - head_len;
    int ret = qcow2_has_data_file(s) ? 0
              : qcow2_check_overlap(bs, host + from, head_len + n + tail_len, true);
    if (ret < 0) {
        return ret;
    }
    IOVector data;
    iovec_init(&data, qiov->niov);
    iovec_concat(&data, qiov, qiov_offset, n);
    if (all_normal) {
        ret = qcow2_unlocked_data_io(bs, true, host + in_cluster, n, &data);
        iovec_destroy(&data);
        return ret < 0 ? ret : n;
    }
    uint8_t *head = head_len ? bdrv_blockalign(bs, head_len) : NULL;
    uint8_t *tail = tail_len ? bdrv_blockalign(bs, tail_len) : NULL;
    ret = qcow2_read_old(bs, cluster_start + from, head_len, head);
    if (ret == 0 && tail) {
        ret = qcow2_read_tail(bs, cluster_start + rel_to, tail_len, tail);
    }
    if (ret == 0) {
        qcow2_inflight_add(s, cluster_start, cluster_start + (nclusters << s->cluster_bits));
        ret = qcow2_write_new_clusters(bs, host + from, head_len + n + tail_len, head, head_len,
                                       &data, tail, tail_len);
    }
    if (ret == 0) {
        ret = qcow2_get_l2_table_for_write(bs, cluster_start, &table);
    }
    if (ret == 0) {
        for (int64_t i = 0; i < nclusters; i++) {
            int64_t base = i << s->cluster_bits;
            uint64_t e = qcow2_l2_entry(s, table, l2_index + i);
            /* Discarded meanwhile: the data went to a cluster no longer mapped here. */
            if (qcow2_get_cluster_type(s, e) != QCOW2_CLUSTER_NORMAL ||
                (e & L2E_OFFSET_MASK) != host + base) {
                continue;
            }
            qcow2_mark_subclusters(s, table, l2_index + i, MAX(from, base) - base,
                                   MIN(rel_to + tail_len, base + s->cluster_size) - base);
        }
        qcow2_cache_mark_dirty(s->l2_cache, table);
        qcow2_cache_put(s->l2_cache, &table);
    }
    qcow2_inflight_remove(s, cluster_start);     /* no-op if never registered */
    iovec_destroy(&data);
    qemu_vfree(head);
    qemu_vfree(tail);
    return ret < 0 ? ret : n;
}

/*
 * Write guest bytes [offset, offset+bytes) that lie within one L2 table, allocating
 * clusters as needed.  Returns the number of bytes handled (>= 0; 0 when it had
 * to wait for another allocation and the caller should simply call again) or
 * -errno.
 */
/*
 * Extended L2: the bytes of a new allocation (relative to the first cluster) that
 * must be written when the guest writes [in_cluster, tail_start): the subclusters
 * the write touches, widened in the first and last cluster to the old host
 * cluster's allocated subclusters (whose data moves along) or to the whole cluster
 * when it was compressed.
 */
static void qcow2_ext_cow_range(BDRVQcow2State *s, const void *table, int l2_index,
                                int64_t in_cluster, int64_t tail_start, int64_t *from,
                                int64_t *to)
{
    uint64_t e = qcow2_l2_entry(s, table, l2_index);
    uint32_t alloc = (uint32_t)(qcow2_l2_bitmap(s, table, l2_index) & QCOW2_SC_ALL_ALLOC);
    int64_t start = in_cluster & ~(s->subcluster_size - 1);
    if (e & QCOW_OFLAG_COMPRESSED) {
        start = 0;
    } else if (qcow2_get_cluster_type(s, e) == QCOW2_CLUSTER_NORMAL && alloc) {
        start = MIN(start, (int64_t)__builtin_ctz(alloc) << s->subcluster_bits);
    }
    int64_t last = (tail_start - 1) >> s->cluster_bits;
    int64_t base = last << s->cluster_bits;
    e = qcow2_l2_entry(s, table, l2_index + last);
    alloc = (uint32_t)(qcow2_l2_bitmap(s, table, l2_index + last) & QCOW2_SC_ALL_ALLOC);
    int64_t end = qcow2_align_up(tail_start - base, s->subcluster_size);
    if (e & QCOW_OFLAG_COMPRESSED) {
        end = s->cluster_size;
    } else if (qcow2_get_cluster_type(s, e) == QCOW2_CLUSTER_NORMAL && alloc) {
        end = MAX(end, (int64_t)(32 - __builtin_clz(alloc)) << s->subcluster_bits);
    }
    *from = start;
    *to = base + end;
}

/* Is L2 entry e an unshared allocated zero cluster (qcow2 spec "Cluster mapping": host
 * offset with the zero flag, bit 0, and COPIED) at host offset `host`? */
static bool qcow2_is_own_zero_alloc(BDRVQcow2State *s, uint64_t e, uint64_t host)
{
    return qcow2_get_cluster_type(s, e) == QCOW2_CLUSTER_ZERO_ALLOC &&
           (e & QCOW_OFLAG_COPIED) && (e & L2E_OFFSET_MASK) == host;
}

/* Zero-filled buffer of len bytes (NULL for none). */
static uint8_t *qcow2_zero_buf(BlockDriverState *bs, int64_t len)
{
    uint8_t *buf = len ? bdrv_blockalign(bs, len) : NULL;
    if (buf) {
        memset(buf, 0, len);
    }
    return buf;
}

/* Clear the zero flag of the nclusters entries from guest cluster_start on that still map
 * the host clusters from `host` as allocated zero clusters (a discard meanwhile wins). */
static int qcow2_clear_zero_flags(BlockDriverState *bs, int64_t cluster_start, uint64_t host,
                                  int64_t nclusters)
{
    BDRVQcow2State *s = bs->opaque;
    void *table;
    int ret = qcow2_get_l2_table_for_write(bs, cluster_start, &table);
    if (ret < 0) {
        return ret;
    }
    int l2_index = qcow2_l2_index(s, cluster_start);
    for (int64_t i = 0; i < nclusters; i++) {
        uint64_t e = qcow2_l2_entry(s, table, l2_index + i);
        if (qcow2_is_own_zero_alloc(s, e, host + ((uint64_t)i << s->cluster_bits))) {
            qcow2_l2_set_entry(s, table, l2_index + i, e & ~QCOW_OFLAG_ZERO);
        }
    }
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_cache_put(s->l2_cache, &table);
    return 0;
}

/*
 * Guest write into a run of host-contiguous, unshared allocated zero clusters (standard L2
 * entries; table pinned and released here).  As qemu 7.2 does, the data goes in place: the
 * host clusters stay, and only then is the zero flag cleared.  The host clusters may still
 * hold old bytes (write -z without -u keeps them), so what the guest does not write is
 * zeroed in the same go, never copied from a backing file: the clusters read as zeroes.
 * Like qemu, that is a write-zeroes on the file when it can (qcow2_write_new_clusters).
 */
static int64_t qcow2_write_zero_alloc(BlockDriverState *bs, void *table, int64_t offset,
                                      int64_t bytes, IOVector *qiov, size_t qiov_offset,
                                      int64_t *next_host)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index = qcow2_l2_index(s, offset);
    int64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    int64_t cluster_start = offset - in_cluster;
    uint64_t host = qcow2_l2_entry(s, table, l2_index) & L2E_OFFSET_MASK;
    int64_t nclusters = 1;
    int64_t max_clusters = qcow2_size_to_clusters(s, in_cluster + bytes);
    while (nclusters < max_clusters &&
           qcow2_is_own_zero_alloc(s, qcow2_l2_entry(s, table, l2_index + nclusters),
                                   host + ((uint64_t)nclusters << s->cluster_bits))) {
        nclusters++;
    }
    qcow2_cache_put(s->l2_cache, &table);
    int64_t alloc_bytes = nclusters << s->cluster_bits;
    int64_t n = MIN(bytes, alloc_bytes - in_cluster);
    int64_t tail_len = alloc_bytes - in_cluster - n;
    *next_host = tail_len ? -1 : (int64_t)host + alloc_bytes;
    int ret = qcow2_has_data_file(s) ? 0 : qcow2_check_overlap(bs, host, alloc_bytes, true);
    if (ret < 0) {
        return ret;
    }
    uint8_t *head = qcow2_zero_buf(bs, in_cluster);
    uint8_t *tail = qcow2_zero_buf(bs, tail_len);
    IOVector data;
    iovec_init(&data, qiov->niov);
    iovec_concat(&data, qiov, qiov_offset, n);
    /* Requests on these clusters wait until the zero flag is gone. */
    qcow2_inflight_add(s, cluster_start, cluster_start + alloc_bytes);
    ret = qcow2_write_new_clusters(bs, host, alloc_bytes, head, in_cluster, &data, tail,
                                   tail_len);
    if (ret == 0) {
        ret = qcow2_clear_zero_flags(bs, cluster_start, host, nclusters);
    }
    qcow2_inflight_remove(s, cluster_start);
    iovec_destroy(&data);
    qemu_vfree(head);
    qemu_vfree(tail);
    return ret < 0 ? ret : n;
}

static int64_t qcow2_write_chunk(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                 IOVector *qiov, size_t qiov_offset, int64_t *next_host)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index = qcow2_l2_index(s, offset);
    int64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    int64_t max = ((int64_t)(s->l2_size - l2_index) << s->cluster_bits) - in_cluster;
    bytes = MIN(bytes, max);
    int64_t cluster_start = offset - in_cluster;
    if (qcow2_wait_inflight(bs, cluster_start,
                            cluster_start + qcow2_align_up(in_cluster + bytes, s->cluster_size))) {
        return 0;
    }
    void *table;
    int ret = qcow2_get_l2_table_for_write(bs, offset, &table);
    if (ret < 0) {
        return ret;
    }
    uint64_t first = qcow2_l2_entry(s, table, l2_index);
    ret = qcow2_check_l2_entry(bs, first, offset);
    if (ret == 0 && qcow2_has_subclusters(s) && !qcow2_ext_entry_valid(s, table, l2_index)) {
        ret = qcow2_invalid_entry(bs, offset);
    }
    if (ret < 0) {
        qcow2_cache_put(s->l2_cache, &table);
        return ret;
    }
    Qcow2ClusterType t = qcow2_get_cluster_type(s, first);
    if (t == QCOW2_CLUSTER_NORMAL && (first & QCOW_OFLAG_COPIED)) {
        /* In-place overwrite of a run of contiguous, unshared clusters. */
        uint64_t host = first & L2E_OFFSET_MASK;
        int64_t n = MIN(bytes, s->cluster_size - in_cluster);
        for (int i = l2_index + 1; n < bytes; i++) {
            uint64_t e = qcow2_l2_entry(s, table, i);
            if (qcow2_get_cluster_type(s, e) != QCOW2_CLUSTER_NORMAL ||
                !(e & QCOW_OFLAG_COPIED) ||
                (e & L2E_OFFSET_MASK) != host + ((int64_t)(i - l2_index) << s->cluster_bits)) {
                break;
            }
            n = MIN(bytes, n + s->cluster_size);
        }
        /* Where the request's next new clusters go if they are free there (as qemu). */
        *next_host = qcow2_offset_into_cluster(s, in_cluster + n) ? -1
                                                                  : (int64_t)host + in_cluster + n;
        if (qcow2_has_subclusters(s)) {
            return qcow2_write_in_place_ext(bs, table, offset, n, host, qiov, qiov_offset);
        }
        qcow2_cache_put(s->l2_cache, &table);
        ret = qcow2_has_data_file(s) ? 0 : qcow2_check_overlap(bs, host + in_cluster, n, true);
        if (ret < 0) {
            return ret;
        }
        IOVector sub;
        iovec_init(&sub, qiov->niov);
        iovec_concat(&sub, qiov, qiov_offset, n);
        ret = qcow2_unlocked_data_io(bs, true, host + in_cluster, n, &sub);
        iovec_destroy(&sub);
        return ret < 0 ? ret : n;
    }
    if (qcow2_is_own_zero_alloc(s, first, first & L2E_OFFSET_MASK)) {
        return qcow2_write_zero_alloc(bs, table, offset, bytes, qiov, qiov_offset, next_host);
    }

    /* Allocating write: a run of clusters that all need a new host cluster (unshared
     * allocated zero clusters are written in place, as qemu). */
    int64_t nclusters = 1;
    int64_t total = in_cluster + bytes;
    int64_t max_clusters = qcow2_size_to_clusters(s, total);
    while (nclusters < max_clusters) {
        uint64_t e = qcow2_l2_entry(s, table, l2_index + nclusters);
        Qcow2ClusterType et = qcow2_get_cluster_type(s, e);
        if (((et == QCOW2_CLUSTER_NORMAL || et == QCOW2_CLUSTER_ZERO_ALLOC) &&
             (e & QCOW_OFLAG_COPIED)) ||
            (qcow2_has_subclusters(s) && !qcow2_ext_entry_valid(s, table, l2_index + nclusters))) {
            break;      /* (a bad entry is reported when a chunk starts there) */
        }
        nclusters++;
    }
    /* Right after the host clusters this request wrote so far, if they are free there. */
    int64_t host = *next_host >= 0 && !qcow2_has_data_file(s)
                   ? qcow2_alloc_clusters_at(bs, *next_host, nclusters) : 0;
    if (host < 0) {
        qcow2_cache_put(s->l2_cache, &table);
        return host;
    }
    if (host > 0) {
        nclusters = host;
        host = *next_host;
    } else {
        host = -1;
    }
    int64_t run_end = MIN(total, nclusters << s->cluster_bits);   /* relative to cluster start */
    int64_t n = run_end - in_cluster;                               /* guest bytes written */
    int64_t tail_start = in_cluster + n;                            /* relative */
    int64_t alloc_bytes = qcow2_align_up(tail_start, s->cluster_size);
    /* Bytes [cow_from, cow_to) of the new clusters are written (all of them without
     * extended L2 entries). */
    int64_t cow_from = 0, cow_to = alloc_bytes;
    if (qcow2_has_subclusters(s)) {
        qcow2_ext_cow_range(s, table, l2_index, in_cluster, tail_start, &cow_from, &cow_to);
    }
    qcow2_cache_put(s->l2_cache, &table);

    /* With an external data file the data cluster of a guest cluster is fixed: it
     * is at the same offset in the data file and has no refcount. */
    bool data_file = qcow2_has_data_file(s);
    if (data_file) {
        host = cluster_start;
    } else if (host < 0) {
        host = qcow2_alloc_clusters(bs, alloc_bytes);
        if (host < 0) {
            return host;
        }
    }
    *next_host = qcow2_offset_into_cluster(s, tail_start) ? -1 : host + alloc_bytes;
    ret = data_file ? 0 : qcow2_check_overlap(bs, host, alloc_bytes, true);
    if (ret < 0) {
        return ret;
    }
    /* Copy-on-write: head [cow_from, in_cluster) and tail [tail_start, cow_to). */
    uint8_t *head = NULL, *tail = NULL;
    int64_t head_len = in_cluster - cow_from;
    int64_t tail_len = cow_to - tail_start;
    if (head_len) {
        head = bdrv_blockalign(bs, head_len);
        ret = qcow2_read_old(bs, cluster_start + cow_from, head_len, head);
    }
    if (ret == 0 && tail_len) {
        tail = bdrv_blockalign(bs, tail_len);
        ret = qcow2_read_tail(bs, cluster_start + tail_start, tail_len, tail);
    }
    if (ret == 0) {
        qcow2_inflight_add(s, cluster_start, cluster_start + alloc_bytes);
        IOVector data;
        iovec_init(&data, qiov->niov);
        iovec_concat(&data, qiov, qiov_offset, n);
        ret = qcow2_write_new_clusters(bs, host + cow_from, cow_to - cow_from, head, head_len,
                                       &data, tail, tail_len);
        iovec_destroy(&data);
    }
    qemu_vfree(head);
    qemu_vfree(tail);
    if (ret == 0) {
        ret = qcow2_link_range(bs, cluster_start, host, alloc_bytes >> s->cluster_bits, cow_from,
                               cow_to);
    }
    if (ret < 0 && !data_file) {
        qcow2_free_clusters(bs, host, alloc_bytes, false);
    }
    qcow2_inflight_remove(s, cluster_start);     /* no-op if never registered */
    return ret < 0 ? ret : n;
}

int qcow2_co_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                     bool compressed)
{
    if (compressed) {
        return qcow2_write_compressed(bs, offset, bytes, qiov);
    }
    int64_t done = 0;
    int64_t next_host = -1;
    while (done < bytes) {
        int64_t n = qcow2_write_chunk(bs, offset + done, bytes - done, qiov, done, &next_host);
        if (n < 0) {
            return (int)n;
        }
        done += n;
    }
    return 0;
}

int qcow2_preallocate_metadata(BlockDriverState *bs, int64_t offset, int64_t new_length,
                               PreallocMode mode)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t start = qcow2_start_of_cluster(s, offset);
    while (start < new_length) {
        int l2_index = qcow2_l2_index(s, start);
        int64_t n = MIN(qcow2_size_to_clusters(s, new_length - start), s->l2_size - l2_index);
        void *table;
        int ret = qcow2_get_l2_table_for_write(bs, start, &table);
        if (ret < 0) {
            return ret;
        }
        int64_t todo = 0;
        for (int64_t i = 0; i < n; i++) {
            if (qcow2_get_cluster_type(s, qcow2_l2_entry(s, table, l2_index + i)) ==
                QCOW2_CLUSTER_UNALLOCATED) {
                todo++;
            } else {
                break;
            }
        }
        qcow2_cache_put(s->l2_cache, &table);
        if (todo == 0) {
            start += s->cluster_size;
            continue;
        }
        /* An external data file was already resized with the preallocation mode, and
         * its clusters sit at their guest offsets, unrefcounted. */
        bool data_file = qcow2_has_data_file(s);
        int64_t host = data_file ? start : qcow2_alloc_clusters(bs, todo << s->cluster_bits);
        if (host < 0) {
            return (int)host;
        }
        if (!data_file && (mode == PREALLOC_MODE_FALLOC || mode == PREALLOC_MODE_FULL)) {
            Error *err = NULL;
            int64_t flen = bdrv_getlength(bs->file);
            int64_t want = host + (todo << s->cluster_bits);
            if (flen < want) {
                ret = bdrv_truncate(bs->file, want, false, mode, &err);
                if (ret < 0) {
                    error_free(err);
                    return ret;
                }
            }
        }
        ret = qcow2_get_l2_table_for_write(bs, start, &table);
        if (ret < 0) {
            return ret;
        }
        for (int64_t i = 0; i < todo; i++) {
            /* With extended L2 entries the bitmap stays: preallocated subclusters
             * are not allocated (they read as zeroes), as qemu leaves them. */
            qcow2_l2_set_entry(s, table, l2_index + i, (uint64_t)(host + (i << s->cluster_bits)) |
                               QCOW_OFLAG_COPIED);
        }
        qcow2_cache_mark_dirty(s->l2_cache, table);
        qcow2_cache_put(s->l2_cache, &table);
        start += todo << s->cluster_bits;
    }
    /* Make sure the file covers every allocated cluster (reads past EOF are zero
     * anyway, but qemu-img check wants the clusters inside the file). */
    int64_t flen = bdrv_getlength(bs->file);
    int64_t end = (s->free_cluster_index) << s->cluster_bits;
    if (flen >= 0 && flen < end) {
        Error *err = NULL;
        int ret = bdrv_truncate(bs->file, end, false, PREALLOC_MODE_OFF, &err);
        if (ret < 0) {
            error_free(err);
            return ret;
        }
    }
    return 0;
}
