/*
 * kemu-img sources shared by its sub-commands: --image-opts strings and internal
 * snapshots named with -l (convert, measure).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "kemu-img.h"
#include "kemu/error.h"
#include "kemu/option.h"
#include "tool-util.h"

BlockBackend *img_open_source(const char *arg, bool image_opts, const char *fmt, int flags,
                              const char *cache, bool quiet)
{
    if (!image_opts) {
        return img_open(arg, fmt, flags, cache, quiet);
    }
    char *file, *ofmt, *msg;
    if (!tool_parse_image_opts(arg, &file, &ofmt, &msg)) {
        error_report("Could not open '%s': %s", arg, msg);
        g_free(msg);
        return NULL;
    }
    BlockBackend *blk = img_open(file, ofmt, flags, cache, quiet);
    g_free(file);
    g_free(ofmt);
    return blk;
}

void img_snapshot_param_clear(SnapshotParam *p)
{
    g_free(p->id);
    g_free(p->name);
    memset(p, 0, sizeof(*p));
}

bool img_parse_snapshot_param(const char *arg, SnapshotParam *p)
{
    g_free(p->id);
    g_free(p->name);
    memset(p, 0, sizeof(*p));
    if (!g_str_has_prefix(arg, "snapshot.")) {
        p->name = g_strdup(arg);
        p->either = true;
        return true;
    }
    Error *err = NULL;
    Opts *o = opts_parse(arg, NULL, &err);
    if (!o) {
        error_report_err(err);
        error_report("Failed in parsing snapshot param '%s'", arg);
        return false;
    }
    for (size_t i = 0; i < opts_count(o); i++) {
        const char *k = opts_key_at(o, i);
        if (strcmp(k, "snapshot.id") && strcmp(k, "snapshot.name")) {
            error_report("Invalid parameter '%s'", k);
            error_report("Failed in parsing snapshot param '%s'", arg);
            opts_free(o);
            return false;
        }
    }
    p->id = g_strdup(opts_get(o, "snapshot.id"));
    p->name = g_strdup(opts_get(o, "snapshot.name"));
    opts_free(o);
    return true;
}

/* Index of the snapshot the parameter names, or -1. */
static int find_snapshot(const BlockSnapshotInfo *sn, int n, const SnapshotParam *p)
{
    for (int pass = 0; pass < (p->either ? 2 : 1); pass++) {
        for (int i = 0; i < n; i++) {
            bool ok;
            if (p->either) {
                ok = !strcmp(pass == 0 ? sn[i].id : sn[i].name, p->name);
            } else {
                ok = (!p->id || !strcmp(sn[i].id, p->id)) &&
                     (!p->name || !strcmp(sn[i].name, p->name));
            }
            if (ok) {
                return i;
            }
        }
    }
    return -1;
}

/* Copy a whole file (keeping holes) from fd `in` to fd `out`. */
static int copy_file(int in, int out)
{
    off_t end = lseek(in, 0, SEEK_END);
    off_t pos = 0;
    while (pos < end) {
        off_t data = lseek(in, pos, SEEK_DATA);
        if (data < 0) {
            break;              /* only a hole is left */
        }
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0) {
            hole = end;
        }
        loff_t ioff = data, ooff = data;
        while (ioff < hole) {
            ssize_t n = copy_file_range(in, &ioff, out, &ooff, hole - ioff, 0);
            if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
                char buf[65536];
                n = pread(in, buf, MIN((off_t)sizeof(buf), hole - ioff), ioff);
                if (n > 0 && pwrite(out, buf, n, ooff) != n) {
                    n = -1;
                }
                if (n > 0) {
                    ioff += n;
                    ooff += n;
                }
            }
            if (n <= 0) {
                return n < 0 ? -errno : -EIO;
            }
        }
        pos = hole;
    }
    return ftruncate(out, end) < 0 ? -errno : 0;
}

/*
 * The source as it was at an internal snapshot.  The block layer has no
 * read-only temporary snapshot view (qemu's bdrv_snapshot_load_tmp), so the
 * image file is copied next to the original (backing file names stay valid),
 * the copy is reverted to the snapshot and read from; the copy is unlinked at
 * once and vanishes when closed.
 */
BlockBackend *img_open_snapshot(BlockBackend *blk, const SnapshotParam *p, const char *cache,
                               int flags)
{
    BlockDriverState *bs = blk_bs(blk);
    BlockSnapshotInfo *sn = NULL;
    int n = bdrv_snapshot_list(bs, &sn);
    if (n == -ENOTSUP) {
        error_report("Failed to load snapshot: Block format '%s' used by device '' does not "
                     "support temporarily loading internal snapshots", bdrv_get_format_name(bs));
        return NULL;
    }
    int idx = n > 0 ? find_snapshot(sn, n, p) : -1;
    char *id = idx >= 0 ? g_strdup(sn[idx].id) : NULL;
    if (n > 0) {
        bdrv_snapshot_list_free(sn, n);
    } else {
        g_free(sn);
    }
    if (!id) {
        error_report("Failed to load snapshot: Can't find snapshot");
        return NULL;
    }
    const char *path = bdrv_get_filename(bs);
    char *dir = g_path_get_dirname(path);
    char *tmp = g_build_filename(dir, ".kemu-img-snapshot-XXXXXX", NULL);
    BlockBackend *copy = NULL;
    int in = open(path, O_RDONLY);
    int out = in < 0 ? -1 : g_mkstemp(tmp);
    int r = (in < 0 || out < 0) ? -errno : copy_file(in, out);
    if (in >= 0) {
        close(in);
    }
    if (out >= 0) {
        close(out);
    }
    Error *err = NULL;
    if (r == 0) {
        bool writethrough = false;
        int cflags = BDRV_O_RDWR | BDRV_O_NO_LOCK | (flags & ~BDRV_O_NO_LOCK);
        bdrv_parse_cache_mode(cache, &cflags, &writethrough);
        copy = blk_new_open(tmp, bdrv_get_format_name(bs), NULL, cflags, false, &err);
        if (copy && bdrv_snapshot_goto(blk_bs(copy), id, &err) < 0) {
            blk_unref(copy);
            copy = NULL;
        }
        if (!copy) {
            error_report_err(err);
        }
    } else {
        error_report("Failed to load snapshot: %s", strerror(-r));
    }
    if (out >= 0) {
        unlink(tmp);
    }
    g_free(tmp);
    g_free(dir);
    g_free(id);
    return copy;
}
