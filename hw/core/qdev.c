/*
 * Device type registry, instances and typed properties (see include/hw/qdev.h).
 * Help output and error messages follow QEMU's `-device` conventions.
 */
#include "hw/qdev.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "kemu/option.h"

static GHashTable *types;            /* name -> DeviceClass* */
static DeviceState *device_list;
static DeviceState **device_list_tail = &device_list;
static GPtrArray *buses;
static QdevPtrResolver resolvers[PROP_ENUM + 1];

void device_type_register(DeviceClass *dc)
{
    if (!types) {
        types = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_hash_table_insert(types, (gpointer)dc->name, dc);
}

static void device_type_resolve(DeviceClass *dc)
{
    if (dc->parent && !dc->parent_class) {
        DeviceClass *p = types ? g_hash_table_lookup(types, dc->parent) : NULL;
        g_assert(p); /* a missing parent type is a build error */
        device_type_resolve(p);
        dc->parent_class = p;
        if (!dc->bus_type) {
            dc->bus_type = p->bus_type;
        }
        if (!dc->vmsd) {
            dc->vmsd = p->vmsd;
        }
        if (!dc->instance_size) {
            dc->instance_size = p->instance_size;
        }
    }
}

const DeviceClass *device_type_find(const char *name)
{
    DeviceClass *dc = types ? g_hash_table_lookup(types, name) : NULL;
    if (dc) {
        device_type_resolve(dc);
    }
    return dc;
}

bool device_type_is_a(const DeviceClass *dc, const char *ancestor)
{
    for (; dc; dc = dc->parent_class) {
        if (!strcmp(dc->name, ancestor)) {
            return true;
        }
    }
    return false;
}

static gint cmp_type_name(gconstpointer a, gconstpointer b)
{
    const DeviceClass *x = *(DeviceClass *const *)a, *y = *(DeviceClass *const *)b;
    return strcmp(x->name, y->name);
}

void device_type_foreach(void (*fn)(const DeviceClass *dc, void *opaque), void *opaque)
{
    if (!types) {
        return;
    }
    GPtrArray *all = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, types);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        device_type_resolve(v);
        g_ptr_array_add(all, v);
    }
    g_ptr_array_sort(all, cmp_type_name);
    for (guint i = 0; i < all->len; i++) {
        fn(g_ptr_array_index(all, i), opaque);
    }
    g_ptr_array_free(all, TRUE);
}

/* ---- properties ---- */

const Property *qdev_prop_find(const DeviceClass *dc, const char *name)
{
    for (; dc; dc = dc->parent_class) {
        for (const Property *p = dc->props; p && p->name; p++) {
            if (!strcmp(p->name, name)) {
                return p;
            }
        }
    }
    return NULL;
}

static void *prop_ptr(DeviceState *dev, const Property *p)
{
    return (uint8_t *)dev + p->offset;
}

static const char *prop_type_name(PropertyType t)
{
    switch (t) {
    case PROP_BOOL:
        return "bool";
    case PROP_UINT8:
        return "uint8";
    case PROP_UINT16:
        return "uint16";
    case PROP_UINT32:
        return "uint32";
    case PROP_UINT64:
        return "uint64";
    case PROP_INT32:
        return "int32";
    case PROP_SIZE:
        return "size";
    case PROP_STRING:
    case PROP_CHARDEV:
    case PROP_DRIVE:
    case PROP_NETDEV:
        return "str";
    case PROP_MACADDR:
        return "str";
    case PROP_PCI_DEVFN:
        return "int32";
    case PROP_ENUM:
        return "str";
    }
    return "?";
}

static void prop_store_uint(DeviceState *dev, const Property *p, uint64_t v)
{
    void *ptr = prop_ptr(dev, p);
    switch (p->type) {
    case PROP_BOOL:
        *(bool *)ptr = v != 0;
        break;
    case PROP_UINT8:
        *(uint8_t *)ptr = v;
        break;
    case PROP_UINT16:
        *(uint16_t *)ptr = v;
        break;
    case PROP_UINT32:
        *(uint32_t *)ptr = v;
        break;
    case PROP_INT32:
    case PROP_PCI_DEVFN:
    case PROP_ENUM:
        *(int32_t *)ptr = (int32_t)v;
        break;
    case PROP_UINT64:
    case PROP_SIZE:
        *(uint64_t *)ptr = v;
        break;
    default:
        break;
    }
}

