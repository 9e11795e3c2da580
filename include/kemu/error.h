/*
 * Error reporting: an Error object travels back through an `Error **errp`
 * out-parameter and carries a human-readable message.  Callers that do not
 * care pass NULL; callers that must not fail pass &error_fatal, which prints
 * "<prog>: <message>" and exits 1; &error_abort is for programming errors only.
 */
#ifndef KEMU_ERROR_H
#define KEMU_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

typedef struct Error Error;

/* Error classes as in QMP's "class" member. */
typedef enum ErrorClass {
    ERROR_CLASS_GENERIC_ERROR,
    ERROR_CLASS_COMMAND_NOT_FOUND,
    ERROR_CLASS_DEVICE_NOT_ACTIVE,
    ERROR_CLASS_DEVICE_NOT_FOUND,
    ERROR_CLASS_KVM_MISSING_CAP,
} ErrorClass;

extern Error *error_fatal;
extern Error *error_abort;

void error_setg_internal(Error **errp, const char *src, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void error_setg_errno_internal(Error **errp, const char *src, int line, int os_errno,
                               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void error_set_internal(Error **errp, const char *src, int line, ErrorClass cls,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* error_setg(errp, fmt, ...): set a generic error. */
#define error_setg(errp, ...) error_setg_internal((errp), __FILE__, __LINE__, __VA_ARGS__)
/* error_setg_errno(errp, errno, fmt, ...): appends ": strerror(errno)". */
#define error_setg_errno(errp, os_errno, ...) \
    error_setg_errno_internal((errp), __FILE__, __LINE__, (os_errno), __VA_ARGS__)
#define error_set(errp, cls, ...) \
    error_set_internal((errp), __FILE__, __LINE__, (cls), __VA_ARGS__)

/* Move *local_err into *dst_errp (or report/exit if dst is &error_fatal). */
void error_propagate(Error **dst_errp, Error *local_err);
/* Prefix the message: "<prefix><old message>". */
void error_prepend(Error **errp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add a hint line printed after the message by error_report_err(). */
void error_append_hint(Error **errp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

const char *error_get_pretty(const Error *err);
ErrorClass error_get_class(const Error *err);
const char *error_class_name(ErrorClass cls);
Error *error_copy(const Error *err);
void error_free(Error *err);
/* Free *errp (if set) and reset it to NULL. */
void error_free_or_abort(Error **errp);

/* Print "<prog>: <message>" (plus hints) to stderr, then free. */
void error_report_err(Error *err);
void warn_report_err(Error *err);

/* Messages to stderr prefixed with the program name ("kemu-system-x86_64: "). */
void error_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void error_vreport(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Set the name printed before messages (default: "kemu"). */
void error_set_progname(const char *name);
const char *error_get_progname(void);

/* While set, error_report() prefixes messages with this location (e.g. "-drive file=x: "). */
void error_set_location(const char *loc);

#endif
