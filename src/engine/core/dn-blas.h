/* dn-blas.h: which OpenBLAS kernels this process runs, and a better choice.
 *
 * OpenBLAS picks its GEMM kernels by CPU model at load time. Releases older
 * than the CPU (Debian 12 ships 0.3.21) do not know new models and fall back
 * to generic SSE3 kernels ("Prescott"), four times slower than the AVX-512
 * ones the CPU can run. Programs (not the library) may then restart
 * themselves with OPENBLAS_CORETYPE set; a value the user set is never
 * overridden.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The kernel family OpenBLAS chose, e.g. "SkylakeX", "Haswell", "Prescott". */
const char *dn_blas_core_name (void);
/* The kernel family to ask for with OPENBLAS_CORETYPE when OpenBLAS fell back to a
 * generic one although the CPU supports AVX2 or AVX-512; NULL when the choice is
 * already good or the user set OPENBLAS_CORETYPE. */
const char *dn_blas_better_core (void);
/* For main(): when dn_blas_better_core() names one, sets OPENBLAS_CORETYPE and
 * re-executes the program with the same arguments. Returns only if it did not. */
void dn_blas_maybe_reexec (char **argv);

G_END_DECLS
