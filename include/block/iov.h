/*
 * I/O vectors: a growable array of struct iovec with its total byte size, used
 * for scatter-gather requests through the block layer (models QEMU's QEMUIOVector).
 */
#ifndef BLOCK_IOV_H
#define BLOCK_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

typedef struct IOVector {
    struct iovec *iov;
    int niov;
    int nalloc;
    size_t size;
} IOVector;

void iovec_init(IOVector *qiov, int alloc_hint);
/* A one-element vector over buf (still must be destroyed). */
void iovec_init_buf(IOVector *qiov, void *buf, size_t len);
void iovec_add(IOVector *qiov, void *base, size_t len);
/* Append the bytes [offset, offset + len) of src as elements of dst (no copy). */
void iovec_concat(IOVector *dst, const IOVector *src, size_t offset, size_t len);
void iovec_reset(IOVector *qiov);
void iovec_destroy(IOVector *qiov);

size_t iovec_to_buf(const IOVector *qiov, size_t offset, void *buf, size_t len);
size_t iovec_from_buf(IOVector *qiov, size_t offset, const void *buf, size_t len);
void iovec_memset(IOVector *qiov, size_t offset, int c, size_t len);
bool iovec_is_zero(const IOVector *qiov, size_t offset, size_t len);
/* True when every element's base and length are multiples of `align`. */
bool iovec_is_aligned(const IOVector *qiov, size_t align);

bool buffer_is_zero(const void *buf, size_t len);

#endif
