/*
 * Memory API: a tree of MemoryRegions (RAM, ROM, MMIO/PIO callbacks, aliases,
 * containers with priorities) flattened into a sorted FlatView per AddressSpace.
 * Dispatch is a binary search in the FlatView.  Listeners (the KVM accelerator)
 * are told which RAM ranges appeared or disappeared on every rebuild.
 * All calls that change topology or dispatch must hold the big lock (BQL).
 */
#ifndef SYSTEM_MEMORY_H
#define SYSTEM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kemu/error.h"

typedef uint64_t hwaddr;
#define HWADDR_PRIx PRIx64

typedef enum MemTxResult {
    MEMTX_OK = 0,
    MEMTX_ERROR = 1,        /* device returned an error / access outside any region */
    MEMTX_DECODE_ERROR = 2, /* nothing mapped at that address */
} MemTxResult;

typedef struct MemoryRegion MemoryRegion;
typedef struct EventNotifier EventNotifier;

/* A guest write of `size` bytes at `addr` (matching `data` if match_data) signals `e`. */
typedef struct MemoryRegionIoeventfd {
    hwaddr addr;
    unsigned size;
    bool match_data;
    uint64_t data;
    EventNotifier *e;
} MemoryRegionIoeventfd;
typedef struct AddressSpace AddressSpace;
typedef struct FlatView FlatView;

typedef struct MemoryRegionOps {
    /* Accesses are little-endian; `size` is 1, 2, 4 or 8 within [impl_min, impl_max]. */
    uint64_t (*read)(void *opaque, hwaddr addr, unsigned size);
    void (*write)(void *opaque, hwaddr addr, uint64_t data, unsigned size);
    /* Sizes the guest may use (others are ignored: reads give all-ones). 0 = 1..4 */
    unsigned valid_min, valid_max;
    /* Sizes the callbacks implement; wider/narrower guest accesses are split/merged. 0 = valid */
    unsigned impl_min, impl_max;
    /* Unaligned guest accesses allowed (otherwise they are split into aligned pieces). */
    bool unaligned;
} MemoryRegionOps;

typedef enum MemoryRegionType {
    MR_CONTAINER,
    MR_RAM,
    MR_ROM,   /* RAM the guest can read and execute; guest writes are ignored */
    MR_IO,    /* callbacks */
    MR_ALIAS,
} MemoryRegionType;

struct MemoryRegion {
    MemoryRegionType type;
    char *name;
    uint64_t size;               /* UINT64_MAX+1 is not representable: use memory_region_size */
    bool size_is_2_64;           /* container spanning the whole 64-bit space */
    const MemoryRegionOps *ops;
    void *opaque;
    uint8_t *ram;                /* host pointer for RAM/ROM */
    bool ram_owned;
    MemoryRegion *alias;
    hwaddr alias_offset;
    /* Position in parent */
    MemoryRegion *parent;
    hwaddr addr;
    int priority;
    bool enabled;
    bool readonly;               /* RAM mapped read-only (guest writes ignored / ROM device) */
    bool log_dirty;
    /* Children, kept sorted by descending priority then insertion order. */
    MemoryRegion **subregions;
    unsigned nr_subregions;
    MemoryRegionIoeventfd *ioeventfds;
    unsigned nr_ioeventfds;
    unsigned dispatch_depth;     /* re-entrancy guard, see memory.c */
    bool reentrancy_warned;
};

/* One contiguous piece of the flattened view. */
typedef struct FlatRange {
    hwaddr start;                /* address in the address space */
    uint64_t size;
    MemoryRegion *mr;            /* terminal region (RAM, ROM or IO; never alias/container) */
    hwaddr offset_in_mr;         /* offset of `start` within mr */
    bool readonly;
} FlatRange;

struct FlatView {
    FlatRange *ranges;
    unsigned nr;
    int refcount;
};

/* Listener for RAM ranges of an address space (the KVM memslot code). */
typedef struct MemoryListener {
    void (*region_add)(struct MemoryListener *l, const FlatRange *fr);
    void (*region_del)(struct MemoryListener *l, const FlatRange *fr);
    void (*commit)(struct MemoryListener *l);
    /* ioeventfds as they appear/disappear at address-space addresses */
    void (*eventfd_add)(struct MemoryListener *l, hwaddr addr, const MemoryRegionIoeventfd *fd);
    void (*eventfd_del)(struct MemoryListener *l, hwaddr addr, const MemoryRegionIoeventfd *fd);
    AddressSpace *as;
    struct MemoryListener *next;
} MemoryListener;

