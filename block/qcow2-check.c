/*
 * qcow2 consistency check (what `qemu-img check` does for qcow2): recount every
 * reference to every host cluster from the metadata (header, L1/L2 tables of the
 * active image and of each snapshot, data and compressed clusters, refcount
 * table and blocks, snapshot table), compare with the stored refcounts, report
 * leaks and corruptions with qemu-img's messages, and optionally repair them.
 * The image is untrusted: every table offset is checked before it is read.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CHECK_MAX_CLUSTERS (1LL << 31)

typedef struct CheckState {
    uint32_t *refs;
    int64_t nb_clusters;
    BdrvCheckResult *res;
} CheckState;

static inline uint64_t be64_at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

static void check_inc(BlockDriverState *bs, CheckState *cs, uint64_t offset, uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    if (size == 0) {
        return;
    }
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + size - 1) >> s->cluster_bits;
    if (last >= (uint64_t)cs->nb_clusters) {
        fprintf(stderr, "ERROR: counting reference for region exceeding the end of the file by "
                "one cluster or more: offset 0x%" PRIx64 " size 0x%" PRIx64 "\n", offset, size);
        cs->res->corruptions++;
        if (first >= (uint64_t)cs->nb_clusters) {
            return;
        }
        last = cs->nb_clusters - 1;
    }
    for (uint64_t k = first; k <= last; k++) {
        if (cs->refs[k] != UINT32_MAX) {
            cs->refs[k]++;
        }
    }
}

/* Count the references of one L2 table; active adds statistics and COPIED checks. */
static int check_l2(BlockDriverState *bs, CheckState *cs, uint64_t l2_offset, bool active,
                    int64_t *next_contiguous)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *l2 = g_malloc(s->cluster_size);
    int ret = bdrv_pread(bs->file, l2_offset, s->cluster_size, l2, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l2\n");
        cs->res->check_errors++;
        g_free(l2);
        return ret;
    }
    for (int64_t i = 0; i < s->l2_size; i++) {
        uint64_t e = be64_at(l2 + i * 8);
        switch (qcow2_get_cluster_type(s, e)) {
        case QCOW2_CLUSTER_COMPRESSED: {
            uint64_t coffset;
            int64_t csize;
            if (e & QCOW_OFLAG_COPIED) {
                fprintf(stderr, "ERROR: coffset=0x%" PRIx64 ": copied flag must never be set "
                        "for compressed clusters\n", e & s->cluster_offset_mask);
                cs->res->corruptions++;
            }
            qcow2_parse_compressed(s, e, &coffset, &csize);
            if (active) {
                /* Compressed clusters count as fragmented by nature. */
                cs->res->allocated_clusters++;
                cs->res->compressed_clusters++;
                cs->res->fragmented_clusters++;
            }
            check_inc(bs, cs, coffset, csize);
            break;
        }
        case QCOW2_CLUSTER_NORMAL:
        case QCOW2_CLUSTER_ZERO_ALLOC: {
            uint64_t off = e & L2E_OFFSET_MASK;
            if (active) {
                cs->res->allocated_clusters++;
                if (*next_contiguous && (int64_t)off != *next_contiguous) {
                    cs->res->fragmented_clusters++;
                }
                *next_contiguous = off + s->cluster_size;
            }
            if (off & (s->cluster_size - 1)) {
                fprintf(stderr, "ERROR offset=%" PRIx64 ": Cluster is not properly aligned; "
                        "L2 entry corrupted.\n", off);
                cs->res->corruptions++;
                break;
            }
            check_inc(bs, cs, off, s->cluster_size);
            break;
        }
        default:
            break;
        }
    }
    g_free(l2);
    return 0;
}

