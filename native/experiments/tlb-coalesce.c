/*
 * Does this CPU coalesce contiguous 4 KiB translations into one TLB entry, and over how many pages?
 * (issue 17 scope item 4; docs/fidelity.md, "Open"). Not part of ptlab's build or tests. Run as root
 * (pagemap shows PFNs only to CAP_SYS_ADMIN), THP enabled = madvise or always:
 *
 *   cc -O2 -o /tmp/tlb-coalesce native/experiments/tlb-coalesce.c && /tmp/tlb-coalesce [cpu] [reps]
 *
 * A dependent pointer chase visits N pages of one virtual range in a fixed random cyclic order, one
 * cache line per page (the line varies by page so the lines spread over the L1d sets). All layouts
 * use the same virtual range shape and the same PTE-level page tables; only the physical pages
 * behind the PTEs differ:
 *   pmd      one PMD-mapped THP per 2 MiB (reference: what a 2 MiB entry gives);
 *   run L    4 KiB PTEs whose physical pages are contiguous in aligned runs of L pages, runs placed
 *            in random physical order (L = 512: whole split THPs). Built by faulting 2 MiB THPs
 *            (MADV_HUGEPAGE), splitting their PMDs into PTEs (mprotect of one page and back, then
 *            MADV_NOHUGEPAGE so khugepaged leaves them), and mremap'ing L-page chunks of them into
 *            place at random source offsets that are multiples of L;
 *   run L+1  the same, but every chunk starts one page past an L-aligned source offset, so the
 *            pages are contiguous in runs of L that are NOT aligned to L pages physically;
 *   scatter  order-0 pages (MADV_NOHUGEPAGE) faulted in random order.
 * Every layout is checked through /proc/self/pagemap: "adj" is the fraction of virtually adjacent
 * page pairs whose PFNs are adjacent too; "pmd" rows are checked for AnonHugePages in smaps.
 * Cycles are TSC cycles per access (lfence'd rdtsc), median over reps; pinned to one CPU; layouts
 * are measured interleaved in each rep so machine noise hits them alike.
 * In a KVM guest the PFNs are guest-physical: whether the TLB can coalesce them also depends on how
 * the host maps guest memory (the pmd row tells whether the host backs it with >= 2 MiB pages).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#define PG 4096UL
#define HP (2UL << 20)
#define HPN 512
#define MAXREPS 31

static int pagemap_fd;

static uint64_t pfn_of(void *va) {
  uint64_t e = 0;
  if (pread(pagemap_fd, &e, 8, (off_t)((uintptr_t)va / PG) * 8) != 8) return 0;
  if (!(e >> 63)) return 0;
  return e & ((1ULL << 55) - 1);
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void) { /* xorshift64: fixed seed, same orders every run */
  rnd_state ^= rnd_state << 13, rnd_state ^= rnd_state >> 7, rnd_state ^= rnd_state << 17;
  return rnd_state;
}
static void shuffle(size_t *a, size_t n) {
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = rnd() % (i + 1), t = a[i];
    a[i] = a[j], a[j] = t;
  }
}

/* 2 MiB-aligned reservation of `bytes`. */
static char *reserve(size_t bytes, int prot) {
  char *r = mmap(NULL, bytes + HP, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED) perror("mmap"), exit(1);
  char *a = (char *)(((uintptr_t)r + HP - 1) & ~(HP - 1));
  if (a > r) munmap(r, a - r);
  munmap(a + bytes, (r + bytes + HP) - (a + bytes));
  return a;
}

