/*
 * qcow2 format driver: header parsing and validation (qcow2 spec "Header",
 * "Header extensions", "Feature name table"), header rewrite, dirty and corrupt
 * bits, metadata overlap checks, and the BlockDriver callbacks.
 * Everything in the header comes from an untrusted file: sizes and offsets are
 * range-checked before any allocation or read they would drive.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QCOW2_DEFAULT_L2_CACHE_BYTES (32 * 1024 * 1024)

static const struct {
    uint8_t type;
    uint8_t bit;
    const char *name;
} qcow2_feature_names[] = {
    { 0, 0, "dirty bit" },
    { 0, 1, "corrupt bit" },
    { 0, 2, "external data file" },
    { 0, 3, "compression type" },
    { 0, 4, "extended L2 entries" },
    { 1, 0, "lazy refcounts" },
    { 2, 0, "bitmaps" },
    { 2, 1, "raw external data" },
};

static inline uint32_t be32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static inline uint64_t be64_at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

static int qcow2_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    if (buf_size >= 8 && be32_at(buf) == QCOW_MAGIC && be32_at(buf + 4) >= 2) {
        return 100;
    }
    return 0;
}

int64_t qcow2_size_to_l1(BDRVQcow2State *s, int64_t size)
{
    int shift = s->cluster_bits + s->l2_bits;
    return (size + (1LL << shift) - 1) >> shift;
}

/*
 * A corruption event, in qemu's words and with its suppression rule: a fatal one
 * (the image is writable) marks the image corrupt, so it is refused read-write until
 * repaired; a non-fatal one only reports.  After the first report only a fatal event
 * on an image not yet marked corrupt is reported again.
 */
void qcow2_corruption_event(BlockDriverState *bs, bool fatal, const char *fmt, va_list ap)
{
    BDRVQcow2State *s = bs->opaque;
    fatal = fatal && !bs->read_only;
    if (s->corrupt_reported &&
        (!fatal || (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT))) {
        return;
    }
    char *msg = g_strdup_vprintf(fmt, ap);
    if (fatal) {
        fprintf(stderr, "qcow2: Marking image as corrupt: %s; further corruption events will "
                "be suppressed\n", msg);
        s->incompatible_features |= QCOW2_INCOMPAT_CORRUPT;
        qcow2_update_header(bs);
    } else {
        fprintf(stderr, "qcow2: Image is corrupt: %s; further non-fatal corruption events "
                "will be suppressed\n", msg);
    }
    s->corrupt_reported = true;
    g_free(msg);
}

int qcow2_signal_corruption(BlockDriverState *bs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qcow2_corruption_event(bs, true, fmt, ap);
    va_end(ap);
    return -EIO;
}

void qcow2_report_corruption(BlockDriverState *bs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qcow2_corruption_event(bs, false, fmt, ap);
    va_end(ap);
}

/*
 * qcow2-check.c has its own check_overlap_what, for the writes of a repair, and the two
 * differ on purpose: that one is qemu's overlap check as qemu-img check -r runs it (the
 * range widened to whole clusters, every active L2 table and refcount block the L1 and
 * refcount tables point to, inactive L1 tables before L2 tables, L1 and L2 ignored
 * separately), so that a repair hits and names what qemu-img's does; this one guards
 * every write of the driver, looks only at the exact bytes and at cached tables (no walk
 * over the L1 and refcount tables per write), and data == false leaves out all the L1
 * and L2 tables.
 */
const char *qcow2_overlap_what(BDRVQcow2State *s, int64_t offset, int64_t size, bool data)
{
    if (qcow2_ranges_overlap(offset, size, 0, s->cluster_size)) {
        return "qcow2_header";
    }
    if (data && qcow2_ranges_overlap(offset, size, s->l1_table_offset, (uint64_t)s->l1_size * 8)) {
        return "active L1 table";
    }
    if (qcow2_ranges_overlap(offset, size, s->refcount_table_offset,
                       (uint64_t)s->refcount_table_size * 8)) {
        return "refcount table";
    }
    if (qcow2_ranges_overlap(offset, size, s->snapshots_offset, s->snapshots_size)) {
        return "snapshot table";
    }
    if (data && qcow2_cache_contains_range(s->l2_cache, offset, size)) {
        return "active L2 table";
    }
    if (qcow2_cache_contains_range(s->refcount_cache, offset, size)) {
        return "refcount block";
    }
    if (data) {
        for (uint32_t i = 0; i < s->nb_snapshots; i++) {
            if (qcow2_ranges_overlap(offset, size, s->snapshots[i].l1_table_offset,
                               (uint64_t)s->snapshots[i].l1_size * 8)) {
                return "inactive L1 table";
            }
        }
    }
    return NULL;
}

int qcow2_check_overlap(BlockDriverState *bs, int64_t offset, int64_t size, bool data)
{
    const char *what = qcow2_overlap_what(bs->opaque, offset, size, data);
    if (!what) {
        return 0;
    }
    return qcow2_signal_corruption(bs, "Preventing invalid write on metadata (overlaps with "
                                   "%s)", what);
}

