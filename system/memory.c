/*
 * Memory API implementation: region tree -> flat view -> dispatch.
 *
 * Flattening walks the tree from the root; within a container, children are
 * visited highest priority first (among equal priorities the most recently
 * added first) and each terminal region fills only the gaps that are still
 * free, so higher-priority regions hide lower ones.  The view is rebuilt on
 * every topology change (or once per transaction) and listeners are told the
 * RAM ranges that disappeared and appeared.
 */
#include "system/memory.h"

#include "kemu/event_notifier.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <glib.h>

AddressSpace address_space_memory;
AddressSpace address_space_io;
static MemoryRegion system_memory;
static MemoryRegion system_io;
static GPtrArray *all_address_spaces;
static int transaction_depth;
static bool transaction_pending;

static void memory_topology_changed(void);

MemoryRegion *get_system_memory(void)
{
    return &system_memory;
}

MemoryRegion *get_system_io(void)
{
    return &system_io;
}

static void memory_region_init_common(MemoryRegion *mr, MemoryRegionType type, const char *name,
                                      uint64_t size)
{
    memset(mr, 0, sizeof(*mr));
    mr->type = type;
    mr->name = g_strdup(name ? name : "anonymous");
    mr->size = size;
    mr->enabled = true;
}

void memory_region_init_container(MemoryRegion *mr, const char *name, uint64_t size)
{
    memory_region_init_common(mr, MR_CONTAINER, name, size);
}

static bool memory_region_alloc_ram(MemoryRegion *mr, uint64_t size, Error **errp)
{
    if (size == 0) {
        return true;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
        error_setg_errno(errp, errno, "cannot set up guest memory '%s'", mr->name);
        return false;
    }
    /* Guest RAM benefits from transparent huge pages (fewer TLB misses, faster setup). */
    madvise(p, size, MADV_HUGEPAGE);
    mr->ram = p;
    mr->ram_owned = true;
    return true;
}

bool memory_region_init_ram(MemoryRegion *mr, const char *name, uint64_t size, Error **errp)
{
    memory_region_init_common(mr, MR_RAM, name, size);
    return memory_region_alloc_ram(mr, size, errp);
}

bool memory_region_init_rom(MemoryRegion *mr, const char *name, uint64_t size, Error **errp)
{
    memory_region_init_common(mr, MR_ROM, name, size);
    mr->readonly = true;
    return memory_region_alloc_ram(mr, size, errp);
}

void memory_region_init_ram_ptr(MemoryRegion *mr, const char *name, uint64_t size, void *ptr)
{
    memory_region_init_common(mr, MR_RAM, name, size);
    mr->ram = ptr;
}

void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops, void *opaque,
                           const char *name, uint64_t size)
{
    memory_region_init_common(mr, MR_IO, name, size);
    mr->ops = ops;
    mr->opaque = opaque;
}

void memory_region_init_alias(MemoryRegion *mr, const char *name, MemoryRegion *orig,
                              hwaddr offset, uint64_t size)
{
    memory_region_init_common(mr, MR_ALIAS, name, size);
    mr->alias = orig;
    mr->alias_offset = offset;
}

void memory_region_add_eventfd(MemoryRegion *mr, hwaddr addr, unsigned size, bool match_data,
                               uint64_t data, EventNotifier *e)
{
    mr->ioeventfds = g_renew(MemoryRegionIoeventfd, mr->ioeventfds, mr->nr_ioeventfds + 1);
    mr->ioeventfds[mr->nr_ioeventfds++] = (MemoryRegionIoeventfd){
        .addr = addr, .size = size, .match_data = match_data, .data = data, .e = e,
    };
    memory_topology_changed();
}

void memory_region_del_eventfd(MemoryRegion *mr, hwaddr addr, unsigned size, bool match_data,
                               uint64_t data, EventNotifier *e)
{
    for (unsigned i = 0; i < mr->nr_ioeventfds; i++) {
        MemoryRegionIoeventfd *f = &mr->ioeventfds[i];
        if (f->addr == addr && f->size == size && f->match_data == match_data &&
            (!match_data || f->data == data) && f->e == e) {
            memmove(f, f + 1, (mr->nr_ioeventfds - i - 1) * sizeof(*f));
            mr->nr_ioeventfds--;
            memory_topology_changed();
            return;
        }
    }
}

