/*
 * report: the operator's views of this node (see report.h). Being built.
 */
#include "report.h"
#include "util.h"

void report_metrics(struct buf *out)
{
    (void)out;
}

void report_status_html(struct buf *out)
{
    (void)out;
}

void report_sequences_json(struct buf *out)
{
    (void)out;
}

bool report_health(char *reason, size_t len)
{
    (void)reason;
    (void)len;
    return true;
}