struct AddressSpace {
    char *name;
    MemoryRegion *root;
    FlatView *view;
    MemoryListener *listeners;
    uint64_t generation;
    /* ioeventfds currently visible, as {address-space address, descriptor} */
    struct AddressSpaceIoeventfd *ioeventfds;
    unsigned nr_ioeventfds;
};

/* Region constructors: `mr` is caller-owned storage (usually inside a device). */
void memory_region_init_container(MemoryRegion *mr, const char *name, uint64_t size);
/* Anonymous RAM (mmap'd, zeroed). */
bool memory_region_init_ram(MemoryRegion *mr, const char *name, uint64_t size, Error **errp);
/* ROM: contents set by the host, guest writes are discarded. */
bool memory_region_init_rom(MemoryRegion *mr, const char *name, uint64_t size, Error **errp);
/* RAM from an existing host buffer (not freed by the region). */
void memory_region_init_ram_ptr(MemoryRegion *mr, const char *name, uint64_t size, void *ptr);
void memory_region_init_io(MemoryRegion *mr, const MemoryRegionOps *ops, void *opaque,
                           const char *name, uint64_t size);
void memory_region_init_alias(MemoryRegion *mr, const char *name, MemoryRegion *orig,
                              hwaddr offset, uint64_t size);
void memory_region_finalize(MemoryRegion *mr);

/* ioeventfd registration: the accelerator takes such writes without a vCPU exit
 * where it can; otherwise the dispatcher signals the notifier itself. */
void memory_region_add_eventfd(MemoryRegion *mr, hwaddr addr, unsigned size, bool match_data,
                               uint64_t data, EventNotifier *e);
void memory_region_del_eventfd(MemoryRegion *mr, hwaddr addr, unsigned size, bool match_data,
                               uint64_t data, EventNotifier *e);

void memory_region_add_subregion(MemoryRegion *parent, hwaddr offset, MemoryRegion *child);
void memory_region_add_subregion_overlap(MemoryRegion *parent, hwaddr offset,
                                         MemoryRegion *child, int priority);
void memory_region_del_subregion(MemoryRegion *parent, MemoryRegion *child);
void memory_region_set_enabled(MemoryRegion *mr, bool enabled);
void memory_region_set_address(MemoryRegion *mr, hwaddr addr);
void memory_region_set_alias_offset(MemoryRegion *mr, hwaddr offset);
void memory_region_set_readonly(MemoryRegion *mr, bool readonly);
uint64_t memory_region_size(const MemoryRegion *mr);
void *memory_region_get_ram_ptr(MemoryRegion *mr);

/* Batch several topology changes into one rebuild. */
void memory_region_transaction_begin(void);
void memory_region_transaction_commit(void);

void address_space_init(AddressSpace *as, MemoryRegion *root, const char *name);
void address_space_destroy(AddressSpace *as);
void memory_listener_register(MemoryListener *l, AddressSpace *as);
void memory_listener_unregister(MemoryListener *l);

/* Find the flat range containing addr (NULL if unmapped). */
const FlatRange *address_space_lookup(AddressSpace *as, hwaddr addr);

/* Bounds-checked accesses; every byte goes to the region mapped there.
 * Unmapped bytes read as 0xff and writes to them are dropped (MEMTX_DECODE_ERROR). */
MemTxResult address_space_rw(AddressSpace *as, hwaddr addr, void *buf, hwaddr len,
                             bool is_write);
MemTxResult address_space_read(AddressSpace *as, hwaddr addr, void *buf, hwaddr len);
MemTxResult address_space_write(AddressSpace *as, hwaddr addr, const void *buf, hwaddr len);
/* Write even into ROM (used by loaders). */
MemTxResult address_space_write_rom(AddressSpace *as, hwaddr addr, const void *buf,
                                    hwaddr len);
/* Single aligned-or-not access of 1/2/4/8 bytes, value little-endian. */
MemTxResult address_space_ldst(AddressSpace *as, hwaddr addr, uint64_t *val, unsigned size,
                               bool is_write);
uint32_t address_space_ldl(AddressSpace *as, hwaddr addr);
void address_space_stl(AddressSpace *as, hwaddr addr, uint32_t val);

/* Map guest RAM for direct access: returns a host pointer and clips *plen to the
 * contiguous RAM available (0 and NULL if addr is not RAM, or ROM with is_write). */
void *address_space_map(AddressSpace *as, hwaddr addr, hwaddr *plen, bool is_write);

/* The two global address spaces and their roots. */
extern AddressSpace address_space_memory;
extern AddressSpace address_space_io;
MemoryRegion *get_system_memory(void);
MemoryRegion *get_system_io(void);
void memory_init(void);

/* Debug dump of the flat view, as HMP "info mtree -f" would print. */
char *address_space_dump(AddressSpace *as);

#endif
