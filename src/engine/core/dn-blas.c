/* dn-blas.c: choosing OpenBLAS's kernels by CPU flags, and checking the choice. */
#include "dn-blas.h"

#include "dn-error.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

/* What this process did in dn_blas_maybe_reexec(), for dn_blas_describe(). */
static enum {
    BLAS_UNTOUCHED,
    BLAS_CHECK_PASSED,  /* runs the core we chose, which passed the self-check */
    BLAS_RESTART_FAILED /* wanted another core, but execv failed */
} blas_state;
static char *blas_restart_error;

void dn_cpu_flags_detect (DnCpuFlags *flags)
{
    memset (flags, 0, sizeof *flags);
#if defined(__x86_64__) || defined(__i386__)
    /* libgcc also checks XCR0, so the AVX-512 flags mean the OS saves the registers too */
    __builtin_cpu_init ();
    flags->x86 = TRUE;
    flags->avx2 = __builtin_cpu_supports ("avx2");
    flags->fma = __builtin_cpu_supports ("fma");
    flags->avx512f = __builtin_cpu_supports ("avx512f");
    flags->avx512bw = __builtin_cpu_supports ("avx512bw");
    flags->avx512vl = __builtin_cpu_supports ("avx512vl");
    flags->avx512dq = __builtin_cpu_supports ("avx512dq");
    flags->avx512cd = __builtin_cpu_supports ("avx512cd");
#endif
}

const char *dn_blas_core_name (void)
{
    return openblas_get_corename ();
}

static gboolean core_in (const char *core, const char *const *list)
{
    for (int i = 0; list[i] != NULL; i++)
        if (g_ascii_strcasecmp (core, list[i]) == 0)
            return TRUE;
    return FALSE;
}

const char *dn_blas_choose_core (const char *env_coretype, gboolean keep, const char *core,
                                 const DnCpuFlags *cpu, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    /* OpenBLAS 0.3.21's pre-AVX2 x86 kernel families (dynamic.c's corename list) */
    static const char *const generic[] = {
        "Unknown",      "Prescott",   "Core2",     "Penryn", "Dunnington",  "Nehalem", "Atom",
        "Katmai",       "Coppermine", "Northwood", "Banias", "Sandybridge", "Athlon",  "Opteron",
        "Opteron_SSE3", "Barcelona",  "Nano",      "Bobcat", NULL};
    /* Cooperlake and SapphireRapids run SkylakeX's sgemm kernels and add bf16 ones that
     * need AVX512_BF16 (and AMX): SkylakeX is the AVX-512 family that is safe on every
     * processor with AVX-512F/BW/VL/DQ/CD, and as fast for sgemm. */
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    if (env_coretype != NULL) {
        *why = "OPENBLAS_CORETYPE is set in the environment, and a value set there stands";
        return NULL;
    }
    if (keep) {
        *why = "DN_KEEP_BLAS_CORE is set, so OpenBLAS's own choice stands";
        return NULL;
    }
    if (core == NULL) {
        *why = "OpenBLAS did not name its kernels";
        return NULL;
    }
    if (!cpu->x86) {
        *why = "not an x86 processor: OpenBLAS's own choice stands";
        return NULL;
    }
    if (core_in (core, avx512)) {
        *why = "OpenBLAS chose AVX-512 kernels itself";
        return NULL;
    }
    gboolean is_generic = core_in (core, generic);
    if (cpu->avx512f && cpu->avx512bw && cpu->avx512vl && cpu->avx512dq && cpu->avx512cd) {
        *why = is_generic ? "OpenBLAS picked generic kernels on a processor with AVX-512F/BW/VL/DQ"
                          : "OpenBLAS picked AVX2-class kernels on a processor with "
                            "AVX-512F/BW/VL/DQ, whose AVX-512 kernels are faster";
        return "SkylakeX";
    }
    if (is_generic && cpu->avx2 && cpu->fma) {
        *why = "OpenBLAS picked generic kernels on a processor with AVX2 and FMA";
        return "Haswell";
    }
    *why = "OpenBLAS's own choice fits this processor";
    return NULL;
}

const char *dn_blas_better_core (void)
{
    DnCpuFlags cpu;
    dn_cpu_flags_detect (&cpu);
    gboolean keep = g_getenv ("DN_KEEP_BLAS_CORE") != NULL || g_getenv ("DN_BLAS_REJECTED") != NULL;
    return dn_blas_choose_core (g_getenv ("OPENBLAS_CORETYPE"), keep, dn_blas_core_name (), &cpu,
                                NULL);
}

void dn_blas_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                 trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Deterministic values in [-1, 1), so that a failure reproduces. */
static float next_value (guint32 *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return (float) (*state >> 8) / (float) (1u << 23) - 1.0f;
}

