/*
 * kemu-img internals shared between its source files.
 */
#ifndef TOOLS_KEMU_IMG_H
#define TOOLS_KEMU_IMG_H

#include <getopt.h>
#include <stdbool.h>

#include "block/block-backend.h"
#include "block/block_int.h"

typedef enum OutputFormat {
    OFORMAT_HUMAN,
    OFORMAT_JSON,
} OutputFormat;

/*
 * Options most sub-commands share.  Their long options use these codes (never short
 * options): IMG_LONG_COMMON is --help, --object and --image-opts.
 */
enum {
    IMG_OPT_OUTPUT = 0x100,
    IMG_OPT_OBJECT,
    IMG_OPT_IMAGE_OPTS,
};
#define IMG_LONG_COMMON                                                                        \
    { "help", no_argument, NULL, 'h' }, { "object", required_argument, NULL, IMG_OPT_OBJECT },  \
    { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS }

typedef struct ImgCommon {
    const char *usage;      /* printed by -h */
    int error_ret;          /* exit code of a bad option (compare: 2) */
    const char *fmt;        /* -f */
    OutputFormat ofmt;      /* --output */
    int share;              /* -U: BDRV_O_NO_LOCK */
    bool quiet;             /* -q */
    bool image_opts;        /* --image-opts */
} ImgCommon;

/* img_common_opt(): the option was a shared one, go on / was not, the caller's own. */
#define IMG_OPT_NEXT (-1)
#define IMG_OPT_OWN (-2)
/*
 * Handle getopt's c if it is a shared option (-f, -q, -U, --output, --object,
 * --image-opts, -h) or a getopt error: IMG_OPT_NEXT, IMG_OPT_OWN, or the exit code
 * the sub-command returns at once (0 after -h, error_ret after an error).
 */
int img_common_opt(ImgCommon *co, int c, char **argv);

/* Open an image for a sub-command; on failure print "Could not open ..." and return NULL. */
BlockBackend *img_open(const char *filename, const char *fmt, int flags, const char *cache,
                       bool quiet);
/* qemu-img --help (kemu-img's version of it). */
void img_help(void);
/* After getopt: exactly one argument left, else "Expecting one image file name". */
bool img_one_filename(int argc);
/* Parse --output=...; prints the qemu-img error on failure. */
bool img_parse_output(const char *arg, OutputFormat *fmt);
void img_qprintf(bool quiet, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Progress printing as qemu-img -p: "    (12.34/100%)\r". */
void img_progress_init(bool enabled);
void img_progress_print(double percent);
/* The same for done out of total bytes (an empty total counts as done). */
void img_progress_at(int64_t done, int64_t total);
void img_progress_end(void);

/* Create an image, printing "Formatting ..." unless quiet; 0 or 1 (error printed). */
int img_do_create(const char *fmt, const char *filename, Opts *opts, bool quiet);
/* The same with the error as "<filename>: <context>: <message>" (context may be NULL). */
int img_do_create_ctx(const char *fmt, const char *filename, Opts *opts, bool quiet,
                      const char *context);
/* Merge "-o a=b,c=d" into *opts (created on demand); "help" sets *help. */
bool img_add_opts(Opts **opts, const char *str, bool *help);
/* "<what> You may use k, M, G, T, P or E suffixes for" and its second line. */
void img_size_error(const char *what);

/* Open a source: a file name, or with image_opts a "driver=...,file.filename=..." string. */
BlockBackend *img_open_source(const char *arg, bool image_opts, const char *fmt, int flags,
                              const char *cache, bool quiet);

/* -l snapshot_param: "snapshot.id=ID,snapshot.name=NAME" or a plain id or name. */
typedef struct SnapshotParam {
    char *id;
    char *name;
    bool either;    /* plain -l NAME: an id or a name */
} SnapshotParam;
/* Parse -l's argument into *p; prints qemu-img's error and returns false on failure. */
bool img_parse_snapshot_param(const char *arg, SnapshotParam *p);
void img_snapshot_param_clear(SnapshotParam *p);
/* A read-only view of blk at the snapshot p names; prints "Failed to load snapshot: ...". */
BlockBackend *img_open_snapshot(BlockBackend *blk, const SnapshotParam *p, const char *cache,
                                int flags);

/* Sub-commands (argv[0] is the sub-command's name). */
int img_convert(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_map(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_dd(int argc, char **argv);
int img_measure(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_amend(int argc, char **argv);

#endif
