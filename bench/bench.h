/* bench/bench.h: the urtc-bench harness. Each bench/<name>.c registers one benchmark with
 * BENCH_REGISTER; bench/main.c dispatches `urtc-bench NAME [options] [--json]`.
 *
 * A benchmark measures urtc against a baseline in the same run (machines here are shared and
 * noisy, so only ratios are comparable). With --json its last line of output is one object:
 * {"bench": NAME, "results": {...}, "ratio": X} or with "ratios": {...} instead.
 */
#ifndef URTC_BENCH_BENCH_H
#define URTC_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns the process exit status. argv[0] is the benchmark name; --json was removed from
 * argv and is passed as @json. */
typedef int (*bench_fn)(int argc, char **argv, bool json);

typedef struct bench_def {
    const char *name;
    const char *help; /* one paragraph: what it measures, against what, and its options */
    bench_fn fn;
    struct bench_def *next;
} bench_def_t;

void bench_register(bench_def_t *def);

#define BENCH_REGISTER(NAME, HELP, FN)                                                             \
    static bench_def_t bench_def_##NAME = {#NAME, HELP, FN, NULL};                                 \
    __attribute__((constructor)) static void bench_reg_##NAME(void)                                \
    {                                                                                              \
        bench_register(&bench_def_##NAME);                                                         \
    }

/* Option helpers: "--name VALUE" anywhere in argv, else @def. Exit with a message on a bad
 * value. */
long bench_opt_long(int argc, char **argv, const char *name, long def);
double bench_opt_double(int argc, char **argv, const char *name, double def);
const char *bench_opt_str(int argc, char **argv, const char *name, const char *def);
bool bench_opt_flag(int argc, char **argv, const char *name);

/* The JSON summary line. Keys and names must be plain identifiers (no escaping is done). */
typedef struct bench_json {
    char buf[4096]; /* "results" members */
    size_t len;
    char ratio_buf[1024]; /* "ratios" members */
    size_t ratio_len;
    int results;
    int ratios;
} bench_json_t;

void bench_json_init(bench_json_t *j);
void bench_json_result(bench_json_t *j, const char *key, double value);
void bench_json_result_str(bench_json_t *j, const char *key, const char *value);
/* Adds "ratios": {"name": x}; call once per name. */
void bench_json_ratio_named(bench_json_t *j, const char *name, double x);
/* Prints {"bench": name, "results": {...}, "ratio": x} (ratio < 0: omitted; ratios if any). */
void bench_json_print(bench_json_t *j, const char *bench, double ratio);

#endif
