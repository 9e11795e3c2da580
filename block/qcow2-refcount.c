/*
 * qcow2 host cluster management (qcow2 spec "Host cluster management"):
 * refcount table and refcount blocks with refcount_bits 1..64, cluster
 * allocation and freeing, growing the refcount table.
 * Crash-consistency rules kept here: a refcount increment reaches the disk before
 * any reference to the cluster (see qcow2-cache.c), references are removed from
 * disk before the decrement (qcow2_free_clusters flushes L2 tables first), and a
 * new refcount table becomes live only with one header write after it and its
 * blocks are on disk.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>

uint64_t qcow2_get_refcount_ro(BDRVQcow2State *s, const void *block, uint64_t index)
{
    const uint8_t *b = block;
    switch (s->refcount_order) {
    case 0:
    case 1:
    case 2: {
        int bits = 1 << s->refcount_order;
        int per_byte = 8 / bits;
        return (b[index / per_byte] >> ((index % per_byte) * bits)) & ((1u << bits) - 1);
    }
    case 3:
        return b[index];
    case 4: {
        uint16_t v;
        memcpy(&v, b + index * 2, 2);
        return GUINT16_FROM_BE(v);
    }
    case 5: {
        uint32_t v;
        memcpy(&v, b + index * 4, 4);
        return GUINT32_FROM_BE(v);
    }
    default: {
        uint64_t v;
        memcpy(&v, b + index * 8, 8);
        return GUINT64_FROM_BE(v);
    }
    }
}

void qcow2_set_refcount_ro(BDRVQcow2State *s, void *block, uint64_t index, uint64_t value)
{
    uint8_t *b = block;
    switch (s->refcount_order) {
    case 0:
    case 1:
    case 2: {
        int bits = 1 << s->refcount_order;
        int per_byte = 8 / bits;
        int shift = (index % per_byte) * bits;
        uint8_t mask = ((1u << bits) - 1) << shift;
        b[index / per_byte] = (b[index / per_byte] & ~mask) | ((value << shift) & mask);
        break;
    }
    case 3:
        b[index] = value;
        break;
    case 4: {
        uint16_t v = GUINT16_TO_BE(value);
        memcpy(b + index * 2, &v, 2);
        break;
    }
    case 5: {
        uint32_t v = GUINT32_TO_BE(value);
        memcpy(b + index * 4, &v, 4);
        break;
    }
    default: {
        uint64_t v = GUINT64_TO_BE(value);
        memcpy(b + index * 8, &v, 8);
        break;
    }
    }
}

int qcow2_refcount_init(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    size_t n = s->refcount_table_size;
    s->refcount_table = g_new0(uint64_t, n ? n : 1);
    if (n > 0) {
        int ret = bdrv_pread(bs->file, s->refcount_table_offset, n * 8, s->refcount_table, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read refcount table");
            return ret;
        }
        for (size_t i = 0; i < n; i++) {
            s->refcount_table[i] = GUINT64_FROM_BE(s->refcount_table[i]);
        }
    }
    return 0;
}

/* Pin the refcount block of table slot rt_index; 0 with *block NULL when absent. */
static int qcow2_load_refblock(BlockDriverState *bs, uint64_t rt_index, void **block)
{
    BDRVQcow2State *s = bs->opaque;
    *block = NULL;
    if (rt_index >= s->refcount_table_size) {
        return 0;
    }
    uint64_t off = s->refcount_table[rt_index] & REFT_OFFSET_MASK;
    if (!off) {
        return 0;
    }
    if (off & (s->cluster_size - 1)) {
        return qcow2_signal_corruption(bs, "Refblock offset %#" PRIx64 " unaligned "
                                       "(reftable index: %#" PRIx64 ")", off, rt_index);
    }
    return qcow2_cache_get(bs, s->refcount_cache, off, block, true);
}

int qcow2_get_refcount(BlockDriverState *bs, int64_t cluster_index, uint64_t *refcount)
{
    BDRVQcow2State *s = bs->opaque;
    void *block;
    int ret = qcow2_load_refblock(bs, (uint64_t)cluster_index >> s->refcount_block_bits, &block);
    *refcount = 0;
    if (ret < 0 || !block) {
        return ret;
    }
    uint64_t mask = (1ULL << s->refcount_block_bits) - 1;
    *refcount = qcow2_get_refcount_ro(s, block, cluster_index & mask);
    qcow2_cache_put(s->refcount_cache, &block);
    return 0;
}