static bool prop_uint_in_range(const Property *p, uint64_t v)
{
    switch (p->type) {
    case PROP_UINT8:
        return v <= UINT8_MAX;
    case PROP_UINT16:
        return v <= UINT16_MAX;
    case PROP_UINT32:
        return v <= UINT32_MAX;
    default:
        return true;
    }
}

static void prop_set_default(DeviceState *dev, const Property *p)
{
    if (p->type == PROP_STRING) {
        *(char **)prop_ptr(dev, p) = g_strdup(p->defstr);
    } else if (p->has_default) {
        prop_store_uint(dev, p, (uint64_t)p->defval);
    }
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &tail) != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = v[i];
    }
    return true;
}

static bool parse_devfn(const char *s, int32_t *out)
{
    unsigned slot, fn = 0;
    char *end;
    slot = strtoul(s, &end, 16);
    if (end == s) {
        return false;
    }
    if (*end == '.') {
        const char *f = end + 1;
        fn = strtoul(f, &end, 16);
        if (end == f) {
            return false;
        }
    }
    if (*end || slot > 31 || fn > 7) {
        return false;
    }
    *out = (int32_t)(slot << 3 | fn);
    return true;
}

bool qdev_prop_set(DeviceState *dev, const char *name, const char *value, Error **errp)
{
    const Property *p = qdev_prop_find(dev->type, name);
    if (!p) {
        error_setg(errp, "Property '%s.%s' not found", dev->type->name, name);
        return false;
    }
    void *ptr = prop_ptr(dev, p);
    uint64_t v;
    switch (p->type) {
    case PROP_BOOL: {
        bool b;
        if (!parse_bool(name, value, &b, errp)) {
            return false;
        }
        *(bool *)ptr = b;
        return true;
    }
    case PROP_UINT8:
    case PROP_UINT16:
    case PROP_UINT32:
    case PROP_UINT64:
        if (!parse_uint(value, &v)) {
            error_setg(errp, "Parameter '%s' expects integer", name);
            return false;
        }
        if (!prop_uint_in_range(p, v)) {
            error_setg(errp, "Parameter '%s' expects %s", name, prop_type_name(p->type));
            return false;
        }
        prop_store_uint(dev, p, v);
        return true;
    case PROP_INT32: {
        char *end;
        long long n = strtoll(value, &end, 0);
        if (!*value || *end || n < INT32_MIN || n > INT32_MAX) {
            error_setg(errp, "Parameter '%s' expects integer", name);
            return false;
        }
        *(int32_t *)ptr = (int32_t)n;
        return true;
    }
    case PROP_SIZE:
        if (!parse_size(value, &v)) {
            error_setg(errp, "Parameter '%s' expects a non-negative number below 2^64", name);
            return false;
        }
        *(uint64_t *)ptr = v;
        return true;
    case PROP_STRING:
        g_free(*(char **)ptr);
        *(char **)ptr = g_strdup(value);
        return true;
    case PROP_MACADDR:
        if (!parse_mac(value, ptr)) {
            error_setg(errp, "Property '%s.%s' doesn't take value '%s'", dev->type->name, name,
                       value);
            return false;
        }
        return true;
    case PROP_PCI_DEVFN: {
        int32_t devfn;
        if (!parse_devfn(value, &devfn)) {
            error_setg(errp, "Property '%s.%s' doesn't take value '%s'", dev->type->name, name,
                       value);
            return false;
        }
        *(int32_t *)ptr = devfn;
        return true;
    }
    case PROP_CHARDEV:
    case PROP_DRIVE:
    case PROP_NETDEV: {
        void *obj = resolvers[p->type] ? resolvers[p->type](value) : NULL;
        if (!obj) {
            if (p->type == PROP_CHARDEV) {
                error_setg(errp, "Property '%s.%s' can't find value '%s'", dev->type->name, name,
                           value);
            } else if (p->type == PROP_DRIVE) {
                error_setg(errp, "Property '%s.%s' can't find value '%s'", dev->type->name, name,
                           value);
            } else {
                error_setg(errp, "Property '%s.%s' can't find value '%s'", dev->type->name, name,
                           value);
            }
            return false;
        }
        *(void **)ptr = obj;
        return true;
    }
    case PROP_ENUM:
        for (int i = 0; p->enum_names && p->enum_names[i]; i++) {
            if (!strcmp(p->enum_names[i], value)) {
                *(int32_t *)ptr = i;
                return true;
            }
        }
        error_setg(errp, "Parameter '%s' does not accept value '%s'", name, value);
        return false;
    }
    return false;
}

