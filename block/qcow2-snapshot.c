/*
 * qcow2 internal snapshot table (qcow2 spec "Snapshots"): reading and validating
 * the table and listing it.  Entries are variable-sized; every length is checked
 * against the table bounds before use.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>

#define QCOW2_SNAPSHOT_HEADER 40
#define QCOW2_MAX_SNAPSHOT_EXTRA 1024
#define QCOW2_MAX_SNAPSHOT_TABLE (64 * 1024 * 1024)

void qcow2_free_snapshots(BDRVQcow2State *s)
{
    for (uint32_t i = 0; s->snapshots && i < s->nb_snapshots; i++) {
        g_free(s->snapshots[i].id_str);
        g_free(s->snapshots[i].name);
        g_free(s->snapshots[i].unknown_extra);
    }
    g_free(s->snapshots);
    s->snapshots = NULL;
}

int qcow2_read_snapshots(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    s->snapshots_size = 0;
    if (s->nb_snapshots == 0) {
        s->snapshots = NULL;
        return 0;
    }
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
        error_setg(errp, "Too many snapshots");
        return -EFBIG;
    }
    if (s->snapshots_offset & (s->cluster_size - 1)) {
        error_setg(errp, "Snapshot table offset invalid");
        return -EINVAL;
    }
    int64_t flen = bdrv_getlength(bs->file);
    if (flen < 0) {
        return (int)flen;
    }
    if (s->snapshots_offset >= (uint64_t)flen) {
        error_setg(errp, "Snapshot table is beyond the end of the image file");
        return -EINVAL;
    }
    /* Read the whole possible table extent once (bounded), then parse. */
    uint64_t avail = MIN((uint64_t)flen - s->snapshots_offset, QCOW2_MAX_SNAPSHOT_TABLE);
    uint8_t *buf = g_malloc(avail);
    int ret = bdrv_pread(bs->file, s->snapshots_offset, avail, buf, 0);
    if (ret < 0) {
        g_free(buf);
        error_setg_errno(errp, -ret, "Failed to read snapshot table");
        return ret;
    }
    s->snapshots = g_new0(Qcow2Snapshot, s->nb_snapshots);
    uint64_t pos = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        pos = (pos + 7) & ~7ULL;
        if (pos + QCOW2_SNAPSHOT_HEADER > avail) {
            goto truncated;
        }
        const uint8_t *h = buf + pos;
        uint64_t v64;
        uint32_t v32;
        uint16_t v16;
        memcpy(&v64, h, 8);
        sn->l1_table_offset = GUINT64_FROM_BE(v64);
        memcpy(&v32, h + 8, 4);
        sn->l1_size = GUINT32_FROM_BE(v32);
        memcpy(&v16, h + 12, 2);
        uint16_t id_len = GUINT16_FROM_BE(v16);
        memcpy(&v16, h + 14, 2);
        uint16_t name_len = GUINT16_FROM_BE(v16);
        memcpy(&v32, h + 16, 4);
        sn->date_sec = GUINT32_FROM_BE(v32);
        memcpy(&v32, h + 20, 4);
        sn->date_nsec = GUINT32_FROM_BE(v32);
        memcpy(&v64, h + 24, 8);
        sn->vm_clock_nsec = GUINT64_FROM_BE(v64);
        memcpy(&v32, h + 32, 4);
        sn->vm_state_size = GUINT32_FROM_BE(v32);
        memcpy(&v32, h + 36, 4);
        sn->extra_data_size = GUINT32_FROM_BE(v32);
        pos += QCOW2_SNAPSHOT_HEADER;
        if (sn->extra_data_size > QCOW2_MAX_SNAPSHOT_EXTRA) {
            error_setg(errp, "Too much extra metadata in snapshot table entry %u", i);
            goto fail;
        }
        if (pos + sn->extra_data_size + id_len + name_len > avail) {
            goto truncated;
        }
        const uint8_t *extra = buf + pos;
        sn->icount = UINT64_MAX;
        sn->disk_size = bs->total_size;
        if (sn->extra_data_size >= 8) {
            memcpy(&v64, extra, 8);
            sn->vm_state_size = GUINT64_FROM_BE(v64);
        }
        if (sn->extra_data_size >= 16) {
            memcpy(&v64, extra + 8, 8);
            sn->disk_size = GUINT64_FROM_BE(v64);
        }
        if (sn->extra_data_size >= 24) {
            memcpy(&v64, extra + 16, 8);
            sn->icount = GUINT64_FROM_BE(v64);
        }
        if (sn->extra_data_size > 24) {
            sn->unknown_extra = g_memdup2(extra + 24, sn->extra_data_size - 24);
        }
        pos += sn->extra_data_size;
        sn->id_str = g_strndup((const char *)buf + pos, id_len);
        pos += id_len;
        sn->name = g_strndup((const char *)buf + pos, name_len);
        pos += name_len;
        if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8) {
            error_setg(errp, "Snapshot L1 table too large");
            goto fail;
        }
        if (sn->l1_table_offset & (s->cluster_size - 1)) {
            error_setg(errp, "Snapshot L1 table offset invalid");
            goto fail;
        }
        if (sn->l1_size && sn->l1_table_offset + (uint64_t)sn->l1_size * 8 > (uint64_t)flen) {
            error_setg(errp, "Snapshot L1 table is beyond the end of the image file");
            goto fail;
        }
    }
    s->snapshots_size = (pos + 7) & ~7ULL;
    g_free(buf);
    return 0;
