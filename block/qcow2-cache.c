/*
 * qcow2 metadata cache: a small LRU of L2 tables or refcount blocks (one cluster
 * each, kept in on-disk big-endian form) with write-back.
 * Ordering rule for crash consistency (qcow2 spec "Host cluster management":
 * a cluster in use must never have refcount 0 on disk): before any L2 table is
 * written, dirty refcount blocks are written and flushed, so an on-disk L2 entry
 * never points at a cluster whose refcount increment is still only in memory.
 * The reverse case (freeing) is handled by the caller flushing L2 tables before
 * decrementing refcounts (qcow2_free_clusters).  Under lazy refcounts the dirty
 * bit lifts the first rule.
 */
#include "qcow2.h"

#include <errno.h>
#include <string.h>

typedef struct Qcow2CacheEntry {
    uint64_t offset;     /* 0 = unused */
    void *table;
    bool dirty;
    int ref;
    uint64_t lru;
} Qcow2CacheEntry;

struct Qcow2Cache {
    Qcow2CacheEntry *entries;
    int size;
    bool is_l2;
    uint64_t lru_counter;
    int64_t table_size;
};

Qcow2Cache *qcow2_cache_create(BlockDriverState *bs, int num_tables, bool is_l2)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);
    c->size = num_tables < 2 ? 2 : num_tables;
    c->is_l2 = is_l2;
    c->table_size = s->cluster_size;
    c->entries = g_new0(Qcow2CacheEntry, c->size);
    for (int i = 0; i < c->size; i++) {
        c->entries[i].table = bdrv_blockalign(bs, s->cluster_size);
    }
    return c;
}

void qcow2_cache_destroy(Qcow2Cache *c)
{
    if (!c) {
        return;
    }
    for (int i = 0; i < c->size; i++) {
        qemu_vfree(c->entries[i].table);
    }
    g_free(c->entries);
    g_free(c);
}

static int qcow2_cache_entry_flush(BlockDriverState *bs, Qcow2Cache *c, int i)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2CacheEntry *e = &c->entries[i];
    if (!e->dirty || !e->offset) {
        return 0;
    }
    /* With lazy refcounts in effect (dirty bit set) the ordering is not needed:
     * the refcounts are rebuilt when a dirty image is opened. */
    if (c->is_l2 && !(s->incompatible_features & QCOW2_INCOMPAT_DIRTY) &&
        qcow2_cache_is_dirty(s->refcount_cache)) {
        int ret = qcow2_cache_flush(bs, s->refcount_cache);
        if (ret < 0) {
            return ret;
        }
    }
    int ret = bdrv_pwrite(bs->file, e->offset, c->table_size, e->table, 0);
    if (ret < 0) {
        return ret;
    }
    e->dirty = false;
    return 0;
}

int qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c)
{
    int result = 0;
    for (int i = 0; i < c->size; i++) {
        int ret = qcow2_cache_entry_flush(bs, c, i);
        if (ret < 0 && result == 0) {
            result = ret;
        }
    }
    return result;
}

int qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c)
{
    bool had_dirty = qcow2_cache_is_dirty(c);
    int ret = qcow2_cache_write(bs, c);
    if (ret == 0 && had_dirty) {
        ret = bdrv_flush(bs->file);
    }
    return ret;
}

bool qcow2_cache_is_dirty(Qcow2Cache *c)
{
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].dirty) {
            return true;
        }
    }
    return false;
}

bool qcow2_cache_contains_range(Qcow2Cache *c, uint64_t offset, uint64_t size)
{
    for (int i = 0; i < c->size; i++) {
        uint64_t o = c->entries[i].offset;
        if (o && o < offset + size && offset < o + c->table_size) {
            return true;
        }
    }
    return false;
}

int qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c, uint64_t offset, void **table,
                    bool read)
{
    int victim = -1;
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].offset == offset) {
            c->entries[i].ref++;
            c->entries[i].lru = ++c->lru_counter;
            *table = c->entries[i].table;
            return 0;
        }
    }
    for (int i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];
        if (e->ref == 0 && (victim < 0 || e->lru < c->entries[victim].lru)) {
            victim = i;
        }
    }
    if (victim < 0) {
        return -ENOSPC;     /* every table pinned: a bug, reported as an I/O error */
    }
    int ret = qcow2_cache_entry_flush(bs, c, victim);
    if (ret < 0) {
        return ret;
    }
    Qcow2CacheEntry *e = &c->entries[victim];
    e->offset = 0;
    if (read) {
        ret = bdrv_pread(bs->file, offset, c->table_size, e->table, 0);
        if (ret < 0) {
            return ret;
        }
    } else {
        memset(e->table, 0, c->table_size);
    }
    e->offset = offset;
    e->ref = 1;
    e->lru = ++c->lru_counter;
    *table = e->table;
    return 0;
}

void *qcow2_cache_lookup(Qcow2Cache *c, uint64_t offset)
{
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].offset == offset) {
            c->entries[i].lru = ++c->lru_counter;
            return c->entries[i].table;
        }
    }
    return NULL;
}

static int qcow2_cache_find(Qcow2Cache *c, void *table)
{
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].table == table) {
            return i;
        }
    }
    g_error("qcow2 cache: table %p not in cache", table);
}

void qcow2_cache_put(Qcow2Cache *c, void **table)
{
    int i = qcow2_cache_find(c, *table);
    c->entries[i].ref--;
    *table = NULL;
}

void qcow2_cache_mark_dirty(Qcow2Cache *c, void *table)
{
    c->entries[qcow2_cache_find(c, table)].dirty = true;
}

void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset)
{
    for (int i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];
        if (e->offset == offset && e->ref == 0) {
            e->offset = 0;
            e->dirty = false;
            e->lru = 0;
        }
    }
}