bool qdev_prop_set_uint(DeviceState *dev, const char *name, uint64_t value, Error **errp)
{
    const Property *p = qdev_prop_find(dev->type, name);
    if (!p) {
        error_setg(errp, "Property '%s.%s' not found", dev->type->name, name);
        return false;
    }
    if (!prop_uint_in_range(p, value)) {
        error_setg(errp, "Parameter '%s' expects %s", name, prop_type_name(p->type));
        return false;
    }
    prop_store_uint(dev, p, value);
    return true;
}

void qdev_prop_set_ptr(DeviceState *dev, const char *name, void *ptr)
{
    const Property *p = qdev_prop_find(dev->type, name);
    g_assert(p && (p->type == PROP_CHARDEV || p->type == PROP_DRIVE || p->type == PROP_NETDEV));
    *(void **)prop_ptr(dev, p) = ptr;
}

void qdev_set_resolver(PropertyType type, QdevPtrResolver fn)
{
    resolvers[type] = fn;
}

char *qdev_prop_get_string(DeviceState *dev, const Property *p)
{
    void *ptr = prop_ptr(dev, p);
    switch (p->type) {
    case PROP_BOOL:
        return g_strdup(*(bool *)ptr ? "true" : "false");
    case PROP_UINT8:
        return g_strdup_printf("%u", *(uint8_t *)ptr);
    case PROP_UINT16:
        return g_strdup_printf("%u", *(uint16_t *)ptr);
    case PROP_UINT32:
        return g_strdup_printf("%u", *(uint32_t *)ptr);
    case PROP_INT32:
    case PROP_PCI_DEVFN:
        return g_strdup_printf("%d", *(int32_t *)ptr);
    case PROP_UINT64:
    case PROP_SIZE:
        return g_strdup_printf("%" PRIu64, *(uint64_t *)ptr);
    case PROP_STRING:
        return g_strdup(*(char **)ptr ? *(char **)ptr : "");
    case PROP_MACADDR: {
        uint8_t *m = ptr;
        return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                               m[5]);
    }
    case PROP_ENUM:
        return g_strdup(p->enum_names[*(int32_t *)ptr]);
    default:
        return g_strdup(*(void **)ptr ? "(set)" : "");
    }
}

/* ---- instances ---- */

typedef struct GlobalProp {
    char *driver, *prop, *value;
} GlobalProp;
static GPtrArray *globals;

void qdev_add_global(const char *driver, const char *prop, const char *value)
{
    GlobalProp *g = g_new0(GlobalProp, 1);
    g->driver = g_strdup(driver);
    g->prop = g_strdup(prop);
    g->value = g_strdup(value);
    if (!globals) {
        globals = g_ptr_array_new();
    }
    g_ptr_array_add(globals, g);
}

bool qdev_apply_globals(DeviceState *dev, Error **errp)
{
    for (guint i = 0; globals && i < globals->len; i++) {
        GlobalProp *g = g_ptr_array_index(globals, i);
        if (device_type_is_a(dev->type, g->driver) &&
            !qdev_prop_set(dev, g->prop, g->value, errp)) {
            return false;
        }
    }
    return true;
}

static void device_init_chain(DeviceState *dev, const DeviceClass *dc)
{
    if (!dc) {
        return;
    }
    device_init_chain(dev, dc->parent_class);
    for (const Property *p = dc->props; p && p->name; p++) {
        prop_set_default(dev, p);
    }
    if (dc->instance_init) {
        dc->instance_init(dev);
    }
}