static int check_l1(BlockDriverState *bs, CheckState *cs, uint64_t l1_offset, uint32_t l1_size,
                    bool active)
{
    BDRVQcow2State *s = bs->opaque;
    check_inc(bs, cs, l1_offset, (uint64_t)l1_size * 8);
    if (l1_size == 0) {
        return 0;
    }
    uint8_t *l1 = g_malloc((size_t)l1_size * 8);
    int ret = bdrv_pread(bs->file, l1_offset, (int64_t)l1_size * 8, l1, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l1\n");
        cs->res->check_errors++;
        g_free(l1);
        return ret;
    }
    int64_t next_contiguous = 0;
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t e = be64_at(l1 + (size_t)i * 8);
        uint64_t l2_offset = e & L1E_OFFSET_MASK;
        if (!l2_offset) {
            continue;
        }
        check_inc(bs, cs, l2_offset, s->cluster_size);
        if (l2_offset & (s->cluster_size - 1)) {
            fprintf(stderr, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; L1 entry "
                    "corrupted\n", l2_offset);
            cs->res->corruptions++;
            continue;
        }
        if ((l2_offset >> s->cluster_bits) >= (uint64_t)cs->nb_clusters) {
            continue;    /* already reported by check_inc */
        }
        ret = check_l2(bs, cs, l2_offset, active, &next_contiguous);
        if (ret < 0) {
            g_free(l1);
            return ret;
        }
    }
    g_free(l1);
    return 0;
}

/* Check the COPIED flags of the active tables against the stored refcounts. */
static void check_oflag_copied(BlockDriverState *bs, CheckState *cs)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *l2 = g_malloc(s->cluster_size);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t e = s->l1_table[i];
        uint64_t l2_offset = e & L1E_OFFSET_MASK;
        if (!l2_offset || (l2_offset & (s->cluster_size - 1)) ||
            (l2_offset >> s->cluster_bits) >= (uint64_t)cs->nb_clusters) {
            continue;
        }
        uint64_t rc;
        if (qcow2_get_refcount(bs, l2_offset >> s->cluster_bits, &rc) < 0) {
            cs->res->check_errors++;
            continue;
        }
        if ((rc == 1) != !!(e & QCOW_OFLAG_COPIED)) {
            fprintf(stderr, "ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
                    " refcount=%" PRIu64 "\n", i, e, rc);
            cs->res->corruptions++;
        }
        if (bdrv_pread(bs->file, l2_offset, s->cluster_size, l2, 0) < 0) {
            cs->res->check_errors++;
            continue;
        }
        for (int64_t j = 0; j < s->l2_size; j++) {
            uint64_t le = be64_at(l2 + j * 8);
            Qcow2ClusterType t = qcow2_get_cluster_type(s, le);
            if (t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC) {
                continue;
            }
            uint64_t off = le & L2E_OFFSET_MASK;
            if ((off & (s->cluster_size - 1)) ||
                (off >> s->cluster_bits) >= (uint64_t)cs->nb_clusters) {
                continue;
            }
            if (qcow2_get_refcount(bs, off >> s->cluster_bits, &rc) < 0) {
                cs->res->check_errors++;
                continue;
            }
            if ((rc == 1) != !!(le & QCOW_OFLAG_COPIED)) {
                fprintf(stderr, "ERROR OFLAG_COPIED data cluster: l2_entry=%" PRIx64
                        " refcount=%" PRIu64 "\n", le, rc);
                cs->res->corruptions++;
            }
        }
    }
    g_free(l2);
}

/* Set the stored refcount of one cluster (repair). */
static int check_set_refcount(BlockDriverState *bs, int64_t cluster, uint64_t stored,
                              uint64_t want)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t off = cluster << s->cluster_bits;
    int ret = 0;
    while (ret == 0 && stored < want) {
        ret = qcow2_update_cluster_refcount(bs, off, 1, 1);
        stored++;
    }
    while (ret == 0 && stored > want) {
        ret = qcow2_update_cluster_refcount(bs, off, 1, -1);
        stored--;
    }
    return ret;
}

