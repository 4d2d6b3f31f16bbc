/*
 * test_heap: what the heap holds now, for the tests that bound the memory
 * a sequence costs (check_seq, check_store_table).
 *
 * mallinfo2 counts what glibc's malloc holds; a sanitizer's allocator is
 * not glibc's, so there HEAP_MEASURED is 0, heap_in_use() says 0 and the
 * tests print their figures without checking them.
 */
#ifndef SEQD_TEST_HEAP_H
#define SEQD_TEST_HEAP_H

#include <stddef.h>

#include "heap_trim.h"

/* Where mallinfo2 describes the allocator (heap_trim.h says where). */
#define HEAP_MEASURED HEAP_MALLINFO

/* Bytes malloc hands out now, large (mmap()ed) blocks included. */
static inline size_t heap_in_use(void)
{
#if HEAP_MEASURED
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

#endif