/* Rewrite the header cluster: fixed fields, extensions, backing file name. */
int qcow2_update_header(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t len = s->cluster_size;
    uint8_t *buf = g_malloc0(len);
    size_t hlen = s->qcow_version >= 3 ? MAX(s->header_length, QCOW2_DEFAULT_HEADER_LENGTH)
                                       : QCOW2_V2_HEADER_SIZE;
    put_be32(buf, QCOW_MAGIC);
    put_be32(buf + 4, s->qcow_version);
    put_be32(buf + 20, s->cluster_bits);
    put_be64(buf + 24, bs->total_size);
    put_be32(buf + 32, 0);
    put_be32(buf + 36, s->l1_size);
    put_be64(buf + 40, s->l1_table_offset);
    put_be64(buf + 48, s->refcount_table_offset);
    put_be32(buf + 56, (uint32_t)(((uint64_t)s->refcount_table_size * 8) >> s->cluster_bits));
    put_be32(buf + 60, s->nb_snapshots);
    put_be64(buf + 64, s->snapshots_offset);
    if (s->qcow_version >= 3) {
        put_be64(buf + 72, s->incompatible_features);
        put_be64(buf + 80, s->compatible_features);
        put_be64(buf + 88, s->autoclear_features);
        put_be32(buf + 96, s->refcount_order);
        put_be32(buf + 100, (uint32_t)hlen);
        buf[104] = s->compression_type;
    } else if (s->incompatible_features & ~0ULL) {
        /* v2 cannot store feature bits: the dirty/corrupt bits are simply lost. */
    }
    size_t pos = hlen;
    int ret = -ENOSPC;      /* until written: everything below fails only for want of room */
#define EXT_ROOM(n) (pos + 8 + (((n) + 7) & ~(size_t)7) + 8 <= len)
    if (bs->backing_format[0] && bs->backing_file[0]) {
        size_t n = strlen(bs->backing_format);
        if (!EXT_ROOM(n)) {
            goto out;
        }
        put_be32(buf + pos, QCOW2_EXT_BACKING_FORMAT);
        put_be32(buf + pos + 4, n);
        memcpy(buf + pos + 8, bs->backing_format, n);
        pos += 8 + ((n + 7) & ~(size_t)7);
    }
    if (s->data_file_name) {
        /* "External data file name": the string, not NUL-terminated. */
        size_t n = strlen(s->data_file_name);
        if (!EXT_ROOM(n)) {
            goto out;
        }
        put_be32(buf + pos, QCOW2_EXT_DATA_FILE);
        put_be32(buf + pos + 4, n);
        memcpy(buf + pos + 8, s->data_file_name, n);
        pos += 8 + ((n + 7) & ~(size_t)7);
    }
    size_t bf_len = strlen(bs->backing_file);
    if (s->qcow_version >= 3) {
        size_t n = G_N_ELEMENTS(qcow2_feature_names) * 48;
        /* Optional: only when it fits together with the backing file name. */
        if (pos + 8 + n + 8 + bf_len <= len) {
            put_be32(buf + pos, QCOW2_EXT_FEATURE_TABLE);
            put_be32(buf + pos + 4, n);
            for (size_t i = 0; i < G_N_ELEMENTS(qcow2_feature_names); i++) {
                uint8_t *e = buf + pos + 8 + i * 48;
                e[0] = qcow2_feature_names[i].type;
                e[1] = qcow2_feature_names[i].bit;
                strncpy((char *)e + 2, qcow2_feature_names[i].name, 46);
            }
            pos += 8 + n;
        }
    }
    for (guint i = 0; s->unknown_exts && i < s->unknown_exts->len; i++) {
        Qcow2UnknownExt *u = &g_array_index(s->unknown_exts, Qcow2UnknownExt, i);
        if (!EXT_ROOM(u->len)) {
            goto out;
        }
        put_be32(buf + pos, u->magic);
        put_be32(buf + pos + 4, u->len);
        memcpy(buf + pos + 8, u->data, u->len);
        pos += 8 + ((u->len + 7) & ~(size_t)7);
    }
#undef EXT_ROOM
    if (pos + 8 > len) {
        goto out;
    }
    put_be32(buf + pos, QCOW2_EXT_END);
    put_be32(buf + pos + 4, 0);
    pos += 8;
    if (bf_len) {
        if (pos + bf_len > len) {
            goto out;
        }
        memcpy(buf + pos, bs->backing_file, bf_len);
        put_be64(buf + 8, pos);
        put_be32(buf + 16, bf_len);
        pos += bf_len;
    }
    ret = bdrv_pwrite(bs->file, 0, len, buf, 0);
out:
    g_free(buf);
    return ret;
}

int qcow2_mark_dirty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    if (s->qcow_version < 3 || (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    int ret = bdrv_flush(bs->file);
    if (ret < 0) {
        return ret;
    }
    uint8_t b[8];
    put_be64(b, s->incompatible_features | QCOW2_INCOMPAT_DIRTY);
    ret = bdrv_pwrite_sync(bs->file, 72, 8, b);
    if (ret == 0) {
        s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    }
    return ret;
}

int qcow2_mark_clean(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    int ret = qcow2_flush_caches(bs);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        return ret;
    }
    uint8_t b[8];
    put_be64(b, s->incompatible_features & ~QCOW2_INCOMPAT_DIRTY);
    ret = bdrv_pwrite_sync(bs->file, 72, 8, b);
    if (ret == 0) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
    }
    return ret;
}

