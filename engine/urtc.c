/* engine/urtc.c: the public API (include/urtc/urtc.h). */
#include "urtc/urtc.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *urtc_version(void)
{
    return STR(URTC_VERSION_MAJOR) "." STR(URTC_VERSION_MINOR) "." STR(URTC_VERSION_PATCH);
}
