/*
 * Linux native AIO (aio=native) for the file protocol driver; see block/linux-aio.c.
 */
#ifndef BLOCK_LINUX_AIO_H
#define BLOCK_LINUX_AIO_H

#include <stdbool.h>
#include <stdint.h>

#include "block/iov.h"
#include "kemu/error.h"

typedef struct LinuxAioState LinuxAioState;
typedef void LaioCompletionFunc(void *opaque, int ret);

LinuxAioState *laio_init(Error **errp);
void laio_cleanup(LinuxAioState *s);
/* Submit; cb runs from the submitting thread's GMainContext.  False: not taken. */
bool laio_submit(LinuxAioState *s, int fd, bool is_write, int64_t offset, IOVector *qiov,
                 LaioCompletionFunc *cb, void *opaque);

#endif
