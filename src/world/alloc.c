/* The world's allocation: the default allocator (huge pages for large
 * blocks) and the helpers every part allocates through. */
#define _DEFAULT_SOURCE /* madvise */
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "world_impl.h"

/* ---- allocation ---------------------------------------------------------- */

#define HUGE_PAGE (2u << 20)

void *world_default_alloc(size_t size, size_t align, void *user) {
  (void)user;
  if (align < sizeof(void *)) align = sizeof(void *);
#ifdef __linux__
  if (size > HUGE_PAGE) {
    /* Blocks larger than a huge page: ask for transparent huge pages. A
     * fresh 4 KiB page costs a fault each; a 2 MiB page one fault per 512 of
     * them (docs/performance.md has what that does to bulk creation). */
    void *p = aligned_alloc(HUGE_PAGE, align_up(size, HUGE_PAGE));
    if (p) madvise(p, align_up(size, HUGE_PAGE), MADV_HUGEPAGE);
    return p;
  }
#endif
  /* aligned_alloc wants the size to be a multiple of the alignment */
  return aligned_alloc(align, align_up(size ? size : 1, align));
}

void world_default_free(void *ptr, size_t size, void *user) {
  (void)size;
  (void)user;
  free(ptr);
}

void *world_alloc(const myr_world *w, size_t size, size_t align) { return w->alloc.alloc(size, align, w->alloc.user); }

void world_free(const myr_world *w, void *p, size_t size) {
  if (p) w->alloc.free(p, size, w->alloc.user);
}

myr_status world_grow_array(const myr_world *w, void **arr, uint32_t *cap, size_t elem, uint32_t need) {
  if (need <= *cap) return MYR_OK;
  uint64_t n = *cap ? (uint64_t)*cap * 2 : 8;
  if (n < need) n = need;
  if (n > UINT32_MAX) n = UINT32_MAX;
  void *p = world_alloc(w, (size_t)n * elem, 64);
  if (!p) return MYR_ENOMEM;
  if (*cap) memcpy(p, *arr, (size_t)*cap * elem);
  world_free(w, *arr, (size_t)*cap * elem);
  *arr = p;
  *cap = (uint32_t)n;
  return MYR_OK;
}
