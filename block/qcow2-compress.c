/*
 * qcow2 compressed clusters (qcow2 spec "Compressed Clusters Descriptor", and the header's
 * additional field "compression_type", byte 104, with incompatible feature bit 3):
 * one guest cluster is compressed with the image's compression type -- zlib (type 0: raw
 * deflate, 4 KiB window, as QEMU writes it) or zstd (type 1: one zstd frame) -- stored at
 * a byte offset inside partly-filled host clusters, and described by an L2 entry holding
 * the host offset and the number of 512-byte sectors it spans.  A cluster that does not
 * shrink is written uncompressed instead.
 * Reading: the sector count rounds the stored size up, so the bytes handed to the
 * decompressor may go on past the end of the compressed data; both decoders stop at the
 * end of their stream and the result must be exactly one cluster.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

const char *qcow2_compression_type_name(uint8_t type)
{
    switch (type) {
    case QCOW2_COMPRESSION_TYPE_ZLIB:
        return "zlib";
    case QCOW2_COMPRESSION_TYPE_ZSTD:
        return "zstd";
    }
    return "unknown";
}

void qcow2_compress_cleanup(BDRVQcow2State *s)
{
    ZSTD_freeCCtx(s->zstd_cctx);
    ZSTD_freeDCtx(s->zstd_dctx);
    s->zstd_cctx = NULL;
    s->zstd_dctx = NULL;
}

/* Deflate in into out (at most out_len bytes); returns the size or -ENOSPC. */
static ssize_t qcow2_zlib_compress(uint8_t *out, size_t out_len, const uint8_t *in,
                                   size_t in_len)
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

/* Inflate in into exactly out_len bytes of out. */
static int qcow2_zlib_decompress(uint8_t *out, size_t out_len, const uint8_t *in,
                                 size_t in_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* Raw deflate with a 4 KiB window, as QEMU writes it. */
    if (inflateInit2(&z, -12) != Z_OK) {
        return -ENOMEM;
    }
    z.next_in = (uint8_t *)in;
    z.avail_in = in_len;
    z.next_out = out;
    z.avail_out = out_len;
    int zr = inflate(&z, Z_FINISH);
    bool ok = (zr == Z_STREAM_END || zr == Z_BUF_ERROR || zr == Z_OK) && z.avail_out == 0;
    inflateEnd(&z);
    return ok ? 0 : -EIO;
}

