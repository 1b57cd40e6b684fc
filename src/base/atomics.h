/* Private: the one place the job system touches shared memory atomically.
 *
 * Normally every operation is concurrencykit's ck_pr: relaxed accesses plus
 * the fence each use needs, which on x86 (TSO) compile to plain moves and
 * compiler barriers except where a store must be ordered before a later load.
 *
 * ThreadSanitizer sees neither ck_pr's inline assembly nor stand-alone
 * fences. Under TSan each operation is a C11 atomic whose order is at least
 * as strong as the fence it stands for (seq_cst where a seq_cst fence sits
 * next to it), so TSan checks the same protocol, never a weaker one. */
#ifndef MYRIAD_ATOMICS_H
#define MYRIAD_ATOMICS_H

#include <stdint.h>

#if defined(__SANITIZE_THREAD__)
#define MYR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MYR_TSAN 1
#endif
#endif

#ifdef MYR_TSAN
#include <stdatomic.h>
#define AT_P(p) ((_Atomic uint64_t *)(p))
#define AT_P32(p) ((_Atomic uint32_t *)(p))
/* plain shared word: no ordering */
static inline uint64_t at_load_rlx(const uint64_t *p) { return atomic_load_explicit(AT_P(p), memory_order_relaxed); }
static inline void at_store_rlx(uint64_t *p, uint64_t v) { atomic_store_explicit(AT_P(p), v, memory_order_relaxed); }
/* acquire load / release store */
static inline uint64_t at_load_acq(const uint64_t *p) { return atomic_load_explicit(AT_P(p), memory_order_acquire); }
static inline void at_store_rel(uint64_t *p, uint64_t v) { atomic_store_explicit(AT_P(p), v, memory_order_release); }
/* a load that follows a seq_cst fence in the protocol */
static inline uint64_t at_load_sc(const uint64_t *p) { return atomic_load_explicit(AT_P(p), memory_order_seq_cst); }
/* store, then a full fence before any later load */
static inline void at_store_fence(uint64_t *p, uint64_t v) {
  atomic_exchange_explicit(AT_P(p), v, memory_order_seq_cst);
}
static inline int at_cas_sc(uint64_t *p, uint64_t expect, uint64_t v) {
  return atomic_compare_exchange_strong_explicit(AT_P(p), &expect, v, memory_order_seq_cst, memory_order_relaxed);
}
/* read-modify-write, ordered both ways (acq_rel, and a full fence on x86) */
static inline uint64_t at_faa(uint64_t *p, uint64_t d) {
  return atomic_fetch_add_explicit(AT_P(p), d, memory_order_seq_cst);
}
static inline uint32_t at_faa32(uint32_t *p, uint32_t d) {
  return atomic_fetch_add_explicit(AT_P32(p), d, memory_order_seq_cst);
}
static inline uint32_t at_load32_rlx(const uint32_t *p) {
  return atomic_load_explicit(AT_P32(p), memory_order_relaxed);
}
/* bit set and clear, ordered both ways */
static inline void at_or64(uint64_t *p, uint64_t bits) {
  atomic_fetch_or_explicit(AT_P(p), bits, memory_order_seq_cst);
}
static inline uint64_t at_and64(uint64_t *p, uint64_t bits) {
  return atomic_fetch_and_explicit(AT_P(p), bits, memory_order_seq_cst);
}
static inline uint32_t at_load32_acq(const uint32_t *p) {
  return atomic_load_explicit(AT_P32(p), memory_order_acquire);
}
/* a load that follows a locked RMW in a handshake (RMW, then load, on both sides) */
static inline uint32_t at_load32_sc(const uint32_t *p) { return atomic_load_explicit(AT_P32(p), memory_order_seq_cst); }
static inline void at_store32_rel(uint32_t *p, uint32_t v) {
  atomic_store_explicit(AT_P32(p), v, memory_order_release);
}
static inline void at_store32_rlx(uint32_t *p, uint32_t v) {
  atomic_store_explicit(AT_P32(p), v, memory_order_relaxed);
}
static inline int at_cas32_sc(uint32_t *p, uint32_t expect, uint32_t v) {
  return atomic_compare_exchange_strong_explicit(AT_P32(p), &expect, v, memory_order_seq_cst, memory_order_relaxed);
}
/* the thief's seq_cst fence between reading top and bottom: carried by the
 * seq_cst loads around it */
