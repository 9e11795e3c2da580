/*
 * qcow2 image changes after creation (qemu-img amend/rebase/commit support):
 * changing the backing file name and format (qcow2 spec "Header extensions",
 * backing format), emptying an overlay, lazy_refcounts, and switching between
 * version 2 and 3 (qcow2 spec "Header": v2 has no feature bits and no zero
 * clusters, so a downgrade first turns zero clusters into real data or holes; nor
 * has it the compression_type field, so a zstd image goes down only while it has
 * no compressed cluster, and is zlib after that).
 * External data files (incompatible bit 2, autoclear bit 1): as qemu-img 7.2,
 * amend renames the data file of an image that has one (an empty name drops the
 * header extension) and can clear data_file_raw, but sets neither on an image,
 * and no version 2 image has a data file.  A raw data file excludes backing files
 * ("Header", backing_file_offset), so no backing file is set on such an image.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>

int qcow2_change_backing_file(BlockDriverState *bs, const char *file, const char *fmt)
{
    BDRVQcow2State *s = bs->opaque;
    if (file && file[0] && qcow2_data_file_is_raw(s)) {
        return -EINVAL;
    }
    if (file && strlen(file) > QCOW2_MAX_BACKING_NAME) {
        return -EINVAL;
    }
    if (fmt && strlen(fmt) >= sizeof(bs->backing_format)) {
        return -EINVAL;
    }
    g_mutex_lock(&s->lock);
    char old_file[sizeof(bs->backing_file)], old_fmt[sizeof(bs->backing_format)];
    memcpy(old_file, bs->backing_file, sizeof(old_file));
    memcpy(old_fmt, bs->backing_format, sizeof(old_fmt));
    g_strlcpy(bs->backing_file, file ? file : "", sizeof(bs->backing_file));
    g_strlcpy(bs->backing_format, fmt ? fmt : "", sizeof(bs->backing_format));
    int ret = qcow2_update_header(bs);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        memcpy(bs->backing_file, old_file, sizeof(old_file));
        memcpy(bs->backing_format, old_fmt, sizeof(old_fmt));
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

int qcow2_make_empty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_mutex_lock(&s->lock);
    int ret = 0;
    int64_t end = qcow2_align_up(bs->total_size, s->cluster_size);
    for (int64_t off = 0; off < end && ret == 0; off += s->cluster_size << s->l2_bits) {
        uint64_t l1_index = qcow2_l1_index(s, off);
        if (l1_index >= s->l1_size || !(s->l1_table[l1_index] & L1E_OFFSET_MASK)) {
            continue;
        }
        void *table;
        ret = qcow2_get_l2_table_for_write(bs, off, &table);
        if (ret < 0) {
            break;
        }
        int64_t n = MIN(s->l2_size, (end - off) >> s->cluster_bits);
        uint64_t *old = g_new(uint64_t, n);
        for (int64_t i = 0; i < n; i++) {
            old[i] = qcow2_l2_entry(s, table, i);
            qcow2_l2_set_entry(s, table, i, 0);
            qcow2_l2_set_bitmap(s, table, i, 0);
        }
        qcow2_cache_mark_dirty(s->l2_cache, table);
        qcow2_cache_put(s->l2_cache, &table);
        for (int64_t i = 0; i < n; i++) {
            if (old[i]) {
                qcow2_free_any_cluster(bs, old[i], true);
            }
        }
        g_free(old);
    }
    if (ret == 0) {
        ret = qcow2_flush_caches(bs);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

/* v3 -> v2: zero clusters do not exist in v2; replace them. */
static int qcow2_expand_zero_clusters(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t end = qcow2_align_up(bs->total_size, s->cluster_size);
    uint8_t *zeroes = g_malloc0(s->cluster_size);
    int ret = 0;
    for (int64_t off = 0; off < end && ret == 0; off += s->cluster_size) {
        uint64_t l1_index = qcow2_l1_index(s, off);
        if (l1_index >= s->l1_size || !(s->l1_table[l1_index] & L1E_OFFSET_MASK)) {
            off = qcow2_align_up(off + 1, s->cluster_size << s->l2_bits) - s->cluster_size;
            continue;
        }
        int64_t n = s->cluster_size;
        uint64_t host;
        Qcow2ClusterType type;
        ret = qcow2_get_host_offset(bs, off, &n, &host, &type);
        if (ret < 0 || (type != QCOW2_CLUSTER_ZERO_PLAIN && type != QCOW2_CLUSTER_ZERO_ALLOC)) {
            continue;
        }
        if (!bs->backing_file[0] && type == QCOW2_CLUSTER_ZERO_PLAIN) {
            void *table;
            ret = qcow2_get_l2_table_for_write(bs, off, &table);
            if (ret == 0) {
                qcow2_l2_set_entry(s, table, qcow2_l2_index(s, off), 0);
                qcow2_cache_mark_dirty(s->l2_cache, table);
                qcow2_cache_put(s->l2_cache, &table);
            }
            continue;
        }
        /* Allocate real zero data (hides the backing file, keeps contents). */
        int64_t len = MIN(s->cluster_size, bs->total_size - off);
        IOVector q;
        iovec_init_buf(&q, zeroes, len);
        ret = qcow2_co_pwritev(bs, off, len, &q, false);
        iovec_destroy(&q);
    }
    g_free(zeroes);
    for (uint32_t i = 0; ret == 0 && i < s->nb_snapshots; i++) {
        if (s->snapshots[i].l1_size) {
            /* Zero clusters inside snapshots would need the same treatment. */
            error_setg(errp, "Cannot downgrade an image with internal snapshots");
            return -ENOTSUP;
        }
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to turn zero into data clusters");
    }
    return ret;
}

