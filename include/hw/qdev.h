/*
 * Device object model: device types with a parent type, an instance size, a
 * typed property table, realize/unrealize/reset hooks and a vmstate
 * description.  Types register in a global registry so `-device help`,
 * `-device NAME,help` and QMP introspection list them.
 */
#ifndef HW_QDEV_H
#define HW_QDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kemu/error.h"
#include "hw/vmstate.h"

typedef struct DeviceState DeviceState;
typedef struct DeviceClass DeviceClass;
typedef struct BusState BusState;

typedef enum PropertyType {
    PROP_BOOL,
    PROP_UINT8,
    PROP_UINT16,
    PROP_UINT32,
    PROP_UINT64,
    PROP_INT32,
    PROP_SIZE,
    PROP_STRING,
    PROP_MACADDR,  /* uint8_t[6] */
    PROP_CHARDEV,  /* Chardev * looked up by id */
    PROP_DRIVE,    /* BlockBackend * looked up by id */
    PROP_NETDEV,   /* NetClient * looked up by id */
    PROP_PCI_DEVFN,/* int32: "slot[.fn]" */
    PROP_ENUM,     /* int32 index into `enum_names` */
} PropertyType;

typedef struct Property {
    const char *name;
    PropertyType type;
    size_t offset;
    int64_t defval;         /* numeric default */
    const char *defstr;     /* string default (PROP_STRING) */
    bool has_default;
    const char *const *enum_names;
    const char *enum_type;  /* QAPI type name shown in help, e.g. "LostTickPolicy" */
    const char *desc;
} Property;

#define DEFINE_PROP_(n, st, f, t, d) \
    { .name = (n), .type = (t), .offset = offsetof(st, f), .defval = (d), .has_default = true }
#define DEFINE_PROP_BOOL(n, st, f, d)   DEFINE_PROP_(n, st, f, PROP_BOOL, d)
#define DEFINE_PROP_UINT8(n, st, f, d)  DEFINE_PROP_(n, st, f, PROP_UINT8, d)
#define DEFINE_PROP_UINT16(n, st, f, d) DEFINE_PROP_(n, st, f, PROP_UINT16, d)
#define DEFINE_PROP_UINT32(n, st, f, d) DEFINE_PROP_(n, st, f, PROP_UINT32, d)
#define DEFINE_PROP_UINT64(n, st, f, d) DEFINE_PROP_(n, st, f, PROP_UINT64, d)
#define DEFINE_PROP_INT32(n, st, f, d)  DEFINE_PROP_(n, st, f, PROP_INT32, d)
#define DEFINE_PROP_SIZE(n, st, f, d)   DEFINE_PROP_(n, st, f, PROP_SIZE, d)
#define DEFINE_PROP_STRING(n, st, f) \
    { .name = (n), .type = PROP_STRING, .offset = offsetof(st, f) }
#define DEFINE_PROP_MACADDR(n, st, f) \
    { .name = (n), .type = PROP_MACADDR, .offset = offsetof(st, f) }
#define DEFINE_PROP_CHR(n, st, f) { .name = (n), .type = PROP_CHARDEV, .offset = offsetof(st, f) }
#define DEFINE_PROP_DRIVE(n, st, f) { .name = (n), .type = PROP_DRIVE, .offset = offsetof(st, f) }
#define DEFINE_PROP_NETDEV(n, st, f) \
    { .name = (n), .type = PROP_NETDEV, .offset = offsetof(st, f) }
#define DEFINE_PROP_PCI_DEVFN(n, st, f, d) DEFINE_PROP_(n, st, f, PROP_PCI_DEVFN, d)
#define DEFINE_PROP_ENUM(n, st, f, d, names, tname) \
    { .name = (n), .type = PROP_ENUM, .offset = offsetof(st, f), .defval = (d), \
      .has_default = true, .enum_names = (names), .enum_type = (tname) }
#define DEFINE_PROP_END_OF_LIST() { .name = NULL }