DeviceState *qdev_new(const char *type_name, Error **errp)
{
    const DeviceClass *dc = device_type_find(type_name);
    if (!dc) {
        error_setg(errp, "'%s' is not a valid device model name", type_name);
        return NULL;
    }
    if (dc->abstract) {
        error_setg(errp, "Can't instantiate abstract type '%s'", type_name);
        return NULL;
    }
    g_assert(dc->instance_size >= sizeof(DeviceState));
    DeviceState *dev = g_malloc0(dc->instance_size);
    dev->type = dc;
    device_init_chain(dev, dc);
    if (!qdev_apply_globals(dev, errp)) {
        g_free(dev);
        return NULL;
    }
    return dev;
}

static const DeviceClass *first_with_realize(const DeviceClass *dc)
{
    while (dc && !dc->realize) {
        dc = dc->parent_class;
    }
    return dc;
}

bool qdev_realize(DeviceState *dev, BusState *bus, Error **errp)
{
    const DeviceClass *dc = first_with_realize(dev->type);
    Error *err = NULL;

    if (dev->id && qdev_find_by_id(dev->id)) {
        error_setg(errp, "Duplicate device ID '%s'", dev->id);
        return false;
    }
    dev->parent_bus = bus;
    if (dc) {
        dc->realize(dev, &err);
        if (err) {
            error_propagate(errp, err);
            dev->parent_bus = NULL;
            return false;
        }
    }
    dev->realized = true;
    if (bus) {
        DeviceState **pp = &bus->children;
        while (*pp) {
            pp = &(*pp)->bus_next;
        }
        *pp = dev;
    }
    *device_list_tail = dev;
    device_list_tail = &dev->next;
    return true;
}

void qdev_unrealize(DeviceState *dev)
{
    for (const DeviceClass *dc = dev->type; dc; dc = dc->parent_class) {
        if (dc->unrealize) {
            dc->unrealize(dev);
            break;
        }
    }
    dev->realized = false;
}

void qdev_reset_all(void)
{
    for (DeviceState *d = device_list; d; d = d->next) {
        for (const DeviceClass *dc = d->type; dc; dc = dc->parent_class) {
            if (dc->reset) {
                dc->reset(d);
                break;
            }
        }
    }
    for (guint i = 0; buses && i < buses->len; i++) {
        BusState *b = g_ptr_array_index(buses, i);
        if (b->reset) {
            b->reset(b);
        }
    }
}

DeviceState *qdev_find_by_id(const char *id)
{
    for (DeviceState *d = device_list; d; d = d->next) {
        if (d->id && !strcmp(d->id, id)) {
            return d;
        }
    }
    return NULL;
}

DeviceState *qdev_first(void)
{
    return device_list;
}

/* ---- help ---- */

static gint cmp_prop_name(gconstpointer a, gconstpointer b)
{
    const Property *x = *(Property *const *)a, *y = *(Property *const *)b;
    return strcmp(x->name, y->name);
}

void qdev_print_type_help(const DeviceClass *dc)
{
    GPtrArray *props = g_ptr_array_new();
    for (const DeviceClass *c = dc; c; c = c->parent_class) {
        for (const Property *p = c->props; p && p->name; p++) {
            g_ptr_array_add(props, (gpointer)p);
        }
    }
    g_ptr_array_sort(props, cmp_prop_name);
    if (props->len == 0) {
        printf("There are no options for %s.\n", dc->name);
    } else {
        printf("%s options:\n", dc->name);
    }
    for (guint i = 0; i < props->len; i++) {
        const Property *p = g_ptr_array_index(props, i);
        const char *tname = p->type == PROP_ENUM && p->enum_type ? p->enum_type
                                                                 : prop_type_name(p->type);
        char *head = g_strdup_printf("  %s=<%s>", p->name, tname);
        printf("%-24s -", head);
        g_free(head);
        const char *desc = p->desc;
        if (!desc && p->type == PROP_CHARDEV) {
            desc = "ID of a chardev to use as a backend";
        } else if (!desc && p->type == PROP_DRIVE) {
            desc = "Node name or ID of a block device to use as a backend";
        } else if (!desc && p->type == PROP_NETDEV) {
            desc = "ID of a netdev to use as a backend";
        }
        if (desc) {
            printf(" %s", desc);
        } else {
            printf(" ");
        }
        if (p->has_default) {
            if (p->type == PROP_BOOL) {
                printf(" (default: %s)", p->defval ? "true" : "false");
            } else if (p->type == PROP_ENUM && p->enum_names) {
                printf(" (default: \"%s\")", p->enum_names[p->defval]);
            } else if (p->type == PROP_INT32 || p->type == PROP_PCI_DEVFN) {
                printf(" (default: %" PRId64 ")", p->defval);
            } else {
                printf(" (default: %" PRIu64 ")", (uint64_t)p->defval);
            }
        }
        printf("\n");
    }
    g_ptr_array_free(props, TRUE);
}