void memory_region_finalize(MemoryRegion *mr)
{
    if (mr->parent) {
        memory_region_del_subregion(mr->parent, mr);
    }
    if (mr->ram_owned && mr->ram) {
        munmap(mr->ram, mr->size);
    }
    g_free(mr->subregions);
    g_free(mr->ioeventfds);
    g_free(mr->name);
    memset(mr, 0, sizeof(*mr));
}

uint64_t memory_region_size(const MemoryRegion *mr)
{
    return mr->size;
}

void *memory_region_get_ram_ptr(MemoryRegion *mr)
{
    while (mr->type == MR_ALIAS) {
        mr = mr->alias;
    }
    return mr->ram;
}

/* ---- flattening ---- */

typedef struct FlatBuilder {
    GArray *ranges; /* FlatRange, sorted by start, non-overlapping */
} FlatBuilder;

static hwaddr range_end(hwaddr start, uint64_t size)
{
    /* Saturating: the last byte of the 64-bit space is not addressable here. */
    return size > UINT64_MAX - start ? UINT64_MAX : start + size;
}

/* Insert [start, end) (address-space coordinates) of terminal region `mr`,
 * where `start` corresponds to offset `mr_off` in mr, into the free gaps. */
static void flat_insert(FlatBuilder *fb, MemoryRegion *mr, hwaddr mr_off, hwaddr start,
                        hwaddr end, bool readonly)
{
    hwaddr cur = start;
    guint i = 0;
    while (cur < end) {
        /* Skip ranges ending at or before cur. */
        while (i < fb->ranges->len) {
            FlatRange *r = &g_array_index(fb->ranges, FlatRange, i);
            if (range_end(r->start, r->size) > cur) {
                break;
            }
            i++;
        }
        hwaddr gap_end = end;
        if (i < fb->ranges->len) {
            FlatRange *r = &g_array_index(fb->ranges, FlatRange, i);
            if (r->start <= cur) {
                /* cur is covered; jump past this range */
                cur = range_end(r->start, r->size);
                i++;
                continue;
            }
            if (r->start < gap_end) {
                gap_end = r->start;
            }
        }
        FlatRange nr = {
            .start = cur,
            .size = gap_end - cur,
            .mr = mr,
            .offset_in_mr = mr_off + (cur - start),
            .readonly = readonly,
        };
        g_array_insert_val(fb->ranges, i, nr);
        i++;
        cur = gap_end;
    }
}

/* Render the window [lo, hi) of mr's own (local) address range; an address-space
 * address is local + delta (mod 2^64), which keeps aliases to high offsets exact. */
static void flat_render(FlatBuilder *fb, MemoryRegion *mr, hwaddr lo, hwaddr hi, hwaddr delta,
                        bool readonly)
{
    if (!mr->enabled) {
        return;
    }
    hi = MIN(hi, mr->size);
    if (lo >= hi) {
        return;
    }
    readonly |= mr->readonly;
    switch (mr->type) {
    case MR_ALIAS: {
        hwaddr off = mr->alias_offset;
        if (hi + off < hi) {
            return; /* alias window beyond the 64-bit space */
        }
        flat_render(fb, mr->alias, lo + off, hi + off, delta - off, readonly);
        break;
    }
    case MR_CONTAINER:
        for (unsigned i = 0; i < mr->nr_subregions; i++) {
            MemoryRegion *c = mr->subregions[i];
            hwaddr cend = range_end(c->addr, c->size);
            hwaddr clo = MAX(lo, c->addr), chi = MIN(hi, cend);
            if (clo < chi) {
                flat_render(fb, c, clo - c->addr, chi - c->addr, delta + c->addr, readonly);
            }
        }
        break;
    case MR_RAM:
    case MR_ROM:
    case MR_IO:
        flat_insert(fb, mr, lo, lo + delta, hi + delta, readonly);
        break;
    }
}

static bool flat_range_same(const FlatRange *a, const FlatRange *b)
{
    return a->start == b->start && a->size == b->size && a->mr == b->mr &&
           a->offset_in_mr == b->offset_in_mr && a->readonly == b->readonly;
}

