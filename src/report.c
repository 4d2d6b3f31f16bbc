/*
 * report: the operator's views of this node (see report.h).
 *
 * Every view reads the same sources: the node (server.h, workers), the
 * store as the core sees it (core_store_stats), the counters (core_stats,
 * reqstats, the claim latency histogram) and one pass of core_list over
 * the sequences, which holds each sequence's lock only while it copies
 * its state. Large views are written straight into the caller's buf with
 * buf_add_* (no printf per number), so a scrape of 100,000 sequences
 * stays in the tens of milliseconds, off the workers.
 *
 * The health verdict: the node can serve when the store answers, or,
 * while it does not, when every sequence still has numbers buffered
 * (one whose kind ran out does not count: no store would help it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "prom.h"
#include "reqstats.h"
#include "report.h"
#include "server.h"
#include "util.h"
#include "worker.h"

/* The status page shows at most this many sequences (the first by
 * name); the JSON has them all. */
#define REPORT_PAGE_ROWS 1000

/* ---- what every view shares -------------------------------------------------- */

static uint64_t uptime_s(void)
{
    return (mono_ms() - server.started_ms) / 1000;
}

static uint64_t buffered(const struct seq_info *in)
{
    return segbuf_unused(&in->sb);
}

/* No numbers buffered, and the kind has more: it needs the store to serve. */
static bool is_dry(const struct seq_info *in)
{
    return buffered(in) == 0 && in->sb.cur.end < in->sb.limit;
}

/* Wasted per number handed out or lost, 0..1 (INFO's waste_rate / 100). */
static double waste_rate(const struct seq_info *in)
{
    uint64_t total = in->generated + in->wasted;
    return total ? (double)in->wasted / (double)total : 0.0;
}

/* The verdict from the store's state and the count of dry sequences. */
static bool health_verdict(const struct core_store_stats *st, size_t dry, char *reason, size_t len)
{
    if (st->reachable) {
        snprintf(reason, len, "ok: the %s store answers", st->type);
        return true;
    }
    uint64_t down_s = (mono_ms() - st->down_since_ms) / 1000;
    if (dry == 0) {
        snprintf(reason, len, "ok: store unreachable since %" PRIu64 " s (%s), every sequence has numbers buffered",
                 down_s, st->last_error);
        return true;
    }
    snprintf(reason, len, "store unreachable since %" PRIu64 " s (%s) and %zu sequence%s no numbers buffered",
             down_s, st->last_error, dry, dry == 1 ? " has" : "s have");
    return false;
}

static void count_dry(const struct seq_info *in, void *arg)
{
    size_t *dry = arg;
    *dry += is_dry(in);
}

bool report_health(char *reason, size_t len)
{
    struct core_store_stats st;
    size_t dry = 0;

    core_store_stats(&st);
    if (!st.reachable)                  /* only then do the buffers matter */
        core_list(count_dry, &dry);
    return health_verdict(&st, dry, reason, len);
}

/* ---- /metrics ------------------------------------------------------------------ */

/* The per-sequence families, one buf each (a family's samples must be
 * together), filled in one pass. */
enum { FAM_NUMBERS, FAM_WASTED, FAM_CLAIMS, FAM_BUFFERED, FAM_COUNT };

static const struct {
    const char *name;
    enum prom_type type;
    const char *help;
} seq_families[FAM_COUNT] = {
    [FAM_NUMBERS] = { "seqd_numbers_total", PROM_COUNTER, "Numbers of the sequence handed out by this node." },
    [FAM_WASTED] = { "seqd_wasted_total", PROM_COUNTER,
                     "Numbers of the sequence claimed by this node and never handed out (lost)." },
    [FAM_CLAIMS] = { "seqd_claims_total", PROM_COUNTER, "Segments of the sequence claimed from the store." },
    [FAM_BUFFERED] = { "seqd_buffered_numbers", PROM_GAUGE,
                       "Numbers of the sequence claimed and not handed out yet (both segments)." },
};

struct metrics_pass {
    struct buf fam[FAM_COUNT];
    size_t sequences, dry;
};