static inline void at_fence_steal(void) {}
static inline void at_fence_sc(void) { atomic_thread_fence(memory_order_seq_cst); }
#else
#include <ck_pr.h>
static inline uint64_t at_load_rlx(const uint64_t *p) { return ck_pr_load_64(p); }
static inline void at_store_rlx(uint64_t *p, uint64_t v) { ck_pr_store_64(p, v); }
static inline uint64_t at_load_acq(const uint64_t *p) {
  uint64_t v = ck_pr_load_64(p);
  ck_pr_fence_acquire(); /* compiler barrier on TSO, dmb on weak machines */
  return v;
}
static inline void at_store_rel(uint64_t *p, uint64_t v) {
  ck_pr_fence_release();
  ck_pr_store_64(p, v);
}
static inline uint64_t at_load_sc(const uint64_t *p) {
  /* the seq_cst ordering comes from the fence or locked op before it; the
   * acquire fence orders what the caller reads after it */
  uint64_t v = ck_pr_load_64(p);
  ck_pr_fence_acquire();
  return v;
}
static inline void at_store_fence(uint64_t *p, uint64_t v) {
  /* A locked exchange orders the store before later loads like mfence does,
   * at about an eighth of the cost (TOOLCHAIN.md); weak machines need the
   * explicit fence after it as well. */
  ck_pr_fas_64(p, v);
  ck_pr_fence_atomic_load();
}
static inline int at_cas_sc(uint64_t *p, uint64_t expect, uint64_t v) {
  ck_pr_fence_load_atomic();
  int ok = ck_pr_cas_64(p, expect, v);
  ck_pr_fence_atomic_load();
  return ok;
}
static inline uint64_t at_faa(uint64_t *p, uint64_t d) {
  ck_pr_fence_release(); /* earlier accesses complete before the RMW */
  uint64_t old = ck_pr_faa_64(p, d);
  ck_pr_fence_atomic_load();
  return old;
}
static inline uint32_t at_faa32(uint32_t *p, uint32_t d) {
  ck_pr_fence_release(); /* earlier accesses complete before the RMW */
  uint32_t old = ck_pr_faa_32(p, d);
  ck_pr_fence_atomic_load();
  return old;
}
static inline uint32_t at_load32_rlx(const uint32_t *p) { return ck_pr_load_32(p); }
static inline void at_or64(uint64_t *p, uint64_t bits) {
  ck_pr_fence_release();
  ck_pr_or_64(p, bits);
  ck_pr_fence_atomic_load();
}
/* returns the bits before */
static inline uint64_t at_and64(uint64_t *p, uint64_t bits) {
  ck_pr_fence_release();
  uint64_t old = ck_pr_load_64(p);
  while (!ck_pr_cas_64_value(p, old, old & bits, &old)) ck_pr_stall();
  ck_pr_fence_atomic_load();
  return old;
}
static inline uint32_t at_load32_acq(const uint32_t *p) {
  uint32_t v = ck_pr_load_32(p);
  ck_pr_fence_acquire();
  return v;
}
/* after a locked RMW (a full fence already) the load needs nothing more */
static inline uint32_t at_load32_sc(const uint32_t *p) { return at_load32_acq(p); }
static inline void at_store32_rel(uint32_t *p, uint32_t v) {
  ck_pr_fence_release();
  ck_pr_store_32(p, v);
}
static inline void at_store32_rlx(uint32_t *p, uint32_t v) { ck_pr_store_32(p, v); }
static inline int at_cas32_sc(uint32_t *p, uint32_t expect, uint32_t v) {
  ck_pr_fence_load_atomic();
  int ok = ck_pr_cas_32(p, expect, v);
  ck_pr_fence_atomic_load();
  return ok;
}
static inline void at_fence_steal(void) {
#ifdef CK_MD_TSO
  /* TSO never reorders two loads: a compiler barrier keeps top's load
   * before bottom's. */
  ck_pr_fence_load();
#else
  ck_pr_fence_memory();
#endif
}
static inline void at_fence_sc(void) { ck_pr_fence_memory(); }
#endif

#endif /* MYRIAD_ATOMICS_H */