static bool flat_range_is_ram(const FlatRange *r)
{
    return r->mr->type == MR_RAM || r->mr->type == MR_ROM;
}

/* Merge adjacent pieces of the same region (the gap filling may split them). */
static void flat_simplify(GArray *ranges)
{
    guint out = 0;
    for (guint i = 0; i < ranges->len; i++) {
        FlatRange *r = &g_array_index(ranges, FlatRange, i);
        if (out > 0) {
            FlatRange *p = &g_array_index(ranges, FlatRange, out - 1);
            if (p->mr == r->mr && p->readonly == r->readonly &&
                range_end(p->start, p->size) == r->start &&
                p->offset_in_mr + p->size == r->offset_in_mr) {
                p->size += r->size;
                continue;
            }
        }
        g_array_index(ranges, FlatRange, out++) = *r;
    }
    g_array_set_size(ranges, out);
}

static FlatView *flatview_build(AddressSpace *as)
{
    FlatBuilder fb = { .ranges = g_array_new(FALSE, FALSE, sizeof(FlatRange)) };
    flat_render(&fb, as->root, 0, UINT64_MAX, 0, false);
    flat_simplify(fb.ranges);
    FlatView *v = g_new0(FlatView, 1);
    v->nr = fb.ranges->len;
    v->ranges = (FlatRange *)g_array_free(fb.ranges, FALSE);
    v->refcount = 1;
    return v;
}

static void flatview_unref(FlatView *v)
{
    if (v && --v->refcount == 0) {
        g_free(v->ranges);
        g_free(v);
    }
}

static bool flatview_contains(const FlatView *v, const FlatRange *r)
{
    for (unsigned i = 0; i < v->nr; i++) {
        if (flat_range_same(&v->ranges[i], r)) {
            return true;
        }
    }
    return false;
}

typedef struct AddressSpaceIoeventfd {
    hwaddr addr;
    MemoryRegionIoeventfd fd;
} AddressSpaceIoeventfd;

static bool as_ioeventfd_eq(const AddressSpaceIoeventfd *a, const AddressSpaceIoeventfd *b)
{
    return a->addr == b->addr && a->fd.size == b->fd.size && a->fd.match_data == b->fd.match_data &&
           (!a->fd.match_data || a->fd.data == b->fd.data) && a->fd.e == b->fd.e;
}

/* Recompute the visible ioeventfds and tell listeners the difference. */
static void address_space_update_ioeventfds(AddressSpace *as)
{
    GArray *now = g_array_new(FALSE, FALSE, sizeof(AddressSpaceIoeventfd));
    for (unsigned i = 0; i < as->view->nr; i++) {
        const FlatRange *r = &as->view->ranges[i];
        for (unsigned j = 0; j < r->mr->nr_ioeventfds; j++) {
            const MemoryRegionIoeventfd *f = &r->mr->ioeventfds[j];
            if (f->addr >= r->offset_in_mr && f->addr + f->size <= r->offset_in_mr + r->size) {
                AddressSpaceIoeventfd a = { .addr = r->start + (f->addr - r->offset_in_mr),
                                            .fd = *f };
                g_array_append_val(now, a);
            }
        }
    }
    AddressSpaceIoeventfd *nv = (AddressSpaceIoeventfd *)now->data;
    for (MemoryListener *l = as->listeners; l; l = l->next) {
        for (unsigned i = 0; i < as->nr_ioeventfds; i++) {
            bool kept = false;
            for (unsigned j = 0; j < now->len && !kept; j++) {
                kept = as_ioeventfd_eq(&as->ioeventfds[i], &nv[j]);
            }
            if (!kept && l->eventfd_del) {
                l->eventfd_del(l, as->ioeventfds[i].addr, &as->ioeventfds[i].fd);
            }
        }
        for (unsigned j = 0; j < now->len; j++) {
            bool had = false;
            for (unsigned i = 0; i < as->nr_ioeventfds && !had; i++) {
                had = as_ioeventfd_eq(&as->ioeventfds[i], &nv[j]);
            }
            if (!had && l->eventfd_add) {
                l->eventfd_add(l, nv[j].addr, &nv[j].fd);
            }
        }
    }
    g_free(as->ioeventfds);
    as->nr_ioeventfds = now->len;
    as->ioeventfds = (AddressSpaceIoeventfd *)g_array_free(now, FALSE);
}