static size_t anon_huge_kb(void) {
  FILE *f = fopen("/proc/self/smaps_rollup", "r");
  char line[256];
  size_t kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "AnonHugePages: %zu kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

/* `n` THPs faulted with MADV_HUGEPAGE; split into PTE mappings unless keep_pmd. */
static char *thps(size_t n, int keep_pmd) {
  size_t before = anon_huge_kb();
  char *a = reserve(n * HP, PROT_READ | PROT_WRITE);
  madvise(a, n * HP, MADV_HUGEPAGE);
  for (size_t i = 0; i < n * HPN; i++) a[i * PG] = 1;
  size_t got = anon_huge_kb() - before;
  if (got < n * 2048) fprintf(stderr, "only %zu of %zu kB came as THPs\n", got, n * 2048), exit(2);
  if (!keep_pmd) {
    for (size_t i = 0; i < n; i++) {
      char *last = a + i * HP + HP - PG;
      mprotect(last, PG, PROT_READ); /* partial change_huge_pmd: splits the PMD, keeps the folio */
      mprotect(last, PG, PROT_READ | PROT_WRITE);
    }
    madvise(a, n * HP, MADV_NOHUGEPAGE); /* keep khugepaged from collapsing them back */
    if (anon_huge_kb() != before) fprintf(stderr, "PMDs not split\n"), exit(2);
  }
  return a;
}

struct layout {
  char name[16];
  char *va;
  size_t n, bytes; /* pages chased, bytes mapped at va */
  int compact; /* n lines in n/64 pages */
  double adj;
  double cyc[MAXREPS];
};

/* Run-L layout over n pages: chunk c of the target gets pool pages [src, src + L). */
static void build_runs(struct layout *lo, size_t n, size_t L, size_t shift) {
  size_t chunks = n / L;
  size_t pool_pages = n + (shift ? L : 0);
  size_t nthp = (pool_pages + HPN - 1) / HPN;
  char *pool = thps(nthp, 0);
  size_t slots = (nthp * HPN - shift) / L;
  size_t *slot = malloc(slots * sizeof *slot);
  for (size_t i = 0; i < slots; i++) slot[i] = i;
  shuffle(slot, slots);
  char *t = reserve(n * PG, PROT_NONE);
  for (size_t c = 0; c < chunks; c++) {
    char *src = pool + (slot[c] * L + shift) * PG;
    if (mremap(src, L * PG, L * PG, MREMAP_MAYMOVE | MREMAP_FIXED, t + c * L * PG) == MAP_FAILED)
      perror("mremap"), exit(1);
  }
  munmap(pool, nthp * HP); /* what was not moved */
  free(slot);
  lo->va = t;
  lo->n = n, lo->bytes = n * PG;
  snprintf(lo->name, sizeof lo->name, shift ? "run %zu+%zu" : "run %zu", L, shift);
}

static void build_scatter(struct layout *lo, size_t n) {
  char *t = reserve(n * PG, PROT_READ | PROT_WRITE);
  madvise(t, n * PG, MADV_NOHUGEPAGE);
  size_t *o = malloc(n * sizeof *o);
  for (size_t i = 0; i < n; i++) o[i] = i;
  shuffle(o, n);
  for (size_t i = 0; i < n; i++) t[o[i] * PG] = 1;
  free(o);
  lo->va = t, lo->n = n, lo->bytes = n * PG;
  strcpy(lo->name, "scatter");
}

static void build_pmd(struct layout *lo, size_t n) {
  lo->va = thps((n + HPN - 1) / HPN, 1);
  lo->n = n, lo->bytes = ((n + HPN - 1) / HPN) * HP;
  strcpy(lo->name, "pmd");
}

static size_t line_of(size_t page) { return (page * 37) % 64; }

/* The same n lines packed 64 to a page: the data-cache cost with almost no TLB pressure. */
static void chase_compact_setup(struct layout *lo, size_t n) {
  size_t bytes = ((n * 64 + PG - 1) / PG) * PG;
  lo->va = reserve(bytes, PROT_READ | PROT_WRITE);
  madvise(lo->va, bytes, MADV_NOHUGEPAGE);
  lo->n = n, lo->bytes = bytes, lo->compact = 1;
  strcpy(lo->name, "compact");
}

/* Link the pages into one cycle in a fixed random order; record PFN adjacency. */
static char *line_addr(struct layout *lo, size_t p) {
  return lo->compact ? lo->va + p * 64 : lo->va + p * PG + line_of(p) * 64;
}

static void link_and_check(struct layout *lo, const size_t *order) {
  size_t n = lo->n, adj = 0;
  if (lo->compact) {
    for (size_t i = 0; i < n; i++) *(void **)line_addr(lo, order[i]) = line_addr(lo, order[(i + 1) % n]);
    lo->adj = -1;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    size_t p = order[i], q = order[(i + 1) % n];
    *(void **)(lo->va + p * PG + line_of(p) * 64) = lo->va + q * PG + line_of(q) * 64;
  }
  for (size_t p = 0; p + 1 < n; p++) {
    uint64_t a = pfn_of(lo->va + p * PG), b = pfn_of(lo->va + (p + 1) * PG);
    if (!a) fprintf(stderr, "no PFN (not root?)\n"), exit(3);
    adj += (b == a + 1);
  }
  lo->adj = n > 1 ? (double)adj / (double)(n - 1) : 0;
}

static double chase(struct layout *lo, const size_t *order, size_t steps) {
  void *p = line_addr(lo, order[0]);
  for (size_t i = 0; i < 2 * lo->n; i++) p = *(void **)p; /* warm TLBs and caches */
  _mm_lfence();
  uint64_t t0 = __rdtsc();
  _mm_lfence();
  for (size_t i = 0; i < steps; i++) p = *(void **)p;
  _mm_lfence();
  uint64_t t1 = __rdtsc();
  _mm_lfence();
  if (!p) abort();
  return (double)(t1 - t0) / (double)steps;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
  double s[MAXREPS];
  memcpy(s, v, n * sizeof *s);
  qsort(s, n, sizeof *s, cmpd);
  return s[n / 2];
}

static double minimum(double *v, int n) {
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

int main(int argc, char **argv) {
  int cpu = argc > 1 ? atoi(argv[1]) : 0, reps = argc > 2 ? atoi(argv[2]) : 7;
  if (reps < 1 || reps > MAXREPS) reps = 7;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  sched_setaffinity(0, sizeof s, &s);
  pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
  if (pagemap_fd < 0) perror("pagemap"), exit(1);
  static const size_t Ns[] = {32, 64, 128, 256, 512, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 16384};
  static const size_t runs[] = {1, 2, 4, 8, 16, 32, 512};
  printf("TSC cycles per access, median/min of %d reps, cpu %d; adj = fraction of VA-adjacent pages "
         "with adjacent PFNs\n",
         reps, cpu);
  for (size_t k = 0; k < sizeof Ns / sizeof *Ns; k++) {
    size_t n = Ns[k], nl = 0;
    struct layout lo[16];
    memset(lo, 0, sizeof lo);
    chase_compact_setup(&lo[nl++], n);
    build_pmd(&lo[nl++], n);
    build_scatter(&lo[nl++], n);
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++)
      if (runs[r] <= n) build_runs(&lo[nl++], n, runs[r], 0);
    for (size_t L = 4; L <= 16 && L < n; L *= 2) build_runs(&lo[nl++], n, L, 1);
    size_t *order = malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = i;
    shuffle(order, n);
    for (size_t i = 0; i < nl; i++) link_and_check(&lo[i], order);
    size_t steps = n * 64 > 400000 ? n * 64 : 400000;
    for (int rep = 0; rep < reps; rep++)
      for (size_t i = 0; i < nl; i++) lo[i].cyc[rep] = chase(&lo[i], order, steps);
    printf("N=%-5zu", n);
    for (size_t i = 0; i < nl; i++)
      printf(" | %s %.1f/%.1f", lo[i].name, median(lo[i].cyc, reps), minimum(lo[i].cyc, reps));
    printf("\n  adj:");
    for (size_t i = 1; i < nl; i++) printf(" %s %.2f", lo[i].name, lo[i].adj);
    printf("\n");
    fflush(stdout);
    for (size_t i = 0; i < nl; i++) munmap(lo[i].va, lo[i].bytes);
    free(order);
  }
  return 0;
}
