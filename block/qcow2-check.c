/*
 * qcow2 consistency check and repair (what `qemu-img check [-r leaks|all]` does
 * for qcow2).  Follows the qcow2 spec (docs/interop/qcow2.txt) sections "Host
 * cluster management" (refcount table and blocks), "Cluster mapping" (L1/L2
 * entries, COPIED flag, compressed and zero clusters), "Extended L2 Entries"
 * (128-bit entries whose "Subcluster Allocation Bitmap" must not mark a subcluster
 * both allocated and reading as zeroes, nor allocate subclusters of an unallocated
 * or compressed cluster) and "Snapshots"; the
 * messages, counters and repair decisions are those of Debian's qemu-img 7.2,
 * found by experiment.
 *
 * 1. Count every reference to every host cluster from the metadata (header,
 *    active and snapshot L1/L2 tables, data and compressed clusters, snapshot
 *    table, refcount table and blocks) into an in-memory array.  With -r all a
 *    refcount block beyond the end of the file is repaired by growing the file,
 *    and a preallocated zero cluster at an unaligned offset becomes a plain zero
 *    cluster.
 * 2. Compare with the stored refcounts.  Leaks (stored > counted) and
 *    undercounts are repaired in place; a referenced cluster with stored
 *    refcount 0 or a broken refcount table entry needs the whole refcount
 *    structure rebuilt: new refcount blocks and a new table are written from the
 *    array into free clusters and the header is pointed at them, after which the
 *    old structures are leaks that are freed.
 * 3. Check (and repair) the COPIED flag of the active L1/L2 entries against the
 *    stored refcounts.
 * A clean result after a repair clears the dirty and corrupt header bits.
 * With an external data file (incompatible bit 2) data clusters live in that file
 * and have no refcount: they count for the allocation statistics only, and their
 * COPIED flag must be set (implicit refcount 1).
 *
 * The image is untrusted: offsets are bounds-checked before use, the array is
 * limited to INT_MAX clusters, and every loop is bounded by the table sizes
 * validated at open.  Writes made by the repair are checked against the
 * metadata they could overwrite as qemu's default ("cached") overlap checks do;
 * a hit marks the image corrupt and, as in qemu, the open image is unusable
 * afterwards (a later check fails with ENOMEDIUM and unwritten refcount updates
 * are dropped).
 */
#include "qcow2.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CHECK_MAX_CLUSTERS INT_MAX
/* Largest byte offset the block layer accepts (qemu's BDRV_MAX_LENGTH). */
#define CHECK_MAX_LENGTH 0x7fffffffc0000000LL

/* Metadata kinds of the overlap check (qemu's QCOW2_OL_* subset, cached mode). */
enum {
    OL_ACTIVE_L1 = 1 << 0,
    OL_ACTIVE_L2 = 1 << 1,
};

typedef struct CheckState {
    BlockDriverState *bs;
    BDRVQcow2State *s;
    BdrvCheckResult *res;
    int fix;
    uint32_t *refs;          /* references counted per host cluster */
    int64_t nb_clusters;     /* entries of refs in use (grows, never shrinks) */
    int64_t refs_alloc;      /* entries allocated */
    uint32_t refs_max;       /* the image's refcount_max, capped to the array width */
    int64_t file_len;
    bool rebuild;            /* the refcount structure must be rebuilt */
} CheckState;

/* ---- corruption signalling (qemu's qcow2_signal_corruption wording) ---- */