static const char *const category_names[DEVICE_CATEGORY_MAX] = {
    [DEVICE_CATEGORY_BRIDGE] = "Controller/Bridge/Hub",
    [DEVICE_CATEGORY_USB] = "USB",
    [DEVICE_CATEGORY_STORAGE] = "Storage",
    [DEVICE_CATEGORY_NETWORK] = "Network",
    [DEVICE_CATEGORY_INPUT] = "Input",
    [DEVICE_CATEGORY_DISPLAY] = "Display",
    [DEVICE_CATEGORY_SOUND] = "Sound",
    [DEVICE_CATEGORY_MISC] = "Misc",
    [DEVICE_CATEGORY_CPU] = "CPU",
    [DEVICE_CATEGORY_WATCHDOG] = "Watchdog",
};

typedef struct ListCtx {
    DeviceCategory cat;
    bool any;
} ListCtx;

static const char *bus_display_name(const char *bus)
{
    if (!bus) {
        return "System";
    }
    if (!strcmp(bus, "pci")) {
        return "PCI";
    }
    if (!strcmp(bus, "isa")) {
        return "ISA";
    }
    if (!strcmp(bus, "virtio")) {
        return "virtio-bus";
    }
    return bus;
}

static void list_one(const DeviceClass *dc, void *opaque)
{
    ListCtx *ctx = opaque;
    if (!dc->user_creatable || dc->abstract || dc->category != ctx->cat) {
        return;
    }
    if (!ctx->any) {
        printf("%s%s devices:\n", ctx->cat == DEVICE_CATEGORY_BRIDGE ? "" : "\n",
               category_names[ctx->cat]);
        ctx->any = true;
    }
    printf("name \"%s\", bus %s", dc->name, bus_display_name(dc->bus_type));
    if (dc->desc) {
        printf(", desc \"%s\"", dc->desc);
    }
    printf("\n");
}

void qdev_print_device_list(void)
{
    static const DeviceCategory order[] = {
        DEVICE_CATEGORY_BRIDGE, DEVICE_CATEGORY_USB, DEVICE_CATEGORY_STORAGE,
        DEVICE_CATEGORY_NETWORK, DEVICE_CATEGORY_INPUT, DEVICE_CATEGORY_DISPLAY,
        DEVICE_CATEGORY_SOUND, DEVICE_CATEGORY_MISC, DEVICE_CATEGORY_CPU,
        DEVICE_CATEGORY_WATCHDOG,
    };
    bool first = true;
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
        ListCtx ctx = { .cat = order[i] };
        if (first) {
            /* No leading blank line before the first printed group. */
            ctx.cat = order[i];
        }
        device_type_foreach(list_one, &ctx);
        if (ctx.any) {
            first = false;
        }
    }
}

/* ---- buses ---- */

void bus_init(BusState *bus, const char *type, const char *name, DeviceState *parent)
{
    memset(bus, 0, sizeof(*bus));
    bus->type = type;
    bus->name = g_strdup(name);
    bus->parent = parent;
}

void bus_register(BusState *bus)
{
    if (!buses) {
        buses = g_ptr_array_new();
    }
    g_ptr_array_add(buses, bus);
}

BusState *bus_find_by_type(const char *type)
{
    for (guint i = 0; buses && i < buses->len; i++) {
        BusState *b = g_ptr_array_index(buses, i);
        if (!strcmp(b->type, type)) {
            return b;
        }
    }
    return NULL;
}

/* The root bus of devices that sit on no real bus (fw_cfg, ...), as QEMU's
 * "main-system-bus". */
BusState *sysbus_get(void)
{
    static BusState main_system_bus;
    if (!main_system_bus.type) {
        bus_init(&main_system_bus, "system", "main-system-bus", NULL);
        bus_register(&main_system_bus);
    }
    return &main_system_bus;
}
