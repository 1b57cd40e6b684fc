/* The rules of the boids scenario, on plain arrays: the per-neighbour and
 * per-boid arithmetic is shared by its systems (scenarios/boids.c, over the
 * library's neighbour grid, grid.h) and by its hand-written serial twin
 * (bench/bench_boids.c, over the hand-written grid below), so that both run
 * the same arithmetic in the same order. */
#ifndef MYRIAD_BOIDS_RULES_H
#define MYRIAD_BOIDS_RULES_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "myriad/world.h"

enum { SIDE = 128, CELLS = SIDE * SIDE, BLOCK = 4096, PREDATORS = 64 };
static const float SEE = 1.0f / SIDE; /* how far a prey sees: one cell */
static const float EAT = 0.002f;

/* The grid: each cell's first slot, then per slot a prey's id, position and
 * velocity, in arrays inside the grid's own bytes (as a resource, the world
 * hash covers them and no pointer is hashed). */
typedef struct grid {
  uint32_t start[CELLS + 1];
  uint32_t capacity;
  myr_entity id[]; /* capacity ids, then x, y, vx, vy: capacity floats each */
} grid;

typedef struct cell_counts {
  uint32_t n[CELLS];
} cell_counts;

static inline size_t grid_size(uint32_t capacity) {
  return sizeof(grid) + (size_t)capacity * (sizeof(myr_entity) + 4 * sizeof(float));
}
static inline float *grid_col(const grid *g, int k) {
  return (float *)(void *)(g->id + g->capacity) + (size_t)k * g->capacity;
}

static inline uint32_t cell_of(float x, float y) {
  uint32_t cx = (uint32_t)(x * SIDE) % SIDE, cy = (uint32_t)(y * SIDE) % SIDE;
  return cy * SIDE + cx;
}

static inline float wrap_delta(float d) { return d > 0.5f ? d - 1.0f : d < -0.5f ? d + 1.0f : d; }

static inline uint32_t boids_rng(uint64_t *s) { /* splitmix64, high half */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static inline float boids_unit(uint64_t *s) { return (float)(boids_rng(s) >> 8) / 16777216.0f; }

/* Counts into each block's offsets, totals into `total`: an exclusive scan. */
static inline void boids_scan(cell_counts *total, cell_counts *block) {
  for (uint32_t c = 0; c < CELLS; c++) {
    uint32_t here = block->n[c];
    block->n[c] = total->n[c];
    total->n[c] += here;
  }
}

static inline void boids_starts(grid *g, const cell_counts *total) {
  g->start[0] = 0;
  for (uint32_t c = 0; c < CELLS; c++) g->start[c + 1] = g->start[c] + total->n[c];
}

/* What a prey sums over the neighbours it sees (0 < d2 <= SEE^2). */
typedef struct flock_sums {
  float sx, sy, ax, ay, cx, cy;
  uint32_t seen;
} flock_sums;

static inline void flock_add(flock_sums *s, float dx, float dy, float d2, float nvx, float nvy) {
  s->seen++;
  s->sx -= dx / d2;
  s->sy -= dy / d2;
  s->ax += nvx;
  s->ay += nvy;
  s->cx += dx;
  s->cy += dy;
}

/* Separation, alignment and cohesion from the sums, then the speed limit. */
static inline void flock_steer(const flock_sums *s, float *vx, float *vy, float dt) {
  if (s->seen) {
    float inv = 1.0f / (float)s->seen;
    *vx += dt * (1e-5f * s->sx + 0.5f * (s->ax * inv - *vx) + 2.0f * s->cx * inv);
    *vy += dt * (1e-5f * s->sy + 0.5f * (s->ay * inv - *vy) + 2.0f * s->cy * inv);
  }
  float speed = sqrtf(*vx * *vx + *vy * *vy);
  if (speed > 0.2f) {
    *vx *= 0.2f / speed;
    *vy *= 0.2f / speed;
  }
}

/* Separation, alignment and cohesion from the prey in the 3x3 cells around. */
__attribute__((unused)) static void boids_flock(const grid *g, const float *x, const float *y, float *vx, float *vy,
                                                uint32_t n, float dt) {
  const float *gxs = grid_col(g, 0), *gys = grid_col(g, 1), *gvx = grid_col(g, 2), *gvy = grid_col(g, 3);
  for (uint32_t i = 0; i < n; i++) {
    flock_sums s = {0};
    int gx = (int)(x[i] * SIDE) % SIDE, gy = (int)(y[i] * SIDE) % SIDE;
    for (int oy = -1; oy <= 1; oy++)
      for (int ox = -1; ox <= 1; ox++) {
        uint32_t c = (uint32_t)((gy + oy + SIDE) % SIDE) * SIDE + (uint32_t)((gx + ox + SIDE) % SIDE);
        for (uint32_t k = g->start[c]; k < g->start[c + 1]; k++) {
          float dx = wrap_delta(gxs[k] - x[i]), dy = wrap_delta(gys[k] - y[i]);
          float d2 = dx * dx + dy * dy;
          if (d2 == 0.0f || d2 > SEE * SEE) continue;
          flock_add(&s, dx, dy, d2, gvx[k], gvy[k]);
        }
      }
    flock_steer(&s, &vx[i], &vy[i], dt);
  }
}

/* A predator's steering toward the nearest prey seen, at (bx, by), d2 = best. */
static inline void hunt_steer(float best, float bx, float by, float *vx, float *vy) {
  float d = sqrtf(best) + 1e-6f;
  *vx = 0.25f * bx / d;
  *vy = 0.25f * by / d;
}

/* Each predator steers to the nearest prey in the 5x5 cells around it;
 * target[i] gets its id; eat[i] its grid slot when within EAT, else
 * UINT32_MAX. */
__attribute__((unused)) static void boids_hunt(const grid *g, const float *x, const float *y, float *vx, float *vy,
                                               myr_entity *target, uint32_t *eat, uint32_t n) {
  const float *gxs = grid_col(g, 0), *gys = grid_col(g, 1);
  for (uint32_t i = 0; i < n; i++) {
    int gx = (int)(x[i] * SIDE) % SIDE, gy = (int)(y[i] * SIDE) % SIDE;
    float best = 1e9f, bx = 0, by = 0;
    uint32_t best_k = UINT32_MAX;
    for (int oy = -2; oy <= 2; oy++)
      for (int ox = -2; ox <= 2; ox++) {
        uint32_t c = (uint32_t)((gy + oy + SIDE) % SIDE) * SIDE + (uint32_t)((gx + ox + SIDE) % SIDE);
        for (uint32_t k = g->start[c]; k < g->start[c + 1]; k++) {
          float dx = wrap_delta(gxs[k] - x[i]), dy = wrap_delta(gys[k] - y[i]), d2 = dx * dx + dy * dy;
          if (d2 < best) best = d2, bx = dx, by = dy, best_k = k;
        }
      }
    target[i] = best_k == UINT32_MAX ? MYR_ENTITY_NULL : g->id[best_k];
    eat[i] = best_k != UINT32_MAX && best < EAT * EAT ? best_k : UINT32_MAX;
    if (best_k != UINT32_MAX) hunt_steer(best, bx, by, &vx[i], &vy[i]);
  }
}

__attribute__((unused)) static void boids_move(float *x, float *y, const float *vx, const float *vy, uint32_t n,
                                               float dt) {
  for (uint32_t i = 0; i < n; i++) {
    x[i] += vx[i] * dt;
    y[i] += vy[i] * dt;
    x[i] -= floorf(x[i]);
    y[i] -= floorf(y[i]);
  }
}

#endif
