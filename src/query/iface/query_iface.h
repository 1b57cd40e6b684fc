/* The query part's interface to the parts above it (the schedule), beyond
 * query.h. Private to the library. */
#ifndef MYRIAD_QUERY_IFACE_H
#define MYRIAD_QUERY_IFACE_H

#include <stdint.h>

#include "myriad/query.h"

/* The world table id of the query's m-th matched table (m below
 * myr_query_table_count), as myr_chunk.table names it. */
uint32_t query_match_table(const myr_query *q, uint32_t m);

#endif