typedef struct {
    int m, n, k;
    float beta; /* 0: C starts as NaN, which BLAS must not read */
} Shape;

static gboolean check_one (DnSgemmFunc sgemm, const Shape *s, gboolean ta, gboolean tb,
                           GError **error)
{
    /* Row-major storage with padded leading dimensions, the padding set to a guard value
     * that must come back untouched: op(A) is m×k (stored k×m when transposed). */
    const int m = s->m, n = s->n, k = s->k;
    const int a_rows = ta ? k : m, a_cols = ta ? m : k;
    const int b_rows = tb ? n : k, b_cols = tb ? k : n;
    const int lda = a_cols + 3, ldb = b_cols + 1, ldc = n + 5;
    const float alpha = 0.75f, guard = 12345.0f;
    const gsize a_size = (gsize) a_rows * lda, b_size = (gsize) b_rows * ldb;
    g_autofree float *a = g_new (float, a_size);
    g_autofree float *b = g_new (float, b_size);
    g_autofree float *c = g_new (float, (gsize) (m + 1) * ldc); /* one guard row below */
    g_autofree float *c0 = g_new (float, (gsize) (m + 1) * ldc);
    guint32 state =
        0x9e3779b9u ^ ((guint32) m * 73856093u ^ (guint32) n * 19349663u ^ (guint32) k * 83492791u);
    for (int i = 0; i < a_rows * lda; i++)
        a[i] = i % lda < a_cols ? next_value (&state) : guard;
    for (int i = 0; i < b_rows * ldb; i++)
        b[i] = i % ldb < b_cols ? next_value (&state) : guard;
    for (int i = 0; i < (m + 1) * ldc; i++)
        c0[i] = i / ldc < m && i % ldc < n ? (s->beta == 0.0f ? NAN : next_value (&state)) : guard;
    memcpy (c, c0, sizeof (float) * (gsize) (m + 1) * ldc);

    sgemm (ta, tb, m, n, k, alpha, a, lda, b, ldb, s->beta, c, ldc);

    /* Any summation order of k float products is within k·u·Σ|a||b| of the exact sum
     * (Higham, Accuracy and Stability, §3.1), u = 2⁻²⁴; scaling by alpha, beta·C and the
     * last addition add at most 3u more. A wrong element, a missing product or a wrong
     * transpose is off by about one product, Σ|a||b| / k: 1/k² of the sum against k·u,
     * over 100 times the bound for k ≤ 400. */
    const double u = 1.0 / (1 << 24);
    for (int i = 0; i <= m; i++) {
        for (int j = 0; j < ldc; j++) {
            float got = c[i * ldc + j];
            if (i == m || j >= n) {
                if (memcmp (&got, &c0[i * ldc + j], sizeof got) != 0) {
                    g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                                 "sgemm %d×%d×%d (%s%s) wrote outside C, at row %d, column %d", m,
                                 n, k, ta ? "Aᵀ" : "A", tb ? "Bᵀ" : "B", i, j);
                    return FALSE;
                }
                continue;
            }
            double exact = 0.0, mag = 0.0;
            for (int p = 0; p < k; p++) {
                double x = ta ? a[p * lda + i] : a[i * lda + p];
                double y = tb ? b[j * ldb + p] : b[p * ldb + j];
                exact += x * y;
                mag += fabs (x * y);
            }
            double cin = s->beta == 0.0f ? 0.0 : c0[i * ldc + j];
            exact = alpha * exact + s->beta * cin;
            double bound = (k + 3) * u * (fabs (alpha) * mag + fabs (s->beta * cin)) * 1.01;
            if (!(fabs (got - exact) <= bound)) {
                g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                             "sgemm %d×%d×%d (%s%s) gave %.9g at row %d, column %d, where "
                             "%.9g is right to within %.2g",
                             m, n, k, ta ? "Aᵀ" : "A", tb ? "Bᵀ" : "B", (double) got, i, j, exact,
                             bound);
                return FALSE;
            }
        }
    }
    return TRUE;
}

