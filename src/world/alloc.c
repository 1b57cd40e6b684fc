/* The world's allocation: the default allocator (fresh mappings for large
 * blocks, huge pages for the largest) and the helpers every part allocates
 * through. */
#define _GNU_SOURCE /* madvise, mremap */
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "world_impl.h"

/* ---- allocation ---------------------------------------------------------- */

#define HUGE_PAGE ((size_t)2 << 20)
#define PAGE ((size_t)4096)
/* Blocks of this size or more are mappings of their own (Linux): fresh
 * pages, so known to be zero, and freed back to the kernel at once. */
#define MAP_MIN ((size_t)256 << 10)

#ifdef __linux__
/* The length a block of `size` bytes is mapped with: whole 2 MiB pages
 * above a huge page, whole pages below. */
static size_t map_length(size_t size) { return size > HUGE_PAGE ? align_up(size, HUGE_PAGE) : align_up(size, PAGE); }

/* A fresh mapping for a block of `size` bytes (at least MAP_MIN): above a
 * huge page 2 MiB aligned and advised MADV_HUGEPAGE (a fresh 4 KiB page
 * costs a fault each; a 2 MiB page one fault per 512 of them), else page
 * aligned. */
static void *map_block(size_t size) {
  size_t len = map_length(size);
  size_t slack = size > HUGE_PAGE ? HUGE_PAGE : 0;
  unsigned char *p = mmap(NULL, len + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  if (slack) { /* keep the 2 MiB aligned part */
    size_t head = align_up((size_t)p, HUGE_PAGE) - (size_t)p;
    if (head) munmap(p, head);
    if (slack - head) munmap(p + head + len, slack - head);
    p += head;
    madvise(p, len, MADV_HUGEPAGE);
  }
  return p;
}
#endif

void *world_default_alloc(size_t size, size_t align, void *user) {
  (void)user;
  if (align < sizeof(void *)) align = sizeof(void *);
#ifdef __linux__
  if (size >= MAP_MIN) return map_block(size);
#endif
  /* aligned_alloc wants the size to be a multiple of the alignment */
  return aligned_alloc(align, align_up(size ? size : 1, align));
}

void world_default_free(void *ptr, size_t size, void *user) {
  (void)user;
#ifdef __linux__
  if (size >= MAP_MIN) {
    munmap(ptr, map_length(size));
    return;
  }
#endif
  free(ptr);
}

void *world_alloc(const myr_world *w, size_t size, size_t align) { return w->alloc.alloc(size, align, w->alloc.user); }

void world_free(const myr_world *w, void *p, size_t size) {
  if (p) w->alloc.free(p, size, w->alloc.user);
}

bool world_alloc_zeroes(const myr_world *w, size_t size) {
#ifdef __linux__
  return w->alloc.alloc == world_default_alloc && size >= MAP_MIN;
#else
  (void)w;
  (void)size;
  return false;
#endif
}

void *world_realloc(const myr_world *w, void *p, size_t size, size_t new_size, size_t align, size_t keep) {
#ifdef __linux__
  if (p && world_alloc_zeroes(w, size) && world_alloc_zeroes(w, new_size)) {
    /* Both are mappings: move the old pages to the start of a fresh mapping
     * instead of copying them (the rest of the new one is still zero). */
    unsigned char *q = map_block(new_size);
    if (!q) return NULL;
    size_t len = map_length(size);
    if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, q) == MAP_FAILED) {
      munmap(q, map_length(new_size));
      return NULL;
    }
    if (new_size > HUGE_PAGE) madvise(q, map_length(new_size), MADV_HUGEPAGE); /* the moved part too */
    return q;
  }
#endif
  void *q = world_alloc(w, new_size, align);
  if (!q) return NULL;
  if (keep) memcpy(q, p, keep);
  world_free(w, p, size);
  return q;
}

myr_status world_grow_array(const myr_world *w, void **arr, uint32_t *cap, size_t elem, uint32_t need) {
  if (need <= *cap) return MYR_OK;
  uint64_t n = *cap ? (uint64_t)*cap * 2 : 8;
  if (n < need) n = need;
  if (n > UINT32_MAX) n = UINT32_MAX;
  size_t size = (size_t)*cap * elem;
  void *p = world_realloc(w, *arr, size, (size_t)n * elem, 64, size);
  if (!p) return MYR_ENOMEM;
  *arr = p;
  *cap = (uint32_t)n;
  return MYR_OK;
}
