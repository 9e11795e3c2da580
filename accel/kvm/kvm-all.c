/*
 * KVM accelerator: the VM file descriptor, memory slots that follow the flat
 * view of system memory, the in-kernel irqchip and PIT, interrupt injection
 * (KVM_IRQ_LINE, KVM_SIGNAL_MSI), ioeventfd and irqfd.  Per the Linux KVM API
 * documentation (Documentation/virt/kvm/api.rst).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <glib.h>

#include "kvm-internal.h"
#include "kemu/event_notifier.h"
#include "system/accel.h"

KVMState kvm_state = { .fd = -1, .vmfd = -1 };

/* Addresses below 4 GiB that KVM needs for real-mode emulation on Intel hosts;
 * the board reserves them in the e820 map (the same values QEMU uses). */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ull
#define KVM_TSS_ADDR (KVM_IDENTITY_MAP_ADDR + 0x1000)

int kvm_vm_ioctl(unsigned long req, void *arg)
{
    int r = ioctl(kvm_state.vmfd, req, arg);
    return r < 0 ? -errno : r;
}

static bool kvm_available(void)
{
    return access("/dev/kvm", R_OK | W_OK) == 0;
}

/* ---- memory slots ---- */

typedef struct KVMSlot {
    bool used;
    uint64_t gpa, size;
    void *hva;
    bool readonly;
} KVMSlot;

static KVMSlot *slots;
static MemoryListener kvm_listener;

static int kvm_slot_set(int idx, const KVMSlot *s, bool remove)
{
    struct kvm_userspace_memory_region r = {
        .slot = idx,
        .flags = s->readonly ? KVM_MEM_READONLY : 0,
        .guest_phys_addr = s->gpa,
        .memory_size = remove ? 0 : s->size,
        .userspace_addr = (uintptr_t)s->hva,
    };
    return kvm_vm_ioctl(KVM_SET_USER_MEMORY_REGION, &r);
}

static void kvm_region_add(MemoryListener *l, const FlatRange *fr)
{
    uint64_t start = fr->start, size = fr->size;
    uint8_t *hva = fr->mr->ram + fr->offset_in_mr;
    /* Slots must be page aligned; an unaligned piece stays MMIO-dispatched. */
    uint64_t astart = (start + 0xfff) & ~0xfffull;
    uint64_t aend = (start + size) & ~0xfffull;
    if (aend <= astart) {
        return;
    }
    hva += astart - start;
    size = aend - astart;
    bool ro = fr->readonly;
    if (ro && !kvm_state.readonly_mem) {
        return; /* without read-only slots ROM is served by MMIO exits */
    }
    for (int i = 0; i < kvm_state.nr_slots; i++) {
        if (!slots[i].used) {
            slots[i] = (KVMSlot){ .used = true, .gpa = astart, .size = size, .hva = hva,
                                  .readonly = ro };
            int r = kvm_slot_set(i, &slots[i], false);
            if (r < 0) {
                error_report("kvm: failed to map guest memory at 0x%" PRIx64 " (+0x%" PRIx64
                             "): %s", astart, size, strerror(-r));
                slots[i].used = false;
            }
            return;
        }
    }
    error_report("kvm: out of memory slots");
}

static void kvm_region_del(MemoryListener *l, const FlatRange *fr)
{
    uint64_t astart = (fr->start + 0xfff) & ~0xfffull;
    for (int i = 0; i < kvm_state.nr_slots; i++) {
        if (slots[i].used && slots[i].gpa == astart) {
            kvm_slot_set(i, &slots[i], true);
            slots[i].used = false;
            return;
        }
    }
}

/* ---- interrupts ---- */

static struct kvm_irq_routing *routes;
static unsigned nr_routes, max_routes;

static bool kvm_irqchip_in_kernel(void)
{
    return kvm_state.irqchip;
}

static bool kvm_lapic_in_kernel(void)
{
    return kvm_state.irqchip || kvm_state.split;
}

static void kvm_set_irq(int gsi, int level)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level };
    int r = kvm_vm_ioctl(KVM_IRQ_LINE, &irq);
    if (r < 0) {
        error_report("kvm: KVM_IRQ_LINE gsi %d: %s", gsi, strerror(-r));
    }
}

/*
 * Split irqchip: KVM exits on the EOI of a vector only if an MSI route on one of the
 * reserved IOAPIC GSIs (0..23) is level-triggered with that vector and destination
 * (Documentation/virt/kvm/api.rst, KVM_CAP_SPLIT_IRQCHIP).  So before a level-triggered
 * IOAPIC message is signalled, make sure such a route exists; slots are reused oldest first.
 */
