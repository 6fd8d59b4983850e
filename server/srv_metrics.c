/* srv_metrics: counters and histograms behind one mutex, rendered as Prometheus text. */
#include "srv_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_json.h"
#include "srv_util.h"

#define MAX_BUCKETS 16

typedef struct {
    int n;
    double le[MAX_BUCKETS];
    unsigned long count[MAX_BUCKETS]; /* per bucket (not cumulative) */
    unsigned long total;
    double sum;
} histo;

static void histo_init(histo *h, const double *le, int n) {
    memset(h, 0, sizeof *h);
    h->n = n;
    memcpy(h->le, le, (size_t)n * sizeof *le);
}

static void histo_add(histo *h, double v) {
    for (int i = 0; i < h->n; i++)
        if (v <= h->le[i]) {
            h->count[i]++;
            break;
        }
    h->total++;
    h->sum += v;
}

static const char *const reason_names[SRV_REJECT_COUNT] = {
    "auth", "capacity", "malformed", "too_large", "timeout", "shutdown", "bad_request"};

struct srv_metrics {
    pthread_mutex_t mu;
    unsigned long connect;
    long open_channels;
    unsigned long rejected[SRV_REJECT_COUNT];
    unsigned long steps;        /* batched model steps */
    unsigned long stream_steps; /* stream frames processed */
    double audio_seconds;
    unsigned long words;
    double backlog_max;
    histo step_duration, conn_steps, batch_size;
};

srv_metrics *srv_metrics_new(void) {
    srv_metrics *m = srv_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    /* moshi's buckets 0.02..0.08 plus a few around them (kstt steps are often faster) */
    static const double dur[] = {0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06,
                                 0.07,  0.08, 0.1,  0.25, 0.5,  1.0};
    static const double cs[] = {2, 25, 125, 250, 500, 750, 1125, 1500, 2250, 3000, 4500};
    static const double bs[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    histo_init(&m->step_duration, dur, (int)(sizeof dur / sizeof *dur));
    histo_init(&m->conn_steps, cs, (int)(sizeof cs / sizeof *cs));
    histo_init(&m->batch_size, bs, (int)(sizeof bs / sizeof *bs));
    return m;
}

void srv_metrics_free(srv_metrics *m) {
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

#define LOCKED(stmt)                                                                               \
    do {                                                                                           \
        pthread_mutex_lock(&m->mu);                                                                \
        stmt;                                                                                      \
        pthread_mutex_unlock(&m->mu);                                                              \
    } while (0)

void srv_metrics_connect(srv_metrics *m) {
    LOCKED(m->connect++);
}
void srv_metrics_open_channels(srv_metrics *m, long n) {
    LOCKED(m->open_channels = n);
}
void srv_metrics_reject(srv_metrics *m, srv_reject_reason r) {
    LOCKED(m->rejected[r]++);
}
void srv_metrics_audio(srv_metrics *m, size_t samples) {
    LOCKED(m->audio_seconds += (double)samples / 24000.0);
}
void srv_metrics_words(srv_metrics *m, size_t n) {
    LOCKED(m->words += n);
}
void srv_metrics_connection_done(srv_metrics *m, long steps) {
    LOCKED(histo_add(&m->conn_steps, (double)steps));
}
void srv_metrics_backlog(srv_metrics *m, double s) {
    LOCKED(m->backlog_max = s);
}

void srv_metrics_step(srv_metrics *m, double seconds, size_t batch, size_t steps) {
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < steps; i++) {
        histo_add(&m->step_duration, seconds / (double)steps);
        histo_add(&m->batch_size, (double)batch);
    }
    m->steps += steps;
    m->stream_steps += batch * steps;
    pthread_mutex_unlock(&m->mu);
}

static void histo_out(app_sbuf *b, const char *name, const char *help, const histo *h) {
    app_sbuf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    unsigned long cum = 0;
    for (int i = 0; i < h->n; i++) {
        cum += h->count[i];
        app_sbuf_printf(b, "%s_bucket{le=\"%g\"} %lu\n", name, h->le[i], cum);
    }
    app_sbuf_printf(b, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.9g\n%s_count %lu\n", name, h->total,
                    name, h->sum, name, h->total);
}

char *srv_metrics_render(srv_metrics *m, size_t *len) {
    app_sbuf b = {0};
    pthread_mutex_lock(&m->mu);
    app_sbuf_printf(&b,
                    "# HELP asr_connect Streams that took a slot.\n# TYPE asr_connect counter\n"
                    "asr_connect{handler=\"all\"} %lu\n",
                    m->connect);
    app_sbuf_printf(&b,
                    "# HELP asr_open_channels Occupied slots.\n# TYPE asr_open_channels gauge\n"
                    "asr_open_channels{handler=\"all\"} %ld\n",
                    m->open_channels);
    histo_out(&b, "asr_model_step_duration", "Duration of one batched model step in seconds.",
              &m->step_duration);
    histo_out(&b, "asr_connection_num_steps", "Model steps per finished connection.",
              &m->conn_steps);
    app_sbuf_printf(&b,
                    "# HELP kstt_active_streams Streams holding a slot.\n"
                    "# TYPE kstt_active_streams gauge\nkstt_active_streams %ld\n",
                    m->open_channels);
    app_sbuf_printf(&b,
                    "# HELP kstt_rejected_connections_total Connections or requests refused, by "
                    "reason.\n# TYPE kstt_rejected_connections_total counter\n");
    for (int i = 0; i < SRV_REJECT_COUNT; i++)
        app_sbuf_printf(&b, "kstt_rejected_connections_total{reason=\"%s\"} %lu\n", reason_names[i],
                        m->rejected[i]);
    app_sbuf_printf(&b,
                    "# HELP kstt_model_steps_total Batched model steps run.\n"
                    "# TYPE kstt_model_steps_total counter\nkstt_model_steps_total %lu\n",
                    m->steps);
    app_sbuf_printf(&b,
                    "# HELP kstt_stream_frames_total Stream frames (80 ms) processed.\n"
                    "# TYPE kstt_stream_frames_total counter\nkstt_stream_frames_total %lu\n",
                    m->stream_steps);
    app_sbuf_printf(&b,
                    "# HELP kstt_audio_seconds_total Audio received, in seconds at 24 kHz.\n"
                    "# TYPE kstt_audio_seconds_total counter\nkstt_audio_seconds_total %.6f\n",
                    m->audio_seconds);
    app_sbuf_printf(&b,
                    "# HELP kstt_words_total Words sent.\n"
                    "# TYPE kstt_words_total counter\nkstt_words_total %lu\n",
                    m->words);
    app_sbuf_printf(&b,
                    "# HELP kstt_backlog_seconds Largest per-stream backlog at the last step.\n"
                    "# TYPE kstt_backlog_seconds gauge\nkstt_backlog_seconds %.6f\n",
                    m->backlog_max);
    histo_out(&b, "kstt_batch_size", "Streams served by one model step.", &m->batch_size);
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        app_sbuf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.s;
}
