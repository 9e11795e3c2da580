/*
 * Helpers shared by kemu-img and kemu-io: human-readable sizes and times in the
 * exact formats qemu-img/qemu-io print, and number parsing with suffixes.
 */
#ifndef TOOLS_TOOL_UTIL_H
#define TOOLS_TOOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* qemu-io's cvtstr(): "128 KiB", "1.500 KiB", "32 bytes". */
void tool_cvtstr(double value, char *str, size_t size);
/* qemu-img's size_to_str(): "64 MiB", "1.5 GiB", "196 KiB" (3 significant digits). */
char *tool_size_to_str(uint64_t val);
/* qemu-io's timestr(): "00.00 sec" or "h:mm:ss.ss". */
void tool_timestr(const struct timespec *t, char *ts, size_t size);
/* qemu-io's cvtnum(): size with optional suffix (k, M, G, ...); -ERANGE when it is a
 * size too large for int64, -EINVAL when it is not a size. */
int64_t tool_cvtnum(const char *s);
struct timespec tool_tsub(struct timespec a, struct timespec b);
/* Monotonic clock now. */
struct timespec tool_now(void);
double tool_tdiv(double value, struct timespec t);


struct BlockDriverInfo;
/* The "Format specific information:" block of qemu-img info / qemu-io info (qcow2). */
void tool_print_format_info(const struct BlockDriverInfo *bdi);

/*
 * qemu-img's report of a getopt failure (optstring starting with ':'): for c == ':'
 * "missing argument for option '-x'", otherwise "unrecognized option '-x'", both
 * followed by "Try '<prog> --help' for more information".  argv[optind - 1] is the
 * offending word, as qemu-img prints it.
 */
void tool_getopt_error(int c, char **argv);

/* Cache mode ("none", "writeback", ...) into flags/writethrough, or print
 * "Invalid cache option: MODE" and return false. */
bool tool_parse_cache(const char *mode, int *flags, bool *writethrough);
/* AIO mode ("threads", "native", "io_uring") into flags, or print
 * "Invalid aio option: MODE" and return false. */
bool tool_parse_aio(const char *mode, int *flags);
/* Discard mode: "unmap"/"on" keep BDRV_O_UNMAP, "ignore"/"off" clear it; otherwise
 * print "Invalid discard option: MODE" and return false. */
bool tool_parse_discard(const char *mode, int *flags);

/*
 * --image-opts: a "driver=qcow2,file.filename=disk.qcow2" string as a file name and
 * a format.  Only the simple keys are taken (driver, file.driver=file,
 * file.filename, filename with a driver); anything else is refused with the
 * message qemu-img gives for an option the driver does not know.  On failure
 * *errmsg (g_free) says why, as "Could not open 'STR': " would continue.
 */
bool tool_parse_image_opts(const char *str, char **filename, char **fmt, char **errmsg);

#endif