static void check_signal_corruption(CheckState *cs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void check_signal_corruption(CheckState *cs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qcow2_corruption_event(cs->bs, true, fmt, ap);
    va_end(ap);
}

/* After a fatal corruption event the open image is unusable (qemu drops the driver). */
static bool check_image_dead(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    return s->corrupt_reported && !bs->read_only;
}

/* What a write of [offset, offset+size) would overwrite, in qemu's check order.  Not
 * qcow2_overlap_what (qcow2.c), which checks less and in another order; see there. */
static const char *check_overlap_what(BDRVQcow2State *s, int ign, uint64_t offset, uint64_t size)
{
    if (!size) {
        return NULL;
    }
    if (offset < (uint64_t)s->cluster_size) {
        return "qcow2_header";
    }
    /* The tested range is widened to whole clusters. */
    size = qcow2_align_up(qcow2_offset_into_cluster(s, offset) + size, s->cluster_size);
    offset = qcow2_start_of_cluster(s, offset);
    if (!(ign & OL_ACTIVE_L1) &&
        qcow2_ranges_overlap(offset, size, s->l1_table_offset, (uint64_t)s->l1_size * 8)) {
        return "active L1 table";
    }
    if (qcow2_ranges_overlap(offset, size, s->refcount_table_offset,
                       (uint64_t)s->refcount_table_size * 8)) {
        return "refcount table";
    }
    if (qcow2_ranges_overlap(offset, size, s->snapshots_offset, s->snapshots_size)) {
        return "snapshot table";
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (qcow2_ranges_overlap(offset, size, s->snapshots[i].l1_table_offset,
                           (uint64_t)s->snapshots[i].l1_size * 8)) {
            return "inactive L1 table";
        }
    }
    for (uint32_t i = 0; !(ign & OL_ACTIVE_L2) && i < s->l1_size; i++) {
        uint64_t l2 = s->l1_table[i] & L1E_OFFSET_MASK;
        if (l2 && qcow2_ranges_overlap(offset, size, l2, s->cluster_size)) {
            return "active L2 table";
        }
    }
    for (uint32_t i = 0; i < s->refcount_table_size; i++) {
        uint64_t rb = s->refcount_table[i] & REFT_OFFSET_MASK;
        if (rb && qcow2_ranges_overlap(offset, size, rb, s->cluster_size)) {
            return "refcount block";
        }
    }
    return NULL;
}

/* 0, or -EIO after signalling the corruption a write there would cause. */
static int check_overlap(CheckState *cs, int ign, uint64_t offset, uint64_t size)
{
    const char *what = check_overlap_what(cs->s, ign, offset, size);
    if (!what) {
        return 0;
    }
    check_signal_corruption(cs, "Preventing invalid write on metadata (overlaps with %s)", what);
    return -EIO;
}

/* ---- the in-memory reference array ---- */

static int refs_resize(CheckState *cs, int64_t n)
{
    if (n <= cs->nb_clusters) {
        return 0;
    }
    if (n > CHECK_MAX_CLUSTERS) {
        return -ENOMEM;
    }
    if (n > cs->refs_alloc) {
        int64_t alloc = MAX(n, MIN(cs->refs_alloc * 2, (int64_t)CHECK_MAX_CLUSTERS));
        /* A fresh zeroed allocation keeps untouched pages free for huge sizes. */
        uint32_t *refs = g_try_new0(uint32_t, alloc);
        if (!refs) {
            return -ENOMEM;
        }
        if (cs->nb_clusters) {
            memcpy(refs, cs->refs, cs->nb_clusters * sizeof(uint32_t));
        }
        g_free(cs->refs);
        cs->refs = refs;
        cs->refs_alloc = alloc;
    }
    cs->nb_clusters = n;
    return 0;
}

/* Count one reference to each cluster of [offset, offset+size). */
static int check_inc(CheckState *cs, uint64_t offset, uint64_t size)
{
    BDRVQcow2State *s = cs->s;
    if (size == 0) {
        return 0;
    }
    /* The last cluster may be partly beyond the end of the file, no more. */
    uint64_t end = offset + size;
    if (end < offset || end >= (uint64_t)cs->file_len + s->cluster_size) {
        fprintf(stderr, "ERROR: counting reference for region exceeding the end of the file by "
                "one cluster or more: offset 0x%" PRIx64 " size 0x%" PRIx64 "\n", offset, size);
        cs->res->corruptions++;
        return 0;
    }
    int64_t first = offset >> s->cluster_bits;
    int64_t last = (end - 1) >> s->cluster_bits;
    for (int64_t k = first; k <= last; k++) {
        if (k >= cs->nb_clusters) {
            int ret = refs_resize(cs, k + 1);
            if (ret < 0) {
                cs->res->check_errors++;
                return ret;
            }
        }
        if (cs->refs[k] >= cs->refs_max) {
            fprintf(stderr, "ERROR: overflow cluster offset=0x%" PRIx64 "\n",
                    (uint64_t)k << s->cluster_bits);
            fprintf(stderr, "Use kemu-img amend to increase the refcount entry width or "
                    "kemu-img convert to create a clean copy if the image cannot be opened for "
                    "writing\n");
            cs->res->corruptions++;
            continue;
        }
        cs->refs[k]++;
    }
    return 0;
}

/* ---- stored refcounts ---- */

static int check_get_refcount(CheckState *cs, int64_t cluster, uint64_t *rc)
{
    BDRVQcow2State *s = cs->s;
    uint64_t rt_index = (uint64_t)cluster >> s->refcount_block_bits;
    *rc = 0;
    if (rt_index >= s->refcount_table_size) {
        return 0;
    }
    uint64_t off = s->refcount_table[rt_index] & REFT_OFFSET_MASK;
    if (!off) {
        return 0;
    }
    if (qcow2_offset_into_cluster(s, off)) {
        check_signal_corruption(cs, "Refblock offset %#" PRIx64 " unaligned (reftable index: %#"
                                PRIx64 ")", off, rt_index);
        return -EIO;
    }
    if (off > (uint64_t)(CHECK_MAX_LENGTH - s->cluster_size)) {
        return -EIO;
    }
    void *block;
    int ret = qcow2_cache_get(cs->bs, s->refcount_cache, off, &block, true);
    if (ret < 0) {
        return ret;
    }
    *rc = qcow2_get_refcount_ro(s, block, cluster & ((1LL << s->refcount_block_bits) - 1));
    qcow2_cache_put(s->refcount_cache, &block);
    return 0;
}

/* Change the stored refcount of a cluster (whose refcount block exists) to want. */
static int check_set_refcount(CheckState *cs, int64_t cluster, uint64_t stored, uint64_t want)
{
    BDRVQcow2State *s = cs->s;
    int64_t off = cluster << s->cluster_bits;
    int ret = 0;
    if (want > stored) {
        for (uint64_t d = want - stored; ret == 0 && d > 0;) {
            int step = d > INT_MAX ? INT_MAX : (int)d;
            ret = qcow2_update_cluster_refcount(cs->bs, off, 1, step);
            d -= step;
        }
        return ret;
    }
    uint64_t d = stored - want;
    if (d > INT_MAX) {
        /* Garbage in a wide refcount: store want + 1 directly, then drop the last one. */
        uint64_t rb = s->refcount_table[cluster >> s->refcount_block_bits] & REFT_OFFSET_MASK;
        void *block;
        ret = qcow2_cache_get(cs->bs, s->refcount_cache, rb, &block, true);
        if (ret < 0) {
            return ret;
        }
        qcow2_set_refcount_ro(s, block, cluster & ((1LL << s->refcount_block_bits) - 1),
                              want + 1);
        qcow2_cache_mark_dirty(s->refcount_cache, block);
        qcow2_cache_put(s->refcount_cache, &block);
        d = 1;
    }
    ret = qcow2_update_cluster_refcount(cs->bs, off, 1, -(int)d);
    if (ret == 0 && want == 0) {
        bdrv_pdiscard(cs->bs->file, off, s->cluster_size);   /* as qemu's discard "always" */
    }
    return ret;
}

/* ---- step 1: count the references ---- */

/* Turn an unaligned preallocated zero cluster into a plain zero cluster. */
static int check_zero_l2_entry(CheckState *cs, uint64_t l2_offset, int64_t index, bool active,
                               bool *overlap)
{
    /* With extended L2 entries: no host cluster, every subcluster reads as zeroes. */
    bool ext = qcow2_has_subclusters(cs->s);
    int len = qcow2_l2_entry_size(cs->s);
    uint64_t entry_offset = l2_offset + index * len;
    uint64_t be[2] = { GUINT64_TO_BE(ext ? 0 : QCOW_OFLAG_ZERO), GUINT64_TO_BE(QCOW2_SC_ALL_ZERO) };
    int ret = check_overlap(cs, active ? OL_ACTIVE_L2 : 0, entry_offset, len);
    *overlap = ret < 0;
    if (ret < 0) {
        fprintf(stderr, "ERROR: Overlap check failed\n");
        cs->res->check_errors++;
        return ret;
    }
    ret = bdrv_pwrite_sync(cs->bs->file, entry_offset, len, be);
    if (ret < 0) {
        fprintf(stderr, "ERROR: Failed to overwrite L2 table entry: %s\n", strerror(-ret));
        cs->res->check_errors++;
        return ret;
    }
    qcow2_cache_discard(cs->s->l2_cache, l2_offset);
    cs->res->corruptions--;
    cs->res->corruptions_fixed++;
    return 0;
}

/* A standard (data or preallocated zero) cluster; 1 when it was repaired away. */
static int check_l2_standard(CheckState *cs, uint64_t l2_offset, int64_t index, uint64_t entry,
                             uint64_t bitmap, bool active, int fix)
{
    uint64_t offset = entry & L2E_OFFSET_MASK;
    if (!qcow2_offset_into_cluster(cs->s, offset)) {
        return 0;
    }
    cs->res->corruptions++;
    bool has_data = qcow2_has_subclusters(cs->s) ? (bitmap & QCOW2_SC_ALL_ALLOC) != 0
                                                 : !(entry & QCOW_OFLAG_ZERO);
    if (has_data) {
        fprintf(stderr, "ERROR offset=%" PRIx64 ": Data cluster is not properly aligned; L2 entry "
                "corrupted.\n", offset);
        return 0;
    }
    fprintf(stderr, "%s offset=%" PRIx64 ": Preallocated cluster is not properly aligned; L2 "
            "entry corrupted.\n", (fix & BDRV_FIX_ERRORS) ? "Repairing" : "ERROR", offset);
    if (!(fix & BDRV_FIX_ERRORS)) {
        return 0;
    }
    bool overlap;
    int ret = check_zero_l2_entry(cs, l2_offset, index, active, &overlap);
    if (overlap) {
        return -EIO;
    }
    return ret == 0 ? 1 : 0;
}

static int check_l2(CheckState *cs, uint64_t l2_offset, bool active, int fix)
{
    BDRVQcow2State *s = cs->s;
    BdrvCheckResult *res = cs->res;
    uint8_t *l2 = g_malloc(s->cluster_size);
    int ret = bdrv_pread(cs->bs->file, l2_offset, s->cluster_size, l2, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l2\n");
        res->check_errors++;
        g_free(l2);
        return ret;
    }
    uint64_t next_contiguous = 0;
    for (int64_t i = 0; ret == 0 && i < s->l2_size; i++) {
        uint64_t e = qcow2_l2_entry(s, l2, i);
        uint64_t bitmap = qcow2_l2_bitmap(s, l2, i);
        if (e & QCOW_OFLAG_COMPRESSED) {
            uint64_t coffset;
            int64_t csize;
            if (e & QCOW_OFLAG_COPIED) {
                fprintf(stderr, "ERROR: coffset=0x%" PRIx64 ": copied flag must never be set "
                        "for compressed clusters\n", e & s->cluster_offset_mask);
                res->corruptions++;
            }
            if (bitmap) {
                /* As qemu-img: reported, and its data is not counted (a leak follows). */
                fprintf(stderr, "ERROR compressed cluster %" PRId64 " with non-zero subcluster "
                        "allocation bitmap, entry=0x%" PRIx64 "\n", i, e);
                res->corruptions++;
                continue;
            }
            qcow2_parse_compressed(s, e, &coffset, &csize);
            ret = check_inc(cs, coffset, csize);
            if (active) {
                /* Compressed clusters count as fragmented by nature. */
                res->allocated_clusters++;
                res->compressed_clusters++;
                res->fragmented_clusters++;
            }
            continue;
        }
        if (e & L2E_STD_RESERVED_MASK) {
            fprintf(stderr, "ERROR found l2 entry with reserved bits set: %" PRIx64 "\n", e);
            res->corruptions++;
        }
        uint64_t offset = e & L2E_OFFSET_MASK;
        Qcow2ClusterType t = qcow2_get_cluster_type(s, e);
        if (t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC) {
            if (bitmap & QCOW2_SC_ALL_ALLOC) {
                fprintf(stderr, "ERROR: Unallocated cluster has non-zero subcluster allocation "
                        "map\n");
                res->corruptions++;
            }
            continue;       /* unallocated or plain zero cluster */
        }
        if ((bitmap >> 32) & bitmap) {
            fprintf(stderr, "ERROR offset=%" PRIx64 ": Allocated cluster has corrupted subcluster "
                    "allocation bitmap\n", offset);
            res->corruptions++;
        }
        ret = check_l2_standard(cs, l2_offset, i, e, bitmap, active, fix);
        if (ret != 0) {
            ret = ret > 0 ? 0 : ret;
            continue;
        }
        if (active) {
            res->allocated_clusters++;
            if (next_contiguous && offset != next_contiguous) {
                res->fragmented_clusters++;
            }
            next_contiguous = offset + s->cluster_size;
        }
        if (!qcow2_has_data_file(s)) {
            ret = check_inc(cs, offset, s->cluster_size);
        }
    }
    g_free(l2);
    return ret;
}

static int check_l1(CheckState *cs, uint64_t l1_offset, uint32_t l1_size, bool active, int fix)
{
    BDRVQcow2State *s = cs->s;
    int ret = check_inc(cs, l1_offset, (uint64_t)l1_size * 8);
    if (ret < 0 || l1_size == 0) {
        return ret;
    }
    uint8_t *l1 = g_try_malloc((size_t)l1_size * 8);
    if (!l1) {
        cs->res->check_errors++;
        return -ENOMEM;
    }
    ret = bdrv_pread(cs->bs->file, l1_offset, (int64_t)l1_size * 8, l1, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l1\n");
        cs->res->check_errors++;
        g_free(l1);
        return ret;
    }
    for (uint32_t i = 0; ret == 0 && i < l1_size; i++) {
        uint64_t e = qcow2_l2_get(l1, i);
        if (!e) {
            continue;
        }
        if (e & L1E_RESERVED_MASK) {
            fprintf(stderr, "ERROR found L1 entry with reserved bits set: %" PRIx64 "\n", e);
            cs->res->corruptions++;
        }
        uint64_t l2_offset = e & L1E_OFFSET_MASK;
        ret = check_inc(cs, l2_offset, s->cluster_size);
        if (ret < 0) {
            break;
        }
        if (qcow2_offset_into_cluster(s, l2_offset)) {
            fprintf(stderr, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; L1 entry "
                    "corrupted\n", l2_offset);
            cs->res->corruptions++;
        }
        ret = check_l2(cs, l2_offset, active, fix);
    }
    g_free(l1);
    return ret;
}

/* A refcount block beyond the end of the file: grow the file so that it exists. */
static int check_refblock_outside(CheckState *cs, uint64_t i, uint64_t offset, int fix)
{
    BDRVQcow2State *s = cs->s;
    int ret;
    cs->res->corruptions++;
    fprintf(stderr, "%s refcount block %" PRIu64 " is outside image\n",
            (fix & BDRV_FIX_ERRORS) ? "Repairing" : "ERROR", i);
    if (!(fix & BDRV_FIX_ERRORS)) {
        return 0;
    }
    if (offset > (uint64_t)(INT64_MAX - s->cluster_size)) {
        ret = -EINVAL;
    } else {
        Error *err = NULL;
        ret = bdrv_truncate(cs->bs->file, offset + s->cluster_size, false, PREALLOC_MODE_OFF,
                            &err);
        if (ret < 0) {
            error_free(err);
            error_report("Could not resize file: %s", strerror(-ret));
        } else {
            int64_t len = bdrv_getlength(cs->bs->file);
            ret = len < 0 ? (int)len : 0;
            if (ret == 0) {
                cs->file_len = len;
                ret = refs_resize(cs, qcow2_size_to_clusters(s, len));
                if (ret < 0) {
                    cs->res->check_errors++;
                    return ret;
                }
                if ((offset >> s->cluster_bits) >= (uint64_t)cs->nb_clusters) {
                    ret = -EINVAL;
                }
            }
        }
    }
    if (ret < 0) {
        cs->rebuild = true;
        fprintf(stderr, "ERROR could not resize image: %s\n", strerror(-ret));
        return 0;
    }
    cs->res->corruptions--;
    cs->res->corruptions_fixed++;
    return check_inc(cs, offset, s->cluster_size);
}

/* The refcount blocks themselves; a broken table entry asks for a rebuild. */
static int check_refblocks(CheckState *cs, int fix)
{
    BDRVQcow2State *s = cs->s;
    for (uint64_t i = 0; i < s->refcount_table_size; i++) {
        uint64_t offset = s->refcount_table[i] & REFT_OFFSET_MASK;
        uint64_t cluster = offset >> s->cluster_bits;
        int ret = 0;
        if (s->refcount_table[i] & REFT_RESERVED_MASK) {
            fprintf(stderr, "ERROR refcount table entry %" PRIu64 " has reserved bits set\n", i);
            cs->res->corruptions++;
            cs->rebuild = true;
        } else if (qcow2_offset_into_cluster(s, offset)) {
            fprintf(stderr, "ERROR refcount block %" PRIu64 " is not cluster aligned; refcount "
                    "table entry corrupted\n", i);
            cs->res->corruptions++;
            cs->rebuild = true;
        } else if (cluster >= (uint64_t)cs->nb_clusters) {
            ret = check_refblock_outside(cs, i, offset, fix);
        } else if (offset) {
            ret = check_inc(cs, offset, s->cluster_size);
            if (ret == 0 && cs->refs[cluster] != 1) {
                fprintf(stderr, "ERROR refcount block %" PRIu64 " refcount=%" PRIu32 "\n", i,
                        cs->refs[cluster]);
                cs->res->corruptions++;
                cs->rebuild = true;
            }
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static int check_count_all(CheckState *cs, int fix)
{
    BDRVQcow2State *s = cs->s;
    int ret = check_inc(cs, 0, s->cluster_size);
    if (ret == 0) {
        ret = check_l1(cs, s->l1_table_offset, s->l1_size, true, fix);
    }
    for (uint32_t i = 0; ret == 0 && i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        if (qcow2_offset_into_cluster(s, sn->l1_table_offset)) {
            fprintf(stderr, "ERROR snapshot %s (%s) l1_offset=%#" PRIx64 ": L1 table is not "
                    "cluster aligned; snapshot table entry corrupted\n", sn->id_str, sn->name,
                    sn->l1_table_offset);
            cs->res->corruptions++;
            continue;
        }
        if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8) {
            fprintf(stderr, "ERROR snapshot %s (%s) l1_size=%#" PRIx32 ": L1 table is too large; "
                    "snapshot table entry corrupted\n", sn->id_str, sn->name, sn->l1_size);
            cs->res->corruptions++;
            continue;
        }
        ret = check_l1(cs, sn->l1_table_offset, sn->l1_size, false, fix);
    }
    if (ret == 0) {
        ret = check_inc(cs, s->snapshots_offset, s->snapshots_size);
    }
    if (ret == 0) {
        ret = check_inc(cs, s->refcount_table_offset, (uint64_t)s->refcount_table_size * 8);
    }
    if (ret == 0) {
        ret = check_refblocks(cs, fix);
    }
    return ret;
}

/* ---- step 2: compare, repair in place ---- */

/* First cluster from k on that is counted or has a refcount block (which may say it is used). */
static int64_t check_next_candidate(CheckState *cs, int64_t k)
{
    BDRVQcow2State *s = cs->s;
    while (k < cs->nb_clusters) {
        uint64_t rt_index = (uint64_t)k >> s->refcount_block_bits;
        if (rt_index < s->refcount_table_size && (s->refcount_table[rt_index] & REFT_OFFSET_MASK)) {
            return k;
        }
        int64_t end = MIN(cs->nb_clusters, (int64_t)((rt_index + 1) << s->refcount_block_bits));
        while (k < end && !cs->refs[k]) {
            k++;
        }
        if (k < end) {
            return k;
        }
    }
    return k;
}

static void check_compare(CheckState *cs, int fix, int64_t *highest)
{
    BdrvCheckResult *res = cs->res;
    for (int64_t k = 0; (k = check_next_candidate(cs, k)) < cs->nb_clusters; k++) {
        uint64_t stored;
        int ret = check_get_refcount(cs, k, &stored);
        if (ret < 0) {
            fprintf(stderr, "Can't get refcount for cluster %" PRId64 ": %s\n", k,
                    strerror(-ret));
            res->check_errors++;
            continue;
        }
        uint64_t counted = cs->refs[k];
        if (stored > 0 || counted > 0) {
            *highest = k;
        }
        if (stored == counted) {
            continue;
        }
        int *fixed = NULL;
        if (stored == 0) {
            cs->rebuild = true;
        } else if (stored > counted && (fix & BDRV_FIX_LEAKS)) {
            fixed = &res->leaks_fixed;
        } else if (stored < counted && (fix & BDRV_FIX_ERRORS)) {
            fixed = &res->corruptions_fixed;
        }
        fprintf(stderr, "%s cluster %" PRId64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
                fixed ? "Repairing" : stored < counted ? "ERROR" : "Leaked", k, stored, counted);
        if (fixed && check_set_refcount(cs, k, stored, counted) == 0) {
            (*fixed)++;
            continue;
        }
        if (stored < counted) {
            res->corruptions++;
        } else {
            res->leaks++;
        }
    }
}

/* ---- step 2b: rebuild the refcount structure ---- */

/* Reserve count free clusters in the array from *first_free on, appending at the end. */
static int64_t check_alloc(CheckState *cs, int64_t count, int64_t *first_free)
{
    int64_t cluster = *first_free;
    int64_t contiguous = 0;
    bool first_gap = true;
    for (; cluster < cs->nb_clusters && contiguous < count; cluster++) {
        if (cs->refs[cluster]) {
            contiguous = 0;
            continue;
        }
        contiguous++;
        if (first_gap) {
            *first_free = cluster;
            first_gap = false;
        }
    }
    if (contiguous < count) {
        int ret = refs_resize(cs, cluster + count - contiguous);
        if (ret < 0) {
            return ret;
        }
    }
    cluster -= contiguous;
    for (int64_t i = 0; i < count; i++) {
        cs->refs[cluster + i] = 1;
    }
    return cluster << cs->s->cluster_bits;
}

typedef struct NewReftable {
    uint64_t *table;         /* host order */
    uint64_t entries;
} NewReftable;

/* Write the refcount block of every block range in [first, end) holding a counted
 * cluster, allocating those not yet placed.  1 if the new table had to grow. */
static int check_write_refblocks(CheckState *cs, int64_t first, int64_t end, NewReftable *rt,
                                 Error **errp)
{
    BDRVQcow2State *s = cs->s;
    int64_t per_block = 1LL << s->refcount_block_bits;
    int64_t first_free = 0;
    bool grown = false;
    uint8_t *buf = g_malloc(s->cluster_size);
    int ret = 0;
    for (int64_t cluster = first; cluster < end; cluster++) {
        if (!cs->refs[cluster]) {
            continue;
        }
        uint64_t index = cluster >> s->refcount_block_bits;
        int64_t start = index << s->refcount_block_bits;
        int64_t offset;
        if (index < rt->entries && rt->table[index]) {
            offset = rt->table[index];
        } else {
            /* Never place it in a range whose block is already written. */
            first_free = MAX(first_free, start);
            offset = check_alloc(cs, 1, &first_free);
            if (offset < 0) {
                ret = (int)offset;
                error_setg_errno(errp, -ret, "ERROR allocating refblock");
                break;
            }
            end = MAX(end, (offset >> s->cluster_bits) + 1);
            if (index >= rt->entries) {
                uint64_t n = qcow2_align_up((index + 1) * 8, s->cluster_size) / 8;
                rt->table = g_renew(uint64_t, rt->table, n);
                memset(rt->table + rt->entries, 0, (n - rt->entries) * 8);
                rt->entries = n;
                grown = true;
            }
            rt->table[index] = offset;
        }
        memset(buf, 0, s->cluster_size);
        for (int64_t j = 0; j < per_block && start + j < cs->nb_clusters; j++) {
            qcow2_set_refcount_ro(s, buf, j, cs->refs[start + j]);
        }
        ret = check_overlap(cs, 0, offset, s->cluster_size);
        if (ret == 0) {
            ret = bdrv_pwrite(cs->bs->file, offset, s->cluster_size, buf, 0);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "ERROR writing refblock");
            break;
        }
        cluster = start + per_block - 1;
    }
    g_free(buf);
    return ret < 0 ? ret : grown;
}

static int check_rebuild(CheckState *cs, Error **errp)
{
    BDRVQcow2State *s = cs->s;
    NewReftable rt = { 0 };
    int64_t rt_offset = 0, rt_clusters = 0;
    /* Cached blocks of the old structure must not be written back over the new one. */
    for (uint32_t i = 0; i < s->refcount_table_size; i++) {
        qcow2_cache_discard(s->refcount_cache, s->refcount_table[i] & REFT_OFFSET_MASK);
    }
    int ret = check_write_refblocks(cs, 0, cs->nb_clusters, &rt, errp);
    /* Place the table; if that needs a new block the table may grow: place it again
     * (the abandoned place becomes a leak freed after the rebuild). */
    while (ret > 0) {
        int64_t first_free = 0;
        rt_clusters = qcow2_size_to_clusters(s, rt.entries * 8);
        rt_offset = check_alloc(cs, rt_clusters, &first_free);
        if (rt_offset < 0) {
            ret = (int)rt_offset;
            error_setg_errno(errp, -ret, "ERROR allocating reftable");
            break;
        }
        int64_t start = rt_offset >> s->cluster_bits;
        ret = check_write_refblocks(cs, start, start + rt_clusters, &rt, errp);
    }
    if (ret == 0 && (rt_clusters == 0 || rt_clusters > UINT32_MAX)) {
        error_setg(errp, "ERROR allocating reftable");
        ret = -EFBIG;
    }
    if (ret < 0) {
        cs->res->check_errors++;
        g_free(rt.table);
        return ret;
    }
    uint64_t *be = g_malloc0(rt_clusters * s->cluster_size);
    for (uint64_t i = 0; i < rt.entries; i++) {
        qcow2_l2_set(be, i, rt.table[i]);
    }
    ret = check_overlap(cs, 0, rt_offset, rt.entries * 8);
    if (ret == 0) {
        ret = bdrv_pwrite(cs->bs->file, rt_offset, rt.entries * 8, be, 0);
    }
    g_free(be);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "ERROR writing reftable");
        g_free(rt.table);
        return ret;
    }
    uint8_t hdr[12];
    stq_be_p(hdr, rt_offset);
    stl_be_p(hdr + 8, (uint32_t)rt_clusters);
    ret = bdrv_pwrite_sync(cs->bs->file, 48, sizeof(hdr), hdr);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "ERROR setting reftable");
        g_free(rt.table);
        return ret;
    }
    g_free(s->refcount_table);
    s->refcount_table = rt.table;
    s->refcount_table_offset = rt_offset;
    s->refcount_table_size = rt.entries;
    s->free_cluster_index = 0;
    return 0;
}