static void metrics_one(const struct seq_info *in, void *arg)
{
    struct metrics_pass *m = arg;
    struct prom_label label = { "sequence", in->def.name };

    prom_u64(&m->fam[FAM_NUMBERS], seq_families[FAM_NUMBERS].name, &label, 1, in->generated);
    prom_u64(&m->fam[FAM_WASTED], seq_families[FAM_WASTED].name, &label, 1, in->wasted);
    prom_u64(&m->fam[FAM_CLAIMS], seq_families[FAM_CLAIMS].name, &label, 1, in->claims);
    prom_u64(&m->fam[FAM_BUFFERED], seq_families[FAM_BUFFERED].name, &label, 1, buffered(in));
    m->sequences++;
    m->dry += is_dry(in);
}

static void metrics_gauge(struct buf *out, const char *name, const char *help, uint64_t v)
{
    prom_family(out, name, PROM_GAUGE, help);
    prom_u64(out, name, NULL, 0, v);
}

static void metrics_counter(struct buf *out, const char *name, const char *help, uint64_t v)
{
    prom_family(out, name, PROM_COUNTER, help);
    prom_u64(out, name, NULL, 0, v);
}

/* Every counter of STATS_LIST as seqd_<field>_total, from the list INFO
 * renders too. */
static void metrics_stats(struct buf *out)
{
    struct stats st;
    char name[96], help[128];

    core_stats(&st);
#define STATS_METRIC(f, info_name)                                                 \
    snprintf(name, sizeof(name), "seqd_%s_total", #f);                             \
    snprintf(help, sizeof(help), "INFO's %s (since start or CONFIG RESETSTAT).", info_name); \
    metrics_counter(out, name, help, st.f);
    STATS_LIST(STATS_METRIC)
#undef STATS_METRIC
}

/* One reqstats family: requests, or errors, by door and command. */
static void metrics_requests(struct buf *out, const struct reqstat *all, size_t n, bool errors)
{
    const char *name = errors ? "seqd_request_errors_total" : "seqd_requests_total";
    struct prom_label labels[2] = { { "door", NULL }, { "command", NULL } };

    prom_family(out, name, PROM_COUNTER,
                errors ? "Requests answered with an error, by door and command, endpoint or action."
                       : "Requests answered, by door (resp, http, udp) and command, endpoint or action.");
    for (size_t i = 0; i < n; i++) {
        labels[0].value = reqstats_door_name(all[i].door);
        labels[1].value = all[i].what;
        prom_u64(out, name, labels, 2, errors ? all[i].errors : all[i].requests);
    }
}

static void metrics_store(struct buf *out, const struct core_store_stats *st)
{
    struct prom_label labels[2] = { { "type", st->type }, { "shared", st->shared ? "true" : "false" } };

    prom_family(out, "seqd_store_info", PROM_GAUGE, "The store this node uses.");
    prom_u64(out, "seqd_store_info", labels, 2, 1);
    metrics_gauge(out, "seqd_store_up", "1 when the last store job got an answer from the store, else 0.",
                  st->reachable ? 1 : 0);
    metrics_gauge(out, "seqd_store_pending_jobs", "Store jobs queued or running.",
                  st->pending_jobs > 0 ? (uint64_t)st->pending_jobs : 0);
    metrics_counter(out, "seqd_store_rescans_total", "Completed rescans of a shared store.", st->rescans);
    metrics_counter(out, "seqd_store_claim_batches_total",
                    "Store calls that made several claims at once (one transaction on mysql).", st->claim_batches);
    metrics_counter(out, "seqd_store_claims_batched_total", "Claims made in those calls.", st->claims_batched);
    if (st->shared) {
        metrics_counter(out, "seqd_store_conflicts_retried_total",
                        "Transactions the database rolled back for a conflict and seqd ran again.",
                        st->conflicts);
        metrics_counter(out, "seqd_store_claims_refused_total",
                        "Claimed ranges refused because they start below this node's high-water mark.",
                        st->refused_claims);
        metrics_counter(out, "seqd_store_fences_total", "Database failovers this node fenced.", st->fences);
    }
}

void report_metrics(struct buf *out)
{
    struct metrics_pass m = { .sequences = 0 };
    struct core_store_stats st;
    struct hist latency;
    char reason[512];
    struct prom_label version = { "version", PACKAGE_VERSION };
    struct reqstat requests[REQSTATS_MAX];
    size_t nrequests = reqstats_get(requests, REQSTATS_MAX);

    for (int i = 0; i < FAM_COUNT; i++)
        buf_init(&m.fam[i]);
    core_list(metrics_one, &m);
    core_store_stats(&st);
    core_claim_latency(&latency);

    prom_family(out, "seqd_build_info", PROM_GAUGE, "The running seqd's version (always 1).");
    prom_u64(out, "seqd_build_info", &version, 1, 1);
    metrics_gauge(out, "seqd_uptime_seconds", "Seconds since this seqd started.", uptime_s());
    metrics_gauge(out, "seqd_workers", "Worker threads.", (uint64_t)server.nworkers);
    metrics_gauge(out, "seqd_connected_clients", "Clients connected to the Redis protocol port.",
                  (uint64_t)workers_clients());
    metrics_stats(out);
    metrics_requests(out, requests, nrequests, false);
    metrics_requests(out, requests, nrequests, true);
    metrics_store(out, &st);
    metrics_gauge(out, "seqd_healthy", "1 when /health answers 200 (the node can serve), else 0.",
                  health_verdict(&st, m.dry, reason, sizeof(reason)) ? 1 : 0);
    metrics_gauge(out, "seqd_sequences", "Sequences this node knows.", m.sequences);
    prom_histogram_us(out, "seqd_claim_duration_seconds",
                      "Time from a claim's submit to its segment installed, retries included.", &latency);
    for (int i = 0; i < FAM_COUNT; i++) {
        prom_family(out, seq_families[i].name, seq_families[i].type, seq_families[i].help);
        buf_append(out, buf_head(&m.fam[i]), buf_used(&m.fam[i]));
        buf_free(&m.fam[i]);
    }
}

/* ---- escaping for HTML and JSON ---------------------------------------------- */

static void html_text(struct buf *out, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *rep;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        buf_append(out, run, (size_t)(s - run));
        buf_add_str(out, rep);
        run = s + 1;
    }
    buf_append(out, run, (size_t)(s - run));
}