/* One zstd frame (default level, content size recorded) of in into out. */
static ssize_t qcow2_zstd_compress(BDRVQcow2State *s, uint8_t *out, size_t out_len,
                                   const uint8_t *in, size_t in_len)
{
    if (!s->zstd_cctx) {
        s->zstd_cctx = ZSTD_createCCtx();
        if (!s->zstd_cctx) {
            return -ENOMEM;
        }
    }
    size_t r = ZSTD_compressCCtx(s->zstd_cctx, out, out_len, in, in_len, ZSTD_CLEVEL_DEFAULT);
    if (!ZSTD_isError(r)) {
        return (ssize_t)r;
    }
    switch (ZSTD_getErrorCode(r)) {
    case ZSTD_error_dstSize_tooSmall:
        return -ENOSPC;
    case ZSTD_error_memory_allocation:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

/*
 * Decode the zstd frame at the start of in, which must yield exactly out_len bytes.
 * Streaming, because only an upper bound of the frame's size is known: the decoder
 * stops at the end of the frame and whatever follows it in `in` is left unread.
 * The loop ends because every round either consumes input or produces output (both
 * bounded), or gives up.
 */
static int qcow2_zstd_decompress(BDRVQcow2State *s, uint8_t *out, size_t out_len,
                                 const uint8_t *in, size_t in_len)
{
    if (!s->zstd_dctx) {
        s->zstd_dctx = ZSTD_createDCtx();
        if (!s->zstd_dctx) {
            return -ENOMEM;
        }
    }
    ZSTD_DCtx *d = s->zstd_dctx;
    /* A previous failure may have left a half-decoded frame behind. */
    if (ZSTD_isError(ZSTD_DCtx_reset(d, ZSTD_reset_session_only))) {
        return -EIO;
    }
    ZSTD_inBuffer ib = { .src = in, .size = in_len, .pos = 0 };
    ZSTD_outBuffer ob = { .dst = out, .size = out_len, .pos = 0 };
    for (;;) {
        size_t in_before = ib.pos;
        size_t out_before = ob.pos;
        size_t r = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(r)) {
            return -EIO;
        }
        if (r == 0) {
            /* The frame is complete and flushed: it must have filled the cluster. */
            return ob.pos == ob.size ? 0 : -EIO;
        }
        if (ib.pos == in_before && ob.pos == out_before) {
            /* Input used up before the frame ends, or the frame is larger than out. */
            return -EIO;
        }
    }
}

ssize_t qcow2_compress_buf(BDRVQcow2State *s, uint8_t *out, size_t out_len, const uint8_t *in,
                           size_t in_len)
{
    switch (s->compression_type) {
    case QCOW2_COMPRESSION_TYPE_ZLIB:
        return qcow2_zlib_compress(out, out_len, in, in_len);
    case QCOW2_COMPRESSION_TYPE_ZSTD:
        return qcow2_zstd_compress(s, out, out_len, in, in_len);
    }
    return -ENOTSUP;
}

int qcow2_decompress_buf(BDRVQcow2State *s, uint8_t *out, size_t out_len, const uint8_t *in,
                         size_t in_len)
{
    switch (s->compression_type) {
    case QCOW2_COMPRESSION_TYPE_ZLIB:
        return qcow2_zlib_decompress(out, out_len, in, in_len);
    case QCOW2_COMPRESSION_TYPE_ZSTD:
        return qcow2_zstd_decompress(s, out, out_len, in, in_len);
    }
    return -EIO;
}

/*
 * Store the clen bytes of buf as the compressed image of guest cluster `offset`.
 * qemu 7.2 writes compressed data only into a guest cluster without a host cluster
 * (unallocated, or a plain zero cluster: "Cluster mapping", the offset bits of the L2
 * entry are 0); over a normal, allocated-zero or compressed cluster it fails with EIO
 * and changes nothing but an L2 table it had to make writable first.  kemu does the
 * same, so that the same commands give the same images and messages.
 */
static int qcow2_store_compressed(BlockDriverState *bs, int64_t offset, const uint8_t *buf,
                                  int64_t clen)
{
    BDRVQcow2State *s = bs->opaque;
    int idx = qcow2_l2_index(s, offset);
    /* The L2 table is made (or unshared) before the compressed bytes are allocated,
     * as qemu orders it, so that both lay out the image alike. */
    void *table;
    int ret = qcow2_get_l2_table_for_write(bs, offset, &table);
    if (ret < 0) {
        return ret;
    }
    uint64_t old = qcow2_l2_entry(s, table, idx);
    qcow2_cache_put(s->l2_cache, &table);
    if (old & L2E_OFFSET_MASK) {
        return -EIO;
    }
    int64_t host = qcow2_alloc_bytes(bs, (int)clen);
    if (host < 0) {
        return (int)host;
    }
    ret = qcow2_check_overlap(bs, host, clen, true);
    if (ret == 0) {
        ret = bdrv_pwrite(bs->file, host, clen, buf, 0);
    }
    if (ret == 0) {
        ret = qcow2_get_l2_table_for_write(bs, offset, &table);
    }
    if (ret < 0) {
        qcow2_free_clusters(bs, host, clen, false);
        return ret;
    }
    /* "Compressed Clusters Descriptor": the number of 512-byte sectors spanned, less one. */
    uint64_t nb_sectors = ((host + clen - 1) >> 9) - (host >> 9) + 1;
    uint64_t entry = QCOW_OFLAG_COMPRESSED | ((nb_sectors - 1) << s->csize_shift) |
                     (uint64_t)host;
    qcow2_l2_set_entry(s, table, idx, entry);
    qcow2_l2_set_bitmap(s, table, idx, 0);     /* "for compressed clusters": reserved */
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_cache_put(s->l2_cache, &table);
    return 0;
}

/* Guest cluster `offset` from bytes [qiov_offset, +bytes) of qiov, zero padded to a
 * cluster (only the disk's last cluster may be short). */
static int qcow2_write_compressed_cluster(BlockDriverState *bs, int64_t offset, int64_t bytes,
                                          IOVector *qiov, int64_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t *in = g_malloc0(s->cluster_size);
    uint8_t *out = g_malloc(s->cluster_size);
    iovec_to_buf(qiov, qiov_offset, in, bytes);
    ssize_t clen = qcow2_compress_buf(s, out, s->cluster_size - 1, in, s->cluster_size);
    int ret;
    if (clen == -ENOSPC) {
        /* Incompressible: stored as a normal cluster, which (as in qemu) may also
         * overwrite an allocated one. */
        IOVector q;
        iovec_init_buf(&q, in, bytes);
        ret = qcow2_co_pwritev(bs, offset, bytes, &q, false);
        iovec_destroy(&q);
    } else if (clen < 0) {
        ret = (int)clen;
    } else {
        ret = qcow2_store_compressed(bs, offset, out, clen);
    }
    g_free(in);
    g_free(out);
    return ret;
}

/*
 * Compressed write of whole guest clusters, as qemu 7.2 takes them: the request starts
 * at a cluster boundary and ends at one or at the end of the disk, else it fails with
 * EINVAL and writes nothing.  qemu compresses the clusters of one request in parallel,
 * each on its own: one that fails (EIO over an allocated cluster) does not keep the
 * others from being written, and the request returns the error.  kemu writes them in
 * guest order, which is one of the orders qemu's parallel tasks may end up placing them.
 */
int qcow2_write_compressed(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov)
{
    BDRVQcow2State *s = bs->opaque;
    if (qcow2_has_data_file(s)) {
        return -ENOTSUP;        /* incompatible bit 2 excludes compressed clusters */
    }
    if (qcow2_offset_into_cluster(s, offset) ||
        (qcow2_offset_into_cluster(s, offset + bytes) && offset + bytes != bs->total_size)) {
        return -EINVAL;
    }
    int ret = 0;
    for (int64_t done = 0; done < bytes; done += s->cluster_size) {
        int r = qcow2_write_compressed_cluster(bs, offset + done,
                                               MIN(s->cluster_size, bytes - done), qiov, done);
        if (r < 0 && ret == 0) {
            ret = r;
        }
    }
    return ret;
}
