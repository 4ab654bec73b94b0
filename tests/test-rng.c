/* test-rng.c: the run's random number generator.
 *
 * Determinism (the same seed gives the same stream, other seeds another),
 * and loose statistical checks over 100k draws: the bounds are many
 * standard errors wide, and the seeds are fixed, so they cannot flake.
 */
#include "dn-rng.h"
#include "dn-test-util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_DRAWS 100000

static void test_determinism (void)
{
    DnRng a, b, c;
    dn_rng_seed (&a, 42);
    dn_rng_seed (&b, 42);
    dn_rng_seed (&c, 43);
    int same_ac = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = dn_rng_next (&a);
        g_assert_cmpuint (x, ==, dn_rng_next (&b));
        same_ac += x == dn_rng_next (&c);
    }
    g_assert_cmpint (same_ac, ==, 0);

    /* Seed 0 must still give a live generator, not a stuck all-zero state. */
    DnRng z;
    dn_rng_seed (&z, 0);
    uint64_t first = dn_rng_next (&z);
    gboolean changes = FALSE;
    for (int i = 0; i < 10; i++)
        changes |= dn_rng_next (&z) != first;
    g_assert_true (changes);

    /* Re-seeding restarts the stream. */
    dn_rng_seed (&a, 42);
    dn_rng_seed (&b, 42);
    for (int i = 0; i < 100; i++)
        g_assert_cmpfloat (dn_rng_uniform (&a), ==, dn_rng_uniform (&b));
}

static void test_uniform (void)
{
    DnRng rng;
    dn_rng_seed (&rng, 1);
    int bins[10] = {0};
    double sum = 0, sum2 = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        float u = dn_rng_uniform (&rng);
        g_assert_cmpfloat (u, >=, 0.0f);
        g_assert_cmpfloat (u, <, 1.0f);
        sum += u;
        sum2 += (double) u * u;
        bins[(int) (u * 10)]++;
    }
    double mean = sum / N_DRAWS, var = sum2 / N_DRAWS - mean * mean;
    /* Standard error of the mean is 0.0009; of the variance about 0.0003. */
    g_assert_cmpfloat_with_epsilon (mean, 0.5, 0.01);
    g_assert_cmpfloat_with_epsilon (var, 1.0 / 12.0, 0.005);
    /* Each bin expects 10000 with a standard deviation of 95. */
    for (int i = 0; i < 10; i++)
        g_assert_cmpint (abs (bins[i] - N_DRAWS / 10), <, 700);
}

static void test_uniform_range (void)
{
    DnRng rng;
    dn_rng_seed (&rng, 2);
    double sum = 0;
    float lo = 1.0f, hi = -1.0f;
    for (int i = 0; i < N_DRAWS; i++) {
        float u = dn_rng_uniform_range (&rng, -3.0f, 5.0f);
        g_assert_cmpfloat (u, >=, -3.0f);
        g_assert_cmpfloat (u, <, 5.0f);
        lo = fminf (lo, u);
        hi = fmaxf (hi, u);
        sum += u;
    }
    g_assert_cmpfloat_with_epsilon (sum / N_DRAWS, 1.0, 0.08);
    /* The draws reach both ends of the range. */
    g_assert_cmpfloat (lo, <, -2.99f);
    g_assert_cmpfloat (hi, >, 4.99f);
}

static void test_normal (void)
{
    DnRng rng;
    dn_rng_seed (&rng, 3);
    double sum = 0, sum2 = 0;
    int within_1 = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        float x = dn_rng_normal (&rng);
        g_assert_true (isfinite (x));
        sum += x;
        sum2 += (double) x * x;
        within_1 += fabsf (x) < 1.0f;
    }
    double mean = sum / N_DRAWS, std = sqrt (sum2 / N_DRAWS - mean * mean);
    /* Standard errors: 0.0032 for the mean, 0.0022 for the std, 0.0015 for the fraction. */
    g_assert_cmpfloat_with_epsilon (mean, 0.0, 0.02);
    g_assert_cmpfloat_with_epsilon (std, 1.0, 0.02);
    g_assert_cmpfloat_with_epsilon ((double) within_1 / N_DRAWS, 0.6827, 0.01);
}