static void address_space_update(AddressSpace *as)
{
    FlatView *old = as->view;
    FlatView *nv = flatview_build(as);

    as->view = nv;
    as->generation++;
    for (MemoryListener *l = as->listeners; l; l = l->next) {
        if (old) {
            for (unsigned i = 0; i < old->nr; i++) {
                if (flat_range_is_ram(&old->ranges[i]) && !flatview_contains(nv, &old->ranges[i]) &&
                    l->region_del) {
                    l->region_del(l, &old->ranges[i]);
                }
            }
        }
        for (unsigned i = 0; i < nv->nr; i++) {
            if (flat_range_is_ram(&nv->ranges[i]) &&
                (!old || !flatview_contains(old, &nv->ranges[i])) && l->region_add) {
                l->region_add(l, &nv->ranges[i]);
            }
        }
        if (l->commit) {
            l->commit(l);
        }
    }
    flatview_unref(old);
    address_space_update_ioeventfds(as);
}

static void memory_topology_changed(void)
{
    if (transaction_depth) {
        transaction_pending = true;
        return;
    }
    if (!all_address_spaces) {
        return;
    }
    for (guint i = 0; i < all_address_spaces->len; i++) {
        address_space_update(g_ptr_array_index(all_address_spaces, i));
    }
}

void memory_region_transaction_begin(void)
{
    transaction_depth++;
}

void memory_region_transaction_commit(void)
{
    g_assert(transaction_depth > 0);
    if (--transaction_depth == 0 && transaction_pending) {
        transaction_pending = false;
        memory_topology_changed();
    }
}

static void subregion_insert(MemoryRegion *parent, MemoryRegion *child)
{
    unsigned pos = 0;
    /* Descending priority; a newcomer goes before equals so it wins ties. */
    while (pos < parent->nr_subregions && parent->subregions[pos]->priority > child->priority) {
        pos++;
    }
    parent->subregions = g_renew(MemoryRegion *, parent->subregions, parent->nr_subregions + 1);
    memmove(&parent->subregions[pos + 1], &parent->subregions[pos],
            (parent->nr_subregions - pos) * sizeof(MemoryRegion *));
    parent->subregions[pos] = child;
    parent->nr_subregions++;
}

void memory_region_add_subregion_overlap(MemoryRegion *parent, hwaddr offset,
                                         MemoryRegion *child, int priority)
{
    g_assert(parent->type == MR_CONTAINER);
    g_assert(!child->parent);
    child->parent = parent;
    child->addr = offset;
    child->priority = priority;
    subregion_insert(parent, child);
    memory_topology_changed();
}

void memory_region_add_subregion(MemoryRegion *parent, hwaddr offset, MemoryRegion *child)
{
    memory_region_add_subregion_overlap(parent, offset, child, 0);
}

void memory_region_del_subregion(MemoryRegion *parent, MemoryRegion *child)
{
    for (unsigned i = 0; i < parent->nr_subregions; i++) {
        if (parent->subregions[i] == child) {
            memmove(&parent->subregions[i], &parent->subregions[i + 1],
                    (parent->nr_subregions - i - 1) * sizeof(MemoryRegion *));
            parent->nr_subregions--;
            child->parent = NULL;
            memory_topology_changed();
            return;
        }
    }
}

void memory_region_set_enabled(MemoryRegion *mr, bool enabled)
{
    if (mr->enabled != enabled) {
        mr->enabled = enabled;
        memory_topology_changed();
    }
}

void memory_region_set_address(MemoryRegion *mr, hwaddr addr)
{
    if (mr->addr == addr) {
        return;
    }
    MemoryRegion *parent = mr->parent;
    if (parent) {
        int prio = mr->priority;
        memory_region_transaction_begin();
        memory_region_del_subregion(parent, mr);
        memory_region_add_subregion_overlap(parent, addr, mr, prio);
        memory_region_transaction_commit();
    } else {
        mr->addr = addr;
    }
}

