/* bench/main.c: urtc-bench NAME [options] [--json] */
#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

static bench_def_t *benches;

void bench_register(bench_def_t *def)
{
    /* Keep them sorted by name for --help. */
    bench_def_t **pp = &benches;
    while (*pp && strcmp((*pp)->name, def->name) < 0)
        pp = &(*pp)->next;
    def->next = *pp;
    *pp = def;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: urtc-bench NAME [options] [--json]\n"
               "       urtc-bench NAME --help\n\n"
               "Runs one benchmark. Each compares urtc with a baseline measured in the same run\n"
               "and prints the ratio (ours / baseline: above 1 is better). With --json the last\n"
               "line is {\"bench\": NAME, \"results\": {...}, \"ratio\": X} (or \"ratios\").\n\n"
               "benchmarks:\n");
    for (bench_def_t *b = benches; b; b = b->next)
        fprintf(f, "  %-12s %.*s\n", b->name, (int)strcspn(b->help, ".\n"), b->help);
}

long bench_opt_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) {
            char *end;
            long v = strtol(argv[i + 1], &end, 0);
            if (*end) {
                fprintf(stderr, "urtc-bench: bad value for %s: %s\n", name, argv[i + 1]);
                exit(2);
            }
            return v;
        }
    return def;
}

double bench_opt_double(int argc, char **argv, const char *name, double def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) {
            char *end;
            double v = strtod(argv[i + 1], &end);
            if (*end) {
                fprintf(stderr, "urtc-bench: bad value for %s: %s\n", name, argv[i + 1]);
                exit(2);
            }
            return v;
        }
    return def;
}

const char *bench_opt_str(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

bool bench_opt_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

void bench_json_init(bench_json_t *j)
{
    memset(j, 0, sizeof *j);
}

static void json_append(bench_json_t *j, const char *s)
{
    size_t n = strlen(s);
    if (j->len + n < sizeof j->buf) {
        memcpy(j->buf + j->len, s, n + 1);
        j->len += n;
    }
}

void bench_json_result(bench_json_t *j, const char *key, double value)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s\"%s\": %.6g", j->results++ ? ", " : "", key, value);
    json_append(j, tmp);
}

void bench_json_result_str(bench_json_t *j, const char *key, const char *value)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s\"%s\": \"%s\"", j->results++ ? ", " : "", key, value);
    json_append(j, tmp);
}

void bench_json_ratio_named(bench_json_t *j, const char *name, double x)
{
    size_t room = sizeof j->ratio_buf - j->ratio_len;
    int n = snprintf(j->ratio_buf + j->ratio_len, room, "%s\"%s\": %.4g", j->ratios++ ? ", " : "",
                     name, x);
    if (n > 0 && (size_t)n < room)
        j->ratio_len += (size_t)n;
}

void bench_json_print(bench_json_t *j, const char *bench, double ratio)
{
    printf("{\"bench\": \"%s\", \"results\": {%s}", bench, j->buf);
    if (j->ratios)
        printf(", \"ratios\": {%.*s}", (int)j->ratio_len, j->ratio_buf);
    if (ratio >= 0)
        printf(", \"ratio\": %.4g", ratio);
    printf("}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    net_log_set_tag("main");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    bench_def_t *b = benches;
    while (b && strcmp(b->name, argv[1]) != 0)
        b = b->next;
    if (!b) {
        fprintf(stderr, "urtc-bench: unknown benchmark '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    /* Drop --json from the arguments; the bench sees argv[0] = its name. */
    bool json = false;
    int n = 0;
    char **args = calloc((size_t)argc, sizeof *args);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else
            args[n++] = argv[i];
    }
    if (bench_opt_flag(n, args, "--help") || bench_opt_flag(n, args, "-h")) {
        printf("urtc-bench %s [options] [--json]\n\n%s\n", b->name, b->help);
        free(args);
        return 0;
    }
    int rc = b->fn(n, args, json);
    free(args);
    return rc;
}