/* JSON numbers are doubles to most readers: beyond 2^53 a number is
 * written as a string, so no digit is lost. */
#define JSON_EXACT_MAX (1ULL << 53)

static void json_u64(struct buf *out, uint64_t v)
{
    if (v > JSON_EXACT_MAX)
        buf_append(out, "\"", 1);
    buf_add_u64(out, v);
    if (v > JSON_EXACT_MAX)
        buf_append(out, "\"", 1);
}

static void json_i64(struct buf *out, int64_t v)
{
    bool exact = v >= -(int64_t)JSON_EXACT_MAX && v <= (int64_t)JSON_EXACT_MAX;
    if (!exact)
        buf_append(out, "\"", 1);
    buf_add_i64(out, v);
    if (!exact)
        buf_append(out, "\"", 1);
}

/* "key": (after a comma unless first) */
static void json_key(struct buf *out, const char *key, bool first)
{
    if (!first)
        buf_append(out, ",", 1);
    buf_json_string(out, key);
    buf_append(out, ":", 1);
}

/* ,"key":v */
static void json_field_u64(struct buf *out, const char *key, uint64_t v)
{
    json_key(out, key, false);
    json_u64(out, v);
}

/* ---- /api/v1/sequences --------------------------------------------------------- */

static void json_node(struct buf *out)
{
    json_key(out, "node", true);
    buf_append(out, "{", 1);
    json_key(out, "version", true);
    buf_json_string(out, PACKAGE_VERSION);
    json_key(out, "run_id", false);
    buf_json_string(out, server.run_id);
    json_field_u64(out, "uptime_s", uptime_s());
    json_field_u64(out, "workers", (uint64_t)server.nworkers);
    json_field_u64(out, "clients", (uint64_t)workers_clients());
    buf_append(out, "}", 1);
}

static void json_store(struct buf *out, const struct core_store_stats *st)
{
    json_key(out, "store", false);
    buf_append(out, "{", 1);
    json_key(out, "type", true);
    buf_json_string(out, st->type);
    json_key(out, "shared", false);
    buf_add_str(out, st->shared ? "true" : "false");
    json_key(out, "reachable", false);
    buf_add_str(out, st->reachable ? "true" : "false");
    json_field_u64(out, "down_for_s", st->reachable ? 0 : (mono_ms() - st->down_since_ms) / 1000);
    json_key(out, "last_error", false);
    buf_json_string(out, st->last_error);
    json_field_u64(out, "pending_jobs", st->pending_jobs > 0 ? (uint64_t)st->pending_jobs : 0);
    json_field_u64(out, "rescans", st->rescans);
    buf_append(out, "}", 1);
}

