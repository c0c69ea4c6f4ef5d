/* tests/support/tsan/runner.c: runs the tests registered through the Criterion shim, each in a
 * forked child, and prints a Criterion-like synthesis. Exit status 1 if any failed. */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static struct criterion_test *tests;
static bool failed;

void tst_shim_register(struct criterion_test *t)
{
    t->next = tests;
    tests = t;
}

void tst_shim_fail(const char *file, int line, bool fatal, const char *expr, const char *fmt, ...)
{
    fprintf(stderr, "[----] %s:%d: Assertion failed: %s", file, line, expr);
    if (fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    failed = true;
    if (fatal)
        exit(1);
}

void tst_shim_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[SKIP] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(77);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    int run = 0, pass = 0, fail = 0, skip = 0;
    for (struct criterion_test *t = tests; t; t = t->next) {
        if (t->disabled)
            continue;
        run++;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            if (t->init)
                t->init();
            t->fn();
            if (t->fini)
                t->fini();
            exit(failed ? 1 : 0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        bool ok = WIFEXITED(st) && WEXITSTATUS(st) == t->exit_code;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
            skip++;
        } else if (ok) {
            pass++;
        } else {
            fail++;
            fprintf(stderr, "[FAIL] %s::%s (%s %d)\n", t->suite, t->name,
                    WIFSIGNALED(st) ? "signal" : "exit",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
    }
    printf("[====] Synthesis (TSan shim): Tested: %d | Passing: %d | Failing: %d | Skipped: %d\n",
           run, pass, fail, skip);
    return fail ? 1 : 0;
}
