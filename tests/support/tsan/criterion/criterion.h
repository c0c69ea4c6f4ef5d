/* tests/support/tsan/criterion/criterion.h: the part of Criterion's API our tests use, for the
 * ThreadSanitizer build only. Criterion 2.4 cannot start under TSan (its inheritable arena is
 * mapped where TSan's shadow lives: Snaipe/Criterion#274, open), so `make tsan` puts this
 * directory first on the include path and links tests/support/tsan/runner.c instead of
 * libcriterion. Each test still runs in its own forked process, as under Criterion.
 */
#ifndef URTC_TSAN_CRITERION_SHIM_H
#define URTC_TSAN_CRITERION_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct criterion_test {
    const char *suite, *name;
    void (*fn)(void);
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    bool disabled;
    const char *description;
    int exit_code;
    int signal;
    struct criterion_test *next;
};

void tst_shim_register(struct criterion_test *t);
void tst_shim_fail(const char *file, int line, bool fatal, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
__attribute__((noreturn)) void tst_shim_skip(const char *fmt, ...);

#define Test(S_, N_, ...)                                                                          \
    static void tst_fn_##S_##_##N_(void);                                                          \
    static struct criterion_test tst_case_##S_##_##N_ = {                                          \
        .suite = #S_, .name = #N_, .fn = tst_fn_##S_##_##N_, __VA_ARGS__};                         \
    __attribute__((constructor)) static void tst_reg_##S_##_##N_(void)                             \
    {                                                                                              \
        tst_shim_register(&tst_case_##S_##_##N_);                                                  \
    }                                                                                              \
    static void tst_fn_##S_##_##N_(void)

#define TST_CHECK_(fatal, cond, expr, ...)                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            tst_shim_fail(__FILE__, __LINE__, fatal, expr, "" __VA_ARGS__);                        \
    } while (0)

#define cr_assert(cond, ...) TST_CHECK_(true, (cond), #cond, __VA_ARGS__)
#define cr_expect(cond, ...) TST_CHECK_(false, (cond), #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) TST_CHECK_(true, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect_not(cond, ...) TST_CHECK_(false, !(cond), "!(" #cond ")", __VA_ARGS__)
#define TST_CMP_(fatal, a, op, b, ...) TST_CHECK_(fatal, (a)op(b), #a " " #op " " #b, __VA_ARGS__)
#define cr_assert_eq(a, b, ...) TST_CMP_(true, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) TST_CMP_(true, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) TST_CMP_(true, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) TST_CMP_(true, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) TST_CMP_(true, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) TST_CMP_(true, a, >=, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) TST_CMP_(false, a, ==, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) TST_CMP_(false, a, !=, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) TST_CMP_(false, a, <, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) TST_CMP_(false, a, <=, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) TST_CMP_(false, a, >, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) TST_CMP_(false, a, >=, b, __VA_ARGS__)
#define cr_assert_null(p, ...) TST_CHECK_(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) TST_CHECK_(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) TST_CHECK_(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) TST_CHECK_(false, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                                                \
    TST_CHECK_(true, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)                                                               \
    TST_CHECK_(true, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)                                                                \
    TST_CHECK_(false, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...)                                                               \
    TST_CHECK_(false, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_assert_arr_eq(a, b, n, ...)                                                             \
    TST_CHECK_(true, memcmp((a), (b), (n)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_arr_eq(a, b, n, ...)                                                             \
    TST_CHECK_(false, memcmp((a), (b), (n)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_fail(...) TST_CHECK_(true, 0, "fail", __VA_ARGS__)
#define cr_skip_test(...) tst_shim_skip("" __VA_ARGS__)
#define cr_log_info(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr))
#define cr_log_warn(...) cr_log_info(__VA_ARGS__)
#define cr_log_error(...) cr_log_info(__VA_ARGS__)

#endif
