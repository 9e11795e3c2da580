/*
 * Socket chardev: "-chardev socket,id=ID,path=PATH|host=H,port=P[,server=on|off]
 * [,wait=on|off]" and the legacy "unix:PATH,server,nowait" / "tcp:HOST:PORT,..." specs,
 * with QEMU's semantics: a server accepts one client at a time (later clients wait in the
 * backlog), "wait=on" (the default for servers) blocks start-up until the first client
 * connects, output with no client connected is discarded, and the frontend sees
 * CHR_EVENT_OPENED / CHR_EVENT_CLOSED as clients come and go.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

#include "system/chardev.h"
#include "system/main-loop.h"
#include "system/runstate.h"

typedef struct SocketChardev {
    Chardev parent;
    int listen_fd;     /* server only */
    int fd;            /* connected peer, or -1 */
    bool is_unix, server, nodelay;
    char *path;        /* unix socket path we created (unlinked at close) */
    uint8_t buf[4096];
    int buf_len, buf_off;
    bool reading;
} SocketChardev;

static void socket_update_read(SocketChardev *s);

static void socket_disconnect(SocketChardev *s)
{
    if (s->fd < 0) {
        return;
    }
    main_loop_set_fd_handler(s->fd, NULL, NULL, NULL);
    s->reading = false;
    close(s->fd);
    s->fd = -1;
    s->buf_len = s->buf_off = 0;
    chardev_deliver_event(&s->parent, CHR_EVENT_CLOSED);
    if (s->server) {
        socket_update_read(s); /* listen again */
    }
}

static void socket_flush_input(SocketChardev *s)
{
    while (s->buf_off < s->buf_len) {
        int n = chardev_deliver_input(&s->parent, s->buf + s->buf_off, s->buf_len - s->buf_off);
        if (n <= 0) {
            break;
        }
        s->buf_off += n;
    }
}

static void socket_read(void *opaque)
{
    SocketChardev *s = opaque;
    socket_flush_input(s);
    if (s->buf_off < s->buf_len) {
        socket_update_read(s);
        return;
    }
    ssize_t n = recv(s->fd, s->buf, sizeof(s->buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        socket_disconnect(s);
        return;
    }
    s->buf_len = n;
    s->buf_off = 0;
    socket_flush_input(s);
    socket_update_read(s);
}

static void socket_connected(SocketChardev *s, int fd)
{
    s->fd = fd;
    if (!s->is_unix && s->nodelay) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    chardev_deliver_event(&s->parent, CHR_EVENT_OPENED);
    socket_update_read(s);
}

static void socket_accept(void *opaque)
{
    SocketChardev *s = opaque;
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    main_loop_set_fd_handler(s->listen_fd, NULL, NULL, NULL);
    socket_connected(s, fd);
}

static void socket_update_read(SocketChardev *s)
{
    if (s->fd < 0) {
        if (s->server && s->listen_fd >= 0) {
            main_loop_set_fd_handler(s->listen_fd, socket_accept, NULL, s);
        }
        return;
    }
    CharFrontend *fe = s->parent.fe;
    bool want = s->buf_off >= s->buf_len &&
                (!fe || !fe->can_read || fe->can_read(fe->opaque) > 0);
    if (want != s->reading) {
        main_loop_set_fd_handler(s->fd, want ? socket_read : NULL, NULL, want ? s : NULL);
        s->reading = want;
    }
}

static int socket_write(Chardev *chr, const uint8_t *buf, int len)
{
    SocketChardev *s = (SocketChardev *)chr;
    int done = 0;
    if (s->fd < 0) {
        return len; /* nobody connected: output is dropped, as QEMU does */
    }
    while (done < len) {
        ssize_t n = send(s->fd, buf + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            g_usleep(1000);
            continue;
        }
        if (n < 0) {
            socket_disconnect(s);
            return len;
        }
        done += n;
    }
    return done;
}

static void socket_accept_input(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    socket_flush_input(s);
    socket_update_read(s);
}

static int socket_unix_addr(const char *path, struct sockaddr_un *sa, Error **errp)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

static int socket_open_unix(SocketChardev *s, const char *path, Error **errp)
{
    struct sockaddr_un sa;
    if (socket_unix_addr(path, &sa, errp) < 0) {
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    if (s->server) {
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
            error_setg_errno(errp, errno, "Failed to bind socket to %s", path);
            close(fd);
            return -1;
        }
        s->path = g_strdup(path);
    } else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

static int socket_open_tcp(SocketChardev *s, const char *host, const char *port, Error **errp)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = s->server ? AI_PASSIVE : 0 };
    struct addrinfo *res, *ai;
    int rc = getaddrinfo(host && *host ? host : NULL, port, &hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s", host ? host : "", port,
                   gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (s->server) {
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0) {
                break;
            }
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, err, s->server ? "Failed to bind socket" : "Failed to connect "
                                                                          "to '%s:%s'",
                         host ? host : "", port);
    }
    return fd;
}