void memory_region_set_alias_offset(MemoryRegion *mr, hwaddr offset)
{
    if (mr->alias_offset != offset) {
        mr->alias_offset = offset;
        memory_topology_changed();
    }
}

void memory_region_set_readonly(MemoryRegion *mr, bool readonly)
{
    if (mr->readonly != readonly) {
        mr->readonly = readonly;
        memory_topology_changed();
    }
}

void address_space_init(AddressSpace *as, MemoryRegion *root, const char *name)
{
    memset(as, 0, sizeof(*as));
    as->name = g_strdup(name);
    as->root = root;
    if (!all_address_spaces) {
        all_address_spaces = g_ptr_array_new();
    }
    g_ptr_array_add(all_address_spaces, as);
    address_space_update(as);
}

void address_space_destroy(AddressSpace *as)
{
    g_ptr_array_remove(all_address_spaces, as);
    flatview_unref(as->view);
    g_free(as->ioeventfds);
    g_free(as->name);
    memset(as, 0, sizeof(*as));
}

void memory_listener_register(MemoryListener *l, AddressSpace *as)
{
    l->as = as;
    l->next = as->listeners;
    as->listeners = l;
    for (unsigned i = 0; i < as->view->nr; i++) {
        if (flat_range_is_ram(&as->view->ranges[i]) && l->region_add) {
            l->region_add(l, &as->view->ranges[i]);
        }
    }
    if (l->commit) {
        l->commit(l);
    }
    for (unsigned i = 0; i < as->nr_ioeventfds; i++) {
        if (l->eventfd_add) {
            l->eventfd_add(l, as->ioeventfds[i].addr, &as->ioeventfds[i].fd);
        }
    }
}

void memory_listener_unregister(MemoryListener *l)
{
    for (MemoryListener **p = &l->as->listeners; *p; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }
    l->as = NULL;
}

void memory_init(void)
{
    if (system_memory.name) {
        return;
    }
    memory_region_init_container(&system_memory, "system", UINT64_MAX);
    memory_region_init_container(&system_io, "io", 0x10000);
    address_space_init(&address_space_memory, &system_memory, "memory");
    address_space_init(&address_space_io, &system_io, "I/O");
}

/* ---- dispatch ---- */

const FlatRange *address_space_lookup(AddressSpace *as, hwaddr addr)
{
    const FlatView *v = as->view;
    unsigned lo = 0, hi = v->nr;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        const FlatRange *r = &v->ranges[mid];
        if (addr < r->start) {
            hi = mid;
        } else if (addr - r->start >= r->size) {
            lo = mid + 1;
        } else {
            return r;
        }
    }
    return NULL;
}

static unsigned ops_valid_min(const MemoryRegionOps *ops)
{
    return ops->valid_min ? ops->valid_min : 1;
}

static unsigned ops_valid_max(const MemoryRegionOps *ops)
{
    return ops->valid_max ? ops->valid_max : 4;
}

static unsigned ops_impl_min(const MemoryRegionOps *ops)
{
    return ops->impl_min ? ops->impl_min : ops_valid_min(ops);
}

static unsigned ops_impl_max(const MemoryRegionOps *ops)
{
    return ops->impl_max ? ops->impl_max : ops_valid_max(ops);
}

/* One access of `size` bytes at offset `addr` of an IO region, adapting to the
 * sizes the callbacks implement.  Values are little-endian. */
static void mmio_access(MemoryRegion *mr, hwaddr addr, uint64_t *val, unsigned size,
                        bool is_write)
{
    const MemoryRegionOps *ops = mr->ops;
    unsigned imin = ops_impl_min(ops), imax = ops_impl_max(ops);

    if (size < imin) {
        /* Widen: access the aligned containing unit and shift. */
        hwaddr base = addr & ~(hwaddr)(imin - 1);
        unsigned shift = (addr - base) * 8;
        if (is_write) {
            if (ops->write) {
                ops->write(mr->opaque, base, *val << shift, imin);
            }
        } else {
            uint64_t v = ops->read ? ops->read(mr->opaque, base, imin) : ~0ull;
            *val = (v >> shift) & (size == 8 ? ~0ull : ((1ull << (size * 8)) - 1));
        }
        return;
    }
    if (size > imax) {
        /* Split into imax-sized pieces, little-endian. */
        uint64_t result = 0;
        for (unsigned off = 0; off < size; off += imax) {
            uint64_t piece = is_write ? (*val >> (off * 8)) : 0;
            if (imax < 8) {
                piece &= (1ull << (imax * 8)) - 1;
            }
            mmio_access(mr, addr + off, &piece, imax, is_write);
            result |= piece << (off * 8);
        }
        if (!is_write) {
            *val = result;
        }
        return;
    }
    if (is_write) {
        if (ops->write) {
            ops->write(mr->opaque, addr, *val, size);
        }
    } else {
        *val = ops->read ? ops->read(mr->opaque, addr, size) : ~0ull;
    }
}

