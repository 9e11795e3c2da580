/*
 * A small AML (ACPI Machine Language) builder, encodings per ACPI 6.4 §20.2 "AML
 * Grammar Definition" and resource descriptors per §6.4 "Resource Data Types".
 *
 * Usage: build nodes, then aml_append(parent, child) (which encodes and consumes the
 * child).  Block nodes (scope, device, method, package, resource template) get their
 * PkgLength when appended.  aml_take_bytes() finishes a root node made with
 * aml_block_root().
 */
#ifndef HW_I386_AML_H
#define HW_I386_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Aml Aml;

/* A root: its bytes are emitted as-is (a DefinitionBlock's TermList). */
Aml *aml_block_root(void);
uint8_t *aml_take_bytes(Aml *root, size_t *len);   /* frees root; g_free the bytes */
void aml_free(Aml *a);
/* Encode `child` into `parent` (TermList, package element or buffer data); frees it. */
void aml_append(Aml *parent, Aml *child);

/* Data objects */
Aml *aml_int(uint64_t v);             /* Zero/One/Ones or the smallest prefix */
Aml *aml_string(const char *s);
Aml *aml_eisaid(const char *id);      /* "PNP0A03" -> compressed DWord */
Aml *aml_name(const char *name);      /* NameString reference */
Aml *aml_buffer(const uint8_t *data, size_t len);
Aml *aml_package(void);               /* elements: aml_append; NumElements counted */

/* Named objects and statements */
Aml *aml_name_decl(const char *name, Aml *value);  /* Name(name, value); consumes value */
Aml *aml_scope(const char *name);
Aml *aml_device(const char *name);
Aml *aml_method(const char *name, unsigned nargs, bool serialized);
Aml *aml_return(Aml *value);

/* Resource templates: a Buffer of descriptors ended by an End Tag. */
Aml *aml_resource_template(void);
Aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t len);   /* Decode16 */
Aml *aml_irq_no_flags(uint8_t irq);
/* Extended interrupt: consumer; level/edge, active high/low, shared/exclusive. */
Aml *aml_interrupt(bool level, bool active_low, bool shared, uint32_t irq);
Aml *aml_memory32_fixed(uint32_t base, uint32_t len, bool read_write);
/* Address space descriptors: producer, MinFixed, MaxFixed, PosDecode. */
Aml *aml_word_bus_number(uint16_t min, uint16_t max);
Aml *aml_word_io(uint16_t min, uint16_t max);                 /* EntireRange */
Aml *aml_dword_memory(uint32_t min, uint32_t max, bool cacheable);   /* ReadWrite */
Aml *aml_qword_memory(uint64_t min, uint64_t max, bool cacheable);   /* ReadWrite */

/* Encoding helpers, exported for tests. */
size_t aml_encode_pkglength(uint8_t *out, size_t payload_len);  /* returns bytes used */
/* NameString encoding of "\\_SB.PCI0", "^FOO", "_HID"...; returns length or 0 if bad. */
size_t aml_encode_namestring(uint8_t *out, size_t cap, const char *name);

#endif