static void test_below (void)
{
    DnRng rng;
    dn_rng_seed (&rng, 4);
    for (int i = 0; i < 1000; i++)
        g_assert_cmpuint (dn_rng_below (&rng, 1), ==, 0);
    int counts[7] = {0};
    for (int i = 0; i < N_DRAWS; i++) {
        uint32_t k = dn_rng_below (&rng, 7);
        g_assert_cmpuint (k, <, 7);
        counts[k]++;
    }
    /* Each value expects 14286 with a standard deviation of 111. */
    for (int i = 0; i < 7; i++)
        g_assert_cmpint (abs (counts[i] - N_DRAWS / 7), <, 800);
    for (int i = 0; i < 1000; i++)
        g_assert_cmpuint (dn_rng_below (&rng, 1000000007u), <, 1000000007u);
}

static void assert_is_permutation (const int *perm, int n)
{
    g_autofree gboolean *seen = g_new0 (gboolean, n + 1);
    for (int i = 0; i < n; i++) {
        g_assert_cmpint (perm[i], >=, 0);
        g_assert_cmpint (perm[i], <, n);
        g_assert_false (seen[perm[i]]);
        seen[perm[i]] = TRUE;
    }
}

static void test_permutation (void)
{
    const int n = 1000;
    g_autofree int *p = g_new (int, n);
    g_autofree int *q = g_new (int, n);
    DnRng a, b;
    dn_rng_seed (&a, 5);
    dn_rng_seed (&b, 5);
    dn_rng_permutation (&a, p, n);
    dn_rng_permutation (&b, q, n);
    assert_is_permutation (p, n);
    g_assert_cmpmem (p, n * sizeof (int), q, n * sizeof (int));
    int fixed = 0;
    for (int i = 0; i < n; i++)
        fixed += p[i] == i;
    /* A random permutation has about one fixed point. */
    g_assert_cmpint (fixed, <, 10);

    /* Tiny sizes are fine. */
    int one = -1;
    dn_rng_permutation (&a, &one, 1);
    g_assert_cmpint (one, ==, 0);
    dn_rng_permutation (&a, NULL, 0);
}

static void test_shuffle (void)
{
    const int n = 500;
    g_autofree int *x = g_new (int, n);
    g_autofree int *y = g_new (int, n);
    g_autofree int *z = g_new (int, n);
    for (int i = 0; i < n; i++)
        x[i] = y[i] = z[i] = 3 * i + 1;
    DnRng a, b, c;
    dn_rng_seed (&a, 6);
    dn_rng_seed (&b, 6);
    dn_rng_seed (&c, 7);
    dn_rng_shuffle (&a, x, n);
    dn_rng_shuffle (&b, y, n);
    dn_rng_shuffle (&c, z, n);
    g_assert_cmpmem (x, n * sizeof (int), y, n * sizeof (int));
    g_assert_true (memcmp (x, z, n * sizeof (int)) != 0);
    /* Same multiset: map each value back to its index. */
    g_autofree int *idx = g_new (int, n);
    for (int i = 0; i < n; i++) {
        g_assert_cmpint ((x[i] - 1) % 3, ==, 0);
        idx[i] = (x[i] - 1) / 3;
    }
    assert_is_permutation (idx, n);
}

static void test_hash_uniform (void)
{
    double sum = 0;
    int differ = 0;
    for (uint64_t c = 0; c < N_DRAWS; c++) {
        float u = dn_rng_hash_uniform (99, c);
        g_assert_cmpfloat (u, >=, 0.0f);
        g_assert_cmpfloat (u, <, 1.0f);
        /* Stateless: the same (seed, counter) always gives the same value. */
        g_assert_cmpfloat (u, ==, dn_rng_hash_uniform (99, c));
        differ += u != dn_rng_hash_uniform (100, c);
        sum += u;
    }
    g_assert_cmpfloat_with_epsilon (sum / N_DRAWS, 0.5, 0.01);
    /* Two seeds share a 24-bit value by chance about 6 times in 100k draws. */
    g_assert_cmpint (differ, >, N_DRAWS - 100);
    g_assert_cmpuint (dn_rng_hash (1, 0), !=, dn_rng_hash (1, 1));
    g_assert_cmpuint (dn_rng_hash (1, 0), !=, dn_rng_hash (2, 0));
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/rng/determinism", test_determinism);
    g_test_add_func ("/engine/rng/uniform", test_uniform);
    g_test_add_func ("/engine/rng/uniform-range", test_uniform_range);
    g_test_add_func ("/engine/rng/normal", test_normal);
    g_test_add_func ("/engine/rng/below", test_below);
    g_test_add_func ("/engine/rng/permutation", test_permutation);
    g_test_add_func ("/engine/rng/shuffle", test_shuffle);
    g_test_add_func ("/engine/rng/hash-uniform", test_hash_uniform);
    return g_test_run ();
}
