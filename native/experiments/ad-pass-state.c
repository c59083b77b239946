/*
 * What one A/D-setting pass costs per page, by what the pages went through before (docs/fidelity.md,
 * "Open": A/D-setting passes are bimodal on a KVM guest). Not part of ptlab's build or tests.
 *
 *   cc -O2 -o /tmp/ad-pass-state native/experiments/ad-pass-state.c && /tmp/ad-pass-state
 *
 * Each pass: MADV_FREE over 8 MiB of written anon memory (clears A and D of every PTE), then one
 * write per page in a fixed random order, timed with lfence'd rdtsc; printed in TSC cycles per
 * page. Pinned to CPU 0. Everything runs in one process, so a slow pass is not a fresh process.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#define PG 4096
#define N 2048 /* 8 MiB */
#define BIG 16384 /* 64 MiB */

static unsigned order[N];

static double pass(char *r) {
  _mm_lfence();
  uint64_t t0 = __rdtsc();
  _mm_lfence();
  for (int i = 0; i < N; i++) r[(size_t)order[i] * PG + 64] = (char)i;
  _mm_lfence();
  uint64_t t1 = __rdtsc();
  _mm_lfence();
  return (double)(t1 - t0) / N;
}

static char *written(size_t n) {
  char *r = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) exit(1);
  madvise(r, n * PG, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < n; i++) r[i * PG] = 1;
  return r;
}

static double freed_pass(char *r) {
  madvise(r, (size_t)N * PG, MADV_FREE);
  return pass(r);
}

static void settle(char *r) {
  for (int k = 0; k < 10; k++) freed_pass(r);
}

int main(void) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(0, &s);
  sched_setaffinity(0, sizeof s, &s);
  srand(7);
  for (int i = 0; i < N; i++) order[i] = i;
  for (int i = N - 1; i > 0; i--) {
    int j = rand() % (i + 1);
    unsigned t = order[i];
    order[i] = order[j], order[j] = t;
  }
  char *r1 = written(N), *big = written(BIG);
  volatile char sink;
  printf("same pages, repeated:");
  for (int k = 0; k < 8; k++) printf(" %.0f", freed_pass(r1));
  printf("\nnew region each pass (old ones kept):");
  for (int k = 0; k < 8; k++) printf(" %.0f", freed_pass(written(N)));
  printf("\nnew region each pass (old one unmapped):");
  for (int k = 0; k < 8; k++) {
    char *r = written(N);
    printf(" %.0f", freed_pass(r));
    munmap(r, (size_t)N * PG);
  }
  printf("\nfrom the settled state, two passes after:\n");
  for (int rep = 0; rep < 2; rep++) {
    settle(r1);
    printf("  nothing %.0f %.0f |", freed_pass(r1), freed_pass(r1));
    settle(r1);
    usleep(500000);
    printf(" a 0.5 s sleep %.0f %.0f |", freed_pass(r1), freed_pass(r1));
    settle(r1);
    for (size_t i = 0; i < BIG * (size_t)PG; i += 64) sink = big[i];
    printf(" a 64 MiB read sweep %.0f %.0f |", freed_pass(r1), freed_pass(r1));
    settle(r1);
    madvise(big, BIG * (size_t)PG, MADV_FREE);
    for (size_t i = 0; i < BIG; i++) big[i * PG] = 3;
    printf(" an A/D pass over 64 MiB elsewhere %.0f %.0f\n", freed_pass(r1), freed_pass(r1));
  }
  printf("a pass over A=1,D=1 pages: %.0f\n", pass(r1));
  (void)sink;
  return 0;
}
