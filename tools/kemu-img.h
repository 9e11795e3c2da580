/*
 * kemu-img internals shared between its source files.
 */
#ifndef TOOLS_KEMU_IMG_H
#define TOOLS_KEMU_IMG_H

#include <stdbool.h>

#include "block/block-backend.h"
#include "block/block_int.h"

typedef enum OutputFormat {
    OFORMAT_HUMAN,
    OFORMAT_JSON,
} OutputFormat;

/* Open an image for a sub-command; on failure print "Could not open ..." and return NULL. */
BlockBackend *img_open(const char *filename, const char *fmt, int flags, const char *cache,
                       bool quiet);
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
