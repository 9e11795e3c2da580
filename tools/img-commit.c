/*
 * kemu-img commit, rebase and amend: the sub-commands that change how images in
 * a backing chain relate.  Options, messages and exit codes follow qemu-img 7.2:
 * commit copies everything allocated above the base into it and empties the top
 * (unless -d); safe rebase copies into the overlay every range where the old and
 * the new backing chain differ before rewriting the backing file name; -u only
 * rewrites the name.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "kemu-img.h"
#include "kemu/error.h"
#include "kemu/option.h"
#include "tool-util.h"

#define CHAIN_CHUNK (1024 * 1024)

static bool same_path(const char *a, const char *b)
{
    char *ca = g_canonicalize_filename(a, NULL), *cb = g_canonicalize_filename(b, NULL);
    bool same = !strcmp(ca, cb);
    g_free(ca);
    g_free(cb);
    return same;
}

int img_commit(int argc, char **argv)
{
    static const struct option long_options[] = {
        IMG_LONG_COMMON,
        { NULL, 0, NULL, 0 },
    };
    ImgCommon co = {
        .usage = "commit [--object objectdef] [--image-opts] [-q] [-f fmt] [-t cache] "
                 "[-b base] [-r rate_limit] [-d] [-p] filename",
        .error_ret = 1,
    };
    const char *cache = "unsafe", *base_name = NULL;
    bool progress = false, drop = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":f:ht:b:dpqr:", long_options, NULL)) != -1) {
        int r = img_common_opt(&co, c, argv);
        if (r >= 0) {
            return r;
        }
        cache = c == 't' ? optarg : cache;
        base_name = c == 'b' ? optarg : base_name;
        drop |= c == 'b' || c == 'd';       /* -b implies -d */
        progress |= c == 'p';
    }
    const char *fmt = co.fmt;
    bool quiet = co.quiet;
    if (quiet) {
        progress = false;
    }
    if (!img_one_filename(argc)) {
        return 1;
    }
    const char *filename = argv[optind];
    BlockBackend *top = img_open(filename, fmt, BDRV_O_RDWR | BDRV_O_UNMAP, cache, quiet);
    if (!top) {
        return 1;
    }
    int ret = 1;
    BlockBackend *base_blk = NULL;
    uint8_t *buf = NULL;
    BlockDriverState *bs = blk_bs(top);
    BlockDriverState *base = bdrv_get_backing(bs);
    if (!base) {
        error_report("Image does not have a backing file");
        goto out;
    }
    if (base_name) {
        while (base && !same_path(bdrv_get_filename(base), base_name)) {
            base = bdrv_get_backing(base);
        }
        if (!base) {
            error_report("Did not find '%s' in the backing chain of '%s'", base_name, filename);
            goto out;
        }
    }
    bool writethrough = false;
    /* The base is already open read-only inside the chain: this second, writable
     * open is ours, so it must not conflict with our own lock. */
    int flags = BDRV_O_RDWR | BDRV_O_NO_BACKING | BDRV_O_UNMAP | BDRV_O_NO_LOCK;
    bdrv_parse_cache_mode(cache, &flags, &writethrough);
    Error *err = NULL;
    base_blk = blk_new_open(bdrv_get_filename(base), bdrv_get_format_name(base), NULL, flags,
                            false, &err);
    if (!base_blk) {
        error_report_err(err);
        goto out;
    }
    int64_t size = blk_getlength(top);
    if (blk_getlength(base_blk) < size) {
        if (blk_truncate(base_blk, size, false, PREALLOC_MODE_OFF, &err) < 0) {
            error_report_err(err);
            goto out;
        }
    }
    buf = g_malloc(CHAIN_CHUNK);
    img_progress_init(progress);
    for (int64_t off = 0; off < size;) {
        int64_t n;
        int st = bdrv_block_status_above(bs, base, off, MIN(size - off, CHAIN_CHUNK), &n, NULL,
                                         NULL, NULL);
        if (st < 0) {
            error_report("Block status failed: %s", strerror(-st));
            goto out;
        }
        if (st & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
            int r;
            if ((st & BDRV_BLOCK_ZERO) && !(st & BDRV_BLOCK_DATA)) {
                r = blk_pwrite_zeroes(base_blk, off, n, 0);
            } else {
                r = blk_pread(top, off, n, buf, 0);
                if (r == 0) {
                    r = blk_pwrite(base_blk, off, n, buf, 0);
                }
            }
            if (r < 0) {
                error_report("Block job failed: %s", strerror(-r));
                goto out;
            }
        }
        off += n;
        img_progress_at(off, size);
    }
    if (blk_flush(base_blk) < 0) {
        error_report("Could not flush the base image");
        goto out;
    }
    if (!drop) {
        int r = bdrv_make_empty(bs);
        if (r < 0 && r != -ENOTSUP) {
            error_report("Could not empty %s: %s", filename, strerror(-r));
            goto out;
        }
    }
    img_progress_end();
    img_qprintf(quiet, "Image committed.\n");
    ret = 0;