#define KVM_SPLIT_ROUTES 24
static struct {
    uint64_t addr;
    uint32_t data;
    bool used;
} split_routes[KVM_SPLIT_ROUTES];
static unsigned split_next;
static int kvm_commit_routes(void);
static void kvm_route_add(const struct kvm_irq_routing_entry *e);

static void kvm_split_route_level_msi(uint64_t addr, uint32_t data)
{
    for (unsigned i = 0; i < KVM_SPLIT_ROUTES; i++) {
        if (split_routes[i].used && split_routes[i].addr == addr &&
            split_routes[i].data == data) {
            return;
        }
    }
    unsigned slot = split_next++ % KVM_SPLIT_ROUTES;
    split_routes[slot].addr = addr;
    split_routes[slot].data = data;
    split_routes[slot].used = true;
    /* Keep the irqfd MSI routes (GSI >= 24); rebuild the IOAPIC ones. */
    unsigned keep = 0;
    for (unsigned i = 0; i < nr_routes; i++) {
        if (routes->entries[i].gsi >= KVM_SPLIT_ROUTES) {
            routes->entries[keep++] = routes->entries[i];
        }
    }
    nr_routes = keep;
    for (unsigned i = 0; i < KVM_SPLIT_ROUTES; i++) {
        if (split_routes[i].used) {
            struct kvm_irq_routing_entry e = {
                .gsi = i, .type = KVM_IRQ_ROUTING_MSI,
                .u.msi = { .address_lo = (uint32_t)split_routes[i].addr,
                           .address_hi = split_routes[i].addr >> 32,
                           .data = split_routes[i].data },
            };
            kvm_route_add(&e);
        }
    }
    int r = kvm_commit_routes();
    if (r < 0) {
        warn_report("kvm: KVM_SET_GSI_ROUTING (split irqchip): %s", strerror(-r));
    }
}

static void kvm_send_msi(uint64_t addr, uint32_t data)
{
    if (kvm_state.split && (data & (1u << 15))) {
        kvm_split_route_level_msi(addr, data);
    }
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr,
        .address_hi = addr >> 32,
        .data = data,
    };
    int r = kvm_vm_ioctl(KVM_SIGNAL_MSI, &msi);
    if (r < 0) {
        error_report("kvm: KVM_SIGNAL_MSI: %s", strerror(-r));
    }
}