/* Dispatch with the re-entrancy guard: a device whose callback causes an
 * access to its own region (e.g. DMA aimed at its MMIO) is not re-entered. */
static MemTxResult io_dispatch(MemoryRegion *mr, hwaddr addr, uint64_t *val, unsigned size,
                               bool is_write)
{
    const MemoryRegionOps *ops = mr->ops;
    if (size < ops_valid_min(ops) || size > ops_valid_max(ops)) {
        if (!is_write) {
            *val = ~0ull;
        }
        return MEMTX_ERROR;
    }
    if (mr->dispatch_depth) {
        if (!mr->reentrancy_warned) {
            mr->reentrancy_warned = true;
            warn_report("Blocked re-entrant I/O on MemoryRegion: %s at addr: 0x%" PRIx64,
                        mr->name, addr);
        }
        if (!is_write) {
            *val = ~0ull;
        }
        return MEMTX_ERROR;
    }
    if (is_write) {
        /* ioeventfd not taken by the accelerator: signal it here instead. */
        for (unsigned i = 0; i < mr->nr_ioeventfds; i++) {
            const MemoryRegionIoeventfd *f = &mr->ioeventfds[i];
            if (f->addr == addr && f->size == size &&
                (!f->match_data || f->data == (*val & (size == 8 ? ~0ull
                                                       : (1ull << (8 * size)) - 1)))) {
                event_notifier_set(f->e);
                return MEMTX_OK;
            }
        }
    }
    mr->dispatch_depth++;
    mmio_access(mr, addr, val, size, is_write);
    mr->dispatch_depth--;
    return MEMTX_OK;
}

static unsigned pick_access_size(const MemoryRegion *mr, hwaddr addr, hwaddr len)
{
    unsigned max = ops_valid_max(mr->ops);
    unsigned size = 1;
    while (size * 2 <= max && size * 2 <= len) {
        size *= 2;
    }
    if (!mr->ops->unaligned) {
        while (size > 1 && (addr & (size - 1))) {
            size /= 2;
        }
    }
    return size;
}

static MemTxResult address_space_access(AddressSpace *as, hwaddr addr, uint8_t *buf, hwaddr len,
                                        bool is_write, bool force_rom)
{
    MemTxResult res = MEMTX_OK;
    while (len > 0) {
        const FlatRange *fr = address_space_lookup(as, addr);
        if (!fr) {
            /* Unmapped: reads see all-ones; skip to the next mapped range. */
            hwaddr chunk = len;
            for (unsigned i = 0; i < as->view->nr; i++) {
                if (as->view->ranges[i].start > addr) {
                    chunk = MIN(len, as->view->ranges[i].start - addr);
                    break;
                }
            }
            if (!is_write) {
                memset(buf, 0xff, chunk);
            }
            res |= MEMTX_DECODE_ERROR;
            buf += chunk;
            addr += chunk;
            len -= chunk;
            continue;
        }
        hwaddr off = fr->offset_in_mr + (addr - fr->start);
        hwaddr avail = fr->size - (addr - fr->start);
        hwaddr chunk = MIN(len, avail);
        MemoryRegion *mr = fr->mr;
        if (mr->type == MR_RAM || mr->type == MR_ROM) {
            if (!is_write) {
                memcpy(buf, mr->ram + off, chunk);
            } else if (!fr->readonly || force_rom) {
                memcpy(mr->ram + off, buf, chunk);
            }
        } else {
            unsigned size = pick_access_size(mr, addr, chunk);
            uint64_t v = 0;
            chunk = size;
            if (is_write) {
                for (unsigned i = 0; i < size; i++) {
                    v |= (uint64_t)buf[i] << (8 * i);
                }
            }
            res |= io_dispatch(mr, off, &v, size, is_write);
            if (!is_write) {
                for (unsigned i = 0; i < size; i++) {
                    buf[i] = v >> (8 * i);
                }
            }
        }
        buf += chunk;
        addr += chunk;
        len -= chunk;
    }
    return res;
}

