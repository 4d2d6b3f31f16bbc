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

#include <malloc.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MEASURED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_MEASURED 0
#endif
#endif
#if !defined(HEAP_MEASURED) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 33)
#define HEAP_MEASURED 1
#endif
#endif
#ifndef HEAP_MEASURED
#define HEAP_MEASURED 0
#endif

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