gboolean dn_blas_self_check (DnSgemmFunc sgemm, GError **error)
{
    /* Tiny and odd sizes reach OpenBLAS's small-matrix and edge kernels (the SkylakeX
     * sgemm unrolls 16×4); the last shapes are past its small-matrix limit (about 100³
     * multiply-adds) and the last one's k is past its first K block, so the packed path
     * and the accumulation over blocks run. About 20 ms in all. */
    static const Shape shapes[] = {
        {64, 48, 40, 0.5f}, {1, 1, 1, 0.0f},    {7, 5, 3, -1.0f},     {17, 13, 31, 0.0f},
        {33, 65, 7, 0.25f}, {3, 97, 129, 1.0f}, {130, 70, 200, 0.0f}, {61, 37, 450, -0.5f},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
        for (int t = 0; t < 4; t++)
            if (!check_one (sgemm, &shapes[i], t & 1, t >> 1, error))
                return FALSE;
    return TRUE;
}

gboolean dn_blas_maybe_reexec (char **argv, GError **error)
{
    const char *chosen = g_getenv ("DN_BLAS_CHOSEN");
    const char *coretype = g_getenv ("OPENBLAS_CORETYPE");
    if (chosen != NULL && coretype != NULL && g_str_equal (chosen, coretype)) {
        /* restarted (or started by a program that was) with the core we chose: check it */
        g_autoptr (GError) check_error = NULL;
        if (dn_blas_self_check (dn_blas_sgemm, &check_error)) {
            blas_state = BLAS_CHECK_PASSED;
            return TRUE;
        }
        g_autofree char *core = g_strdup (chosen);
        g_autofree char *rejected = g_strdup_printf ("%s: %s", core, check_error->message);
        g_setenv ("DN_BLAS_REJECTED", rejected, TRUE);
        g_unsetenv ("OPENBLAS_CORETYPE");
        g_unsetenv ("DN_BLAS_CHOSEN");
        execv ("/proc/self/exe", argv);
        int err = errno;
        g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                     "OpenBLAS's %s kernels failed a self-check (%s), and restarting with "
                     "OpenBLAS's own choice failed (%s); run again with DN_KEEP_BLAS_CORE=1",
                     core, check_error->message, g_strerror (err));
        return FALSE;
    }
    if (chosen != NULL) /* OPENBLAS_CORETYPE changed since: the environment's value stands */
        g_unsetenv ("DN_BLAS_CHOSEN");
    const char *better = dn_blas_better_core ();
    if (better == NULL)
        return TRUE;
    g_setenv ("DN_BLAS_ORIGINAL", dn_blas_core_name (), TRUE);
    g_setenv ("OPENBLAS_CORETYPE", better, TRUE);
    g_setenv ("DN_BLAS_CHOSEN", better, TRUE);
    execv ("/proc/self/exe", argv);
    /* exec failed: carry on with OpenBLAS's kernels, and let child processes do so too */
    int err = errno;
    g_unsetenv ("OPENBLAS_CORETYPE");
    g_unsetenv ("DN_BLAS_CHOSEN");
    g_unsetenv ("DN_BLAS_ORIGINAL");
    g_setenv ("DN_KEEP_BLAS_CORE", "1", TRUE);
    g_free (blas_restart_error);
    blas_restart_error = g_strdup_printf ("restarting with OPENBLAS_CORETYPE=%s failed (%s)",
                                          better, g_strerror (err));
    blas_state = BLAS_RESTART_FAILED;
    return TRUE;
}

char *dn_blas_describe (void)
{
    const char *core = dn_blas_core_name ();
    if (core == NULL)
        core = "(unnamed)";
    const char *original = g_getenv ("DN_BLAS_ORIGINAL");
    const char *rejected = g_getenv ("DN_BLAS_REJECTED");
    const char *chosen = g_getenv ("DN_BLAS_CHOSEN");
    DnCpuFlags cpu;
    dn_cpu_flags_detect (&cpu);
    const char *why = NULL;
    if (blas_state == BLAS_RESTART_FAILED)
        return g_strdup_printf ("OpenBLAS kernels %s, OpenBLAS's own choice: %s", core,
                                blas_restart_error);
    if (rejected != NULL)
        return g_strdup_printf ("OpenBLAS kernels %s, OpenBLAS's own choice: the kernels "
                                "chosen instead failed a self-check (%s)",
                                core, rejected);
    if (blas_state == BLAS_CHECK_PASSED) {
        if (g_ascii_strcasecmp (core, chosen) != 0)
            return g_strdup_printf ("OpenBLAS kernels %s: OPENBLAS_CORETYPE=%s was ignored (an "
                                    "OpenBLAS built for one processor); self-check passed",
                                    core, chosen);
        if (original == NULL)
            return g_strdup_printf ("OpenBLAS kernels %s, chosen by the program that started "
                                    "this one; self-check passed",
                                    core);
        dn_blas_choose_core (NULL, FALSE, original, &cpu, &why);
        return g_strdup_printf ("OpenBLAS kernels %s, chosen over OpenBLAS's %s: %s; "
                                "self-check passed",
                                core, original, why);
    }
    gboolean keep = g_getenv ("DN_KEEP_BLAS_CORE") != NULL;
    dn_blas_choose_core (g_getenv ("OPENBLAS_CORETYPE"), keep, core, &cpu, &why);
    return g_strdup_printf ("OpenBLAS kernels %s: %s", core, why);
}
