/* tests/support/proc.c */
#include "tests/support/proc.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/tst.h"

const char *tst_bin_path(const char *name)
{
    static char path[8][PATH_MAX];
    static int k;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = 0;
    char *d = dirname(dirname(dirname(self)));
    char *p = path[k++ & 7];
    snprintf(p, PATH_MAX, "%s/%s", d, name);
    return access(p, X_OK) == 0 ? p : NULL;
}

const char *tst_need_bin(const char *name)
{
    const char *p = tst_bin_path(name);
    if (!p)
        cr_skip_test("%s is not built in this build directory (make builds it)", name);
    return p;
}

pid_t tst_spawn(const char *const argv[], int *out_fd)
{
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    *out_fd = out[0];
    return pid;
}

char *tst_read_all(int fd, int timeout_ms)
{
    static char bufs[2][16384];
    static int k;
    char *buf = bufs[k++ & 1];
    size_t n = 0;
    while (n + 1 < sizeof bufs[0]) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        ssize_t r = read(fd, buf + n, sizeof bufs[0] - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    return buf;
}

long tst_jint(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    cr_assert(json_is_integer(v), "%s missing", key);
    return (long)json_integer_value(v);
}

void tst_one_at_a_time(void)
{
    int fd = open("/tmp/urtc-peer-tests.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0)
        cr_log_warn("flock: not serialized");
}

int tst_server_start(const char *const extra[], pid_t *pid)
{
    const char *srv = tst_need_bin("urtc-server");
    const char *argv[32] = {srv, "--listen", "127.0.0.1:0",       "--udp-port",
                            "0", "--web",    tst_src_path("web"), NULL};
    size_t n = 7;
    for (size_t i = 0; extra && extra[i] && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int fd;
    *pid = tst_spawn(argv, &fd);
    char line[512];
    size_t len = 0;
    while (len + 1 < sizeof line) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        cr_assert_gt(poll(&p, 1, 10000), 0, "urtc-server said nothing");
        cr_assert_eq(read(fd, line + len, 1), 1);
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = 0;
    close(fd);
    const char *s = strstr(line, "http://127.0.0.1:");
    cr_assert_not_null(s, "first line: %s", line);
    int port = atoi(s + strlen("http://127.0.0.1:"));
    cr_assert_gt(port, 0);
    return port;
}

void tst_server_stop(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    int st;
    waitpid(*pid, &st, 0);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "urtc-server exit status %d", st);
    *pid = 0;
}

long tst_metric(int port, const char *prefix)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    static const char req[] =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)sizeof req - 1) {
        close(fd);
        return -1;
    }
    static char body[256 * 1024];
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (n + 1 >= sizeof body || poll(&p, 1, 5000) <= 0)
            break;
        ssize_t r = read(fd, body + n, sizeof body - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    body[n] = 0;
    if (strncmp(body, "HTTP/1.1 200", 12) != 0)
        return -1;
    long sum = 0;
    size_t plen = strlen(prefix);
    for (char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, prefix, plen) != 0)
            continue;
        const char *sp = strchr(l, ' '), *eol = strchr(l, '\n');
        if (sp && (!eol || sp < eol))
            sum += (long)strtod(sp + 1, NULL);
    }
    return sum;
}
