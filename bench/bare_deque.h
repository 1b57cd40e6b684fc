#ifndef MYRIAD_BENCH_BARE_DEQUE_H
#define MYRIAD_BENCH_BARE_DEQUE_H
/* A reference for bench_jobs: the bare minimum a Chase–Lev job system does
 * per job on one worker, with none of the pool's features (no thread check,
 * no argument checks, no counter ownership for other workers, no stats, no
 * sleepers, no nesting flag, a ring that never grows). Its spawn and wait
 * are out-of-line calls in their own file, as the library's are, and use
 * the same ck_pr operations: a release store of bottom to push, a locked
 * exchange of bottom and a load of top to take, a CAS for the last job. */
#include <stdint.h>

typedef struct bare_pool bare_pool;
typedef void (*bare_fn)(void *arg);

bare_pool *bare_create(void);
void bare_destroy(bare_pool *p);
void bare_spawn(bare_pool *p, bare_fn fn, void *arg, uint64_t *counter);
void bare_wait(bare_pool *p, uint64_t *counter);
#endif