/* Find n consecutive clusters with refcount 0 from free_cluster_index; reserve them
 * by moving free_cluster_index past them (refcounts are not touched). */
static int64_t qcow2_find_free_clusters(BlockDriverState *bs, int64_t n)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t max_index = (int64_t)(QCOW2_MAX_HOST_OFFSET >> s->cluster_bits);
    int64_t start = s->free_cluster_index;
    int64_t i = start;
    while (i - start < n) {
        if (i + (n - (i - start)) > max_index) {
            return -EFBIG;
        }
        uint64_t rt_index = (uint64_t)i >> s->refcount_block_bits;
        if (rt_index >= s->refcount_table_size || !s->refcount_table[rt_index]) {
            /* A whole block range without a block is free: skip it in one step. */
            int64_t next = (int64_t)((rt_index + 1) << s->refcount_block_bits);
            i = MIN(next, start + n);
            continue;
        }
        uint64_t rc;
        int ret = qcow2_get_refcount(bs, i, &rc);
        if (ret < 0) {
            return ret;
        }
        i++;
        if (rc != 0) {
            start = i;
        }
    }
    s->free_cluster_index = start + n;
    qcow2_clusters_claimed(s, start, n);
    return start;
}

static int qcow2_update_refcount(BlockDriverState *bs, int64_t offset, int64_t size,
                                 int64_t addend, bool discard);

static int qcow2_write_reftable_entry(BlockDriverState *bs, uint64_t rt_index)
{
    BDRVQcow2State *s = bs->opaque;
    if (s->reftable_relocating) {
        return 0;
    }
    uint64_t be = GUINT64_TO_BE(s->refcount_table[rt_index]);
    return bdrv_pwrite(bs->file, s->refcount_table_offset + rt_index * 8, 8, &be, 0);
}

/* Replace the refcount table by a larger one covering rt_index. */
static int qcow2_grow_reftable(BlockDriverState *bs, uint64_t rt_index)
{
    BDRVQcow2State *s = bs->opaque;
    if (s->reftable_relocating) {
        return -EIO;
    }
    uint64_t entries = MAX(rt_index + 1, s->refcount_table_size + s->refcount_table_size / 2);
    int64_t save = s->free_cluster_index;
    int64_t table_index, table_clusters;
    for (;;) {
        table_clusters = qcow2_size_to_clusters(s, entries * 8);
        if (table_clusters * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES) {
            return -EFBIG;
        }
        table_index = qcow2_find_free_clusters(bs, table_clusters);
        if (table_index < 0) {
            return (int)table_index;
        }
        /* Cover the table and the refcount blocks it may need after it. */
        int64_t blocks = (table_clusters >> s->refcount_block_bits) + 2;
        uint64_t need = ((uint64_t)(table_index + table_clusters + blocks) >>
                         s->refcount_block_bits) + 1;
        if (need <= entries) {
            break;
        }
        s->free_cluster_index = save;
        entries = need;
    }
    entries = table_clusters * s->cluster_size / 8;

    uint64_t *old_table = s->refcount_table;
    uint32_t old_size = s->refcount_table_size;
    uint64_t old_offset = s->refcount_table_offset;
    uint64_t *new_table = g_new0(uint64_t, entries);
    memcpy(new_table, old_table, old_size * 8);
    s->refcount_table = new_table;
    s->refcount_table_size = entries;
    s->reftable_relocating = true;

    int64_t new_offset = table_index << s->cluster_bits;
    int ret = qcow2_update_refcount(bs, new_offset, table_clusters * s->cluster_size, 1, false);
    if (ret == 0) {
        ret = qcow2_cache_flush(bs, s->refcount_cache);
    }
    uint64_t *be = NULL;
    if (ret == 0) {
        be = g_malloc0(table_clusters * s->cluster_size);
        for (uint64_t i = 0; i < entries; i++) {
            be[i] = GUINT64_TO_BE(new_table[i]);
        }
        ret = bdrv_pwrite_sync(bs->file, new_offset, table_clusters * s->cluster_size, be);
        g_free(be);
    }
    if (ret == 0) {
        uint8_t hdr[12];
        uint64_t o = GUINT64_TO_BE(new_offset);
        uint32_t c = GUINT32_TO_BE((uint32_t)table_clusters);
        memcpy(hdr, &o, 8);
        memcpy(hdr + 8, &c, 4);
        ret = bdrv_pwrite_sync(bs->file, 48, 12, hdr);
    }
    s->reftable_relocating = false;
    if (ret < 0) {
        /* Old table stays live; anything allocated above is a leak, not corruption. */
        s->refcount_table = old_table;
        s->refcount_table_size = old_size;
        g_free(new_table);
        return ret;
    }
    s->refcount_table_offset = new_offset;
    g_free(old_table);
    qcow2_free_clusters(bs, old_offset, (int64_t)old_size * 8, false);
    return 0;
}

