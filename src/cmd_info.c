/*
 * cmd_info: INFO, in Redis' format ("# Section" then "key:value" lines,
 * CRLF), and INFO <name> for one sequence.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cmd.h"
#include "conn.h"
#include "core.h"
#include "server.h"
#include "snowflake.h"
#include "util.h"
#include "worker.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

/* The Redis version whose protocol and replies seqd follows; tools such as
 * redis_exporter read redis_version. */
#define REDIS_COMPAT_VERSION "7.0.0"

static const char *const sections[] = { "server", "clients", "memory", "stats", "store", "keyspace" };

/* INFO seq:<name> names a sequence whatever its name. */
#define SEQ_PREFIX "seq:"
#define SEQ_PREFIX_LEN 4

/* The words for every section, as Redis takes them. */
static bool is_every_section(const char *arg, size_t len)
{
    return str_ieq(arg, len, "all") || str_ieq(arg, len, "default") || str_ieq(arg, len, "everything");
}

static bool is_section(const char *arg, size_t len)
{
    if (is_every_section(arg, len))
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
        if (str_ieq(arg, len, sections[i]))
            return true;
    return false;
}

static void info_server(struct buf *b)
{
    struct utsname u;
    uint64_t up = (mono_ms() - server.started_ms) / 1000;

    uname(&u);
    buf_printf(b, "# Server\r\n");
    buf_printf(b, "seqd_version:%s\r\n", PACKAGE_VERSION);
    buf_printf(b, "redis_version:%s\r\n", REDIS_COMPAT_VERSION);
    buf_printf(b, "redis_mode:standalone\r\n");
    buf_printf(b, "os:%s %s %s\r\n", u.sysname, u.release, u.machine);
    buf_printf(b, "arch_bits:%d\r\n", (int)(sizeof(void *) * 8));
    buf_printf(b, "process_id:%ld\r\n", (long)getpid());
    buf_printf(b, "run_id:%s\r\n", server.run_id);
    buf_printf(b, "tcp_port:%d\r\n", server.cfg.port);
    buf_printf(b, "uptime_in_seconds:%" PRIu64 "\r\n", up);
    buf_printf(b, "uptime_in_days:%" PRIu64 "\r\n", up / 86400);
    buf_printf(b, "workers:%d\r\n", server.nworkers);
    buf_printf(b, "config_file:%s\r\n", server.cfg.config_file);
    buf_printf(b, "id_step:%" PRIu64 "\r\n", server.cfg.id_step);
    buf_printf(b, "id_offset:%" PRIu64 "\r\n", server.cfg.id_offset);
    buf_printf(b, "\r\n");
}

static void info_clients(struct buf *b)
{
    buf_printf(b, "# Clients\r\n");
    buf_printf(b, "connected_clients:%d\r\n", workers_clients());
    buf_printf(b, "maxclients:%d\r\n", server.cfg.maxclients);
    buf_printf(b, "\r\n");
}

static void info_memory(struct buf *b)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");   /* procfs: no disk behind it */
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    uint64_t rss = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
    buf_printf(b, "# Memory\r\n");
    buf_printf(b, "used_memory:%" PRIu64 "\r\n", rss);
    buf_printf(b, "used_memory_rss:%" PRIu64 "\r\n", rss);
    buf_printf(b, "used_memory_human:%.2fM\r\n", (double)rss / (1024.0 * 1024.0));
    buf_printf(b, "\r\n");
}

static void info_stats(struct buf *b)
{
    struct stats st;
    core_stats(&st);
    buf_printf(b, "# Stats\r\n");
    stats_render(&st, b);
    buf_printf(b, "\r\n");
}

static void info_store(struct buf *b)
{
    struct core_store_stats st;
    core_store_stats(&st);
    buf_printf(b, "# Store\r\n");
    buf_printf(b, "store_type:%s\r\n", st.type);
    buf_printf(b, "store_pending_jobs:%d\r\n", st.pending_jobs);
    buf_printf(b, "store_rescans:%" PRIu64 "\r\n", st.rescans);
    buf_printf(b, "store_rescans_full:%" PRIu64 "\r\n", st.full_rescans);
    buf_printf(b, "store_rescans_counted:%" PRIu64 "\r\n", st.counted_rescans);
    buf_printf(b, "store_loading:%d\r\n", st.loading ? 1 : 0);
    buf_printf(b, "store_claim_batches:%" PRIu64 "\r\n", st.claim_batches);
    buf_printf(b, "store_claims_batched:%" PRIu64 "\r\n", st.claims_batched);
    if (st.shared) {
        /* The database's side (store_mysql): conflicts run again, claims
         * refused below this node's marks, failovers fenced. */
        buf_printf(b, "store_server:%s\r\n", st.server);
        buf_printf(b, "store_failover_fence:%s\r\n", st.fence_on ? "on" : "off");
        buf_printf(b, "store_fences:%" PRIu64 "\r\n", st.fences);
        buf_printf(b, "store_conflicts_retried:%" PRIu64 "\r\n", st.conflicts);
        buf_printf(b, "store_claims_refused:%" PRIu64 "\r\n", st.refused_claims);
    }
    buf_printf(b, "sequences:%zu\r\n", core_sequence_count());
    buf_printf(b, "\r\n");
}