static void qcow2_report_unsupported(const uint8_t *table, size_t table_len, uint64_t mask,
                                     Error **errp)
{
    GString *names = g_string_new(NULL);
    for (int bit = 0; bit < 64; bit++) {
        if (!(mask & (1ULL << bit))) {
            continue;
        }
        const char *name = NULL;
        char nbuf[47];
        for (size_t i = 0; table && i + 48 <= table_len; i += 48) {
            if (table[i] == 0 && table[i + 1] == bit) {
                memcpy(nbuf, table + i + 2, 46);
                nbuf[46] = 0;
                name = nbuf;
                break;
            }
        }
        if (names->len) {
            g_string_append(names, ", ");
        }
        if (name) {
            g_string_append(names, name);
        } else {
            g_string_append_printf(names, "Unknown incompatible feature: %" PRIx64,
                                   (uint64_t)1 << bit);
        }
    }
    error_setg(errp, "Unsupported qcow2 feature(s): %s", names->str);
    g_string_free(names, true);
}

/* Parse header extensions in [start, end) of the header cluster. */
static int qcow2_read_extensions(BlockDriverState *bs, const uint8_t *buf, size_t start,
                                 size_t end, const uint8_t **feature_table,
                                 size_t *feature_table_len, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    size_t pos = start;
    while (pos + 8 <= end) {
        uint32_t magic = be32_at(buf + pos);
        uint32_t len = be32_at(buf + pos + 4);
        pos += 8;
        if (magic == QCOW2_EXT_END) {
            return 0;
        }
        if (len > end - pos) {
            error_setg(errp, "Header extension too large");
            return -EINVAL;
        }
        switch (magic) {
        case QCOW2_EXT_BACKING_FORMAT:
            if (len >= sizeof(bs->backing_format)) {
                error_setg(errp, "ERROR: ext_backing_format: len=%u too large (>=%zu)",
                           len, sizeof(bs->backing_format));
                return -EINVAL;
            }
            memcpy(bs->backing_format, buf + pos, len);
            bs->backing_format[len] = 0;
            break;
        case QCOW2_EXT_FEATURE_TABLE:
            *feature_table = buf + pos;
            *feature_table_len = len;
            break;
        case QCOW2_EXT_CRYPTO:
            error_setg(errp, "Encrypted images are not supported");
            return -ENOTSUP;
        case QCOW2_EXT_DATA_FILE:
            /* A string of len bytes (bounded by the header cluster above). */
            g_free(s->data_file_name);
            s->data_file_name = g_strndup((const char *)buf + pos, len);
            break;
        default: {
            /* Unknown or not interpreted (bitmaps): keep it for header rewrites. */
            Qcow2UnknownExt u = { magic, len, g_memdup2(buf + pos, len) };
            g_array_append_val(s->unknown_exts, u);
            break;
        }
        }
        pos += (len + 7) & ~(size_t)7;
    }
    return 0;
}

static int qcow2_validate_table(BlockDriverState *bs, uint64_t offset, uint64_t entries,
                                size_t entry_len, uint64_t max_bytes, const char *name,
                                Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    if (entries > max_bytes / entry_len) {
        error_setg(errp, "%s too large", name);
        return -EFBIG;
    }
    if (offset & (s->cluster_size - 1)) {
        error_setg(errp, "%s offset invalid", name);
        return -EINVAL;
    }
    int64_t flen = bdrv_getlength(bs->file);
    if (entries && (offset > QCOW2_MAX_HOST_OFFSET ||
                    (flen >= 0 && offset + entries * entry_len > (uint64_t)flen))) {
        error_setg(errp, "%s is beyond the end of the image file", name);
        return -EINVAL;
    }
    return 0;
}

/*
 * An image whose refcounted clusters clearly outnumber the clusters the host file
 * really allocates was preallocated (preallocation=metadata): its data clusters
 * may be holes, which block status then reports as zero (as QEMU does).
 */
static bool qcow2_detect_metadata_preallocation(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t flen = bdrv_getlength(bs->file);
    int64_t real = bdrv_get_allocated_file_size(bs->file);
    if (flen < 0 || real < 0) {
        return false;
    }
    int64_t real_clusters = real >> s->cluster_bits;
    int64_t threshold = MAX(real_clusters * 10 / 9, real_clusters + 2);
    int64_t n = qcow2_size_to_clusters(s, flen), allocated = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t rc;
        if (qcow2_get_refcount(bs, i, &rc) < 0) {
            return false;
        }
        if (rc && ++allocated >= threshold) {
            return true;
        }
    }
    return false;
}

static void qcow2_free_state(BDRVQcow2State *s)
{
    qcow2_cache_destroy(s->l2_cache);
    qcow2_cache_destroy(s->refcount_cache);
    s->l2_cache = s->refcount_cache = NULL;
    g_free(s->l1_table);
    g_free(s->refcount_table);
    s->l1_table = s->refcount_table = NULL;
    qcow2_free_snapshots(s);
    if (s->unknown_exts) {
        for (guint i = 0; i < s->unknown_exts->len; i++) {
            g_free(g_array_index(s->unknown_exts, Qcow2UnknownExt, i).data);
        }
        g_array_free(s->unknown_exts, true);
        s->unknown_exts = NULL;
    }
    g_free(s->cluster_cache);
    s->cluster_cache = NULL;
    qcow2_compress_cleanup(s);
    g_free(s->data_file_name);
    s->data_file_name = NULL;
}

/* Drop the external data file node (s->data_file is bs->file without one). */
static void qcow2_close_data_file(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    if (s->data_file && s->data_file != bs->file) {
        bdrv_unref(s->data_file);
    }
    s->data_file = NULL;
}

