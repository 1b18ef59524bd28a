/* The seeded random sequence of NLU training (the classifier's and the
 * perceptron's shuffles, the perceptron's initialisation and dropout):
 * splitmix64, a fixed, portable sequence for a given seed. */
#ifndef VG_ENGINES_NLU_RNG_PRIV_H
#define VG_ENGINES_NLU_RNG_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* The next number of the sequence whose state is *s. */
static inline uint64_t nlu_rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fisher-Yates shuffle of a[0, n) drawing from *s. */
static inline void nlu_shuffle(uint32_t *a, size_t n, uint64_t *s)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(nlu_rng_next(s) % i);
		uint32_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

#endif
