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
/* qemu-io's cvtnum(): size with optional suffix (k, M, G, ...); -1 on error. */
int64_t tool_cvtnum(const char *s);
struct timespec tool_tsub(struct timespec a, struct timespec b);
double tool_tdiv(double value, struct timespec t);

#endif
