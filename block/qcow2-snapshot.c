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