/*
 * server=on,wait=on: block start-up until the first client connects, as QEMU
 * does, but keep dispatching the main context so that SIGTERM/SIGINT/SIGHUP
 * (handled there) still end the process while it waits.
 */
static int socket_wait_accept(int fd)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) > 0) {
            int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0 || (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)) {
                return c;
            }
        }
        g_main_context_iteration(NULL, FALSE);
        if (system_shutdown_pending()) {
            exit(0);        /* "terminating on signal N" was printed by its handler */
        }
    }
}

static bool socket_open(Chardev *chr, const Opts *opts, Error **errp)
{
    SocketChardev *s = (SocketChardev *)chr;
    static const char *const known[] = { "id", "backend", "path", "host", "port", "server",
                                         "wait", "nowait", "nodelay", "to", "ipv4", "ipv6",
                                         "abstract", "mux", NULL };
    Error *err = NULL;
    const char *path = opts_get(opts, "path");
    const char *port = opts_get(opts, "port");

    s->listen_fd = s->fd = -1;
    if (!opts_check_keys(opts, known, errp)) {
        return false;
    }
    s->server = opts_get_bool(opts, "server", false, &err);
    bool wait = opts_get_bool(opts, "wait", true, &err);
    if (opts_has(opts, "nowait")) {
        wait = false; /* legacy spelling "server,nowait" */
    }
    s->nodelay = opts_get_bool(opts, "nodelay", false, &err);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (!path && !port) {
        error_setg(errp, "chardev: socket: no host given");
        return false;
    }
    s->is_unix = path != NULL;
    int fd = s->is_unix ? socket_open_unix(s, path, errp)
                        : socket_open_tcp(s, opts_get(opts, "host"), port, errp);
    if (fd < 0) {
        return false;
    }
    if (!s->server) {
        socket_connected(s, fd);
        return true;
    }
    s->listen_fd = fd;
    if (wait) {
        /* Prefixed with the option being opened (error_set_location), as QEMU does. */
        info_report("QEMU waiting for connection on: disconnected:%s%s%s,server=on",
                    s->is_unix ? "unix:" : "tcp:",
                    s->is_unix ? path : (opts_get(opts, "host") ? opts_get(opts, "host") : ""),
                    s->is_unix ? "" : ":");
        int c = socket_wait_accept(fd);
        if (c < 0) {
            error_setg_errno(errp, errno, "accept failed");
            return false;
        }
        socket_connected(s, c);
        return true;
    }
    socket_update_read(s);
    return true;
}

static void socket_close(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    if (s->fd >= 0) {
        main_loop_set_fd_handler(s->fd, NULL, NULL, NULL);
        close(s->fd);
        s->fd = -1;
    }
    if (s->listen_fd >= 0) {
        main_loop_set_fd_handler(s->listen_fd, NULL, NULL, NULL);
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->path) {
        unlink(s->path);
        g_free(s->path);
        s->path = NULL;
    }
}

static const ChardevClass socket_chardev = {
    .name = "socket",
    .open = socket_open,
    .write = socket_write,
    .accept_input = socket_accept_input,
    .close = socket_close,
    .instance_size = sizeof(SocketChardev),
};

static void __attribute__((constructor)) socket_chardev_register(void)
{
    chardev_register_class(&socket_chardev);
}