static void info_keyspace(struct buf *b)
{
    buf_printf(b, "# Keyspace\r\n");
    size_t n = core_sequence_count();
    if (n > 0)
        buf_printf(b, "db0:keys=%zu,expires=0,avg_ttl=0\r\n", n);
    buf_printf(b, "\r\n");
}

typedef void section_fn(struct buf *b);
static section_fn *const section_fns[] = { info_server, info_clients, info_memory,
                                           info_stats, info_store, info_keyspace };

static void info_sections(struct conn *c, struct resp_request *req)
{
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
        bool want = req->argc == 1;
        for (int a = 1; a < req->argc && !want; a++)
            want = str_ieq(req->argv[a], req->argl[a], sections[i]) ||
                   is_every_section(req->argv[a], req->argl[a]);
        if (want)
            section_fns[i](&b);
    }
    /* Redis ends the text without the last blank line. */
    if (b.len >= 2 && memcmp(b.data + b.len - 2, "\r\n", 2) == 0)
        b.len -= 2;
    resp_add_verbatim(&c->out, buf_head(&b), buf_used(&b), c->proto);
    buf_free(&b);
}

static void segment_line(struct buf *b, const char *key, const struct segment *sg, bool present)
{
    if (!present)
        buf_printf(b, "%s:none\r\n", key);
    else
        buf_printf(b, "%s:[%" PRIu64 ",%" PRIu64 ") next %" PRIu64 " left %" PRIu64 "\r\n", key,
                   sg->start, sg->end, sg->pos, segment_left(sg));
}

/* Type 5's lines of INFO <name>: the ids' layout and the clock. */
static void info_snowflake(const struct seq_info *in, struct buf *b)
{
    struct lease_info li;
    char t[40];

    core_snowflake_lease(&li);
    snowflake_format_time((uint64_t)in->def.epoch_ms, t, sizeof(t));
    buf_printf(b, "epoch:%" PRId64 "\r\n", in->def.epoch_ms);
    buf_printf(b, "epoch_time:%s\r\n", t);
    buf_printf(b, "worker_id:%d\r\n", li.worker);
    buf_printf(b, "worker_lease:%s\r\n", !li.shared ? "config" : li.usable ? "held" : "none");
    buf_printf(b, "worker_lease_generation:%" PRIu64 "\r\n", li.generation);
    buf_printf(b, "worker_lease_error:%s\r\n", li.why);
    buf_printf(b, "reserved_until_ms:%" PRIu64 "\r\n", li.reserved_ms);
    buf_printf(b, "floor_ms:%" PRIu64 "\r\n", li.floor_ms);
    buf_printf(b, "last_ms:%" PRIu64 "\r\n", in->has_current ? in->sf.gen.last_ms : 0);
    buf_printf(b, "clock_behind:%d\r\n", in->sf.behind ? 1 : 0);
    buf_printf(b, "clock_backwards:%" PRIu64 "\r\n", in->sf.backwards);
    buf_printf(b, "clock_last_jump_ms:%" PRIu64 "\r\n", in->sf.last_jump_ms);
}

/* Type 4's lines: its pattern and zone, the period this node serves (its
 * start, its end, the last counter of it handed out here). */
static void info_dated(const struct seq_info *in, struct buf *b)
{
    buf_printf(b, "prefix:%s\r\n", in->def.prefix);
    buf_printf(b, "tz:%s\r\n", in->def.tz);
    buf_printf(b, "period_unit:%s\r\n", dated_unit_name(seqdef_dated_unit(&in->def)));
    if (in->period == 0) {
        buf_printf(b, "period:none\r\nperiod_ends:none\r\nperiod_key:0\r\n");
    } else {
        buf_printf(b, "period:%s\r\n", in->period_start);
        buf_printf(b, "period_ends:%s\r\n", in->period_end);
        buf_printf(b, "period_key:%" PRId64 "\r\n", in->period);
    }
    if (in->has_period_counter)
        buf_printf(b, "period_counter:%" PRIu64 "\r\n", in->period_counter);
    else
        buf_printf(b, "period_counter:none\r\n");
    buf_printf(b, "periods:%" PRIu64 "\r\n", in->periods);
}

