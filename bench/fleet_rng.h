/* fleet_rng.h - the pure-code benches' random numbers (placement,
 * balance): splitmix64 from a fixed seed, so every run times the same
 * fleet. One state per program. */
#ifndef VDC_BENCH_FLEET_RNG_H
#define VDC_BENCH_FLEET_RNG_H

#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 0 .. n-1 */
static inline int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

#endif