/* Rebuild, recount against the new structure, and free what the old one used. */
static int check_rebuild_and_recount(CheckState *cs, int64_t *highest)
{
    BdrvCheckResult *res = cs->res;
    BdrvCheckResult old = *res;
    int fresh_leaks = 0;
    Error *err = NULL;
    fprintf(stderr, "Rebuilding refcount structure\n");
    int ret = check_rebuild(cs, &err);
    if (ret < 0) {
        error_report_err(err);
        return ret;
    }
    cs->file_len = bdrv_getlength(cs->bs->file);
    if (cs->file_len < 0) {
        res->check_errors++;
        return (int)cs->file_len;
    }
    res->corruptions = 0;
    res->leaks = 0;
    cs->rebuild = false;
    /* A fresh zeroed array rather than memset: untouched pages of a huge one stay free. */
    g_free(cs->refs);
    cs->refs = g_try_new0(uint32_t, cs->refs_alloc);
    if (!cs->refs) {
        res->check_errors++;
        return -ENOMEM;
    }
    ret = check_count_all(cs, 0);
    if (ret < 0) {
        return ret;
    }
    if (cs->fix & BDRV_FIX_LEAKS) {
        /* Leaks now are the old structure's clusters: free them, count only those left. */
        BdrvCheckResult saved = *res;
        memset(res, 0, sizeof(*res));
        check_compare(cs, BDRV_FIX_LEAKS, highest);
        if (cs->rebuild) {
            fprintf(stderr, "ERROR rebuilt refcount structure is still broken\n");
        }
        fresh_leaks = res->leaks;
        *res = saved;
    }
    if (res->corruptions < old.corruptions) {
        res->corruptions_fixed += old.corruptions - res->corruptions;
    }
    if (res->leaks < old.leaks) {
        res->leaks_fixed += old.leaks - res->leaks;
    }
    res->leaks += fresh_leaks;
    return 0;
}

