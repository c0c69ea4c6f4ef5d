/* urtc/urtc.h: the public API of liburtc. Every exported symbol starts with urtc_.
 *
 * This header grows with the peer-connection API (docs/api.md). Today it holds the version
 * and the engine's lifecycle.
 */
#ifndef URTC_URTC_H
#define URTC_URTC_H

#ifdef __cplusplus
extern "C" {
#endif

#define URTC_API __attribute__((visibility("default")))

#define URTC_VERSION_MAJOR 0
#define URTC_VERSION_MINOR 1
#define URTC_VERSION_PATCH 0

/* "0.1.0". Any thread. */
URTC_API const char *urtc_version(void);

#ifdef __cplusplus
}
#endif
#endif
