/* dn-rng.h: the one random number generator of a run.
 *
 * A small, fast, splittable generator (xoshiro256**, seeded through
 * splitmix64). One DnRng per experiment: the same seed gives the same
 * initial weights, split, shuffles and dropout masks on every machine.
 * dn_rng_hash() is a counter-based generator for kernels (dropout) that
 * must produce the same stream on CPU and GPU.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
    uint64_t s[4];
} DnRng;

void dn_rng_seed (DnRng *rng, uint64_t seed);
uint64_t dn_rng_next (DnRng *rng);
/* Uniform in [0, 1) with 24 random bits, like a float32. */
float dn_rng_uniform (DnRng *rng);
/* Uniform in [lo, hi). */
float dn_rng_uniform_range (DnRng *rng, float lo, float hi);
/* Standard normal (Box-Muller). */
float dn_rng_normal (DnRng *rng);
/* Uniform integer in [0, n). */
uint32_t dn_rng_below (DnRng *rng, uint32_t n);
/* Fisher-Yates shuffle of an int array. */
void dn_rng_shuffle (DnRng *rng, int *items, int n);
/* perm[i] = i, then shuffled. */
void dn_rng_permutation (DnRng *rng, int *perm, int n);

/* Stateless: a well-mixed 64-bit hash of (seed, counter). */
static inline uint64_t dn_rng_hash (uint64_t seed, uint64_t counter)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (counter + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Stateless uniform float in [0, 1). */
static inline float dn_rng_hash_uniform (uint64_t seed, uint64_t counter)
{
    return (float) (dn_rng_hash (seed, counter) >> 40) * (1.0f / 16777216.0f);
}

G_END_DECLS
