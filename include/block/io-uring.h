/*
 * Linux io_uring (aio=io_uring) for the file protocol driver; see block/io-uring.c.
 */
#ifndef BLOCK_IO_URING_H
#define BLOCK_IO_URING_H

#include <stdbool.h>
#include <stdint.h>

#include "block/iov.h"
#include "kemu/error.h"

typedef struct LuringState LuringState;
typedef void LuringCompletionFunc(void *opaque, int ret);

LuringState *luring_init(Error **errp);
void luring_cleanup(LuringState *s);
/* Submit; cb runs from the submitting thread's GMainContext.  False: not taken. */
bool luring_submit(LuringState *s, int fd, bool is_write, int64_t offset, IOVector *qiov,
                   LuringCompletionFunc *cb, void *opaque);

#endif