/* "Header": compression_type (byte 104) against incompatible feature bit 3, as qemu-img. */
static int qcow2_check_compression_type(BDRVQcow2State *s, Error **errp)
{
    bool bit = s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION;
    switch (s->compression_type) {
    case QCOW2_COMPRESSION_TYPE_ZLIB:
        if (bit) {
            error_setg(errp, "qcow2: Compression type incompatible feature bit must not be set");
            return -EINVAL;
        }
        return 0;
    case QCOW2_COMPRESSION_TYPE_ZSTD:
        if (!bit) {
            error_setg(errp, "qcow2: Compression type incompatible feature bit must be set");
            return -EINVAL;
        }
        return 0;
    }
    error_setg(errp, "qcow2: unknown compression type: %u", s->compression_type);
    return -ENOTSUP;
}

/*
 * Incompatible bit 2, "External data file": open the file guest data lives in.  Its
 * name is the "data-file" open option, else the "External data file name" header
 * extension.  Like qemu 7.2 a relative name is first opened as it is (from the
 * current directory, where qemu-img create makes it); when there is no such file, it
 * is looked up relative to the image's directory as backing files are.  Opened for
 * metadata only (BDRV_O_NO_IO, kemu-img info), a missing data file is no error.
 */
static int qcow2_open_data_file(BlockDriverState *bs, Opts *options, int flags, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    bool no_io = flags & BDRV_O_NO_IO;
    if (!qcow2_has_data_file(s)) {
        s->data_file = bs->file;
        if ((s->autoclear_features & QCOW2_AUTOCLEAR_DATA_FILE_RAW) && !no_io) {
            error_setg(errp, "data-file-raw requires a data file");
            return -EINVAL;
        }
        return 0;
    }
    const char *name = options ? opts_get(options, "data-file") : NULL;
    if (!name && options) {
        name = opts_get(options, "data-file.filename");
    }
    if (!name) {
        name = s->data_file_name;
    }
    if (!name || !name[0]) {
        if (no_io) {
            return 0;
        }
        error_setg(errp, "'data-file' is required for this image");
        return -EINVAL;
    }
    int dflags = (flags & ~BDRV_O_SNAPSHOT) | BDRV_O_NO_BACKING;
    Error *local_err = NULL;
    BlockDriverState *d = bdrv_open(name, "file", NULL, dflags, &local_err);
    if (!d && name[0] != '/' && strchr(bs->filename, '/')) {
        char *path = bdrv_path_combine(bs->filename, name);
        if (access(name, F_OK) < 0 && access(path, F_OK) == 0) {
            error_free(local_err);
            local_err = NULL;
            d = bdrv_open(path, "file", NULL, dflags, &local_err);
        }
        g_free(path);
    }
    if (!d) {
        if (no_io) {
            error_free(local_err);
            return 0;
        }
        error_propagate(errp, local_err);
        return -EINVAL;
    }
    /* Guest writes at guest offsets would overwrite the metadata (a hostile header
     * can name the image itself). */
    struct stat sd, si;
    if (stat(d->filename, &sd) == 0 && stat(bs->filename, &si) == 0 &&
        sd.st_dev == si.st_dev && sd.st_ino == si.st_ino) {
        error_setg(errp, "The data file '%s' is the image file itself", name);
        bdrv_unref(d);
        return -EINVAL;
    }
    /* Locks as qemu takes them on a data file: its own use, everything shared. */
    unsigned perm = BLK_PERM_CONSISTENT_READ |
                    ((flags & BDRV_O_RDWR) ? BLK_PERM_WRITE | BLK_PERM_RESIZE : 0);
    if (file_lock_perms(d, perm, BLK_PERM_ALL, errp) < 0) {
        bdrv_unref(d);
        return -EBUSY;
    }
    s->data_file = d;
    return 0;
}