static void json_segment(struct buf *out, const struct segment *sg, bool first)
{
    buf_append(out, first ? "{" : ",{", first ? 1 : 2);
    json_key(out, "from", true);
    json_u64(out, sg->start);
    json_field_u64(out, "to", sg->end);
    json_field_u64(out, "next", sg->pos);
    json_field_u64(out, "left", segment_left(sg));
    buf_append(out, "}", 1);
}

struct json_pass {
    struct buf *out;
    size_t sequences, dry;
    uint64_t now_ms;
};

static void json_sequence(const struct seq_info *in, void *arg)
{
    struct json_pass *j = arg;
    struct buf *out = j->out;
    char rate[32];

    buf_append(out, j->sequences ? ",{" : "{", j->sequences ? 2 : 1);
    json_key(out, "name", true);
    buf_json_string(out, in->def.name);
    json_key(out, "kind", false);
    buf_json_string(out, seqdef_kind_name(in->def.kind));
    json_key(out, "type", false);
    json_i64(out, in->def.kind);
    json_key(out, "current", false);
    if (in->has_current && in->def.kind == SEQ_DATED)
        buf_json_string(out, in->current_text);
    else if (in->has_current)
        json_i64(out, in->current);
    else
        buf_add_str(out, "null");
    json_key(out, "segments", false);
    buf_append(out, "[", 1);
    if (in->sb.cur.end > in->sb.cur.start)
        json_segment(out, &in->sb.cur, true);
    if (segbuf_has_next(&in->sb)) {
        struct segment next = segbuf_next(&in->sb);
        json_segment(out, &next, in->sb.cur.end == in->sb.cur.start);
    }
    buf_append(out, "]", 1);
    json_field_u64(out, "buffered", buffered(in));
    json_field_u64(out, "served", in->generated);
    json_field_u64(out, "wasted", in->wasted);
    json_field_u64(out, "given_back", in->given_back);
    json_key(out, "waste_rate", false);
    snprintf(rate, sizeof(rate), "%.6f", waste_rate(in));
    buf_add_str(out, rate);
    json_field_u64(out, "claims", in->claims);
    json_key(out, "claim_in_flight", false);
    buf_add_str(out, in->claim_in_flight ? "true" : "false");
    json_key(out, "last_claim_ms_ago", false);
    if (in->last_claim_ms)
        json_u64(out, j->now_ms - in->last_claim_ms);
    else
        buf_add_str(out, "null");
    json_key(out, "last_claim_latency_ms", false);
    if (in->last_claim_ms) {
        snprintf(rate, sizeof(rate), "%.3f", (double)in->last_claim_latency_us / 1000.0);
        buf_add_str(out, rate);
    } else {
        buf_add_str(out, "null");
    }
    json_key(out, "last_error", false);
    buf_json_string(out, in->last_error);
    buf_append(out, "}", 1);
    j->sequences++;
    j->dry += is_dry(in);
}

void report_sequences_json(struct buf *out)
{
    struct core_store_stats st;
    struct json_pass j = { out, 0, 0, mono_ms() };
    char reason[512];

    core_store_stats(&st);
    buf_append(out, "{", 1);
    json_node(out);
    json_store(out, &st);
    json_key(out, "sequences", false);
    buf_append(out, "[", 1);
    core_list(json_sequence, &j);
    buf_append(out, "]", 1);
    bool ok = health_verdict(&st, j.dry, reason, sizeof(reason));
    json_key(out, "health", false);
    buf_append(out, "{", 1);
    json_key(out, "ok", true);
    buf_add_str(out, ok ? "true" : "false");
    json_key(out, "reason", false);
    buf_json_string(out, reason);
    buf_append(out, "}}\n", 3);
}

/* ---- the status page ------------------------------------------------------------ */

/* The first REPORT_PAGE_ROWS sequences by name: a max-heap on the name
 * keeps the smallest ones seen, then they are sorted. */
struct page_pass {
    struct seq_info *rows;
    size_t nrows;
    size_t sequences, dry;
};

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const struct seq_info *)a)->def.name, ((const struct seq_info *)b)->def.name);
}