/* ---- step 3: COPIED flags of the active tables ---- */

static int check_write_l1_entry(CheckState *cs, uint32_t index)
{
    BDRVQcow2State *s = cs->s;
    /* Whole 512-byte chunk of the table around the entry, as qemu writes it. */
    uint32_t start = index & ~63u;
    uint32_t n = MIN(64u, s->l1_size - start);
    uint64_t buf[64];
    for (uint32_t i = 0; i < n; i++) {
        qcow2_l2_set(buf, i, s->l1_table[start + i]);
    }
    uint64_t offset = s->l1_table_offset + (uint64_t)start * 8;
    int ret = check_overlap(cs, OL_ACTIVE_L1, offset, n * 8);
    if (ret == 0) {
        ret = bdrv_pwrite_sync(cs->bs->file, offset, n * 8, buf);
    }
    return ret;
}

static int check_oflag_copied_l2(CheckState *cs, uint64_t l2_offset, bool repair, uint8_t *l2)
{
    BDRVQcow2State *s = cs->s;
    BdrvCheckResult *res = cs->res;
    int dirty = 0;
    int ret = bdrv_pread(cs->bs->file, l2_offset, s->cluster_size, l2, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: Could not read L2 table: %s\n", strerror(-ret));
        res->check_errors++;
        return ret;
    }
    for (int64_t j = 0; j < s->l2_size; j++) {
        uint64_t e = qcow2_l2_entry(s, l2, j);
        uint64_t rc = 1;        /* data file clusters: implicitly 1 */
        Qcow2ClusterType t = qcow2_get_cluster_type(s, e);
        if ((t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC) ||
            (!qcow2_has_data_file(s) &&
             check_get_refcount(cs, (e & L2E_OFFSET_MASK) >> s->cluster_bits, &rc) < 0)) {
            continue;
        }
        if ((rc == 1) == !!(e & QCOW_OFLAG_COPIED)) {
            continue;
        }
        res->corruptions++;
        fprintf(stderr, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64 " refcount=%" PRIu64
                "\n", repair ? "Repairing" : "ERROR", e, rc);
        if (repair) {
            qcow2_l2_set_entry(s, l2, j, rc == 1 ? e | QCOW_OFLAG_COPIED : e & ~QCOW_OFLAG_COPIED);
            dirty++;
        }
    }
    if (!dirty) {
        return 0;
    }
    ret = check_overlap(cs, OL_ACTIVE_L2, l2_offset, s->cluster_size);
    if (ret < 0) {
        fprintf(stderr, "ERROR: Could not write L2 table; metadata overlap check failed: %s\n",
                strerror(-ret));
        res->check_errors++;
        return ret;
    }
    ret = bdrv_pwrite(cs->bs->file, l2_offset, s->cluster_size, l2, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: Could not write L2 table: %s\n", strerror(-ret));
        res->check_errors++;
        return ret;
    }
    qcow2_cache_discard(s->l2_cache, l2_offset);
    res->corruptions -= dirty;
    res->corruptions_fixed += dirty;
    return 0;
}

