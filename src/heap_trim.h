/*
 * heap_trim: gives back to the system the memory that a burst of work
 * freed (see heap_trim.c).
 */
#ifndef SEQD_HEAP_TRIM_H
#define SEQD_HEAP_TRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>                       /* defines __GLIBC__ on glibc */

/* 1 where glibc's mallinfo2 and malloc_trim describe and trim the
 * allocator in use: not under a sanitizer, whose allocator is its own. */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MALLINFO 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_MALLINFO 0
#endif
#endif
#if !defined(HEAP_MALLINFO) && defined(__GLIBC__)
#if __GLIBC_PREREQ(2, 33)
#define HEAP_MALLINFO 1
#endif
#endif
#ifndef HEAP_MALLINFO
#define HEAP_MALLINFO 0
#endif
#if HEAP_MALLINFO
#include <malloc.h>
#endif

struct event_base;

/* The free heap must have grown by this much since the last trim for the
 * next one to run: a trim walks every arena, which is worth it only after
 * a burst, not for what a quiet server frees and takes again. */
#define HEAP_TRIM_GROWTH (4u << 20)
/* How often the main thread looks. */
#define HEAP_TRIM_INTERVAL_S 2

/* Pure: is a trim due, free_now bytes free in malloc's arenas when the
 * last trim (or the first look) left free_base? */
bool heap_trim_due(size_t free_now, size_t free_base);

/* Looks once: trims when heap_trim_due(); returns whether it did. The
 * timer's work, for a test to call directly. */
bool heap_trim_look(void);

/* Look every HEAP_TRIM_INTERVAL_S seconds on base (the main thread's).
 * Does nothing where malloc cannot say what it holds free (not glibc, or
 * a sanitizer's allocator). */
void heap_trim_start(struct event_base *base);
void heap_trim_stop(void);

#endif