static void heap_sift_down(struct seq_info *h, size_t n, size_t i)
{
    for (;;) {
        size_t big = i, l = 2 * i + 1, r = l + 1;
        if (l < n && row_cmp(&h[l], &h[big]) > 0)
            big = l;
        if (r < n && row_cmp(&h[r], &h[big]) > 0)
            big = r;
        if (big == i)
            return;
        struct seq_info t = h[i];
        h[i] = h[big];
        h[big] = t;
        i = big;
    }
}

static void heap_sift_up(struct seq_info *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (row_cmp(&h[i], &h[parent]) <= 0)
            return;
        struct seq_info t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

static void page_collect(const struct seq_info *in, void *arg)
{
    struct page_pass *p = arg;

    p->sequences++;
    p->dry += is_dry(in);
    if (p->nrows < REPORT_PAGE_ROWS) {
        p->rows[p->nrows] = *in;
        heap_sift_up(p->rows, p->nrows++);
    } else if (row_cmp(in, &p->rows[0]) < 0) {
        p->rows[0] = *in;
        heap_sift_down(p->rows, p->nrows, 0);
    }
}

static const char page_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}"
    "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.2em 0 .4em}"
    "table{border-collapse:collapse;background:#fff}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0;font-weight:600}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".kv th{width:10em}"
    ".health{padding:6px 10px;border-radius:4px;display:inline-block}"
    ".ok{background:#e3f4e3;color:#1b5e20}.bad{background:#fde2e2;color:#b71c1c}"
    ".bar{width:120px;height:8px;background:#eee;border:1px solid #ccc;margin-top:2px}"
    ".bar span{display:block;height:100%;background:#4a90d9}"
    ".seg{white-space:nowrap;font-size:12px}.muted{color:#888}"
    ".err{color:#b71c1c;font-size:12px}";

static void html_row_kv(struct buf *out, const char *key, const char *value)
{
    buf_add_str(out, "<tr><th>");
    buf_add_str(out, key);
    buf_add_str(out, "</th><td>");
    html_text(out, value);
    buf_add_str(out, "</td></tr>\n");
}

static void html_row_u64(struct buf *out, const char *key, uint64_t v)
{
    buf_add_str(out, "<tr><th>");
    buf_add_str(out, key);
    buf_add_str(out, "</th><td>");
    buf_add_u64(out, v);
    buf_add_str(out, "</td></tr>\n");
}

/* One segment: its counter range, a bar as wide as the share left, and
 * how many are left. */
static void html_segment(struct buf *out, const struct segment *sg, bool present)
{
    if (!present) {
        buf_add_str(out, "<td class=\"seg muted\">none</td>");
        return;
    }
    uint64_t size = sg->end - sg->start, left = segment_left(sg);
    unsigned pct = size ? (unsigned)(left * 100 / size) : 0;
    buf_printf(out, "<td class=\"seg\">[%" PRIu64 ", %" PRIu64 ") %" PRIu64 " left (%u%%)"
               "<div class=\"bar\"><span style=\"width:%u%%\"></span></div></td>",
               sg->start, sg->end, left, pct, pct);
}

static void html_sequence(struct buf *out, const struct seq_info *in, uint64_t now_ms)
{
    buf_add_str(out, "<tr id=\"seq-");
    html_text(out, in->def.name);
    buf_add_str(out, "\" data-sequence=\"");
    html_text(out, in->def.name);
    buf_add_str(out, "\"><td class=\"name\">");
    html_text(out, in->def.name);
    buf_add_str(out, "</td><td>");
    buf_add_str(out, seqdef_kind_name(in->def.kind));
    buf_add_str(out, "</td><td class=\"n current\">");
    if (in->has_current && in->def.kind == SEQ_DATED)
        html_text(out, in->current_text);
    else if (in->has_current)
        buf_add_i64(out, in->current);
    else
        buf_add_str(out, "<span class=\"muted\">none</span>");
    buf_add_str(out, "</td>");
    html_segment(out, &in->sb.cur, in->sb.cur.end > in->sb.cur.start);
    struct segment next = segbuf_next(&in->sb);
    html_segment(out, &next, segbuf_has_next(&in->sb));
    buf_printf(out, "<td class=\"n served\">%" PRIu64 "</td><td class=\"n\">%" PRIu64 "</td>"
               "<td class=\"n\">%.2f%%</td><td class=\"n\">%" PRIu64 "</td><td>",
               in->generated, in->wasted, 100.0 * waste_rate(in), buffered(in));
    if (in->last_claim_ms)
        buf_printf(out, "%.1f s ago, took %.3f ms", (double)(now_ms - in->last_claim_ms) / 1000.0,
                   (double)in->last_claim_latency_us / 1000.0);
    else
        buf_add_str(out, "<span class=\"muted\">none yet</span>");
    if (in->claim_in_flight)
        buf_add_str(out, " <span class=\"muted\">(claim in flight)</span>");
    if (in->last_error[0]) {
        buf_add_str(out, "<div class=\"err\">");
        html_text(out, in->last_error);
        buf_add_str(out, "</div>");
    }
    buf_add_str(out, "</td></tr>\n");
}

