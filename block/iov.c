/*
 * I/O vector helpers (see include/block/iov.h).
 */
#include "block/iov.h"

#include <stdint.h>
#include <string.h>
#include <glib.h>

void iovec_init(IOVector *qiov, int alloc_hint)
{
    qiov->nalloc = alloc_hint > 0 ? alloc_hint : 1;
    qiov->iov = g_new(struct iovec, qiov->nalloc);
    qiov->niov = 0;
    qiov->size = 0;
}

void iovec_init_buf(IOVector *qiov, void *buf, size_t len)
{
    iovec_init(qiov, 1);
    iovec_add(qiov, buf, len);
}

void iovec_add(IOVector *qiov, void *base, size_t len)
{
    if (len == 0) {
        return;
    }
    if (qiov->niov == qiov->nalloc) {
        qiov->nalloc = 2 * qiov->nalloc + 1;
        qiov->iov = g_renew(struct iovec, qiov->iov, qiov->nalloc);
    }
    qiov->iov[qiov->niov].iov_base = base;
    qiov->iov[qiov->niov].iov_len = len;
    qiov->niov++;
    qiov->size += len;
}

void iovec_concat(IOVector *dst, const IOVector *src, size_t offset, size_t len)
{
    for (int i = 0; i < src->niov && len > 0; i++) {
        size_t l = src->iov[i].iov_len;
        if (offset >= l) {
            offset -= l;
            continue;
        }
        size_t n = MIN(l - offset, len);
        iovec_add(dst, (uint8_t *)src->iov[i].iov_base + offset, n);
        len -= n;
        offset = 0;
    }
}

void iovec_reset(IOVector *qiov)
{
    qiov->niov = 0;
    qiov->size = 0;
}

void iovec_destroy(IOVector *qiov)
{
    g_free(qiov->iov);
    qiov->iov = NULL;
    qiov->niov = qiov->nalloc = 0;
    qiov->size = 0;
}

size_t iovec_to_buf(const IOVector *qiov, size_t offset, void *buf, size_t len)
{
    size_t done = 0;
    for (int i = 0; i < qiov->niov && done < len; i++) {
        size_t l = qiov->iov[i].iov_len;
        if (offset >= l) {
            offset -= l;
            continue;
        }
        size_t n = MIN(l - offset, len - done);
        memcpy((uint8_t *)buf + done, (uint8_t *)qiov->iov[i].iov_base + offset, n);
        done += n;
        offset = 0;
    }
    return done;
}

size_t iovec_from_buf(IOVector *qiov, size_t offset, const void *buf, size_t len)
{
    size_t done = 0;
    for (int i = 0; i < qiov->niov && done < len; i++) {
        size_t l = qiov->iov[i].iov_len;
        if (offset >= l) {
            offset -= l;
            continue;
        }
        size_t n = MIN(l - offset, len - done);
        memcpy((uint8_t *)qiov->iov[i].iov_base + offset, (const uint8_t *)buf + done, n);
        done += n;
        offset = 0;
    }
    return done;
}

void iovec_memset(IOVector *qiov, size_t offset, int c, size_t len)
{
    for (int i = 0; i < qiov->niov && len > 0; i++) {
        size_t l = qiov->iov[i].iov_len;
        if (offset >= l) {
            offset -= l;
            continue;
        }
        size_t n = MIN(l - offset, len);
        memset((uint8_t *)qiov->iov[i].iov_base + offset, c, n);
        len -= n;
        offset = 0;
    }
}

bool iovec_is_zero(const IOVector *qiov, size_t offset, size_t len)
{
    for (int i = 0; i < qiov->niov && len > 0; i++) {
        size_t l = qiov->iov[i].iov_len;
        if (offset >= l) {
            offset -= l;
            continue;
        }
        size_t n = MIN(l - offset, len);
        if (!buffer_is_zero((uint8_t *)qiov->iov[i].iov_base + offset, n)) {
            return false;
        }
        len -= n;
        offset = 0;
    }
    return true;
}

bool iovec_is_aligned(const IOVector *qiov, size_t align)
{
    for (int i = 0; i < qiov->niov; i++) {
        if (((uintptr_t)qiov->iov[i].iov_base | qiov->iov[i].iov_len) & (align - 1)) {
            return false;
        }
    }
    return true;
}

bool buffer_is_zero(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    /* Check the head byte-wise until 8-byte aligned, then words, then the tail. */
    while (len > 0 && ((uintptr_t)p & 7)) {
        if (*p++) {
            return false;
        }
        len--;
    }
    const uint64_t *w = (const uint64_t *)p;
    for (; len >= 32; len -= 32, w += 4) {
        if (w[0] | w[1] | w[2] | w[3]) {
            return false;
        }
    }
    for (; len >= 8; len -= 8) {
        if (*w++) {
            return false;
        }
    }
    p = (const uint8_t *)w;
    while (len--) {
        if (*p++) {
            return false;
        }
    }
    return true;
}
