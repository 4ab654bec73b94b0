/* dn-blas.c: detecting a generic OpenBLAS kernel choice on a modern CPU. */
#include "dn-blas.h"

#include <string.h>
#include <unistd.h>

char *openblas_get_corename (void);

const char *dn_blas_core_name (void)
{
    return openblas_get_corename ();
}

const char *dn_blas_better_core (void)
{
    if (g_getenv ("OPENBLAS_CORETYPE") != NULL || g_getenv ("DN_KEEP_BLAS_CORE") != NULL)
        return NULL;
    const char *core = dn_blas_core_name ();
    static const char *const generic[] = {"Prescott",  "Core2",  "Penryn",      "Dunnington",
                                          "Nehalem",   "Atom",   "Katmai",      "Coppermine",
                                          "Northwood", "Banias", "Sandybridge", NULL};
    gboolean is_generic = FALSE;
    for (int i = 0; generic[i] != NULL; i++)
        if (core != NULL && g_ascii_strcasecmp (core, generic[i]) == 0)
            is_generic = TRUE;
    if (!is_generic)
        return NULL;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init ();
    if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
        __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
        return "Haswell";
#endif
    return NULL;
}

void dn_blas_maybe_reexec (char **argv)
{
    const char *better = dn_blas_better_core ();
    if (better == NULL)
        return;
    g_setenv ("OPENBLAS_CORETYPE", better, TRUE);
    execv ("/proc/self/exe", argv);
    /* exec failed: carry on with the slower kernels */
    g_unsetenv ("OPENBLAS_CORETYPE");
    g_setenv ("DN_KEEP_BLAS_CORE", "1", TRUE);
}
