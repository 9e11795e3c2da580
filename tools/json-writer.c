/*
 * JSON writer with QEMU's pretty-print layout (see tools/json-writer.h).
 */
#include "json-writer.h"

void json_init(JsonWriter *w)
{
    w->out = g_string_new(NULL);
    w->depth = 0;
    w->need_comma[0] = false;
}

char *json_finish(JsonWriter *w)
{
    return g_string_free(w->out, false);
}

static void json_indent(JsonWriter *w)
{
    for (int i = 0; i < w->depth; i++) {
        g_string_append(w->out, "    ");
    }
}

static void json_prefix(JsonWriter *w, const char *key)
{
    if (w->depth > 0) {
        if (w->need_comma[w->depth]) {
            g_string_append_c(w->out, ',');
        }
        g_string_append_c(w->out, '\n');
        json_indent(w);
        w->need_comma[w->depth] = true;
        w->empty[w->depth] = false;
    }
    if (key) {
        g_string_append_printf(w->out, "\"%s\": ", key);
    }
}

static void json_open(JsonWriter *w, const char *key, char c)
{
    json_prefix(w, key);
    g_string_append_c(w->out, c);
    w->depth++;
    w->need_comma[w->depth] = false;
    w->empty[w->depth] = true;
}

static void json_close(JsonWriter *w, char c)
{
    bool empty = w->empty[w->depth];
    w->depth--;
    if (!empty) {
        g_string_append_c(w->out, '\n');
        json_indent(w);
    } else if (c == ']') {
        g_string_append_c(w->out, '\n');
        json_indent(w);
    }
    g_string_append_c(w->out, c);
}

void json_start_object(JsonWriter *w, const char *key)
{
    json_open(w, key, '{');
}

void json_end_object(JsonWriter *w)
{
    json_close(w, '}');
}

void json_start_array(JsonWriter *w, const char *key)
{
    json_open(w, key, '[');
}

void json_end_array(JsonWriter *w)
{
    json_close(w, ']');
}

void json_int(JsonWriter *w, const char *key, int64_t v)
{
    json_prefix(w, key);
    g_string_append_printf(w->out, "%" G_GINT64_FORMAT, v);
}

void json_uint(JsonWriter *w, const char *key, uint64_t v)
{
    json_prefix(w, key);
    g_string_append_printf(w->out, "%" G_GUINT64_FORMAT, v);
}

void json_bool(JsonWriter *w, const char *key, bool v)
{
    json_prefix(w, key);
    g_string_append(w->out, v ? "true" : "false");
}

void json_str(JsonWriter *w, const char *key, const char *v)
{
    json_prefix(w, key);
    g_string_append_c(w->out, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(w->out, "\\\"");
            break;
        case '\\':
            g_string_append(w->out, "\\\\");
            break;
        case '\n':
            g_string_append(w->out, "\\n");
            break;
        case '\t':
            g_string_append(w->out, "\\t");
            break;
        default:
            if (*p < 0x20) {
                g_string_append_printf(w->out, "\\u%04x", *p);
            } else {
                g_string_append_c(w->out, *p);
            }
        }
    }
    g_string_append_c(w->out, '"');
}