static void html_node(struct buf *out)
{
    buf_add_str(out, "<h2>Node</h2>\n<table class=\"kv\" id=\"node\">\n");
    html_row_kv(out, "version", PACKAGE_VERSION);
    html_row_kv(out, "run id", server.run_id);
    html_row_u64(out, "uptime (s)", uptime_s());
    html_row_u64(out, "workers", (uint64_t)server.nworkers);
    html_row_u64(out, "clients", (uint64_t)workers_clients());
    buf_add_str(out, "</table>\n");
}

static void html_store(struct buf *out, const struct core_store_stats *st)
{
    buf_add_str(out, "<h2>Store</h2>\n<table class=\"kv\" id=\"store\">\n");
    html_row_kv(out, "type", st->type);
    html_row_kv(out, "shared", st->shared ? "yes (other nodes use it too)" : "no");
    if (st->reachable) {
        html_row_kv(out, "reachable", "yes");
    } else {
        char down[400];
        snprintf(down, sizeof(down), "no, for %" PRIu64 " s: %s", (mono_ms() - st->down_since_ms) / 1000,
                 st->last_error);
        html_row_kv(out, "reachable", down);
    }
    html_row_u64(out, "pending jobs", st->pending_jobs > 0 ? (uint64_t)st->pending_jobs : 0);
    html_row_u64(out, "rescans", st->rescans);
    buf_add_str(out, "</table>\n");
}

void report_status_html(struct buf *out)
{
    struct page_pass p = { .nrows = 0 };
    struct core_store_stats st;
    char reason[512];

    p.rows = xcalloc(REPORT_PAGE_ROWS, sizeof(*p.rows));
    core_list(page_collect, &p);
    core_store_stats(&st);
    qsort(p.rows, p.nrows, sizeof(*p.rows), row_cmp);
    bool ok = health_verdict(&st, p.dry, reason, sizeof(reason));
    uint64_t now_ms = mono_ms();

    buf_add_str(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta http-equiv=\"refresh\" content=\"5\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>seqd ");
    html_text(out, PACKAGE_VERSION);
    buf_add_str(out, " status</title>\n<style>");
    buf_add_str(out, page_style);
    buf_add_str(out, "</style>\n</head>\n<body>\n<h1>seqd</h1>\n");
    buf_add_str(out, ok ? "<p id=\"health\" class=\"health ok\">Serving &mdash; "
                        : "<p id=\"health\" class=\"health bad\">Not serving &mdash; ");
    html_text(out, reason);
    buf_add_str(out, "</p>\n");
    html_node(out);
    html_store(out, &st);

    buf_printf(out, "<h2>Sequences (%zu)</h2>\n", p.sequences);
    if (p.sequences > p.nrows)
        buf_printf(out, "<p id=\"truncated\">The first %zu by name are shown; %zu more are left out. "
                   "Every sequence is in <a href=\"/api/v1/sequences\">/api/v1/sequences</a>.</p>\n",
                   p.nrows, p.sequences - p.nrows);
    buf_add_str(out, "<table id=\"sequences\">\n<thead><tr><th>name</th><th>kind</th><th>current</th>"
                     "<th>current segment</th><th>next segment</th><th>served</th><th>wasted</th>"
                     "<th>waste rate</th><th>buffered</th><th>last claim</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < p.nrows; i++)
        html_sequence(out, &p.rows[i], now_ms);
    buf_add_str(out, "</tbody>\n</table>\n<p class=\"muted\">Segments are counter ranges [from, to), as INFO "
                     "&lt;name&gt; shows them. This page refreshes every 5 s; the same data is in "
                     "<a href=\"/api/v1/sequences\">/api/v1/sequences</a>, counters in "
                     "<a href=\"/metrics\">/metrics</a>.</p>\n</body>\n</html>\n");
    free(p.rows);
}
