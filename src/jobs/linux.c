/* The job system's Linux calls: the monotonic clock, futex waits and
 * wakes, a thread's CPU clock and its state in /proc, membarrier. */
#define _DEFAULT_SOURCE /* syscall() under strict C11 */
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jobs_pool.h"

uint64_t jobs_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleeps while *addr == expected, for ns at most (a wake, a signal or a
 * changed word ends it early). */
void jobs_futex_wait(uint32_t *addr, uint32_t expected, uint64_t ns) {
  struct timespec rel = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, &rel, NULL, 0);
}

/* Wakes worker v if it sleeps, or makes its next sleep return at once:
 * the locked add changes the word its futex wait compares. */
void jobs_wake_worker(worker *v) {
  at_faa32(&v->wake_word, 1);
  syscall(SYS_futex, &v->wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

uint64_t jobs_thread_cpu_ns(const worker *v) {
  struct timespec ts;
  if (!at_load32_acq(&v->has_cpu_clock) || clock_gettime(v->cpu_clock, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Whether worker v's thread sleeps in the kernel now (its state in
 * /proc is not R, running or runnable); true if that cannot be read. */
bool jobs_thread_sleeps(const worker *v) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)v->tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return true;
  buf[n] = 0;
  /* "tid (comm) S ...": the state follows the last ')' (comm may hold one) */
  const char *end = strrchr(buf, ')');
  return !end || end[1] != ' ' || end[2] != 'R';
}

void jobs_note_cpu_clock(worker *w) {
  w->tid = (int32_t)syscall(SYS_gettid);
  if (pthread_getcpuclockid(pthread_self(), &w->cpu_clock) == 0) at_store32_rel(&w->has_cpu_clock, 1);
}

/* Expedited membarriers need registering once per process; a kernel
 * without them leaves the pool on its fallback (see park()). */
bool jobs_membarrier_ready(void) {
  long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

bool jobs_membarrier(void) { return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0; }