/* INFO <name>, as "key:value\r\n" lines. */
static void info_sequence(const struct seq_info *info, struct buf *b)
{
    const struct seq_info *in = info;
    uint64_t total = in->generated + in->wasted;
    double rate = total ? 100.0 * (double)in->wasted / (double)total : 0.0;

    buf_printf(b, "# Sequence\r\n");
    buf_printf(b, "name:%s\r\n", in->def.name);
    buf_printf(b, "type:%d\r\n", in->def.kind);
    buf_printf(b, "kind:%s\r\n", seqdef_kind_name(in->def.kind));
    buf_printf(b, "length:%d\r\n", in->def.length);
    buf_printf(b, "starting:%" PRId64 "\r\n", in->def.starting);
    buf_printf(b, "step:%" PRId64 "\r\n", in->def.increment);
    buf_printf(b, "segment:%" PRIu64 "\r\n", in->def.segment);
    /* Segment ranges are store counters; numbers come from counter * id_step + id_offset. */
    buf_printf(b, "id_step:%" PRIu64 "\r\n", server.cfg.id_step);
    buf_printf(b, "id_offset:%" PRIu64 "\r\n", server.cfg.id_offset);
    buf_printf(b, "auto_disk:%s\r\n", seqdef_auto_disk_name(in->def.auto_disk));
    buf_printf(b, "description:%s\r\n", in->def.description);
    if (in->has_current && in->def.kind == SEQ_DATED)
        buf_printf(b, "current:%s\r\n", in->current_text);
    else if (in->has_current)
        buf_printf(b, "current:%" PRId64 "\r\n", in->current);
    else
        buf_printf(b, "current:none\r\n");
    if (in->def.kind == SEQ_DATED)
        info_dated(in, b);
    bool has_cur = in->sb.cur.end > in->sb.cur.start;
    segment_line(b, "segment_current", &in->sb.cur, has_cur);
    struct segment next = segbuf_next(&in->sb);
    segment_line(b, "segment_next", &next, segbuf_has_next(&in->sb));
    buf_printf(b, "last_claim_size:%" PRIu64 "\r\n", in->last_claim_size);
    buf_printf(b, "claims:%" PRIu64 "\r\n", in->claims);
    buf_printf(b, "claim_in_flight:%d\r\n", in->claim_in_flight ? 1 : 0);
    buf_printf(b, "last_error:%s\r\n", in->last_error);
    buf_printf(b, "generated:%" PRIu64 "\r\n", in->generated);
    buf_printf(b, "wasted:%" PRIu64 "\r\n", in->wasted);
    buf_printf(b, "refused_claims:%" PRIu64 "\r\n", in->refused_claims);
    buf_printf(b, "given_back:%" PRIu64 "\r\n", in->given_back);
    buf_printf(b, "waste_rate:%.2f%%\r\n", rate);
    if (in->def.kind == SEQ_SNOWFLAKE)
        info_snowflake(in, b);
}

static void reply_sequence(struct conn *c)
{
    if (c->wt.status != CORE_OK) {
        cmd_reply_core_error(c);
        return;
    }
    struct buf b;
    buf_init(&b);
    info_sequence(c->wt.info, &b);
    resp_add_verbatim(&c->out, buf_head(&b), buf_used(&b), c->proto);
    buf_free(&b);
}

enum cmd_result cmd_info(struct conn *c, struct resp_request *req)
{
    /* INFO seq:<name> (any name, also one spelled like a section) or INFO
     * <name> (a name that is not a section's): one sequence, looked up in
     * a shared store if this node has not met it yet. */
    if (req->argc == 2 && req->argl[1] > SEQ_PREFIX_LEN &&
        str_ieq(req->argv[1], SEQ_PREFIX_LEN, SEQ_PREFIX))
        return cmd_answer(c, core_describe(&c->wt, req->argv[1] + SEQ_PREFIX_LEN, req->argl[1] - SEQ_PREFIX_LEN),
                          reply_sequence);
    if (req->argc == 2 && !is_section(req->argv[1], req->argl[1]))
        return cmd_answer(c, core_describe(&c->wt, req->argv[1], req->argl[1]), reply_sequence);
    info_sections(c, req);
    return CMD_DONE;
}
