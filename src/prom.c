/*
 * prom: Prometheus text format 0.0.4 (see prom.h).
 */
#include <stdio.h>
#include <string.h>

#include "prom.h"

static const char *const type_names[] = { "counter", "gauge", "histogram" };

/* Escape \ and newline, and " too when quote is set (label values). */
static void escape(struct buf *out, const char *v, int quote)
{
    const char *run = v;

    for (; *v; v++) {
        const char *rep = NULL;
        if (*v == '\\')
            rep = "\\\\";
        else if (*v == '\n')
            rep = "\\n";
        else if (*v == '"' && quote)
            rep = "\\\"";
        if (rep) {
            buf_append(out, run, (size_t)(v - run));
            buf_append(out, rep, 2);
            run = v + 1;
        }
    }
    buf_append(out, run, (size_t)(v - run));
}

void prom_label_value(struct buf *out, const char *v)
{
    escape(out, v, 1);
}

void prom_family(struct buf *out, const char *name, enum prom_type type, const char *help)
{
    buf_add_str(out, "# HELP ");
    buf_add_str(out, name);
    buf_append(out, " ", 1);
    escape(out, help, 0);
    buf_add_str(out, "\n# TYPE ");
    buf_add_str(out, name);
    buf_append(out, " ", 1);
    buf_add_str(out, type_names[type]);
    buf_append(out, "\n", 1);
}

static void series(struct buf *out, const char *name, const struct prom_label *labels, int nlabels)
{
    buf_add_str(out, name);
    if (nlabels == 0) {
        buf_append(out, " ", 1);
        return;
    }
    for (int i = 0; i < nlabels; i++) {
        buf_append(out, i ? "," : "{", 1);
        buf_add_str(out, labels[i].name);
        buf_append(out, "=\"", 2);
        escape(out, labels[i].value, 1);
        buf_append(out, "\"", 1);
    }
    buf_append(out, "} ", 2);
}

void prom_u64(struct buf *out, const char *name, const struct prom_label *labels, int nlabels, uint64_t v)
{
    series(out, name, labels, nlabels);
    buf_add_u64(out, v);
    buf_append(out, "\n", 1);
}

void prom_double(struct buf *out, const char *name, const struct prom_label *labels, int nlabels, double v)
{
    series(out, name, labels, nlabels);
    buf_printf(out, "%.17g\n", v);
}

void prom_histogram_us(struct buf *out, const char *name, const char *help, const struct hist *h)
{
    char metric[128], le[32];
    struct prom_label label = { "le", le };
    uint64_t cumulative = 0;

    prom_family(out, name, PROM_HISTOGRAM, help);
    snprintf(metric, sizeof(metric), "%s_bucket", name);
    for (int i = 0; i <= HIST_BOUNDS; i++) {
        cumulative += h->bucket[i];
        if (i < HIST_BOUNDS)
            snprintf(le, sizeof(le), "%g", (double)hist_bounds_us[i] / 1e6);
        else
            snprintf(le, sizeof(le), "+Inf");
        prom_u64(out, metric, &label, 1, cumulative);
    }
    snprintf(metric, sizeof(metric), "%s_sum", name);
    series(out, metric, NULL, 0);
    buf_printf(out, "%llu.%06llu\n", (unsigned long long)(h->sum_us / 1000000),
               (unsigned long long)(h->sum_us % 1000000));
    snprintf(metric, sizeof(metric), "%s_count", name);
    prom_u64(out, metric, NULL, 0, cumulative);
}