truncated:
    error_setg(errp, "Snapshot table is truncated");
fail:
    g_free(buf);
    qcow2_free_snapshots(s);
    return -EINVAL;
}

int qcow2_snapshot_list(BlockDriverState *bs, BlockSnapshotInfo **list)
{
    BDRVQcow2State *s = bs->opaque;
    BlockSnapshotInfo *l = g_new0(BlockSnapshotInfo, s->nb_snapshots ? s->nb_snapshots : 1);
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        l[i].id = g_strdup(sn->id_str);
        l[i].name = g_strdup(sn->name);
        l[i].vm_state_size = sn->vm_state_size;
        l[i].date_sec = sn->date_sec;
        l[i].date_nsec = sn->date_nsec;
        l[i].vm_clock_nsec = sn->vm_clock_nsec;
        l[i].icount = sn->icount;
    }
    *list = l;
    return (int)s->nb_snapshots;
}

/* ---- creating, applying and deleting snapshots ---- */

/*
 * Add `addend` (-1, 0, +1) to the refcount of every L2 table and data cluster the
 * host-endian L1 table references, then recompute the COPIED flags (set exactly
 * when the refcount is 1) in the L2 tables and in l1.  *l1_changed tells the
 * caller to write l1 back.
 */
static int qcow2_walk_l1(BlockDriverState *bs, uint64_t *l1, uint32_t l1_size, int addend,
                         bool *l1_changed)
{
    BDRVQcow2State *s = bs->opaque;
    *l1_changed = false;
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;
        if (!l2_off) {
            continue;
        }
        if (l2_off & (s->cluster_size - 1)) {
            return qcow2_signal_corruption(bs, "L2 table offset %#" PRIx64 " unaligned (L1 "
                                           "index: %#" PRIx32 ")", l2_off, i);
        }
        void *l2;
        int ret = qcow2_cache_get(bs, s->l2_cache, l2_off, &l2, true);
        if (ret < 0) {
            return ret;
        }
        for (int64_t j = 0; j < s->l2_size; j++) {
            uint64_t e = qcow2_l2_entry(s, l2, j);
            Qcow2ClusterType t = qcow2_get_cluster_type(s, e);
            if (t == QCOW2_CLUSTER_COMPRESSED) {
                if (addend) {
                    uint64_t coff;
                    int64_t csize;
                    qcow2_parse_compressed(s, e, &coff, &csize);
                    ret = qcow2_update_cluster_refcount(bs, coff, csize, addend);
                }
            } else if ((t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC) &&
                       !qcow2_has_data_file(s)) {
                /* (Data clusters of an external data file have no refcount.) */
                uint64_t off = e & L2E_OFFSET_MASK;
                uint64_t rc = 0;
                if (addend) {
                    ret = qcow2_update_cluster_refcount(bs, off, s->cluster_size, addend);
                }
                if (ret == 0) {
                    ret = qcow2_get_refcount(bs, off >> s->cluster_bits, &rc);
                }
                uint64_t ne = rc == 1 ? (e | QCOW_OFLAG_COPIED) : (e & ~QCOW_OFLAG_COPIED);
                if (ret == 0 && ne != e) {
                    qcow2_l2_set_entry(s, l2, j, ne);
                    qcow2_cache_mark_dirty(s->l2_cache, l2);
                }
            }
            if (ret < 0) {
                qcow2_cache_put(s->l2_cache, &l2);
                return ret;
            }
        }
        qcow2_cache_put(s->l2_cache, &l2);
        uint64_t rc = 0;
        int ret2 = addend ? qcow2_update_cluster_refcount(bs, l2_off, s->cluster_size, addend) : 0;
        if (ret2 == 0) {
            ret2 = qcow2_get_refcount(bs, l2_off >> s->cluster_bits, &rc);
        }
        if (ret2 < 0) {
            return ret2;
        }
        uint64_t ne = rc == 1 ? (l2_off | QCOW_OFLAG_COPIED) : l2_off;
        if (ne != l1[i]) {
            l1[i] = ne;
            *l1_changed = true;
        }
    }
    return 0;
}

