/* tests/support/proc.h: helpers for tests that run urtc's programs (urtc-server, urtc-peer,
 * examples/) as processes on 127.0.0.1. Criterion asserts inside: call them from a test. */
#ifndef URTC_TESTS_SUPPORT_PROC_H
#define URTC_TESTS_SUPPORT_PROC_H

#include <jansson.h>
#include <sys/types.h>

/* build/<dir>/<name> of the build the running test comes from (<build>/tests/<dir>/x_test);
 * NULL if it is not built. Eight static buffers, used in turn. */
const char *tst_bin_path(const char *name);

/* tst_bin_path(@name), or skips the test when it is not built. */
const char *tst_need_bin(const char *name);

/* Runs @argv (argv[0] a path) with its stdout on a pipe; *@out_fd is the read end. */
pid_t tst_spawn(const char *const argv[], int *out_fd);

/* Everything @fd writes until EOF, or until it is silent for @timeout_ms. Two static 16 KiB
 * buffers, used in turn. */
char *tst_read_all(int fd, int timeout_ms);

/* The integer @key of @j (e.g. from tst_last_json()); asserts that it is one. */
long tst_jint(json_t *j, const char *key);

/* One test with real-time calls at a time, across test processes and parallel runs (a flock
 * held until the process exits): calls paced in real time on a 2-core machine would skew each
 * other's counts. */
void tst_one_at_a_time(void);

/* Starts urtc-server on 127.0.0.1 with any free HTTP and UDP ports, the source tree's web/,
 * and @extra arguments (NULL-terminated, may be NULL); skips the test if it is not built.
 * Returns the HTTP port; *@pid is the process. */
int tst_server_start(const char *const extra[], pid_t *pid);

/* SIGTERM, then expects exit status 0 (no leak under ASan). *@pid becomes 0. */
void tst_server_stop(pid_t *pid);

/* GET /metrics on @port: the sum of the series whose line starts with @prefix (e.g.
 * "urtc_sfu_members" or "urtc_shard_rx_packets_total{shard=\"1\"}"); -1 if unreachable. */
long tst_metric(int port, const char *prefix);

#endif