out:
    g_free(buf);
    if (base_blk) {
        blk_unref(base_blk);
    }
    blk_unref(top);
    return ret;
}

int img_rebase(int argc, char **argv)
{
    static const struct option long_options[] = {
        IMG_LONG_COMMON,
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommon co = {
        .usage = "rebase [--object objectdef] [--image-opts] [-U] [-q] [-f fmt] [-t cache] "
                 "[-T src_cache] [-p] [-u] [-c] -b backing_file [-F backing_fmt] filename",
        .error_ret = 1,
    };
    const char *cache = "writeback", *src_cache = "writeback";
    const char *out_base = NULL, *out_fmt = NULL;
    bool progress = false, unsafe = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":hf:F:b:upt:T:qUc", long_options, NULL)) != -1) {
        int r = img_common_opt(&co, c, argv);
        if (r >= 0) {
            return r;
        }
        out_fmt = c == 'F' ? optarg : out_fmt;
        out_base = c == 'b' ? optarg : out_base;
        cache = c == 't' ? optarg : cache;
        src_cache = c == 'T' ? optarg : src_cache;
        unsafe |= c == 'u';
        progress |= c == 'p';
    }
    const char *fmt = co.fmt;
    bool quiet = co.quiet;
    if (quiet) {
        progress = false;
    }
    if (!img_one_filename(argc)) {
        return 1;
    }
    if (!out_base) {
        error_report("Must specify backing file (-b)");
        return 1;
    }
    const char *filename = argv[optind];
    int flags = BDRV_O_RDWR | (unsafe ? BDRV_O_NO_BACKING : 0);
    BlockBackend *blk = img_open(filename, fmt, flags, cache, quiet);
    if (!blk) {
        return 1;
    }
    BlockDriverState *bs = blk_bs(blk);
    int ret = 1;
    BlockDriverState *new_base = NULL;
    uint8_t *b_old = NULL, *b_new = NULL;
    if (*out_base && !out_fmt && !unsafe) {
        error_report("Could not change the backing file to '%s': backing format must be "
                     "specified", out_base);
        goto out;
    }
    if (!unsafe) {
        if (*out_base) {
            Error *err = NULL;
            char *path = bdrv_path_combine(filename, out_base);
            new_base = bdrv_open(path, out_fmt, NULL, 0, &err);
            if (!new_base) {
                error_prepend(&err, "Could not open new backing file '%s': ", path);
                error_report_err(err);
                g_free(path);
                goto out;
            }
            g_free(path);
        }
        (void)src_cache;
        BlockDriverState *old_base = bdrv_get_backing(bs);
        int64_t size = blk_getlength(blk);
        int64_t old_size = old_base ? bdrv_getlength(old_base) : 0;
        int64_t new_size = new_base ? bdrv_getlength(new_base) : 0;
        b_old = g_malloc(CHAIN_CHUNK);
        b_new = g_malloc(CHAIN_CHUNK);
        img_progress_init(progress);
        for (int64_t off = 0; off < size;) {
            int64_t n;
            int alloc = bdrv_is_allocated(bs, off, MIN(size - off, CHAIN_CHUNK), &n);
            if (alloc < 0) {
                error_report("error while reading image metadata: %s", strerror(-alloc));
                goto out;
            }
            if (!alloc) {
                /* Not in the overlay: what the guest saw came from the old chain. */
                memset(b_old, 0, n);
                memset(b_new, 0, n);
                int r = 0;
                if (old_base && off < old_size) {
                    r = bdrv_pread(old_base, off, MIN(n, old_size - off), b_old, 0);
                }
                if (r == 0 && new_base && off < new_size) {
                    r = bdrv_pread(new_base, off, MIN(n, new_size - off), b_new, 0);
                }
                if (r < 0) {
                    error_report("error while reading from old backing file");
                    goto out;
                }
                for (int64_t o = 0; o < n; o += BDRV_SECTOR_SIZE) {
                    int64_t l = MIN(BDRV_SECTOR_SIZE, n - o);
                    if (memcmp(b_old + o, b_new + o, l)) {
                        int64_t e = o + l;
                        while (e < n && memcmp(b_old + e, b_new + e, MIN(BDRV_SECTOR_SIZE, n - e))) {
                            e += MIN(BDRV_SECTOR_SIZE, n - e);
                        }
                        r = blk_pwrite(blk, off + o, e - o, b_old + o, 0);
                        if (r < 0) {
                            error_report("error while writing to COW image: %s", strerror(-r));
                            goto out;
                        }
                        o = e - BDRV_SECTOR_SIZE;
                    }
                }
            }
            off += n;
            img_progress_at(off, size);
        }
    }
    int r = bdrv_change_backing_file(bs, *out_base ? out_base : NULL,
                                     *out_base ? out_fmt : NULL);
    if (r == -ENOTSUP) {
        error_report("Could not change the backing file to '%s': backing file not supported by "
                     "this format", out_base);
        goto out;
    } else if (r < 0) {
        error_report("Could not change the backing file to '%s': %s", out_base, strerror(-r));
        goto out;
    }
    img_progress_end();
    ret = 0;