static int qcow2_write_l1_table(BlockDriverState *bs, uint64_t offset, const uint64_t *l1,
                                uint32_t n)
{
    uint64_t *be = g_new(uint64_t, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        be[i] = GUINT64_TO_BE(l1[i]);
    }
    int ret = qcow2_check_overlap(bs, offset, (int64_t)n * 8, false);
    if (ret == 0) {
        ret = bdrv_pwrite_sync(bs->file, offset, (int64_t)n * 8, be);
    }
    g_free(be);
    return ret;
}

static int qcow2_read_l1_table(BlockDriverState *bs, uint64_t offset, uint32_t n, uint64_t **out)
{
    uint64_t *l1 = g_new0(uint64_t, n ? n : 1);
    int ret = n ? bdrv_pread(bs->file, offset, (int64_t)n * 8, l1, 0) : 0;
    if (ret < 0) {
        g_free(l1);
        return ret;
    }
    for (uint32_t i = 0; i < n; i++) {
        l1[i] = GUINT64_FROM_BE(l1[i]);
    }
    *out = l1;
    return 0;
}

/* Write `list` as the new snapshot table and point the header at it. */
static int qcow2_write_snapshot_table(BlockDriverState *bs, Qcow2Snapshot *list, uint32_t n)
{
    BDRVQcow2State *s = bs->opaque;
    GByteArray *buf = g_byte_array_new();
    for (uint32_t i = 0; i < n; i++) {
        Qcow2Snapshot *sn = &list[i];
        uint8_t h[40 + 24];
        uint32_t extra = MAX(24, sn->extra_data_size);
        uint64_t v64;
        uint32_t v32;
        uint16_t v16;
        memset(h, 0, sizeof(h));
        v64 = GUINT64_TO_BE(sn->l1_table_offset);
        memcpy(h, &v64, 8);
        v32 = GUINT32_TO_BE(sn->l1_size);
        memcpy(h + 8, &v32, 4);
        v16 = GUINT16_TO_BE(strlen(sn->id_str));
        memcpy(h + 12, &v16, 2);
        v16 = GUINT16_TO_BE(strlen(sn->name));
        memcpy(h + 14, &v16, 2);
        v32 = GUINT32_TO_BE(sn->date_sec);
        memcpy(h + 16, &v32, 4);
        v32 = GUINT32_TO_BE(sn->date_nsec);
        memcpy(h + 20, &v32, 4);
        v64 = GUINT64_TO_BE(sn->vm_clock_nsec);
        memcpy(h + 24, &v64, 8);
        v32 = GUINT32_TO_BE(sn->vm_state_size > UINT32_MAX ? 0 : (uint32_t)sn->vm_state_size);
        memcpy(h + 32, &v32, 4);
        v32 = GUINT32_TO_BE(extra);
        memcpy(h + 36, &v32, 4);
        v64 = GUINT64_TO_BE(sn->vm_state_size);
        memcpy(h + 40, &v64, 8);
        v64 = GUINT64_TO_BE(sn->disk_size);
        memcpy(h + 48, &v64, 8);
        v64 = GUINT64_TO_BE(sn->icount);
        memcpy(h + 56, &v64, 8);
        g_byte_array_append(buf, h, sizeof(h));
        if (sn->extra_data_size > 24 && sn->unknown_extra) {
            g_byte_array_append(buf, sn->unknown_extra, sn->extra_data_size - 24);
        }
        g_byte_array_append(buf, (const uint8_t *)sn->id_str, strlen(sn->id_str));
        g_byte_array_append(buf, (const uint8_t *)sn->name, strlen(sn->name));
        static const uint8_t pad[8];
        g_byte_array_append(buf, pad, (8 - buf->len % 8) % 8);
    }
    int64_t offset = 0;
    int ret = 0;
    if (n) {
        offset = qcow2_alloc_clusters(bs, buf->len);
        if (offset < 0) {
            g_byte_array_free(buf, true);
            return (int)offset;
        }
        ret = qcow2_cache_flush(bs, s->refcount_cache);
        if (ret == 0) {
            ret = bdrv_pwrite_sync(bs->file, offset, buf->len, buf->data);
        }
    }
    if (ret == 0) {
        uint8_t hdr[12];
        uint32_t nb = GUINT32_TO_BE(n);
        uint64_t off = GUINT64_TO_BE((uint64_t)offset);
        memcpy(hdr, &nb, 4);
        memcpy(hdr + 4, &off, 8);
        ret = bdrv_pwrite_sync(bs->file, 60, 12, hdr);
    }
    if (ret < 0) {
        if (n) {
            qcow2_free_clusters(bs, offset, buf->len, false);
        }
        g_byte_array_free(buf, true);
        return ret;
    }
    uint64_t old_offset = s->snapshots_offset, old_size = s->snapshots_size;
    s->snapshots_offset = offset;
    s->snapshots_size = n ? (buf->len + 7) & ~7u : 0;
    g_byte_array_free(buf, true);
    if (old_size) {
        qcow2_free_clusters(bs, old_offset, old_size, false);
    }
    return 0;
}