typedef enum DeviceCategory {
    DEVICE_CATEGORY_MISC,
    DEVICE_CATEGORY_BRIDGE,
    DEVICE_CATEGORY_USB,
    DEVICE_CATEGORY_STORAGE,
    DEVICE_CATEGORY_NETWORK,
    DEVICE_CATEGORY_INPUT,
    DEVICE_CATEGORY_DISPLAY,
    DEVICE_CATEGORY_SOUND,
    DEVICE_CATEGORY_CPU,
    DEVICE_CATEGORY_WATCHDOG,
    DEVICE_CATEGORY_MAX
} DeviceCategory;

struct DeviceClass {
    const char *name;
    const char *parent;         /* parent type name or NULL */
    size_t instance_size;
    const char *desc;
    DeviceCategory category;
    bool abstract;
    bool user_creatable;        /* may be created with -device */
    const char *bus_type;       /* "isa", "pci", "virtio", "system" or NULL */
    const Property *props;
    void (*instance_init)(DeviceState *dev);
    void (*realize)(DeviceState *dev, Error **errp);
    void (*unrealize)(DeviceState *dev);
    void (*reset)(DeviceState *dev);
    const VMStateDescription *vmsd;
    /* Resolved at registration */
    const DeviceClass *parent_class;
};

struct DeviceState {
    const DeviceClass *type;
    char *id;
    BusState *parent_bus;
    bool realized;
    DeviceState *next;          /* in the global device list */
    DeviceState *bus_next;      /* sibling on parent_bus */
};

struct BusState {
    const char *type;           /* "isa", "pci", ... */
    char *name;
    DeviceState *parent;        /* bridge/controller owning the bus, may be NULL */
    DeviceState *children;
    void (*reset)(BusState *bus);
};

/* Registration (call from a constructor in each device file via DEVICE_TYPE_REGISTER). */
void device_type_register(DeviceClass *dc);
#define QDEV_CONCAT_(a, b) a##b
#define QDEV_CONCAT(a, b) QDEV_CONCAT_(a, b)
#define DEVICE_TYPE_REGISTER(dc) \
    static void __attribute__((constructor)) QDEV_CONCAT(device_type_register_, __LINE__)(void) \
    { \
        device_type_register(&(dc)); \
    }
const DeviceClass *device_type_find(const char *name);
bool device_type_is_a(const DeviceClass *dc, const char *ancestor);
/* Call fn for each registered type sorted by name. */
void device_type_foreach(void (*fn)(const DeviceClass *dc, void *opaque), void *opaque);

/* Instance life cycle: new -> set properties -> realize. */
DeviceState *qdev_new(const char *type_name, Error **errp);
bool qdev_prop_set(DeviceState *dev, const char *name, const char *value, Error **errp);
bool qdev_prop_set_uint(DeviceState *dev, const char *name, uint64_t value, Error **errp);
void qdev_prop_set_ptr(DeviceState *dev, const char *name, void *ptr);
const Property *qdev_prop_find(const DeviceClass *dc, const char *name);
/* Value as text (for info qtree / help); caller frees. */
char *qdev_prop_get_string(DeviceState *dev, const Property *p);
bool qdev_realize(DeviceState *dev, BusState *bus, Error **errp);
void qdev_unrealize(DeviceState *dev);
void qdev_reset_all(void);
DeviceState *qdev_find_by_id(const char *id);
DeviceState *qdev_first(void);

/* Print "name options:" and each property as QEMU's -device NAME,help does. */
void qdev_print_type_help(const DeviceClass *dc);
/* Print the `-device help` list grouped by category. */
void qdev_print_device_list(void);

/* Property-type helpers for the ptr-typed properties (set by system code). */
typedef void *(*QdevPtrResolver)(const char *id);
void qdev_set_resolver(PropertyType type, QdevPtrResolver fn);

/* -global DRIVER.PROP=VALUE: applied to every new instance of DRIVER (or a subtype). */
void qdev_add_global(const char *driver, const char *prop, const char *value);
bool qdev_apply_globals(DeviceState *dev, Error **errp);

/* Buses */
void bus_init(BusState *bus, const char *type, const char *name, DeviceState *parent);
BusState *bus_find_by_type(const char *type);
/* The system bus (created on first use). */
BusState *sysbus_get(void);
void bus_register(BusState *bus);

#define DEVICE(obj) ((DeviceState *)(obj))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
