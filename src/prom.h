/*
 * prom: the Prometheus text exposition format 0.0.4, written into a buf.
 * Pure: no I/O, no globals.
 *
 * A family is its `# HELP` and `# TYPE` lines followed by all its samples
 * (the format wants one family's samples together). Label values are
 * escaped as the format says (\\, \", \n); HELP text likewise (\\, \n).
 * Metric and label names are the caller's literals and must already be
 * valid ([a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total).
 */
#ifndef SEQD_PROM_H
#define SEQD_PROM_H

#include <stdint.h>

#include "buf.h"
#include "hist.h"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_label {
    const char *name;
    const char *value;              /* any bytes but NUL; escaped on output */
};

/* # HELP name help \n # TYPE name type \n */
void prom_family(struct buf *out, const char *name, enum prom_type type, const char *help);
/* One sample: name{labels} value\n (no braces without labels). */
void prom_u64(struct buf *out, const char *name, const struct prom_label *labels, int nlabels, uint64_t v);
void prom_double(struct buf *out, const char *name, const struct prom_label *labels, int nlabels, double v);
/* A whole histogram family in seconds from a copy of a hist (hist.h):
 * name_bucket{le=...} cumulative, le="+Inf", name_sum, name_count. */
void prom_histogram_us(struct buf *out, const char *name, const char *help, const struct hist *h);
/* A label value, escaped, without the quotes. */
void prom_label_value(struct buf *out, const char *v);

#endif