static int qcow2_find_snapshot(BDRVQcow2State *s, const char *id_or_name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].id_str, id_or_name)) {
            return i;
        }
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].name, id_or_name)) {
            return i;
        }
    }
    return -1;
}

int qcow2_snapshot_create(BlockDriverState *bs, const char *name, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    if (qcow2_has_data_file(s)) {
        /* Incompatible bit 2: no internal snapshots (qemu-img's wording). */
        error_setg(errp, "%d (%s)", -ENOTSUP, g_strerror(ENOTSUP));
        return -ENOTSUP;
    }
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
        error_setg(errp, "Too many snapshots");
        return -EFBIG;
    }
    /* In-place writes must not land in clusters that become shared. */
    qcow2_data_io_barrier(bs);
    int ret = qcow2_flush_caches(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to flush");
        return ret;
    }
    /* Copy the active L1 table. */
    int64_t l1_offset = 0;
    if (s->l1_size) {
        l1_offset = qcow2_alloc_clusters(bs, (int64_t)s->l1_size * 8);
        if (l1_offset < 0) {
            error_setg_errno(errp, (int)-l1_offset, "Failed to allocate the L1 table");
            return (int)l1_offset;
        }
        ret = qcow2_cache_flush(bs, s->refcount_cache);
        if (ret == 0) {
            ret = qcow2_write_l1_table(bs, l1_offset, s->l1_table, s->l1_size);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to write the L1 table");
            return ret;
        }
    }
    /* Everything the active image references is now shared with the snapshot. */
    bool changed;
    ret = qcow2_walk_l1(bs, s->l1_table, s->l1_size, 1, &changed);
    if (ret == 0 && changed) {
        ret = qcow2_write_l1_table(bs, s->l1_table_offset, s->l1_table, s->l1_size);
    }
    if (ret == 0) {
        ret = qcow2_flush_caches(bs);
    }
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the refcounts");
        return ret;
    }
    uint64_t max_id = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint64_t id = g_ascii_strtoull(s->snapshots[i].id_str, NULL, 10);
        max_id = MAX(max_id, id);
    }
    Qcow2Snapshot *list = g_new0(Qcow2Snapshot, s->nb_snapshots + 1);
    if (s->nb_snapshots) {
        memcpy(list, s->snapshots, sizeof(Qcow2Snapshot) * s->nb_snapshots);
    }
    Qcow2Snapshot *sn = &list[s->nb_snapshots];
    gint64 now = g_get_real_time();
    sn->l1_table_offset = l1_offset;
    sn->l1_size = s->l1_size;
    sn->id_str = g_strdup_printf("%" PRIu64, max_id + 1);
    sn->name = g_strdup(name);
    sn->date_sec = now / G_USEC_PER_SEC;
    sn->date_nsec = (now % G_USEC_PER_SEC) * 1000;
    sn->disk_size = bs->total_size;
    sn->icount = 0;
    sn->extra_data_size = 24;
    ret = qcow2_write_snapshot_table(bs, list, s->nb_snapshots + 1);
    if (ret < 0) {
        g_free(sn->id_str);
        g_free(sn->name);
        g_free(list);
        error_setg_errno(errp, -ret, "Failed to write the snapshot table");
        return ret;
    }
    g_free(s->snapshots);
    s->snapshots = list;
    s->nb_snapshots++;
    return 0;
}