static int check_oflag_copied(CheckState *cs, int fix)
{
    BDRVQcow2State *s = cs->s;
    BdrvCheckResult *res = cs->res;
    bool repair;
    if (fix & BDRV_FIX_ERRORS) {
        repair = true;
    } else if (fix & BDRV_FIX_LEAKS) {
        /* Only when the refcounts are known good after their own repair. */
        repair = !res->check_errors && !res->corruptions && !res->leaks;
    } else {
        repair = false;
    }
    uint8_t *l2 = g_malloc(s->cluster_size);
    int ret = 0;
    for (uint32_t i = 0; ret == 0 && i < s->l1_size; i++) {
        uint64_t e = s->l1_table[i];
        uint64_t l2_offset = e & L1E_OFFSET_MASK;
        uint64_t rc;
        if (!l2_offset || check_get_refcount(cs, l2_offset >> s->cluster_bits, &rc) < 0) {
            continue;
        }
        if ((rc == 1) != !!(e & QCOW_OFLAG_COPIED)) {
            res->corruptions++;
            fprintf(stderr, "%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
                    " refcount=%" PRIu64 "\n", repair ? "Repairing" : "ERROR", i, e, rc);
            if (repair) {
                s->l1_table[i] = rc == 1 ? e | QCOW_OFLAG_COPIED : e & ~QCOW_OFLAG_COPIED;
                ret = check_write_l1_entry(cs, i);
                if (ret < 0) {
                    res->check_errors++;
                    break;
                }
                res->corruptions--;
                res->corruptions_fixed++;
            }
        }
        ret = check_oflag_copied_l2(cs, l2_offset, repair, l2);
    }
    g_free(l2);
    return ret;
}

