/* srv_metrics: the server's counters, gauges and histograms, rendered as Prometheus text
 * (format 0.0.4). moshi-server's metric names are kept (asr_connect, asr_open_channels,
 * asr_model_step_duration, asr_connection_num_steps); kstt adds its own under kstt_*.
 * Thread-safe (one mutex). */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stddef.h>

typedef enum {
    SRV_REJECT_AUTH = 0,
    SRV_REJECT_CAPACITY,
    SRV_REJECT_MALFORMED,
    SRV_REJECT_TOO_LARGE,
    SRV_REJECT_TIMEOUT,
    SRV_REJECT_SHUTDOWN,
    SRV_REJECT_BAD_REQUEST,
    SRV_REJECT_COUNT
} srv_reject_reason;

typedef struct srv_metrics srv_metrics;

srv_metrics *srv_metrics_new(void);
void srv_metrics_free(srv_metrics *m);

void srv_metrics_connect(srv_metrics *m); /* a stream took a slot */
void srv_metrics_open_channels(srv_metrics *m, long n);
void srv_metrics_reject(srv_metrics *m, srv_reject_reason r);
void srv_metrics_step(srv_metrics *m, double seconds, size_t batch, size_t steps);
void srv_metrics_audio(srv_metrics *m, size_t samples); /* samples received (24 kHz) */
void srv_metrics_words(srv_metrics *m, size_t n);
void srv_metrics_connection_done(srv_metrics *m, long steps);
void srv_metrics_backlog(srv_metrics *m, double max_seconds);

/* Renders the text into a malloc'd buffer (*len bytes, NUL-terminated); NULL when out of
 * memory. */
char *srv_metrics_render(srv_metrics *m, size_t *len);

#endif
