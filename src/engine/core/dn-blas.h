/* dn-blas.h: which OpenBLAS kernels this process runs, and a better choice.
 *
 * OpenBLAS picks its GEMM kernels by CPU model at load time. Releases older
 * than the CPU (Debian 12 ships 0.3.21) do not know new models: they fall back
 * to generic SSE3 kernels ("Prescott") on recent Xeons, four times slower than
 * the AVX-512 ones, and to the AVX2 kernels ("Haswell", "Zen") on AMD Zen 4,
 * where the AVX-512 ones train the CNN about 1.5 times as fast. Programs (not
 * the library) may then restart themselves with OPENBLAS_CORETYPE set; a
 * value the user set, or DN_KEEP_BLAS_CORE, is never overridden.
 *
 * After such a restart the chosen kernels must pass a self-check (sgemm of
 * several shapes against a double precision reference); when they do not, the
 * program restarts once more with OpenBLAS's own choice. The state travels
 * between the restarts in the environment (DN_BLAS_CHOSEN, DN_BLAS_ORIGINAL,
 * DN_BLAS_REJECTED), so child processes see the same choice and check it too.
 *
 * The engine never prints: dn_blas_describe() says which kernels run and why,
 * for a front end's --verbose.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the processor (and the operating system, for the AVX-512 registers)
 * supports. On anything but x86 every field is FALSE. */
typedef struct {
    gboolean x86;
    gboolean avx2, fma;
    gboolean avx512f, avx512bw, avx512vl, avx512dq, avx512cd;
} DnCpuFlags;

void dn_cpu_flags_detect (DnCpuFlags *flags);

/* The kernel family OpenBLAS chose, e.g. "SkylakeX", "Haswell", "Prescott". */
const char *dn_blas_core_name (void);

/* The decision, a pure function: the OPENBLAS_CORETYPE value in the
 * environment (NULL: unset), whether the current choice must be kept
 * (DN_KEEP_BLAS_CORE set, or a chosen core failed its self-check), the core
 * OpenBLAS picked, and the CPU's flags. Returns the OPENBLAS_CORETYPE value to
 * restart with, or NULL to keep the current kernels. *why (may be NULL) gets
 * a static sentence on the reason either way. */
const char *dn_blas_choose_core (const char *env_coretype, gboolean keep, const char *core,
                                 const DnCpuFlags *cpu, const char **why);

/* dn_blas_choose_core() for this process: its environment, OpenBLAS's choice
 * and this CPU. */
const char *dn_blas_better_core (void);

/* A row-major sgemm, C = alpha op(A) op(B) + beta C with op(A) m×k and op(B)
 * k×n, as cblas_sgemm (CblasRowMajor, …) computes it; a parameter so that the
 * tests can hand the self-check a wrong one. */
typedef void (*DnSgemmFunc) (gboolean trans_a, gboolean trans_b, int m, int n, int k, float alpha,
                             const float *a, int lda, const float *b, int ldb, float beta, float *c,
                             int ldc);

/* The OpenBLAS sgemm this process runs. */
void dn_blas_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                    int ldc);

/* Checks sgemm on shapes that reach OpenBLAS's small-matrix, edge and packed
 * kernels, every transpose, against a double precision reference; also that
 * nothing outside C's m×n window is written. The error names the shape, the
 * element and how far off it is. */
gboolean dn_blas_self_check (DnSgemmFunc sgemm, GError **error);

/* For main(), before anything else: when dn_blas_better_core() names a core,
 * sets OPENBLAS_CORETYPE and re-executes the program with the same arguments;
 * in the restarted program, runs the self-check and, when it fails,
 * re-executes with OpenBLAS's own choice. Returns FALSE only when the process
 * is left with kernels that failed the self-check (the restart back failed);
 * the caller must then stop with the error. */
gboolean dn_blas_maybe_reexec (char **argv, GError **error);

/* One line: the kernels that run and why, e.g. "OpenBLAS kernels SkylakeX
 * (chosen: OpenBLAS picked Haswell, AVX2 kernels, on a processor with
 * AVX-512F/BW/VL/DQ; self-check passed)". Free with g_free. */
char *dn_blas_describe (void);

G_END_DECLS