/* 1 if a cluster of the active L1/L2 tables is compressed, 0 if none, or -errno. */
static int qcow2_has_compressed_clusters(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t end = qcow2_align_up(bs->total_size, s->cluster_size);
    int64_t l2_span = s->cluster_size << s->l2_bits;
    for (int64_t off = 0; off < end;) {
        uint64_t l1_index = qcow2_l1_index(s, off);
        if (l1_index >= s->l1_size || !(s->l1_table[l1_index] & L1E_OFFSET_MASK)) {
            off = qcow2_align_up(off + 1, l2_span);
            continue;
        }
        int64_t n = MIN(end - off, l2_span - (off & (l2_span - 1)));
        uint64_t host;
        Qcow2ClusterType type;
        int ret = qcow2_get_host_offset(bs, off, &n, &host, &type);
        if (ret < 0) {
            return ret;
        }
        if (type == QCOW2_CLUSTER_COMPRESSED) {
            return 1;
        }
        off += MAX(n, 1);
    }
    return 0;
}

int qcow2_amend(BlockDriverState *bs, Opts *opts, bool force, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    for (size_t i = 0; i < opts_count(opts); i++) {
        const char *key = opts_key_at(opts, i);
        for (const BlockCreateOption *o = qcow2_create_opts; o->name; o++) {
            if (o->create_only && !strcmp(key, o->name)) {
                error_setg(errp, "Invalid parameter '%s'", key);
                error_append_hint(errp, "This option is only supported for image creation\n");
                return -ENOTSUP;
            }
        }
    }
    Error *err = NULL;
    int version = s->qcow_version;
    const char *compat = opts_get(opts, "compat");
    if (compat) {
        if (!strcmp(compat, "0.10") || !strcmp(compat, "v2")) {
            version = 2;
        } else if (!strcmp(compat, "1.1") || !strcmp(compat, "v3")) {
            version = 3;
        } else {
            error_setg(errp, "Parameter 'version' does not accept value '%s'", compat);
            return -EINVAL;
        }
    }
    bool lazy = s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS;
    if (opts_has(opts, "lazy_refcounts")) {
        lazy = opts_get_bool(opts, "lazy_refcounts", false, &err);
    } else if (version < 3) {
        lazy = false;
    }
    uint64_t refcount_bits = opts_get_number(opts, "refcount_bits", s->refcount_bits, &err);
    if (err) {
        error_propagate(errp, err);
        return -EINVAL;
    }
    if (refcount_bits != (uint64_t)s->refcount_bits) {
        if (version < 3) {
            error_setg(errp, "Refcount widths other than 16 bits require compatibility level 1.1 "
                       "or above (use compat=1.1 or greater)");
        } else {
            error_setg(errp, "Changing the refcount width is not supported");
        }
        return -ENOTSUP;
    }
    if (lazy && version < 3) {
        error_setg(errp, "Lazy refcounts only supported with compatibility level 1.1 and above "
                   "(use compat=1.1 or greater)");
        return -EINVAL;
    }
    if (version < 3 && s->refcount_bits != 16) {
        error_setg(errp, "Refcount widths other than 16 bits require compatibility level 1.1 or "
                   "above (use compat=1.1 or greater)");
        return -EINVAL;
    }
    const char *data_file = opts_get(opts, "data_file");
    if (data_file && !qcow2_has_data_file(s)) {
        error_setg(errp, "data-file can only be set for images that use an external data file");
        return -EINVAL;
    }
    bool data_file_raw = qcow2_data_file_is_raw(s);
    if (opts_has(opts, "data_file_raw")) {
        data_file_raw = opts_get_bool(opts, "data_file_raw", false, &err);
        if (err) {
            error_propagate(errp, err);
            return -EINVAL;
        }
        if (data_file_raw && !qcow2_data_file_is_raw(s)) {
            error_setg(errp, "data-file-raw cannot be set on existing images");
            return -EINVAL;
        }
    }
    if (version < 3 && qcow2_has_data_file(s)) {
        error_setg(errp, "Cannot downgrade an image with a data file");
        return -ENOTSUP;
    }
    const char *backing = opts_get(opts, "backing_file");
    const char *backing_fmt = opts_get(opts, "backing_fmt");
    if (backing && backing[0] && data_file_raw) {
        error_setg(errp, "Cannot amend the backing file");
        error_append_hint(errp, "You can use 'kemu-img rebase' instead.\n");
        return -EINVAL;
    }
    int ret = 0;
    g_mutex_lock(&s->lock);
    if (version < s->qcow_version) {
        uint64_t incompat = s->incompatible_features &
                            ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_COMPRESSION);
        if (incompat) {
            /* Extended L2 entries cannot be expressed in v2. */
            error_setg(errp, "Cannot downgrade an image with incompatible features %#" PRIx64
                       " set", incompat);
            ret = -ENOTSUP;
            goto out;
        }
        ret = qcow2_expand_zero_clusters(bs, errp);
        if (ret == 0) {
            ret = qcow2_flush_caches(bs);
        }
        if (ret < 0) {
            goto out;
        }
        if (s->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB) {
            /* As qemu-img: checked after the zero clusters have been expanded. */
            ret = qcow2_has_compressed_clusters(bs);
            if (ret < 0) {
                error_setg(errp, "Failed to check block status");
                goto out;
            }
            if (ret > 0) {
                error_setg(errp, "Cannot downgrade an image with zstd compression type and "
                           "existing compressed clusters");
                ret = -ENOTSUP;
                goto out;
            }
            s->compression_type = QCOW2_COMPRESSION_TYPE_ZLIB;
        }
        s->incompatible_features = 0;
        s->compatible_features = 0;
        s->autoclear_features = 0;
    }
    s->qcow_version = version;
    if (version >= 3) {
        s->header_length = MAX(s->header_length, QCOW2_DEFAULT_HEADER_LENGTH);
    }
    s->compatible_features = lazy ? (s->compatible_features | QCOW2_COMPAT_LAZY_REFCOUNTS)
                                  : (s->compatible_features & ~QCOW2_COMPAT_LAZY_REFCOUNTS);
    if (!data_file_raw) {
        s->autoclear_features &= ~QCOW2_AUTOCLEAR_DATA_FILE_RAW;
    }
    /* Names that make the header outgrow its cluster fail the update below: the
     * old ones are put back then, or every later header update would fail too. */
    char *old_data_file = s->data_file_name;
    char *old_backing = g_strdup(bs->backing_file);
    char *old_backing_fmt = g_strdup(bs->backing_format);
    if (data_file) {
        s->data_file_name = data_file[0] ? g_strdup(data_file) : NULL;
    }
    if (backing) {
        g_strlcpy(bs->backing_file, backing, sizeof(bs->backing_file));
        if (!backing_fmt) {
            bs->backing_format[0] = 0;
        }
    }
    if (backing_fmt) {
        g_strlcpy(bs->backing_format, backing_fmt, sizeof(bs->backing_format));
    }
    ret = qcow2_update_header(bs);
    char *unused = ret < 0 ? s->data_file_name : old_data_file;
    if (ret < 0) {
        s->data_file_name = old_data_file;
        g_strlcpy(bs->backing_file, old_backing, sizeof(bs->backing_file));
        g_strlcpy(bs->backing_format, old_backing_fmt, sizeof(bs->backing_format));
    }
    if (unused != s->data_file_name) {
        g_free(unused);
    }
    g_free(old_backing);
    g_free(old_backing_fmt);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image header");
    }
out:
    g_mutex_unlock(&s->lock);
    if (ret == 0 && opts_has(opts, "size")) {
        uint64_t size = opts_get_size(opts, "size", 0, &err);
        if (err) {
            error_propagate(errp, err);
            return -EINVAL;
        }
        if ((int64_t)size < bs->total_size && !force) {
            /* qemu-img amend shrinks only with --force... it asks to use resize. */
            error_setg(errp, "Use the --shrink option of qemu-img resize to shrink images");
            return -EINVAL;
        }
        ret = bdrv_truncate(bs, (int64_t)size, false, PREALLOC_MODE_OFF, errp);
    }
    return ret;
}