static int kvm_ioeventfd(int fd, uint64_t addr, unsigned size, bool match, uint64_t data,
                         bool pio, bool assign)
{
    struct kvm_ioeventfd e = {
        .datamatch = data,
        .addr = addr,
        .len = size,
        .fd = fd,
        .flags = (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    return kvm_vm_ioctl(KVM_IOEVENTFD, &e);
}

static int kvm_add_ioeventfd(int fd, uint64_t addr, unsigned size, bool match, uint64_t data,
                             bool pio)
{
    return kvm_ioeventfd(fd, addr, size, match, data, pio, true);
}

static int kvm_del_ioeventfd(int fd, uint64_t addr, unsigned size, bool match, uint64_t data,
                             bool pio)
{
    return kvm_ioeventfd(fd, addr, size, match, data, pio, false);
}

static int kvm_irqfd(int fd, int gsi, bool assign)
{
    struct kvm_irqfd f = { .fd = fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
    return kvm_vm_ioctl(KVM_IRQFD, &f);
}

static int kvm_add_irqfd(int fd, int gsi)
{
    return kvm_irqfd(fd, gsi, true);
}

static int kvm_del_irqfd(int fd, int gsi)
{
    return kvm_irqfd(fd, gsi, false);
}

/* ---- ioeventfds follow the flat views of memory and I/O space ---- */

static MemoryListener kvm_io_listener;

static void kvm_mem_eventfd_add(MemoryListener *l, hwaddr addr, const MemoryRegionIoeventfd *f)
{
    bool pio = l == &kvm_io_listener;
    int r = kvm_ioeventfd(event_notifier_get_fd(f->e), addr, f->size, f->match_data, f->data,
                          pio, true);
    if (r < 0) {
        /* Not fatal: the dispatcher signals the notifier on the exit instead. */
        warn_report("kvm: cannot register ioeventfd at 0x%" PRIx64 ": %s", addr, strerror(-r));
    }
}

static void kvm_mem_eventfd_del(MemoryListener *l, hwaddr addr, const MemoryRegionIoeventfd *f)
{
    bool pio = l == &kvm_io_listener;
    kvm_ioeventfd(event_notifier_get_fd(f->e), addr, f->size, f->match_data, f->data, pio, false);
}

/* ---- GSI routing: the irqchip pins plus MSI routes for irqfd ---- */

#define KVM_IOAPIC_PINS 24
#define KVM_PIC_PINS 16

static unsigned next_msi_gsi = KVM_IOAPIC_PINS;

static void kvm_route_add(const struct kvm_irq_routing_entry *e)
{
    if (nr_routes == max_routes) {
        max_routes = max_routes ? max_routes * 2 : 64;
        routes = g_realloc(routes, sizeof(*routes) + max_routes * sizeof(routes->entries[0]));
    }
    routes->entries[nr_routes++] = *e;
}

static void kvm_init_irq_routing(void)
{
    /* ISA IRQ n reaches PIC pin n and IOAPIC pin n, except the timer: IRQ0 is wired to
     * IOAPIC pin 2 (the MADT's interrupt source override), and IOAPIC pin 2 has no
     * other source.  KVM's built-in default maps GSI 0 to pin 0, so restate it all. */
    for (unsigned gsi = 0; gsi < KVM_IOAPIC_PINS; gsi++) {
        struct kvm_irq_routing_entry e = { .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP };
        if (gsi < KVM_PIC_PINS && gsi != 2) {
            e.u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
            e.u.irqchip.pin = gsi % 8;
            kvm_route_add(&e);
        }
        if (gsi != 2) {
            e.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
            e.u.irqchip.pin = gsi == 0 ? 2 : gsi;
            kvm_route_add(&e);
        }
    }
    int r = kvm_commit_routes();
    if (r < 0) {
        warn_report("kvm: KVM_SET_GSI_ROUTING: %s", strerror(-r));
    }
}

static int kvm_commit_routes(void)
{
    routes->nr = nr_routes;
    routes->flags = 0;
    return kvm_vm_ioctl(KVM_SET_GSI_ROUTING, routes);
}

static int kvm_add_msi_route(uint64_t addr, uint32_t data)
{
    struct kvm_irq_routing_entry e = {
        .gsi = next_msi_gsi, .type = KVM_IRQ_ROUTING_MSI,
        .u.msi = { .address_lo = (uint32_t)addr, .address_hi = addr >> 32, .data = data },
    };
    kvm_route_add(&e);
    int r = kvm_commit_routes();
    if (r < 0) {
        nr_routes--;
        return r;
    }
    return next_msi_gsi++;
}

static int kvm_update_msi_route(int gsi, uint64_t addr, uint32_t data)
{
    for (unsigned i = 0; i < nr_routes; i++) {
        struct kvm_irq_routing_entry *e = &routes->entries[i];
        if ((int)e->gsi == gsi && e->type == KVM_IRQ_ROUTING_MSI) {
            e->u.msi.address_lo = (uint32_t)addr;
            e->u.msi.address_hi = addr >> 32;
            e->u.msi.data = data;
            return kvm_commit_routes();
        }
    }
    return -ENOENT;
}

static void kvm_release_msi_route(int gsi)
{
    for (unsigned i = 0; i < nr_routes; i++) {
        if ((int)routes->entries[i].gsi == gsi &&
            routes->entries[i].type == KVM_IRQ_ROUTING_MSI) {
            routes->entries[i] = routes->entries[--nr_routes];
            kvm_commit_routes();
            return;
        }
    }
}

/* ---- init ---- */

static bool kvm_check_cap(int cap)
{
    return ioctl(kvm_state.fd, KVM_CHECK_EXTENSION, cap) > 0;
}

static bool kvm_init(MachineState *ms, const Opts *opts, Error **errp)
{
    KVMState *s = &kvm_state;

    s->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (s->fd < 0) {
        error_setg_errno(errp, errno, "Could not access KVM kernel module");
        return false;
    }
    int ver = ioctl(s->fd, KVM_GET_API_VERSION, 0);
    if (ver != KVM_API_VERSION) {
        error_setg(errp, "kvm version not supported (got %d, want %d)", ver, KVM_API_VERSION);
        return false;
    }
    static const struct {
        int cap;
        const char *name;
    } required[] = {
        { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
        { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
        { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
        { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
        { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(required); i++) {
        if (!kvm_check_cap(required[i].cap)) {
            error_setg(errp, "kvm does not support %s", required[i].name);
            return false;
        }
    }
    do {
        s->vmfd = ioctl(s->fd, KVM_CREATE_VM, 0);
    } while (s->vmfd < 0 && errno == EINTR);
    if (s->vmfd < 0) {
        error_setg_errno(errp, errno, "ioctl(KVM_CREATE_VM) failed");
        return false;
    }
    s->run_size = ioctl(s->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    s->readonly_mem = kvm_check_cap(KVM_CAP_READONLY_MEM);
    s->nr_slots = ioctl(s->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    if (s->nr_slots <= 0) {
        s->nr_slots = 32;
    }
    if (s->nr_slots > 512) {
        s->nr_slots = 512;
    }
    slots = g_new0(KVMSlot, s->nr_slots);

    unsigned max = ms->smp.maxcpus;
    int soft = ioctl(s->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    int hard = ioctl(s->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (hard <= 0) {
        hard = soft > 0 ? soft : 4;
    }
    if (max > (unsigned)hard) {
        error_setg(errp, "Number of SMP cpus requested (%u) exceeds the maximum cpus supported "
                   "by KVM (%d)", max, hard);
        return false;
    }

    uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
    if (kvm_vm_ioctl(KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0 ||
        ioctl(s->vmfd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        error_setg_errno(errp, errno, "kvm: cannot set TSS/identity map address");
        return false;
    }

    if (ms->irqchip == IRQCHIP_ON) {
        if (kvm_vm_ioctl(KVM_CREATE_IRQCHIP, NULL) < 0) {
            error_setg_errno(errp, errno, "Could not create in-kernel irqchip");
            return false;
        }
        struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
        if (kvm_vm_ioctl(KVM_CREATE_PIT2, &pit) < 0) {
            error_setg_errno(errp, errno, "Create kernel PIC irqchip failed");
            return false;
        }
        s->irqchip = true;
    } else if (ms->irqchip == IRQCHIP_SPLIT) {
        /* LAPICs in KVM; PIC and IOAPIC in userspace, IOAPIC messages sent as MSIs. */
        struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };
        if (kvm_vm_ioctl(KVM_ENABLE_CAP, &cap) < 0) {
            error_setg(errp, "Could not enable split irqchip mode");
            return false;
        }
        s->split = true;
    }
    /* kernel-irqchip=off: everything in userspace; the vCPU loop injects vectors. */

    /* Supported CPUID leaves, for every vCPU. */
    for (int n = 64;; n *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
        c->nent = n;
        if (ioctl(s->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            s->supported_cpuid = c;
            break;
        }
        g_free(c);
        if (errno != E2BIG || n > 4096) {
            error_setg_errno(errp, errno, "KVM_GET_SUPPORTED_CPUID failed");
            return false;
        }
    }

    kvm_cpu_signal_init();
    if (s->irqchip) {
        kvm_init_irq_routing();
    }
    kvm_listener.region_add = kvm_region_add;
    kvm_listener.region_del = kvm_region_del;
    kvm_listener.eventfd_add = kvm_mem_eventfd_add;
    kvm_listener.eventfd_del = kvm_mem_eventfd_del;
    memory_listener_register(&kvm_listener, &address_space_memory);
    kvm_io_listener.eventfd_add = kvm_mem_eventfd_add;
    kvm_io_listener.eventfd_del = kvm_mem_eventfd_del;
    memory_listener_register(&kvm_io_listener, &address_space_io);
    return true;
}

static void kvm_vcpu_destroy(X86CPU *cpu)
{
    KVMCPU *k = cpu->accel;
    if (k) {
        close(k->fd);
    }
}

static const AccelClass kvm_accel = {
    .name = "kvm",
    .available = kvm_available,
    .init = kvm_init,
    .init_vcpu = kvm_cpu_init,
    .vcpu_exec = kvm_cpu_exec,
    .vcpu_kick = kvm_cpu_kick,
    .vcpu_put_state = kvm_cpu_put_state,
    .vcpu_destroy = kvm_vcpu_destroy,
    .irqchip_in_kernel = kvm_irqchip_in_kernel,
    .lapic_in_kernel = kvm_lapic_in_kernel,
    .set_irq = kvm_set_irq,
    .send_msi = kvm_send_msi,
    .add_ioeventfd = kvm_add_ioeventfd,
    .del_ioeventfd = kvm_del_ioeventfd,
    .add_irqfd = kvm_add_irqfd,
    .del_irqfd = kvm_del_irqfd,
    .add_msi_route = kvm_add_msi_route,
    .update_msi_route = kvm_update_msi_route,
    .release_msi_route = kvm_release_msi_route,
};

static void __attribute__((constructor)) kvm_register(void)
{
    accel_register(&kvm_accel);
}