MemTxResult address_space_rw(AddressSpace *as, hwaddr addr, void *buf, hwaddr len, bool is_write)
{
    if (len && addr + len - 1 < addr) {
        return MEMTX_DECODE_ERROR; /* wraps around the address space */
    }
    return address_space_access(as, addr, buf, len, is_write, false);
}

MemTxResult address_space_read(AddressSpace *as, hwaddr addr, void *buf, hwaddr len)
{
    return address_space_rw(as, addr, buf, len, false);
}

MemTxResult address_space_write(AddressSpace *as, hwaddr addr, const void *buf, hwaddr len)
{
    return address_space_rw(as, addr, (void *)buf, len, true);
}

MemTxResult address_space_write_rom(AddressSpace *as, hwaddr addr, const void *buf, hwaddr len)
{
    if (len && addr + len - 1 < addr) {
        return MEMTX_DECODE_ERROR;
    }
    return address_space_access(as, addr, (uint8_t *)buf, len, true, true);
}

MemTxResult address_space_ldst(AddressSpace *as, hwaddr addr, uint64_t *val, unsigned size,
                               bool is_write)
{
    const FlatRange *fr = address_space_lookup(as, addr);
    /* Fast path: the whole access inside one IO range is one callback access. */
    if (fr && fr->mr->type == MR_IO && addr - fr->start + size <= fr->size) {
        return io_dispatch(fr->mr, fr->offset_in_mr + (addr - fr->start), val, size, is_write);
    }
    uint8_t b[8];
    MemTxResult r;
    if (is_write) {
        for (unsigned i = 0; i < size; i++) {
            b[i] = *val >> (8 * i);
        }
        r = address_space_rw(as, addr, b, size, true);
    } else {
        r = address_space_rw(as, addr, b, size, false);
        *val = 0;
        for (unsigned i = 0; i < size; i++) {
            *val |= (uint64_t)b[i] << (8 * i);
        }
    }
    return r;
}

uint32_t address_space_ldl(AddressSpace *as, hwaddr addr)
{
    uint64_t v = 0;
    address_space_ldst(as, addr, &v, 4, false);
    return v;
}

void address_space_stl(AddressSpace *as, hwaddr addr, uint32_t val)
{
    uint64_t v = val;
    address_space_ldst(as, addr, &v, 4, true);
}

void *address_space_map(AddressSpace *as, hwaddr addr, hwaddr *plen, bool is_write)
{
    const FlatRange *fr = address_space_lookup(as, addr);
    if (!fr || (fr->mr->type != MR_RAM && fr->mr->type != MR_ROM) || (is_write && fr->readonly)) {
        *plen = 0;
        return NULL;
    }
    hwaddr avail = fr->size - (addr - fr->start);
    if (*plen > avail) {
        *plen = avail;
    }
    return fr->mr->ram + fr->offset_in_mr + (addr - fr->start);
}

char *address_space_dump(AddressSpace *as)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "FlatView #0\n AS \"%s\", root: %s\n Root memory region: %s\n",
                           as->name, as->root->name, as->root->name);
    for (unsigned i = 0; i < as->view->nr; i++) {
        const FlatRange *r = &as->view->ranges[i];
        const char *kind = r->mr->type == MR_IO ? "i/o" : r->readonly ? "rom" : "ram";
        g_string_append_printf(s, "  %016" PRIx64 "-%016" PRIx64 " (prio %d, %s): %s",
                               r->start, r->start + r->size - 1, r->mr->priority, kind,
                               r->mr->name);
        if (r->offset_in_mr) {
            g_string_append_printf(s, " @%016" PRIx64, r->offset_in_mr);
        }
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}
