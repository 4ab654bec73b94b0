/* test-blas.c: choosing OpenBLAS's kernels, and the self-check of a choice.
 *
 * The decision is a pure function of the environment, OpenBLAS's choice and
 * the CPU flags, so every case runs on any machine. The self-check is given
 * deliberately wrong sgemm functions and must reject each of them.
 */
#include "dn-blas.h"
#include "dn-error.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

static const DnCpuFlags cpu_avx512 = {TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE};
static const DnCpuFlags cpu_avx2 = {TRUE, TRUE, TRUE, FALSE, FALSE, FALSE, FALSE, FALSE};
/* Xeon Phi: AVX-512F and CD, but not BW/VL/DQ, which SkylakeX's kernels use */
static const DnCpuFlags cpu_phi = {TRUE, TRUE, TRUE, TRUE, FALSE, FALSE, FALSE, TRUE};
static const DnCpuFlags cpu_sse = {TRUE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE, FALSE};
static const DnCpuFlags cpu_other = {FALSE};

static void test_choose_user_set (void)
{
    const char *why = NULL;
    g_assert_null (dn_blas_choose_core ("Haswell", FALSE, "Haswell", &cpu_avx512, &why));
    g_assert_nonnull (strstr (why, "OPENBLAS_CORETYPE is set"));
    /* even a generic choice the user asked for stands */
    g_assert_null (dn_blas_choose_core ("Prescott", FALSE, "Prescott", &cpu_avx512, &why));
    g_assert_nonnull (strstr (why, "OPENBLAS_CORETYPE is set"));
    g_assert_null (dn_blas_choose_core ("Prescott", TRUE, "Prescott", &cpu_avx2, NULL));
}

static void test_choose_keep (void)
{
    const char *why = NULL;
    g_assert_null (dn_blas_choose_core (NULL, TRUE, "Prescott", &cpu_avx512, &why));
    g_assert_nonnull (strstr (why, "DN_KEEP_BLAS_CORE"));
    g_assert_null (dn_blas_choose_core (NULL, TRUE, "Haswell", &cpu_avx512, &why));
}

static void test_choose_generic (void)
{
    const char *why = NULL;
    static const char *const cores[] = {"Prescott", "Sandybridge", "Nehalem", "Core2", "Unknown"};
    for (gsize i = 0; i < G_N_ELEMENTS (cores); i++) {
        g_assert_cmpstr (dn_blas_choose_core (NULL, FALSE, cores[i], &cpu_avx512, &why), ==,
                         "SkylakeX");
        g_assert_nonnull (strstr (why, "generic"));
        g_assert_cmpstr (dn_blas_choose_core (NULL, FALSE, cores[i], &cpu_avx2, &why), ==,
                         "Haswell");
        g_assert_nonnull (strstr (why, "AVX2 and FMA"));
        /* a generic core without AVX2 is the right one */
        g_assert_null (dn_blas_choose_core (NULL, FALSE, cores[i], &cpu_sse, &why));
    }
    /* OpenBLAS may spell names in another case */
    g_assert_cmpstr (dn_blas_choose_core (NULL, FALSE, "PRESCOTT", &cpu_avx2, NULL), ==, "Haswell");
}

static void test_choose_avx2_core_on_avx512 (void)
{
    const char *why = NULL;
    static const char *const cores[] = {"Haswell", "Zen", "Excavator", "zen"};
    for (gsize i = 0; i < G_N_ELEMENTS (cores); i++) {
        g_assert_cmpstr (dn_blas_choose_core (NULL, FALSE, cores[i], &cpu_avx512, &why), ==,
                         "SkylakeX");
        g_assert_nonnull (strstr (why, "AVX2-class"));
    }
    /* AVX-512F without BW/VL/DQ cannot run SkylakeX's kernels */
    g_assert_null (dn_blas_choose_core (NULL, FALSE, "Haswell", &cpu_phi, &why));
    g_assert_cmpstr (dn_blas_choose_core (NULL, FALSE, "Prescott", &cpu_phi, NULL), ==, "Haswell");
}

static void test_choose_avx512_core (void)
{
    const char *why = NULL;
    static const char *const cores[] = {"SkylakeX", "Cooperlake", "sapphirerapids"};
    for (gsize i = 0; i < G_N_ELEMENTS (cores); i++) {
        g_assert_null (dn_blas_choose_core (NULL, FALSE, cores[i], &cpu_avx512, &why));
        g_assert_nonnull (strstr (why, "AVX-512 kernels itself"));
    }
}

static void test_choose_avx2_only (void)
{
    const char *why = NULL;
    g_assert_null (dn_blas_choose_core (NULL, FALSE, "Haswell", &cpu_avx2, &why));
    g_assert_nonnull (strstr (why, "fits this processor"));
    g_assert_null (dn_blas_choose_core (NULL, FALSE, "Zen", &cpu_avx2, &why));
}

static void test_choose_non_x86 (void)
{
    const char *why = NULL;
    g_assert_null (dn_blas_choose_core (NULL, FALSE, "ARMV8", &cpu_other, &why));
    g_assert_nonnull (strstr (why, "not an x86"));
    g_assert_null (dn_blas_choose_core (NULL, FALSE, "Prescott", &cpu_other, &why));
    g_assert_null (dn_blas_choose_core (NULL, FALSE, NULL, &cpu_avx512, &why));
    g_assert_nonnull (strstr (why, "did not name"));
}

/* ---- the self-check ---- */

