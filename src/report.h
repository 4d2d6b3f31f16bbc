/*
 * report: what an operator sees of this node, rendered from the core's
 * read-only calls (core_list, core_stats, core_store_stats) and the
 * doors' request counters (reqstats): Prometheus text for /metrics, the
 * status page, its JSON, and the health verdict for /health.
 *
 * These walk every sequence, so they are slow with many sequences: the
 * HTTP door runs them on its report thread, never on a worker.
 */
#ifndef SEQD_REPORT_H
#define SEQD_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Prometheus text format 0.0.4. */
void report_metrics(struct buf *out);
/* The status page: one HTML document, no external assets, no scripts,
 * refreshing itself. */
void report_status_html(struct buf *out);
/* The same data as JSON (GET /api/v1/sequences). */
void report_sequences_json(struct buf *out);
/* Can this node serve? true, or false with the reason (one line). */
bool report_health(char *reason, size_t len);

#endif