int qcow2_check_refcounts(BlockDriverState *bs, BdrvCheckResult *res, int fix)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_flush_caches(bs);
    if (ret < 0) {
        res->check_errors++;
        return ret;
    }
    int64_t flen = bdrv_getlength(bs->file);
    if (flen < 0) {
        res->check_errors++;
        return (int)flen;
    }
    CheckState cs = { .res = res };
    cs.nb_clusters = qcow2_size_to_clusters(s, flen);
    if (cs.nb_clusters > CHECK_MAX_CLUSTERS) {
        res->check_errors++;
        return -EFBIG;
    }
    cs.refs = g_try_new0(uint32_t, cs.nb_clusters ? cs.nb_clusters : 1);
    if (!cs.refs) {
        res->check_errors++;
        return -ENOMEM;
    }
    res->has_clusters = true;
    res->total_clusters = qcow2_size_to_clusters(s, bs->total_size);

    check_inc(bs, &cs, 0, s->cluster_size);
    ret = check_l1(bs, &cs, s->l1_table_offset, s->l1_size, true);
    for (uint32_t i = 0; ret == 0 && i < s->nb_snapshots; i++) {
        ret = check_l1(bs, &cs, s->snapshots[i].l1_table_offset, s->snapshots[i].l1_size, false);
    }
    if (ret < 0) {
        g_free(cs.refs);
        return 0;
    }
    check_inc(bs, &cs, s->snapshots_offset, s->snapshots_size);
    check_inc(bs, &cs, s->refcount_table_offset, (uint64_t)s->refcount_table_size * 8);
    for (uint32_t i = 0; i < s->refcount_table_size; i++) {
        uint64_t off = s->refcount_table[i] & REFT_OFFSET_MASK;
        if (!off) {
            continue;
        }
        if (off & (s->cluster_size - 1)) {
            fprintf(stderr, "ERROR refcount block %u is not cluster aligned; refcount table "
                    "entry corrupted\n", i);
            res->corruptions++;
            s->refcount_table[i] = 0;   /* never follow it */
            continue;
        }
        if ((off >> s->cluster_bits) >= (uint64_t)cs.nb_clusters) {
            fprintf(stderr, "ERROR refcount block %u is outside image\n", i);
            res->corruptions++;
            s->refcount_table[i] = 0;
            continue;
        }
        check_inc(bs, &cs, off, s->cluster_size);
    }

    /* Compare over the clusters of the file (as qemu-img does). */
    int64_t highest = 0;
    int64_t limit = cs.nb_clusters;
    for (int64_t k = 0; k < limit; k++) {
        uint64_t stored;
        uint64_t computed = k < cs.nb_clusters ? cs.refs[k] : 0;
        uint64_t rt_index = (uint64_t)k >> s->refcount_block_bits;
        if (rt_index >= s->refcount_table_size || !s->refcount_table[rt_index]) {
            stored = 0;
            if (computed == 0) {
                /* Skip the rest of an absent block quickly. */
                int64_t next = (int64_t)((rt_index + 1) << s->refcount_block_bits) - 1;
                int64_t j = k;
                while (j < next && j + 1 < limit &&
                       (j + 1 >= cs.nb_clusters || cs.refs[j + 1] == 0)) {
                    j++;
                }
                k = j;
                continue;
            }
        } else if (qcow2_get_refcount(bs, k, &stored) < 0) {
            fprintf(stderr, "Can't get refcount for cluster %" PRId64 "\n", k);
            res->check_errors++;
            continue;
        }
        if (computed > 0 || stored > 0) {
            highest = k;
        }
        if (stored == computed) {
            continue;
        }
        bool is_leak = stored > computed;
        bool repair = is_leak ? (fix & BDRV_FIX_LEAKS) : (fix & BDRV_FIX_ERRORS);
        fprintf(stderr, "%s cluster %" PRId64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
                repair ? "Repairing" : is_leak ? "Leaked" : "ERROR", k, stored, computed);
        if (is_leak) {
            res->leaks++;
        } else {
            res->corruptions++;
        }
        if (repair && !bs->read_only && check_set_refcount(bs, k, stored, computed) == 0) {
            if (is_leak) {
                res->leaks_fixed++;
            } else {
                res->corruptions_fixed++;
            }
        }
    }
    check_oflag_copied(bs, &cs);
    res->image_end_offset = (highest + 1) << s->cluster_bits;
    g_free(cs.refs);
    if (fix && !bs->read_only) {
        ret = qcow2_flush_caches(bs);
        if (ret == 0) {
            ret = bdrv_flush(bs->file);
        }
        if (ret < 0) {
            res->check_errors++;
        }
    }
    return 0;
}