/* Pin the refcount block for slot rt_index, creating it (and growing the table) if
 * needed.  The new block's own cluster is counted before the table points at it. */
static int qcow2_get_refblock_alloc(BlockDriverState *bs, uint64_t rt_index, void **block)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_load_refblock(bs, rt_index, block);
    if (ret < 0 || *block) {
        return ret;
    }
    if (rt_index >= s->refcount_table_size) {
        ret = qcow2_grow_reftable(bs, rt_index);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_load_refblock(bs, rt_index, block);
        if (ret < 0 || *block) {
            return ret;
        }
    }
    int64_t idx = qcow2_find_free_clusters(bs, 1);
    if (idx < 0) {
        return (int)idx;
    }
    int64_t off = idx << s->cluster_bits;
    if (((uint64_t)idx >> s->refcount_block_bits) == rt_index) {
        /* The block describes itself. */
        ret = qcow2_cache_get(bs, s->refcount_cache, off, block, false);
        if (ret < 0) {
            return ret;
        }
        qcow2_set_refcount_ro(s, *block, idx & ((1ULL << s->refcount_block_bits) - 1), 1);
        qcow2_cache_mark_dirty(s->refcount_cache, *block);
    } else {
        ret = qcow2_update_refcount(bs, off, s->cluster_size, 1, false);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_cache_get(bs, s->refcount_cache, off, block, false);
        if (ret < 0) {
            return ret;
        }
        qcow2_cache_mark_dirty(s->refcount_cache, *block);
    }
    ret = qcow2_cache_flush(bs, s->refcount_cache);
    if (ret < 0) {
        qcow2_cache_put(s->refcount_cache, block);
        return ret;
    }
    s->refcount_table[rt_index] = off;
    ret = qcow2_write_reftable_entry(bs, rt_index);
    if (ret < 0) {
        s->refcount_table[rt_index] = 0;
        qcow2_cache_put(s->refcount_cache, block);
        return ret;
    }
    return 0;
}

static int qcow2_update_refcount(BlockDriverState *bs, int64_t offset, int64_t size,
                                 int64_t addend, bool discard)
{
    BDRVQcow2State *s = bs->opaque;
    if (size <= 0) {
        return 0;
    }
    int64_t first = offset >> s->cluster_bits;
    int64_t last = (offset + size - 1) >> s->cluster_bits;
    uint64_t mask = (1ULL << s->refcount_block_bits) - 1;
    if (addend < 0) {
        /* A freed cluster may be reused at once: no unlocked I/O may still touch it. */
        qcow2_data_io_barrier(bs);
    }
    for (int64_t ci = first; ci <= last; ci++) {
        void *block;
        int ret = addend > 0 ? qcow2_get_refblock_alloc(bs, (uint64_t)ci >> s->refcount_block_bits,
                                                         &block)
                             : qcow2_load_refblock(bs, (uint64_t)ci >> s->refcount_block_bits,
                                                   &block);
        if (ret < 0) {
            return ret;
        }
        if (!block) {
            return qcow2_signal_corruption(bs, "Freeing cluster %#" PRIx64 " without a "
                                           "refcount block", (uint64_t)ci << s->cluster_bits);
        }
        uint64_t rc = qcow2_get_refcount_ro(s, block, ci & mask);
        if ((addend < 0 && rc < (uint64_t)-addend) ||
            (addend > 0 && rc + addend > s->refcount_max)) {
            qcow2_cache_put(s->refcount_cache, &block);
            if (addend > 0) {
                return -ERANGE;
            }
            return qcow2_signal_corruption(bs, "Refcount of cluster %#" PRIx64 " would drop "
                                           "below zero", (uint64_t)ci << s->cluster_bits);
        }
        rc += addend;
        qcow2_set_refcount_ro(s, block, ci & mask, rc);
        qcow2_cache_mark_dirty(s->refcount_cache, block);
        qcow2_cache_put(s->refcount_cache, &block);
        if (rc == 0) {
            if (ci < s->free_cluster_index) {
                s->free_cluster_index = ci;
            }
            qcow2_cluster_released(s, ci);
            qcow2_cache_discard(s->l2_cache, (uint64_t)ci << s->cluster_bits);
            qcow2_cache_discard(s->refcount_cache, (uint64_t)ci << s->cluster_bits);
            if (s->cluster_cache_offset >= 0 &&
                (s->cluster_cache_offset >> s->cluster_bits) == ci) {
                s->cluster_cache_offset = -1;
            }
            if (discard) {
                bdrv_pdiscard(bs->file, ci << s->cluster_bits, s->cluster_size);
            }
        }
    }
    return 0;
}

