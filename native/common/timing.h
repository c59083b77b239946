/*
 * ptlab timing discipline, shared by the native programs that time page-table work (the calibration
 * probe native/calibrate/probe.c, and the native replayer's --time mode):
 *
 * - rdtsc brackets: lfence;rdtsc;lfence before and rdtscp;lfence after, so the timed work neither
 *   starts before the first read nor finishes after the second;
 * - the TSC rate, measured against CLOCK_MONOTONIC_RAW over 50 ms (cycles everywhere are TSC ticks);
 * - CPU time (CLOCK_THREAD_CPUTIME_ID, or CLOCK_PROCESS_CPUTIME_ID for all threads of a process;
 *   kernel time included), which leaves out time while preempted by other processes of a shared
 *   host, and also time blocked (a disk read): report both and say which one a number is;
 * - "other CPUs busy": pin to the first allowed CPU and keep every other allowed CPU busy with a
 *   spinning child process (another mm, so no TLB shootdowns are added). On a VM guest the price of
 *   a local TLB flush depends on whether the other vCPUs run (docs/cost-model.md, "The other vCPU
 *   matters"); this holds that state fixed while measuring.
 *
 * Header-only (static functions); written for ptlab (MIT).
 */
#ifndef PTLAB_TIMING_H
#define PTLAB_TIMING_H

#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static inline uint64_t ptl_tsc_begin(void) {
  uint32_t lo, hi;
  __asm__ __volatile__("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
  return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t ptl_tsc_end(void) {
  uint32_t lo, hi, aux;
  __asm__ __volatile__("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
  return ((uint64_t)hi << 32) | lo;
}

/** TSC ticks per ns. */
static double ptl_tsc_ghz(void) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC_RAW, &a);
  uint64_t t0 = ptl_tsc_begin();
  do clock_gettime(CLOCK_MONOTONIC_RAW, &b);
  while ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec) < 50e6);
  uint64_t t1 = ptl_tsc_end();
  double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
  return (double)(t1 - t0) / ns;
}

/** This thread's CPU time in ns. */
static inline double ptl_thread_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/** CPU time of all of this process's threads in ns (e.g. a faulting thread and the userfaultfd
 * handler thread that resolves its faults). */
static inline double ptl_process_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/** The hypervisor's CPUID vendor string (leaf 0x40000000, e.g. "KVMKVMKVM"), "" on bare metal. */
static void ptl_hypervisor_vendor(char out[13]) {
  unsigned a, b, c, d;
  out[0] = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31))) return; /* CPUID.1:ECX[31] = running under a hypervisor */
  __cpuid(0x40000000, a, b, c, d);
  memcpy(out, &b, 4), memcpy(out + 4, &c, 4), memcpy(out + 8, &d, 4);
  out[12] = 0;
  for (int i = 0; i < 12; i++)
    if (out[i] && (out[i] < 0x20 || out[i] > 0x7e)) out[i] = '?';
}

#define PTL_MAX_SPINNERS 1024
static pid_t ptl_spinners[PTL_MAX_SPINNERS];
static int ptl_nspin;

/** The body of a spinner process: pin to `cpu` and spin until the parent (`parent`) dies. */
static void __attribute__((noreturn)) ptl_spin_main(int cpu, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0); /* the parent died before PDEATHSIG was armed */
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  sched_setaffinity(0, sizeof one, &one);
  for (;;) __builtin_ia32_pause();
}

/**
 * Pins the caller to its first allowed CPU; with `spin_flag`, starts one spinner on each other
 * allowed CPU by running this program again as `/proc/self/exe SPIN_FLAG CPU PARENT` (its main
 * calls ptl_spin_main). posix_spawn (clone with CLONE_VM|CLONE_VFORK) rather than fork: a fork would
 * write-protect the caller's own anon PTEs, and its next writes to its globals would then fault
 * inside the timed windows. Returns the CPU pinned to, or -1 when the affinity could not be set.
 */
static int ptl_pin_and_spin(const char *spin_flag) {
  cpu_set_t allowed, set;
  if (sched_getaffinity(0, sizeof allowed, &allowed)) return -1;
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (!CPU_ISSET(c, &allowed)) continue;
    if (first < 0) {
      first = c;
      CPU_ZERO(&set);
      CPU_SET(c, &set);
      if (sched_setaffinity(0, sizeof set, &set)) return -1;
      if (!spin_flag) break;
      continue;
    }
    if (ptl_nspin >= PTL_MAX_SPINNERS) break;
    char cpu[16], parent[16];
    snprintf(cpu, sizeof cpu, "%d", c);
    snprintf(parent, sizeof parent, "%d", (int)getpid());
    char *argv[] = {(char *)"ptlab-spinner", (char *)spin_flag, cpu, parent, NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) != 0) break;
    ptl_spinners[ptl_nspin++] = pid;
  }
  return first;
}

static void ptl_stop_spinners(void) {
  for (int i = 0; i < ptl_nspin; i++) kill(ptl_spinners[i], SIGKILL);
  for (int i = 0; i < ptl_nspin; i++) waitpid(ptl_spinners[i], NULL, 0);
  ptl_nspin = 0;
}

#endif