static int qcow2_open(BlockDriverState *bs, Opts *options, int flags, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;
    s->cluster_cache_offset = -1;

    uint8_t hdr[QCOW2_V3_HEADER_SIZE + 8];
    memset(hdr, 0, sizeof(hdr));
    int64_t flen = bdrv_getlength(bs->file);
    if (flen < 0) {
        error_setg_errno(errp, (int)-flen, "Could not get image size");
        return (int)flen;
    }
    ret = bdrv_pread(bs->file, 0, MIN((int64_t)sizeof(hdr), flen), hdr, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read qcow2 header");
        return ret;
    }
    if (be32_at(hdr) != QCOW_MAGIC) {
        error_setg(errp, "Image is not in qcow2 format");
        return -EINVAL;
    }
    if (flen < QCOW2_V2_HEADER_SIZE) {
        error_setg(errp, "qcow2 header too short");
        return -EINVAL;
    }
    s->qcow_version = be32_at(hdr + 4);
    if (s->qcow_version < 2 || s->qcow_version > 3) {
        error_setg(errp, "Unsupported qcow2 version %d", s->qcow_version);
        return -ENOTSUP;
    }
    s->cluster_bits = be32_at(hdr + 20);
    if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        error_setg(errp, "Unsupported cluster size: 2^%u", (unsigned)s->cluster_bits);
        return -EINVAL;
    }
    s->cluster_size = 1LL << s->cluster_bits;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ULL << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ULL << s->csize_shift) - 1;

    if (s->qcow_version == 2) {
        s->refcount_order = 4;
        s->header_length = QCOW2_V2_HEADER_SIZE;
    } else {
        s->incompatible_features = be64_at(hdr + 72);
        s->compatible_features = be64_at(hdr + 80);
        s->autoclear_features = be64_at(hdr + 88);
        s->refcount_order = be32_at(hdr + 96);
        s->header_length = be32_at(hdr + 100);
        if (s->header_length < QCOW2_V3_HEADER_SIZE || flen < s->header_length) {
            error_setg(errp, "qcow2 header too short");
            return -EINVAL;
        }
        if (s->header_length > s->cluster_size) {
            error_setg(errp, "qcow2 header exceeds cluster size");
            return -EINVAL;
        }
        /* "Additional fields": compression_type is present only when the header covers it. */
        s->compression_type = s->header_length > QCOW2_V3_HEADER_SIZE
                              ? hdr[104] : QCOW2_COMPRESSION_TYPE_ZLIB;
        ret = qcow2_check_compression_type(s, errp);
        if (ret < 0) {
            return ret;
        }
    }
    /* "Extended L2 Entries": 16-byte entries, 32 subclusters of at least 512 bytes. */
    s->l2_bits = s->cluster_bits - (qcow2_has_subclusters(s) ? 4 : 3);
    s->l2_size = 1LL << s->l2_bits;
    s->subcluster_bits = s->cluster_bits;
    if (qcow2_has_subclusters(s)) {
        s->subcluster_bits -= __builtin_ctz(QCOW2_EXTL2_SUBCLUSTERS);
        if (s->subcluster_bits < QCOW2_MIN_CLUSTER_BITS) {
            error_setg(errp, "Unsupported subcluster size: %d", 1 << s->subcluster_bits);
            return -EINVAL;
        }
    }
    s->subcluster_size = 1LL << s->subcluster_bits;
    if (s->refcount_order < 0 || s->refcount_order > 6) {
        error_setg(errp, "Reference count entry width too large; may not exceed 64 bits");
        return -EINVAL;
    }
    s->refcount_bits = 1 << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ULL << s->refcount_bits) - 1;
    s->refcount_block_bits = s->cluster_bits + 3 - s->refcount_order;

    /* From here on every failure goes through `fail`, which frees all of this. */
    g_mutex_init(&s->lock);
    g_rw_lock_init(&s->data_lock);
    g_mutex_init(&s->fast_io_lock);
    g_cond_init(&s->fast_io_done);
    g_cond_init(&s->inflight_done);
    s->inflight_allocs = g_array_new(false, false, sizeof(int64_t) * 2);
    s->unknown_exts = g_array_new(false, true, sizeof(Qcow2UnknownExt));
    uint8_t *cluster0 = g_malloc0(s->cluster_size);
    ret = bdrv_pread(bs->file, 0, MIN(s->cluster_size, flen), cluster0, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read qcow2 header");
        goto fail;
    }
    const uint8_t *feature_table = NULL;
    size_t feature_table_len = 0;
    uint64_t backing_offset = be64_at(hdr + 8);
    uint32_t backing_size = be32_at(hdr + 16);
    size_t ext_end = backing_offset ? MIN(backing_offset, (uint64_t)s->cluster_size)
                                    : (size_t)s->cluster_size;
    ret = qcow2_read_extensions(bs, cluster0, s->header_length, ext_end, &feature_table,
                                &feature_table_len, errp);
    if (ret < 0) {
        goto fail;
    }
    uint64_t unsupported = s->incompatible_features & ~QCOW2_INCOMPAT_KNOWN;
    if (unsupported) {
        qcow2_report_unsupported(feature_table, feature_table_len, unsupported, errp);
        ret = -ENOTSUP;
        goto fail;
    }
    if ((s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) && (flags & BDRV_O_RDWR) &&
        !(flags & BDRV_O_CHECK)) {
        error_setg(errp, "qcow2: Image is corrupt; cannot be opened read/write");
        ret = -EACCES;
        goto fail;
    }
    ret = qcow2_open_data_file(bs, options, flags, errp);
    if (ret < 0) {
        goto fail;
    }
    if (be32_at(hdr + 32) != 0) {
        error_setg(errp, "Encrypted images are not supported");
        ret = -ENOTSUP;
        goto fail;
    }
    if (backing_offset) {
        if (backing_size > QCOW2_MAX_BACKING_NAME || backing_size >= sizeof(bs->backing_file)) {
            error_setg(errp, "Backing file name too long");
            ret = -EINVAL;
            goto fail;
        }
        if (backing_offset > (uint64_t)s->cluster_size ||
            backing_size > s->cluster_size - backing_offset) {
            error_setg(errp, "Backing file name is outside the header cluster");
            ret = -EINVAL;
            goto fail;
        }
        memcpy(bs->backing_file, cluster0 + backing_offset, backing_size);
        bs->backing_file[backing_size] = 0;
    }

    bs->total_size = (int64_t)be64_at(hdr + 24);
    if (bs->total_size < 0) {
        error_setg(errp, "Image size too large");
        ret = -EFBIG;
        goto fail;
    }
    s->l1_size = be32_at(hdr + 36);
    s->l1_table_offset = be64_at(hdr + 40);
    if (s->l1_size > QCOW2_MAX_L1_BYTES / 8) {
        error_setg(errp, "Active L1 table too large");
        ret = -EFBIG;
        goto fail;
    }
    if ((uint64_t)qcow2_size_to_l1(s, bs->total_size) > s->l1_size) {
        error_setg(errp, "L1 table is too small");
        ret = -EINVAL;
        goto fail;
    }
    ret = qcow2_validate_table(bs, s->l1_table_offset, s->l1_size, 8, QCOW2_MAX_L1_BYTES,
                               "Active L1 table", errp);
    if (ret < 0) {
        goto fail;
    }
    s->refcount_table_offset = be64_at(hdr + 48);
    uint64_t rt_clusters = be32_at(hdr + 56);
    if (rt_clusters > (uint64_t)QCOW2_MAX_REFTABLE_BYTES >> s->cluster_bits) {
        error_setg(errp, "Reference count table too large");
        ret = -EINVAL;
        goto fail;
    }
    if (rt_clusters == 0) {
        error_setg(errp, "Image does not contain a reference count table");
        ret = -EINVAL;
        goto fail;
    }
    s->refcount_table_size = (rt_clusters << s->cluster_bits) / 8;
    ret = qcow2_validate_table(bs, s->refcount_table_offset, s->refcount_table_size, 8,
                               QCOW2_MAX_REFTABLE_BYTES, "Reference count table", errp);
    if (ret < 0) {
        goto fail;
    }
    if (qcow2_ranges_overlap(s->refcount_table_offset, rt_clusters << s->cluster_bits, 0,
                       s->cluster_size)) {
        error_setg(errp, "Reference count table overlaps with the image header");
        ret = -EINVAL;
        goto fail;
    }
    if (qcow2_ranges_overlap(s->refcount_table_offset, rt_clusters << s->cluster_bits,
                       s->l1_table_offset, (uint64_t)s->l1_size * 8)) {
        error_setg(errp, "Reference count table overlaps with the active L1 table");
        ret = -EINVAL;
        goto fail;
    }
    if (s->l1_size && qcow2_ranges_overlap(s->l1_table_offset, (uint64_t)s->l1_size * 8, 0,
                                     s->cluster_size)) {
        error_setg(errp, "Active L1 table overlaps with the image header");
        ret = -EINVAL;
        goto fail;
    }
    s->nb_snapshots = be32_at(hdr + 60);
    s->snapshots_offset = be64_at(hdr + 64);

    /* Caches: enough L2 tables to map the whole disk, up to 32 MiB. */
    int64_t l2_tables = qcow2_size_to_l1(s, bs->total_size) + 1;
    Error *local_err = NULL;
    uint64_t l2_cache_bytes = options ? opts_get_size(options, "l2-cache-size", 0, &local_err)
                                      : 0;
    if (local_err) {
        error_propagate(errp, local_err);
        ret = -EINVAL;
        goto fail;
    }
    int64_t n_l2 = l2_cache_bytes ? (int64_t)(l2_cache_bytes >> s->cluster_bits)
                                  : MIN(l2_tables, QCOW2_DEFAULT_L2_CACHE_BYTES >> s->cluster_bits);
    n_l2 = MAX(n_l2, 2);
    n_l2 = MIN(n_l2, 65536);
    s->l2_cache = qcow2_cache_create(bs, (int)n_l2, true);
    s->refcount_cache = qcow2_cache_create(bs, (int)MAX(4, MIN(n_l2 / 4, 1024)), false);

    s->l1_table = g_new0(uint64_t, s->l1_size ? s->l1_size : 1);
    if (s->l1_size) {
        ret = bdrv_pread(bs->file, s->l1_table_offset, (int64_t)s->l1_size * 8, s->l1_table, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read L1 table");
            goto fail;
        }
        for (uint32_t i = 0; i < s->l1_size; i++) {
            s->l1_table[i] = GUINT64_FROM_BE(s->l1_table[i]);
        }
    }
    ret = qcow2_refcount_init(bs, errp);
    if (ret < 0) {
        goto fail;
    }
    ret = qcow2_read_snapshots(bs, errp);
    if (ret < 0) {
        goto fail;
    }
    g_free(cluster0);
    cluster0 = NULL;

    if ((s->incompatible_features & QCOW2_INCOMPAT_DIRTY) && (flags & BDRV_O_RDWR) &&
        !(flags & BDRV_O_CHECK)) {
        /* Refcounts may be stale (lazy refcounts, crash): repair before writing. */
        BdrvCheckResult res;
        memset(&res, 0, sizeof(res));
        ret = qcow2_check_refcounts(bs, &res, BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
        if (ret < 0 || res.corruptions > res.corruptions_fixed || res.check_errors) {
            error_setg(errp, "Could not repair dirty image");
            ret = ret < 0 ? ret : -EIO;
            goto fail;
        }
        ret = qcow2_mark_clean(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not update qcow2 header");
            goto fail;
        }
    }
    /* Autoclear features we do not maintain (bitmaps) are cleared as the spec says;
     * raw external data (bit 1) is kept up to date. */
    uint64_t autoclear_kept = qcow2_has_data_file(s) ? QCOW2_AUTOCLEAR_DATA_FILE_RAW : 0;
    if (flags & BDRV_O_RDWR && !(flags & BDRV_O_CHECK) &&
        (s->autoclear_features & ~autoclear_kept)) {
        s->autoclear_features &= autoclear_kept;
        ret = qcow2_update_header(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not update qcow2 header");
            goto fail;
        }
    }
    bs->request_alignment = 1;
    return 0;

fail:
    g_free(cluster0);
    qcow2_close_data_file(bs);
    qcow2_free_state(s);
    g_mutex_clear(&s->lock);
    g_rw_lock_clear(&s->data_lock);
    g_mutex_clear(&s->fast_io_lock);
    g_cond_clear(&s->fast_io_done);
    g_cond_clear(&s->inflight_done);
    g_array_free(s->inflight_allocs, true);
    return ret;
}