int qcow2_update_cluster_refcount(BlockDriverState *bs, int64_t offset, int64_t size,
                                  int addend)
{
    if (addend < 0) {
        BDRVQcow2State *s = bs->opaque;
        int ret = qcow2_cache_flush(bs, s->l2_cache);
        if (ret < 0) {
            return ret;
        }
    }
    return qcow2_update_refcount(bs, offset, size, addend, false);
}

int64_t qcow2_alloc_clusters_at(BlockDriverState *bs, int64_t offset, int64_t n)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t first = offset >> s->cluster_bits;
    int64_t k = 0;
    if (offset < 0 || qcow2_offset_into_cluster(s, offset)) {
        return 0;
    }
    for (; k < n; k++) {
        uint64_t ci = (uint64_t)(first + k);
        uint64_t rt_index = ci >> s->refcount_block_bits;
        uint64_t rc;
        if (((ci + 1) << s->cluster_bits) > QCOW2_MAX_HOST_OFFSET ||
            rt_index >= s->refcount_table_size ||
            !(s->refcount_table[rt_index] & REFT_OFFSET_MASK) ||
            qcow2_get_refcount(bs, (int64_t)ci, &rc) < 0 || rc) {
            break;
        }
    }
    if (k == 0) {
        return 0;
    }
    qcow2_clusters_claimed(s, first, k);
    int ret = qcow2_update_refcount(bs, offset, k << s->cluster_bits, 1, false);
    return ret < 0 ? ret : k;
}

int64_t qcow2_alloc_clusters(BlockDriverState *bs, int64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t n = qcow2_size_to_clusters(s, size);
    int64_t idx = qcow2_find_free_clusters(bs, n);
    if (idx < 0) {
        return idx;
    }
    int64_t off = idx << s->cluster_bits;
    int ret = qcow2_update_refcount(bs, off, n << s->cluster_bits, 1, false);
    if (ret < 0) {
        return ret;
    }
    return off;
}

/*
 * Byte allocator for compressed clusters (qcow2 spec "Compressed Clusters Descriptor":
 * the data starts at any byte and may run on into the next host cluster; "Host cluster
 * management": every host cluster it touches counts one reference for it).  Placement
 * is qemu 7.2's, so that the same writes give the same image:
 * - the data goes right after the previous compressed cluster's (free_byte_offset),
 *   unless that host cluster is at the refcount maximum -- even when everything in it
 *   was freed meanwhile (refcount 0; the freed bytes before stay unused).  qemu goes
 *   on there even while the cluster allocator has handed the cluster out again,
 *   overwriting what was put there (qemu-img check then finds refcount 2 on a normal
 *   cluster); kemu starts afresh in that case (free_byte_claimed);
 * - data that does not fit takes a new cluster from the cluster allocator: the data
 *   runs on into it if it follows the current one, else starts at its beginning;
 * - a position at a cluster boundary is forgotten, the next data takes a new cluster.
 */
int64_t qcow2_alloc_bytes(BlockDriverState *bs, int size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t off = s->free_byte_offset;
    if (size <= 0 || size > s->cluster_size) {
        return -EINVAL;
    }
    if (off) {
        uint64_t rc;
        int ret = qcow2_get_refcount(bs, off >> s->cluster_bits, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc >= s->refcount_max || s->free_byte_claimed) {
            off = 0;
        }
    }
    int64_t new_cluster = 0;
    if (!off || qcow2_offset_into_cluster(s, off) + size > s->cluster_size) {
        new_cluster = qcow2_alloc_clusters(bs, s->cluster_size);
        if (new_cluster < 0) {
            return new_cluster;
        }
        if (!off || new_cluster != qcow2_start_of_cluster(s, off) + s->cluster_size) {
            off = new_cluster;
        }
    }
    /* The data's first cluster gains a reference unless it was just allocated. */
    if (off != new_cluster) {
        int ret = qcow2_update_refcount(bs, off, 1, 1, false);
        if (ret < 0) {
            if (new_cluster) {
                qcow2_free_clusters(bs, new_cluster, s->cluster_size, false);
            }
            return ret;
        }
    }
    s->free_byte_offset = qcow2_offset_into_cluster(s, off + size) ? off + size : 0;
    s->free_byte_claimed = false;
    return off;
}

