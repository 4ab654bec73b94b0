#include "dn-rng.h"

#include <math.h>

static inline uint64_t rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void dn_rng_seed (DnRng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = dn_rng_hash (seed, (uint64_t) i);
}

uint64_t dn_rng_next (DnRng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl (s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl (s[3], 45);
    return result;
}

float dn_rng_uniform (DnRng *rng)
{
    return (float) (dn_rng_next (rng) >> 40) * (1.0f / 16777216.0f);
}

float dn_rng_uniform_range (DnRng *rng, float lo, float hi)
{
    return lo + (hi - lo) * dn_rng_uniform (rng);
}

float dn_rng_normal (DnRng *rng)
{
    /* 53-bit uniforms keep log() away from 0. */
    double u1 = ((dn_rng_next (rng) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (dn_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
    return (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
}

uint32_t dn_rng_below (DnRng *rng, uint32_t n)
{
    /* Lemire's multiply-shift; the bias is below 2^-32 and irrelevant here. */
    return (uint32_t) (((dn_rng_next (rng) >> 32) * (uint64_t) n) >> 32);
}

void dn_rng_shuffle (DnRng *rng, int *items, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int) dn_rng_below (rng, (uint32_t) i + 1);
        int t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}

void dn_rng_permutation (DnRng *rng, int *perm, int n)
{
    for (int i = 0; i < n; i++)
        perm[i] = i;
    dn_rng_shuffle (rng, perm, n);
}