static void qcow2_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    if (!bs->read_only) {
        if (s->data_file && s->data_file != bs->file) {
            bdrv_flush(s->data_file);
        }
        qcow2_flush_caches(bs);
        bdrv_flush(bs->file);
        if (s->lazy_dirty) {
            qcow2_mark_clean(bs);   /* everything is on disk: refcounts are exact again */
        }
    }
    qcow2_close_data_file(bs);
    qcow2_free_state(s);
    g_mutex_clear(&s->lock);
    g_rw_lock_clear(&s->data_lock);
    g_mutex_clear(&s->fast_io_lock);
    g_cond_clear(&s->fast_io_done);
    g_cond_clear(&s->inflight_done);
    g_array_free(s->inflight_allocs, true);
}

static int qcow2_preadv(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                        int flags)
{
    BDRVQcow2State *s = bs->opaque;
    if (!s->data_file) {
        return -ENOMEDIUM;      /* opened without its data file (BDRV_O_NO_IO) */
    }
    g_mutex_lock(&s->lock);
    int ret = qcow2_co_preadv_flags(bs, offset, bytes, qiov, true);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_writable(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    if (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
        return -EIO;
    }
    if (!s->data_file) {
        return -ENOMEDIUM;
    }
    if ((s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) &&
        !(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        /* Lazy refcounts (qcow2 spec, compatible bit 0): refcount updates may lag
         * behind L2 updates on disk while the dirty bit says so. */
        int ret = qcow2_mark_dirty(bs);
        if (ret < 0) {
            return ret;
        }
        s->lazy_dirty = true;
    }
    return 0;
}

static int qcow2_pwritev(BlockDriverState *bs, int64_t offset, int64_t bytes, IOVector *qiov,
                         int flags)
{
    BDRVQcow2State *s = bs->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_writable(bs);
    if (ret == 0) {
        ret = qcow2_co_pwritev(bs, offset, bytes, qiov, flags & BDRV_REQ_WRITE_COMPRESSED);
    }
    g_mutex_unlock(&s->lock);
    if (ret == 0 && (flags & BDRV_REQ_FUA)) {
        ret = bdrv_flush(bs);
    }
    return ret;
}

static int qcow2_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_writable(bs);
    if (ret == 0) {
        ret = qcow2_cluster_zeroize(bs, offset, bytes, flags);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_pdiscard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_writable(bs);
    if (ret == 0) {
        ret = qcow2_cluster_discard(bs, offset, bytes, false);
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_flush(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    /* Guest data reaches the disk before the metadata pointing at it. */
    if (s->data_file && s->data_file != bs->file) {
        int ret = bdrv_flush(s->data_file);
        if (ret < 0) {
            return ret;
        }
    }
    g_mutex_lock(&s->lock);
    int ret = qcow2_flush_caches(bs);
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_truncate(BlockDriverState *bs, int64_t offset, bool exact, PreallocMode prealloc,
                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;
    if (!s->data_file) {
        error_setg(errp, "Cannot resize an image whose data file is not open");
        return -ENOMEDIUM;
    }
    g_mutex_lock(&s->lock);
    if (offset < bs->total_size) {
        if (s->nb_snapshots) {
            error_setg(errp, "Can't resize an image which has snapshots");
            ret = -ENOTSUP;
            goto out;
        }
        /* Free everything past the new end, then shrink. */
        int64_t start = qcow2_align_up(offset, s->cluster_size);
        int64_t old_end = qcow2_align_up(bs->total_size, s->cluster_size);
        if (old_end > start) {
            int64_t saved = bs->total_size;
            bs->total_size = old_end;
            ret = qcow2_cluster_discard(bs, start, old_end - start, true);
            bs->total_size = saved;
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to discard cropped clusters");
                goto out;
            }
        }
    } else if (offset > bs->total_size) {
        ret = qcow2_grow_l1_table(bs, qcow2_size_to_l1(s, offset), true);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to grow the L1 table");
            goto out;
        }
    }
    int64_t old_size = bs->total_size;
    if (qcow2_has_data_file(s)) {
        /* The data file follows the virtual size (as qemu does); preallocation of
         * data happens there, of metadata here.  Raw external data needs every
         * cluster mapped so that the data file alone is the disk. */
        PreallocMode data_mode = prealloc == PREALLOC_MODE_METADATA ? PREALLOC_MODE_OFF
                                                                     : prealloc;
        ret = bdrv_truncate(s->data_file, offset, exact, data_mode, errp);
        if (ret < 0) {
            goto out;
        }
        if (qcow2_data_file_is_raw(s) && prealloc == PREALLOC_MODE_OFF) {
            prealloc = PREALLOC_MODE_METADATA;
        }
    }
    if (offset > old_size && prealloc != PREALLOC_MODE_OFF) {
        bs->total_size = offset;
        ret = qcow2_preallocate_metadata(bs, old_size, offset, prealloc);
        if (ret < 0) {
            bs->total_size = old_size;
            error_setg_errno(errp, -ret, "Preallocation failed");
            goto out;
        }
    }
    ret = qcow2_flush_caches(bs);
    if (ret == 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret == 0) {
        uint8_t b[8];
        put_be64(b, offset);
        ret = bdrv_pwrite_sync(bs->file, 24, 8, b);
    }
    if (ret < 0) {
        bs->total_size = old_size;
        error_setg_errno(errp, -ret, "Failed to update the image size");
        goto out;
    }
    bs->total_size = offset;
out:
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes, int64_t *pnum,
                              int64_t *map, BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t host;
    Qcow2ClusterType type;
    int64_t n = bytes;
    if (!s->data_file) {
        return -ENOMEDIUM;
    }
    g_mutex_lock(&s->lock);
    if (!s->metadata_preallocation_checked) {
        /* Lazily, as QEMU: it reads every refcount, which open and check need not pay for. */
        s->metadata_preallocation = qcow2_detect_metadata_preallocation(bs);
        s->metadata_preallocation_checked = true;
    }
    int ret = qcow2_get_host_offset(bs, offset, &n, &host, &type);
    g_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    *pnum = n;
    *map = 0;
    *file = NULL;
    switch (type) {
    case QCOW2_CLUSTER_UNALLOCATED:
        return bs->backing_file[0] ? 0 : BDRV_BLOCK_ZERO;
    case QCOW2_CLUSTER_UNALLOCATED_ALLOC:
        /* A host cluster is there, but not this subcluster's data (qemu-img map shows
         * its offset); what it reads comes from below. */
        *map = host;
        *file = s->data_file;
        return BDRV_BLOCK_OFFSET_VALID | (bs->backing_file[0] ? 0 : BDRV_BLOCK_ZERO);
    case QCOW2_CLUSTER_ZERO_PLAIN:
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
    case QCOW2_CLUSTER_ZERO_ALLOC:
        *map = host;
        *file = s->data_file;
        return BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID;
    case QCOW2_CLUSTER_NORMAL:
        *map = host;
        *file = s->data_file;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_OFFSET_VALID |
               (s->metadata_preallocation ? BDRV_BLOCK_RECURSE : 0);
    case QCOW2_CLUSTER_COMPRESSED:
        return BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_COMPRESSED;
    }
    return -EIO;
}

static int qcow2_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BDRVQcow2State *s = bs->opaque;
    bdi->cluster_size = s->cluster_size;
    bdi->vm_state_offset = qcow2_size_to_l1(s, bs->total_size) << (s->cluster_bits + s->l2_bits);
    bdi->is_dirty = s->incompatible_features & QCOW2_INCOMPAT_DIRTY;
    bdi->has_qcow2_info = true;
    bdi->qcow_version = s->qcow_version;
    bdi->lazy_refcounts = s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS;
    bdi->refcount_bits = s->refcount_bits;
    bdi->corrupt = s->incompatible_features & QCOW2_INCOMPAT_CORRUPT;
    bdi->extended_l2 = s->incompatible_features & QCOW2_INCOMPAT_EXTL2;
    bdi->compression_type = qcow2_compression_type_name(s->compression_type);
    bdi->has_data_file = qcow2_has_data_file(s);
    bdi->data_file = s->data_file_name;
    bdi->data_file_raw = qcow2_data_file_is_raw(s);
    return 0;
}

static int qcow2_check(BlockDriverState *bs, BdrvCheckResult *res, int fix)
{
    BDRVQcow2State *s = bs->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_check_refcounts(bs, res, fix);
    if (ret == 0 && fix && !bs->read_only && res->corruptions == res->corruptions_fixed &&
        res->check_errors == 0) {
        if (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) {
            qcow2_mark_clean(bs);
        }
        if ((fix & BDRV_FIX_ERRORS) && (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
            s->incompatible_features &= ~QCOW2_INCOMPAT_CORRUPT;
            qcow2_update_header(bs);
        }
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

static int qcow2_snapshot_list_locked(BlockDriverState *bs, BlockSnapshotInfo **list)
{
    BDRVQcow2State *s = bs->opaque;
    g_mutex_lock(&s->lock);
    int ret = qcow2_snapshot_list(bs, list);
    g_mutex_unlock(&s->lock);
    return ret;
}

#define QCOW2_LOCKED_SNAPSHOT_OP(fn)                                                   \
    static int fn##_locked(BlockDriverState *bs, const char *arg, Error **errp)      \
    {                                                                                  \
        BDRVQcow2State *s = bs->opaque;                                                \
        g_mutex_lock(&s->lock);                                                        \
        int ret = qcow2_writable(bs);                                                  \
        if (ret < 0) {                                                                 \
            error_setg(errp, "Image is corrupt");                                      \
        } else {                                                                       \
            ret = fn(bs, arg, errp);                                                   \
        }                                                                              \
        g_mutex_unlock(&s->lock);                                                      \
        return ret;                                                                    \
    }

QCOW2_LOCKED_SNAPSHOT_OP(qcow2_snapshot_create)
QCOW2_LOCKED_SNAPSHOT_OP(qcow2_snapshot_goto)
QCOW2_LOCKED_SNAPSHOT_OP(qcow2_snapshot_delete)

const BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .instance_size = sizeof(BDRVQcow2State),
    .grows_file = true,
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .preadv = qcow2_preadv,
    .aio_map = qcow2_aio_map,
    .aio_unmap = qcow2_aio_unmap,
    .pwritev = qcow2_pwritev,
    .pwrite_zeroes = qcow2_pwrite_zeroes,
    .pdiscard = qcow2_pdiscard,
    .flush = qcow2_flush,
    .truncate = qcow2_truncate,
    .block_status = qcow2_block_status,
    .get_info = qcow2_get_info,
    .check = qcow2_check,
    .snapshot_list = qcow2_snapshot_list_locked,
    .snapshot_create = qcow2_snapshot_create_locked,
    .snapshot_goto = qcow2_snapshot_goto_locked,
    .snapshot_delete = qcow2_snapshot_delete_locked,
    .change_backing_file = qcow2_change_backing_file,
    .make_empty = qcow2_make_empty,
    .amend = qcow2_amend,
    .create_opts = qcow2_create_opts,
    .create = qcow2_create,
};
