/*
 * qcow2 compressed cluster writes (qcow2 spec "Compressed Clusters Descriptor"):
 * one guest cluster is deflated (raw deflate, 4 KiB window, as QEMU writes it),
 * stored at a byte offset inside partly-filled host clusters, and described by
 * an L2 entry holding the host offset and the number of 512-byte sectors it
 * spans.  A cluster that does not shrink is written uncompressed instead.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

/* Deflate in into out (at most out_len bytes); returns the size or -ENOSPC. */
static ssize_t qcow2_deflate(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return -ENOMEM;
    }
    z.next_in = (uint8_t *)in;
    z.avail_in = in_len;
    z.next_out = out;
    z.avail_out = out_len;
    int ret = deflate(&z, Z_FINISH);
    ssize_t n = out_len - z.avail_out;
    deflateEnd(&z);
    return ret == Z_STREAM_END ? n : -ENOSPC;
}

/* Write one whole guest cluster compressed; offset is cluster aligned.  `bytes` may be
 * shorter than a cluster only for the last cluster of the disk (zero padded). */
int qcow2_write_compressed(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    if (qcow2_offset_into_cluster(s, offset) || bytes > s->cluster_size ||
        (bytes < s->cluster_size && offset + bytes != bs->total_size)) {
        return -EINVAL;
    }
    uint8_t *in = g_malloc0(s->cluster_size);
    uint8_t *out = g_malloc(s->cluster_size);
    iovec_to_buf(qiov, 0, in, bytes);
    ssize_t clen = qcow2_deflate(out, s->cluster_size - 1, in, s->cluster_size);
    int ret;
    if (clen < 0) {
        /* Incompressible: store it as a normal cluster. */
        IOVector q;
        iovec_init_buf(&q, in, bytes);
        ret = qcow2_co_pwritev(bs, offset, bytes, &q, false);
        iovec_destroy(&q);
        goto out;
    }
    int64_t host = qcow2_alloc_bytes(bs, (int)clen);
    if (host < 0) {
        ret = (int)host;
        goto out;
    }
    ret = qcow2_check_overlap(bs, host, clen, true);
    if (ret == 0) {
        ret = bdrv_pwrite(bs->file, host, clen, out, 0);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, host, clen, false);
        goto out;
    }
    uint64_t nb_sectors = ((host + clen - 1) >> 9) - (host >> 9) + 1;
    uint64_t entry = QCOW_OFLAG_COMPRESSED | ((nb_sectors - 1) << s->csize_shift) |
                     (uint64_t)host;
    void *table;
    ret = qcow2_get_l2_table_for_write(bs, offset, &table);
    if (ret < 0) {
        goto out;
    }
    int idx = qcow2_l2_index(s, offset);
    uint64_t old = qcow2_l2_get(table, idx);
    qcow2_l2_set(table, idx, entry);
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_cache_put(s->l2_cache, &table);
    if (old) {
        qcow2_free_any_cluster(bs, old, false);
    }
out:
    g_free(in);
    g_free(out);
    return ret;
}