static float elem (const float *x, int ld, gboolean trans, int row, int col)
{
    return trans ? x[col * ld + row] : x[row * ld + col];
}

/* Correct, in float, summing in plain order: the least accurate order the check must
 * still accept. */
static void naive_sgemm (gboolean ta, gboolean tb, int m, int n, int k, float alpha, const float *a,
                         int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int p = 0; p < k; p++)
                acc += elem (a, lda, ta, i, p) * elem (b, ldb, tb, p, j);
            c[i * ldc + j] = alpha * acc + (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]);
        }
}

static void ignores_transpose (gboolean ta, gboolean tb, int m, int n, int k, float alpha,
                               const float *a, int lda, const float *b, int ldb, float beta,
                               float *c, int ldc)
{
    /* reads a transposed A as if it were not (wrapped to stay inside A's k×lda) */
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int p = 0; p < k; p++)
                acc += (ta ? a[(i * lda + p) % (k * lda)] : elem (a, lda, FALSE, i, p)) *
                       elem (b, ldb, tb, p, j);
            c[i * ldc + j] = alpha * acc + (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]);
        }
}

static void one_element_off (gboolean ta, gboolean tb, int m, int n, int k, float alpha,
                             const float *a, int lda, const float *b, int ldb, float beta, float *c,
                             int ldc)
{
    dn_blas_sgemm (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (m == 64 && n == 48 && k == 40 && ta && tb)
        c[63 * ldc + 47] += 1e-3f; /* a last-row, last-column edge-kernel bug */
}

static void drops_last_product_odd_k (gboolean ta, gboolean tb, int m, int n, int k, float alpha,
                                      const float *a, int lda, const float *b, int ldb, float beta,
                                      float *c, int ldc)
{
    /* an unroll-by-2 kernel that forgets the remainder */
    naive_sgemm (ta, tb, m, n, k % 2 == 1 && k > 1 ? k - 1 : k, alpha, a, lda, b, ldb, beta, c,
                 ldc);
}

static void writes_padding (gboolean ta, gboolean tb, int m, int n, int k, float alpha,
                            const float *a, int lda, const float *b, int ldb, float beta, float *c,
                            int ldc)
{
    naive_sgemm (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    if (m == 17)
        c[5 * ldc + n] = 0.0f; /* one column too many, as a full-width store would */
}

static void reads_c_when_beta_zero (gboolean ta, gboolean tb, int m, int n, int k, float alpha,
                                    const float *a, int lda, const float *b, int ldb, float beta,
                                    float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int p = 0; p < k; p++)
                acc += elem (a, lda, ta, i, p) * elem (b, ldb, tb, p, j);
            c[i * ldc + j] = alpha * acc + beta * c[i * ldc + j];
        }
}

static void test_self_check_openblas (void)
{
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_blas_self_check (dn_blas_sgemm, &error));
    g_assert_no_error (error);
}

static void test_self_check_naive (void)
{
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_blas_self_check (naive_sgemm, &error));
    g_assert_no_error (error);
}

static void expect_failure (DnSgemmFunc sgemm, const char *part)
{
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_blas_self_check (sgemm, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NUMERIC);
    g_test_message ("%s", error->message);
    if (strstr (error->message, part) == NULL)
        g_error ("\"%s\" does not say \"%s\"", error->message, part);
}

static void test_self_check_wrong (void)
{
    expect_failure (ignores_transpose, "(AᵀB) gave");
    expect_failure (one_element_off, "sgemm 64×48×40 (AᵀBᵀ) gave");
    expect_failure (one_element_off, "at row 63, column 47");
    expect_failure (drops_last_product_odd_k, "sgemm 7×5×3 (AB) gave");
    expect_failure (writes_padding, "sgemm 17×13×31 (AB) wrote outside C, at row 5, column 13");
    expect_failure (reads_c_when_beta_zero, "sgemm 1×1×1 (AB) gave");
    expect_failure (reads_c_when_beta_zero, "nan at row 0, column 0");
}

static void test_describe_user_set (void)
{
    /* OpenBLAS read its environment at load time; setting it now changes only what
     * the decision says */
    g_setenv ("OPENBLAS_CORETYPE", "Haswell", TRUE);
    g_unsetenv ("DN_BLAS_REJECTED");
    g_autofree char *line = dn_blas_describe ();
    g_assert_true (g_str_has_prefix (line, "OpenBLAS kernels "));
    g_assert_nonnull (strstr (line, "OPENBLAS_CORETYPE is set in the environment"));
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/blas/choose/user-set", test_choose_user_set);
    g_test_add_func ("/engine/blas/choose/keep", test_choose_keep);
    g_test_add_func ("/engine/blas/choose/generic-core", test_choose_generic);
    g_test_add_func ("/engine/blas/choose/avx2-core-on-avx512", test_choose_avx2_core_on_avx512);
    g_test_add_func ("/engine/blas/choose/avx512-core", test_choose_avx512_core);
    g_test_add_func ("/engine/blas/choose/avx2-only-cpu", test_choose_avx2_only);
    g_test_add_func ("/engine/blas/choose/non-x86", test_choose_non_x86);
    g_test_add_func ("/engine/blas/self-check/openblas", test_self_check_openblas);
    g_test_add_func ("/engine/blas/self-check/naive-float", test_self_check_naive);
    g_test_add_func ("/engine/blas/self-check/wrong-sgemm", test_self_check_wrong);
    g_test_add_func ("/engine/blas/describe/user-set", test_describe_user_set);
    return g_test_run ();
}