/* ---- driver entry ---- */

/* After a clean repair: clear the dirty and corrupt bits (qemu-img does for -r leaks too). */
static int check_mark_clean(CheckState *cs)
{
    BDRVQcow2State *s = cs->s;
    int ret = qcow2_mark_clean(cs->bs);
    if (ret < 0 || !(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
        return ret;
    }
    ret = qcow2_flush_caches(cs->bs);
    if (ret < 0) {
        return ret;
    }
    s->incompatible_features &= ~QCOW2_INCOMPAT_CORRUPT;
    if (s->qcow_version < 3) {
        return 0;
    }
    uint64_t be = GUINT64_TO_BE(s->incompatible_features);
    return bdrv_pwrite_sync(cs->bs->file, 72, 8, &be);
}

static int check_run(CheckState *cs)
{
    BdrvCheckResult *res = cs->res;
    int fix = cs->fix;
    int64_t highest = 0;
    int ret = check_count_all(cs, fix);
    if (ret < 0) {
        return ret;
    }
    /* Without a rebuild the comparison is repeated with repairs: keep this state. */
    BdrvCheckResult before = *res;
    check_compare(cs, 0, &highest);
    if (cs->rebuild && (fix & BDRV_FIX_ERRORS)) {
        ret = check_rebuild_and_recount(cs, &highest);
        if (ret < 0) {
            return ret;
        }
    } else if (fix) {
        if (cs->rebuild) {
            fprintf(stderr, "ERROR need to rebuild refcount structures\n");
            res->check_errors++;
            return -EIO;
        }
        if (res->leaks || res->corruptions) {
            *res = before;
            check_compare(cs, fix, &highest);
        }
    }
    ret = check_oflag_copied(cs, fix);
    if (ret < 0) {
        return ret;
    }
    res->image_end_offset = (highest + 1) << cs->s->cluster_bits;
    return 0;
}

int qcow2_check_refcounts(BlockDriverState *bs, BdrvCheckResult *res, int fix)
{
    BDRVQcow2State *s = bs->opaque;
    if (check_image_dead(bs)) {
        return -ENOMEDIUM;
    }
    if (bs->read_only) {
        fix = 0;
    }
    int ret = qcow2_flush_caches(bs);
    if (ret < 0) {
        res->check_errors++;
        return ret;
    }
    if (s->nb_snapshots == 0 && (s->snapshots_offset > INT64_MAX ||
                                 qcow2_offset_into_cluster(s, s->snapshots_offset))) {
        /* An empty table is not read at open, but qemu-img check validates its offset. */
        error_report("ERROR snapshot table offset invalid");
        res->check_errors++;
        return -EINVAL;
    }
    CheckState cs = { .bs = bs, .s = s, .res = res, .fix = fix };
    if (fix) {
        /* Repairs raise and rebuild refcounts behind the compressed byte allocator:
         * its next compressed cluster starts afresh. */
        s->free_byte_offset = 0;
        s->free_byte_claimed = false;
    }
    cs.file_len = bdrv_getlength(bs->file);
    if (cs.file_len < 0) {
        res->check_errors++;
        return (int)cs.file_len;
    }
    cs.refs_max = (uint32_t)MIN(s->refcount_max, (uint64_t)UINT32_MAX);
    int64_t nb = qcow2_size_to_clusters(s, cs.file_len);
    if (nb > CHECK_MAX_CLUSTERS) {
        res->check_errors++;
        return -EFBIG;
    }
    if (refs_resize(&cs, nb) < 0) {
        res->check_errors++;
        return -ENOMEM;
    }
    res->has_clusters = true;
    res->total_clusters = qcow2_size_to_clusters(s, bs->total_size);

    ret = check_run(&cs);
    g_free(cs.refs);
    if (check_image_dead(bs)) {
        /* qemu never writes back what is still cached once the image is unusable. */
        for (uint32_t i = 0; i < s->refcount_table_size; i++) {
            qcow2_cache_discard(s->refcount_cache, s->refcount_table[i] & REFT_OFFSET_MASK);
        }
        return ret;
    }
    if (ret == 0 && fix) {
        ret = qcow2_flush_caches(bs);
        if (ret == 0) {
            ret = bdrv_flush(bs->file);
        }
        if (ret == 0 && !res->check_errors && !res->corruptions) {
            ret = check_mark_clean(&cs);
        }
    }
    return ret;
}
