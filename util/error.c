/*
 * Error objects and stderr reporting (see include/kemu/error.h).
 * Message format follows QEMU's: "<program>: <location>: <message>".
 */
#include "kemu/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

struct Error {
    char *msg;
    GString *hint;
    ErrorClass cls;
    const char *src;
    int line;
};

Error *error_fatal;
Error *error_abort;

static const char *progname = "kemu";
static char *location;

void error_set_progname(const char *name)
{
    const char *slash = strrchr(name, '/');
    progname = slash ? slash + 1 : name;
}

const char *error_get_progname(void)
{
    return progname;
}

void error_set_location(const char *loc)
{
    g_free(location);
    location = loc ? g_strdup(loc) : NULL;
}

static void error_handle(Error **errp, Error *err)
{
    if (errp == &error_abort) {
        fprintf(stderr, "Unexpected error at %s:%d:\n", err->src, err->line);
        error_report_err(err);
        abort();
    }
    if (errp == &error_fatal) {
        error_report_err(err);
        exit(1);
    }
    if (!errp) {
        error_free(err);
        return;
    }
    if (*errp) {
        /* First error wins; a second one is a bug but must not leak. */
        error_free(err);
        return;
    }
    *errp = err;
}

static void error_setv(Error **errp, const char *src, int line, ErrorClass cls, const char *fmt,
                       va_list ap, const char *suffix)
{
    Error *err = g_new0(Error, 1);
    char *m = g_strdup_vprintf(fmt, ap);
    if (suffix) {
        err->msg = g_strconcat(m, ": ", suffix, NULL);
        g_free(m);
    } else {
        err->msg = m;
    }
    err->cls = cls;
    err->src = src;
    err->line = line;
    error_handle(errp, err);
}

void error_setg_internal(Error **errp, const char *src, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(errp, src, line, ERROR_CLASS_GENERIC_ERROR, fmt, ap, NULL);
    va_end(ap);
}

void error_set_internal(Error **errp, const char *src, int line, ErrorClass cls,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(errp, src, line, cls, fmt, ap, NULL);
    va_end(ap);
}

void error_setg_errno_internal(Error **errp, const char *src, int line, int os_errno,
                               const char *fmt, ...)
{
    va_list ap;
    int saved = errno;
    va_start(ap, fmt);
    error_setv(errp, src, line, ERROR_CLASS_GENERIC_ERROR, fmt, ap,
               os_errno ? strerror(os_errno) : NULL);
    va_end(ap);
    errno = saved;
}

void error_propagate(Error **dst_errp, Error *local_err)
{
    if (!local_err) {
        return;
    }
    error_handle(dst_errp, local_err);
}

void error_prepend(Error **errp, const char *fmt, ...)
{
    if (!errp || !*errp || errp == &error_fatal || errp == &error_abort) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *pre = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *m = g_strconcat(pre, (*errp)->msg, NULL);
    g_free(pre);
    g_free((*errp)->msg);
    (*errp)->msg = m;
}

void error_append_hint(Error **errp, const char *fmt, ...)
{
    if (!errp || !*errp || errp == &error_fatal || errp == &error_abort) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    if (!(*errp)->hint) {
        (*errp)->hint = g_string_new(NULL);
    }
    g_string_append_vprintf((*errp)->hint, fmt, ap);
    va_end(ap);
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

ErrorClass error_get_class(const Error *err)
{
    return err->cls;
}

const char *error_class_name(ErrorClass cls)
{
    switch (cls) {
    case ERROR_CLASS_COMMAND_NOT_FOUND:
        return "CommandNotFound";
    case ERROR_CLASS_DEVICE_NOT_ACTIVE:
        return "DeviceNotActive";
    case ERROR_CLASS_DEVICE_NOT_FOUND:
        return "DeviceNotFound";
    case ERROR_CLASS_KVM_MISSING_CAP:
        return "KVMMissingCap";
    case ERROR_CLASS_GENERIC_ERROR:
    default:
        return "GenericError";
    }
}

Error *error_copy(const Error *err)
{
    Error *c = g_new0(Error, 1);
    c->msg = g_strdup(err->msg);
    c->cls = err->cls;
    c->src = err->src;
    c->line = err->line;
    if (err->hint) {
        c->hint = g_string_new(err->hint->str);
    }
    return c;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        if (err->hint) {
            g_string_free(err->hint, TRUE);
        }
        g_free(err);
    }
}

void error_free_or_abort(Error **errp)
{
    if (errp && *errp) {
        error_free(*errp);
        *errp = NULL;
    }
}

static void vreport(const char *kind, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", progname);
    if (location) {
        fprintf(stderr, "%s: ", location);
    }
    if (kind) {
        fprintf(stderr, "%s", kind);
    }
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void error_vreport(const char *fmt, va_list ap)
{
    vreport(NULL, fmt, ap);
}

void error_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(NULL, fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("warning: ", fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("info: ", fmt, ap);
    va_end(ap);
}

void error_report_err(Error *err)
{
    error_report("%s", err->msg);
    if (err->hint) {
        fputs(err->hint->str, stderr);
    }
    error_free(err);
}

void warn_report_err(Error *err)
{
    warn_report("%s", err->msg);
    if (err->hint) {
        fputs(err->hint->str, stderr);
    }
    error_free(err);
}