int qcow2_snapshot_goto(BlockDriverState *bs, const char *id_or_name, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    if (qcow2_has_data_file(s)) {
        error_setg(errp, "Failed to load snapshot: Operation not supported");
        return -ENOTSUP;
    }
    int idx = qcow2_find_snapshot(s, id_or_name);
    if (idx < 0) {
        error_setg(errp, "Failed to load snapshot: No such file or directory");
        return -ENOENT;
    }
    Qcow2Snapshot *sn = &s->snapshots[idx];
    if (sn->disk_size != (uint64_t)bs->total_size) {
        error_setg(errp, "Failed to load snapshot: snapshot has a different disk size");
        return -ENOTSUP;
    }
    int ret = qcow2_flush_caches(bs);
    if (ret == 0 && sn->l1_size > s->l1_size) {
        ret = qcow2_grow_l1_table(bs, sn->l1_size, true);
    }
    uint64_t *snap_l1 = NULL;
    if (ret == 0) {
        ret = qcow2_read_l1_table(bs, sn->l1_table_offset, sn->l1_size, &snap_l1);
    }
    bool changed;
    if (ret == 0) {
        /* The snapshot's clusters gain the active image as a user... */
        ret = qcow2_walk_l1(bs, snap_l1, sn->l1_size, 1, &changed);
    }
    uint64_t *old = NULL;
    if (ret == 0) {
        old = g_memdup2(s->l1_table, (size_t)s->l1_size * 8);
        memset(s->l1_table, 0, (size_t)s->l1_size * 8);
        memcpy(s->l1_table, snap_l1, (size_t)sn->l1_size * 8);
        ret = qcow2_flush_caches(bs);
        if (ret == 0) {
            ret = qcow2_write_l1_table(bs, s->l1_table_offset, s->l1_table, s->l1_size);
        }
    }
    if (ret == 0) {
        /* ... and the old active state loses it. */
        ret = qcow2_walk_l1(bs, old, s->l1_size, -1, &changed);
    }
    if (ret == 0) {
        ret = qcow2_walk_l1(bs, s->l1_table, s->l1_size, 0, &changed);
        if (ret == 0 && changed) {
            ret = qcow2_write_l1_table(bs, s->l1_table_offset, s->l1_table, s->l1_size);
        }
    }
    if (ret == 0) {
        ret = qcow2_flush_caches(bs);
    }
    g_free(old);
    g_free(snap_l1);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to load snapshot");
    }
    return ret;
}

int qcow2_snapshot_delete(BlockDriverState *bs, const char *id_or_name, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int idx = qcow2_find_snapshot(s, id_or_name);
    if (idx < 0) {
        error_setg(errp, "snapshot not found");
        return -ENOENT;
    }
    Qcow2Snapshot sn = s->snapshots[idx];
    Qcow2Snapshot *list = g_new0(Qcow2Snapshot, s->nb_snapshots);
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if ((int)i != idx) {
            list[n++] = s->snapshots[i];
        }
    }
    int ret = qcow2_write_snapshot_table(bs, list, n);
    if (ret < 0) {
        g_free(list);
        error_setg_errno(errp, -ret, "Failed to remove snapshot from snapshot list");
        return ret;
    }
    g_free(s->snapshots);
    s->snapshots = list;
    s->nb_snapshots = n;
    /* From here on a failure only leaks clusters. */
    uint64_t *l1 = NULL;
    bool changed;
    ret = qcow2_read_l1_table(bs, sn.l1_table_offset, sn.l1_size, &l1);
    if (ret == 0) {
        ret = qcow2_walk_l1(bs, l1, sn.l1_size, -1, &changed);
    }
    if (ret == 0 && sn.l1_size) {
        qcow2_free_clusters(bs, sn.l1_table_offset, (int64_t)sn.l1_size * 8, false);
    }
    if (ret == 0) {
        ret = qcow2_walk_l1(bs, s->l1_table, s->l1_size, 0, &changed);
        if (ret == 0 && changed) {
            ret = qcow2_write_l1_table(bs, s->l1_table_offset, s->l1_table, s->l1_size);
        }
    }
    if (ret == 0) {
        ret = qcow2_flush_caches(bs);
    }
    g_free(l1);
    g_free(sn.id_str);
    g_free(sn.name);
    g_free(sn.unknown_extra);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to free the cluster and L1 table");
    }
    return ret;
}
