/*
 * Minimal JSON writer producing QEMU's pretty-printed layout (4-space indent,
 * "key": value, nested objects and arrays), as qemu-img --output=json prints.
 */
#ifndef TOOLS_JSON_WRITER_H
#define TOOLS_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct JsonWriter {
    GString *out;
    int depth;
    bool need_comma[64];
    bool empty[64];
} JsonWriter;

void json_init(JsonWriter *w);
/* Returns the text (caller frees) and resets the writer. */
char *json_finish(JsonWriter *w);
void json_start_object(JsonWriter *w, const char *key);
void json_end_object(JsonWriter *w);
void json_start_array(JsonWriter *w, const char *key);
void json_end_array(JsonWriter *w);
void json_int(JsonWriter *w, const char *key, int64_t v);
void json_uint(JsonWriter *w, const char *key, uint64_t v);
void json_bool(JsonWriter *w, const char *key, bool v);
void json_str(JsonWriter *w, const char *key, const char *v);

#endif