out:
    g_free(b_old);
    g_free(b_new);
    if (new_base) {
        bdrv_unref(new_base);
    }
    blk_unref(blk);
    return ret;
}

int img_amend(int argc, char **argv)
{
    static const struct option long_options[] = {
        IMG_LONG_COMMON,
        { "force", no_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 },
    };
    ImgCommon co = {
        .usage = "amend [--object objectdef] [--image-opts] [-p] [-q] [-f fmt] [-t cache] "
                 "[--force] -o options filename",
        .error_ret = 1,
    };
    const char *cache = "writeback";
    bool force = false, help = false;
    Opts *opts = NULL;
    int c, ret = 1;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":ho:f:t:pq", long_options, NULL)) != -1) {
        int r = img_common_opt(&co, c, argv);
        if (r >= 0) {
            ret = r;
            goto out;
        }
        if (c == 'o' && !img_add_opts(&opts, optarg, &help)) {
            goto out;
        }
        cache = c == 't' ? optarg : cache;
        force |= c == 'F';
    }
    const char *fmt = co.fmt;
    bool quiet = co.quiet;
    if (help) {
        if (!fmt && optind >= argc) {
            error_report("Expecting one image file name");
            goto out;
        }
        /* (Without -f the image's format would be probed: qcow2 is the one that amends.) */
        if (!bdrv_print_amend_options(fmt ? fmt : "qcow2")) {
            error_report("Format driver '%s' does not support option amendment", fmt);
            goto out;
        }
        ret = 0;
        goto out;
    }
    if (!opts) {
        error_report("Must specify options (-o)");
        goto out;
    }
    if (!img_one_filename(argc)) {
        goto out;
    }
    BlockBackend *blk = img_open(argv[optind], fmt, BDRV_O_RDWR | BDRV_O_NO_BACKING, cache,
                                 quiet);
    if (!blk) {
        goto out;
    }
    Error *err = NULL;
    if (bdrv_amend(blk_bs(blk), opts, force, &err) < 0) {
        error_report_err(err);
    } else {
        ret = 0;
    }
    blk_unref(blk);
out:
    opts_free(opts);
    return ret;
}
