/* Private to the query part: a query's struct. */
#ifndef MYRIAD_QUERY_IMPL_H
#define MYRIAD_QUERY_IMPL_H

#include "myriad/query.h"
#include "query_iface.h"
#include "world_iface.h"

/* one matched table of a query */
typedef struct query_match {
  uint32_t table;
  int32_t term_col[MYR_QUERY_MAX_TERMS]; /* first column of the term's component, -1 none */
} query_match;

struct myr_query {
  myr_world *world;
  struct myr_query *next, *prev; /* the world's live queries (query.c's slot) */
  uint32_t term_count;
  myr_term terms[MYR_QUERY_MAX_TERMS];
  compset required, excluded;
  compset unhidden; /* every component a term names: hidden ones it may see */
  uint32_t tables_seen;
  query_match *matches;
  uint32_t match_count, match_cap;
};

#endif