void qcow2_free_clusters(BlockDriverState *bs, int64_t offset, int64_t size, bool discard)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret == 0) {
        ret = qcow2_update_refcount(bs, offset, size, -1, discard);
    }
    if (ret < 0) {
        /* The clusters stay allocated: a leak, which check -r leaks can repair. */
        g_warning("qcow2_free_clusters failed: %s", g_strerror(-ret));
    }
}

void qcow2_parse_compressed(BDRVQcow2State *s, uint64_t l2_entry, uint64_t *coffset,
                            int64_t *csize)
{
    *coffset = l2_entry & s->cluster_offset_mask;
    uint64_t nb_sectors = ((l2_entry >> s->csize_shift) & s->csize_mask) + 1;
    *csize = (int64_t)(nb_sectors * 512 - (*coffset & 511));
}

/*
 * A data cluster of an external data file (qcow2 spec, incompatible bit 2) has no
 * refcount: freeing it only passes the discard on.  With raw external data
 * (autoclear bit 1) the data file must keep reading as the guest disk, where the
 * freed cluster now reads as zeroes, so it is zeroed (unmapping where possible).
 */
static void qcow2_free_data_file_cluster(BlockDriverState *bs, uint64_t l2_entry, bool discard)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2ClusterType t = qcow2_get_cluster_type(s, l2_entry);
    if (!discard || !s->data_file || (t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC)) {
        return;
    }
    int64_t offset = l2_entry & L2E_OFFSET_MASK;
    if (offset >= bs->total_size) {
        return;     /* host offset == guest offset: nothing of the disk lies there */
    }
    /* The last guest cluster may be partial: the data file ends with the disk. */
    int64_t len = MIN(s->cluster_size, bs->total_size - offset);
    int ret;
    if (qcow2_data_file_is_raw(s)) {
        /* Requests writing to this cluster with s->lock dropped finish first, or
         * their data would land in the raw view after the zeroes. */
        qcow2_data_io_barrier(bs);
        ret = bdrv_pwrite_zeroes(s->data_file, offset, len, BDRV_REQ_MAY_UNMAP);
    } else {
        ret = bdrv_pdiscard(s->data_file, offset, len);
    }
    if (ret < 0 && qcow2_data_file_is_raw(s)) {
        g_warning("qcow2: could not zero freed data file cluster: %s", g_strerror(-ret));
    }
}

void qcow2_free_any_cluster(BlockDriverState *bs, uint64_t l2_entry, bool discard)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2ClusterType type = qcow2_get_cluster_type(s, l2_entry);
    if ((type == QCOW2_CLUSTER_NORMAL || type == QCOW2_CLUSTER_ZERO_ALLOC) &&
        qcow2_offset_into_cluster(s, l2_entry & L2E_OFFSET_MASK)) {
        /* A corrupt entry: freeing its cluster would drop the refcount of whatever
         * cluster the offset falls into (metadata, maybe). */
        qcow2_report_corruption(bs, "Cannot free unaligned cluster %#" PRIx64,
                                (uint64_t)(l2_entry & L2E_OFFSET_MASK));
        return;
    }
    if (qcow2_has_data_file(s)) {
        qcow2_free_data_file_cluster(bs, l2_entry, discard);
        return;
    }
    switch (type) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        qcow2_free_clusters(bs, l2_entry & L2E_OFFSET_MASK, s->cluster_size, discard);
        break;
    case QCOW2_CLUSTER_COMPRESSED: {
        uint64_t coffset;
        int64_t csize;
        qcow2_parse_compressed(s, l2_entry, &coffset, &csize);
        qcow2_free_clusters(bs, coffset, csize, false);
        break;
    }
    default:
        break;
    }
}

int qcow2_flush_caches(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_cache_write(bs, s->l2_cache);
    if (ret == 0) {
        ret = qcow2_cache_write(bs, s->refcount_cache);
    }
    return ret;
}
