/* srv_engine: the inference loop (one thread per model) and the stream queues it shares with
 * the I/O thread. See srv_engine.h. */
#include "srv_engine.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_json.h"
#include "srv_util.h"

#define FRAME 1920
#define MAX_MARKERS 65536
#define PERIOD (FRAME / 24000.0) /* seconds of audio in a frame: a live client's cadence */

typedef struct {
    int64_t id;
    uint64_t due; /* frames_done at which it is sent */
} marker;

struct srv_stream {
    srv_engine *e;
    srv_stream_kind kind;
    kstt_stream *ks;
    struct srv_stream *next; /* engine list */

    /* shared, under e->mu */
    float *buf;
    size_t head, len, cap; /* backlog = buf[head .. head + len) */
    uint64_t samples_in;   /* since the last reset */
    uint64_t frames_done;  /* frames stepped since the last reset */
    marker *mk;
    size_t mk_head, mk_len, mk_cap;
    srv_out_msg *out_head, *out_tail;
    size_t out_bytes;
    int io_closed, reset_pending, input_ended, done, paused, resume, failed;
    int in_step;    /* taken into the step now running: its events are not published yet */
    double t_frame; /* when the latest full frame of input became complete (0: none yet) */

    /* engine thread only */
    srv_out_msg *pend_head, *pend_tail;
    uint64_t step_buffered;
    long steps_total;
    size_t words;
    app_sbuf json; /* POST: the result array */
    int json_n;
};

struct srv_engine {
    kstt_model *model;
    kstt_batch *batch;
    srv_engine_config cfg;
    kstt_model_info info;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int thread_started, stop;
    double step_ema;     /* recent step durations, seconds (engine thread) */
    double gather_start; /* when the loop began waiting for more streams (0: not waiting) */
    srv_stream *streams;
    size_t used;
    /* engine-thread scratch */
    kstt_stream **batch_ks;
    srv_stream **batch_s;
    float *frames;
    const float **pcm;
    size_t *n;
};

/* ---- output helpers ------------------------------------------------------------------- */

static void pend_push(srv_stream *s, srv_out_msg *m) {
    m->next = NULL;
    if (s->pend_tail)
        s->pend_tail->next = m;
    else
        s->pend_head = m;
    s->pend_tail = m;
}

static void out_push_locked(srv_stream *s, srv_out_msg *m) {
    m->next = NULL;
    if (s->out_tail)
        s->out_tail->next = m;
    else
        s->out_head = m;
    s->out_tail = m;
    s->out_bytes += m->len + 64;
}

static void free_list(srv_out_msg *m) {
    while (m) {
        srv_out_msg *nx = m->next;
        srv_out_msg_free(m);
        m = nx;
    }
}

/* POST result: the moshi-compatible JSON array of Word/EndWord objects, built as events come.
 * The server dies on OOM (srv_util.h), so a failed append ends the process here too. */
static void json_append(srv_stream *s, const char *txt) {
    app_sbuf_puts(&s->json, txt);
    if (s->json.oom)
        srv_die_oom();
}

static void json_number(srv_stream *s, double v) {
    char b[40];
    snprintf(b, sizeof b, "%.15g", v);
    if (strtod(b, NULL) != v)
        snprintf(b, sizeof b, "%.17g", v);
    json_append(s, b);
}

static void on_event(void *user, const kstt_event *ev) {
    srv_stream *s = user;
    size_t pre = s->e->cfg.out_pre;
    if (s->kind == SRV_STREAM_POST) {
        if (ev->type == KSTT_EVENT_WORD) {
            json_append(s, s->json_n++ ? "," : "");
            json_append(s, "{\"type\":\"Word\",\"text\":");
            app_sbuf_json_string(&s->json, ev->text ? ev->text : "");
            json_append(s, ",\"start_time\":");
            json_number(s, ev->start);
            json_append(s, "}");
            s->words++;
        } else if (ev->type == KSTT_EVENT_END_WORD) {
            json_append(s, s->json_n++ ? "," : "");
            json_append(s, "{\"type\":\"EndWord\",\"stop_time\":");
            json_number(s, ev->stop);
            json_append(s, "}");
        }
        return;
    }
    switch (ev->type) {
    case KSTT_EVENT_STEP:
        pend_push(s, srv_msg_step(pre, (uint64_t)ev->step, ev->prs, 4, s->step_buffered));
        break;
    case KSTT_EVENT_WORD:
        pend_push(s, srv_msg_word(pre, ev->text ? ev->text : "", ev->start));
        s->words++;
        break;
    case KSTT_EVENT_END_WORD:
        pend_push(s, srv_msg_end_word(pre, ev->stop));
        break;
    }
}

/* ---- streams (I/O side) --------------------------------------------------------------- */

srv_stream *srv_stream_open(srv_engine *e, srv_stream_kind kind, char *err, size_t errlen) {
    pthread_mutex_lock(&e->mu);
    if (e->used >= e->cfg.max_streams || e->stop) {
        pthread_mutex_unlock(&e->mu);
        snprintf(err, errlen, "no free channels");
        return NULL;
    }
    e->used++;
    pthread_mutex_unlock(&e->mu);

    srv_stream *s = srv_xcalloc(1, sizeof *s);
    s->e = e;
    s->kind = kind;
    kstt_stream_params sp = kstt_stream_params_default();
    sp.pad = kind == SRV_STREAM_POST; /* POST: as `kstt transcribe`; WS: raw, as moshi */
    sp.step_events = kind == SRV_STREAM_WS;
    sp.on_event = on_event;
    sp.user = s;
    int rc = kstt_stream_new(&s->ks, e->model, &sp);
    if (rc) {
        snprintf(err, errlen, "stream: %s", kstt_strerror(rc));
        free(s);
        pthread_mutex_lock(&e->mu);
        e->used--;
        pthread_mutex_unlock(&e->mu);
        return NULL;
    }
    if (kind == SRV_STREAM_POST)
        json_append(s, "[");
    pthread_mutex_lock(&e->mu);
    s->next = e->streams;
    e->streams = s;
    if (e->cfg.metrics) {
        srv_metrics_connect(e->cfg.metrics);
        srv_metrics_open_channels(e->cfg.metrics, (long)e->used);
    }
    pthread_mutex_unlock(&e->mu);
    return s;
}

size_t srv_stream_push_audio(srv_stream *s, const float *pcm, size_t n) {
    srv_engine *e = s->e;
    pthread_mutex_lock(&e->mu);
    if (s->head + s->len + n > s->cap) {
        if (s->head) {
            memmove(s->buf, s->buf + s->head, s->len * sizeof(float));
            s->head = 0;
        }
        if (s->len + n > s->cap) {
            s->cap = (s->len + n) + (s->len + n) / 2 + FRAME;
            s->buf = srv_xrealloc(s->buf, s->cap * sizeof(float));
        }
    }
    if (n)
        memcpy(s->buf + s->head + s->len, pcm, n * sizeof(float));
    s->len += n;
    s->samples_in += n;
    if (n && (s->samples_in - n) / FRAME != s->samples_in / FRAME)
        s->t_frame = app_now();
    size_t backlog = s->len;
    if (backlog >= FRAME)
        pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    if (e->cfg.metrics)
        srv_metrics_audio(e->cfg.metrics, n);
    return backlog;
}

int srv_stream_push_marker(srv_stream *s, int64_t id) {
    srv_engine *e = s->e;
    int rc = 0;
    pthread_mutex_lock(&e->mu);
    if (s->mk_len >= MAX_MARKERS) {
        rc = -1;
    } else {
        if (s->mk_len == s->mk_cap) {
            size_t nc = s->mk_cap ? s->mk_cap * 2 : 16;
            marker *nm = srv_xmalloc(nc * sizeof *nm);
            for (size_t i = 0; i < s->mk_len; i++)
                nm[i] = s->mk[(s->mk_head + i) % s->mk_cap];
            free(s->mk);
            s->mk = nm;
            s->mk_cap = nc;
            s->mk_head = 0;
        }
        uint64_t frames_before = (s->samples_in + FRAME - 1) / FRAME;
        marker m = {id, frames_before + (uint64_t)e->info.asr_delay_in_tokens};
        s->mk[(s->mk_head + s->mk_len) % s->mk_cap] = m;
        s->mk_len++;
        /* due already (e.g. D == 0 and everything processed): the engine sends it next turn */
        pthread_cond_signal(&e->cv);
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void srv_stream_reset(srv_stream *s) {
    srv_engine *e = s->e;
    pthread_mutex_lock(&e->mu);
    s->head = s->len = 0;
    s->samples_in = 0;
    s->frames_done = 0;
    s->mk_len = s->mk_head = 0;
    s->reset_pending = 1;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void srv_stream_end_input(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    s->input_ended = 1;
    pthread_cond_signal(&s->e->cv);
    pthread_mutex_unlock(&s->e->mu);
}

int srv_stream_done(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    int d = !s->done ? 0 : s->failed ? -1 : 1;
    pthread_mutex_unlock(&s->e->mu);
    return d;
}

const char *srv_stream_json(srv_stream *s, size_t *len) {
    *len = s->json.len;
    return s->json.s;
}

srv_out_msg *srv_stream_pop(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    srv_out_msg *m = s->out_head;
    if (m) {
        s->out_head = m->next;
        if (!s->out_head)
            s->out_tail = NULL;
        s->out_bytes -= m->len + 64;
        m->next = NULL;
    }
    pthread_mutex_unlock(&s->e->mu);
    return m;
}

int srv_stream_has_output(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    int r = s->out_head != NULL;
    pthread_mutex_unlock(&s->e->mu);
    return r;
}

int srv_stream_take_resume(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    int r = s->resume;
    s->resume = 0;
    if (r)
        s->paused = 0;
    pthread_mutex_unlock(&s->e->mu);
    return r;
}

void srv_stream_set_paused(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    s->paused = 1;
    s->resume = 0;
    pthread_mutex_unlock(&s->e->mu);
}

size_t srv_stream_backlog(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    size_t b = s->len;
    pthread_mutex_unlock(&s->e->mu);
    return b;
}

int srv_stream_idle(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    int r = s->len < FRAME && !s->in_step && !s->out_head;
    pthread_mutex_unlock(&s->e->mu);
    return r;
}

int srv_stream_busy(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    int r = s->len >= FRAME || s->in_step;
    pthread_mutex_unlock(&s->e->mu);
    return r;
}

size_t srv_stream_out_bytes(srv_stream *s) {
    pthread_mutex_lock(&s->e->mu);
    size_t b = s->out_bytes;
    pthread_mutex_unlock(&s->e->mu);
    return b;
}

void srv_stream_close(srv_stream *s) {
    srv_engine *e = s->e;
    pthread_mutex_lock(&e->mu);
    s->io_closed = 1;
    s->len = s->head = 0;
    e->used--;
    if (e->cfg.metrics)
        srv_metrics_open_channels(e->cfg.metrics, (long)e->used);
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void stream_free(srv_stream *s) {
    kstt_stream_free(s->ks);
    free_list(s->out_head);
    free_list(s->pend_head);
    free(s->buf);
    free(s->mk);
    app_sbuf_free(&s->json);
    free(s);
}

/* ---- the loop --------------------------------------------------------------------------- */

/* Under e->mu: unlink and free streams the I/O side has let go of. */
static void reap_locked(srv_engine *e) {
    srv_stream **pp = &e->streams;
    while (*pp) {
        srv_stream *s = *pp;
        if (s->io_closed) {
            *pp = s->next;
            if (e->cfg.metrics)
                srv_metrics_connection_done(e->cfg.metrics, s->steps_total);
            stream_free(s);
        } else {
            pp = &s->next;
        }
    }
}

/* Under e->mu: move a stream's pending events to its output queue, then the due markers. */
static void publish_locked(srv_engine *e, srv_stream *s) {
    if (s->reset_pending || s->io_closed) {
        free_list(s->pend_head);
    } else {
        srv_out_msg *m = s->pend_head;
        while (m) {
            srv_out_msg *nx = m->next;
            out_push_locked(s, m);
            m = nx;
        }
    }
    s->pend_head = s->pend_tail = NULL;
    while (s->mk_len && s->mk[s->mk_head].due <= s->frames_done && !s->reset_pending) {
        out_push_locked(s, srv_msg_marker(e->cfg.out_pre, s->mk[s->mk_head].id));
        s->mk_head = (s->mk_head + 1) % s->mk_cap;
        s->mk_len--;
    }
    if (s->paused && s->len < e->cfg.backlog_samples / 2)
        s->resume = 1;
}

static void fail_stream_locked(srv_engine *e, srv_stream *s, const char *msg) {
    s->failed = 1;
    out_push_locked(s, srv_msg_error(e->cfg.out_pre, msg));
    out_push_locked(s, srv_msg_close(1011));
    s->len = s->head = 0;
    if (s->kind == SRV_STREAM_POST)
        s->done = 1;
}

/* POST at end of input: feed the last partial frame, flush (pad mode: trailing silence and
 * the last word), close the JSON array. Runs on the engine thread, outside the lock. */
static void finish_post(srv_engine *e, srv_stream *s, const float *rest, size_t n) {
    int rc = n ? kstt_stream_feed(s->ks, rest, n) : 0;
    if (rc >= 0)
        rc = kstt_stream_flush(s->ks);
    pthread_mutex_lock(&e->mu);
    if (rc < 0) {
        srv_log(0, "POST stream failed: %s", kstt_stream_errmsg(s->ks));
        s->failed = 1;
    }
    json_append(s, "]");
    s->done = 1;
    pthread_mutex_unlock(&e->mu);
    if (e->cfg.metrics)
        srv_metrics_words(e->cfg.metrics, s->words);
    s->words = 0;
}

/* Gathering. One step reads all the weights whatever the batch (the 1B model: ~1 GB), so two
 * half-full steps in a frame period cost nearly twice one full step. Live clients send their
 * frames at staggered times: stepping whoever is ready the moment the loop is free then splits
 * them into several small steps per period, and once a step takes more than half a period the
 * loop falls behind although one step of everybody would keep up. So (always with
 * --batch-wait-ms N, in auto mode only while recent steps take more than half a period) the
 * loop waits for the live streams whose next frame is due shortly: a stream that completed a
 * frame within the last two periods is expected one period later, and is waited for until a
 * quarter period past that; never longer than the cap after the first ready frame. Returns the
 * time to wait until, or 0 to step now. */
static double gather_until_locked(srv_engine *e, size_t ready, double now) {
    const double cap = e->cfg.batch_wait >= 0 ? e->cfg.batch_wait : PERIOD;
    if (cap <= 0 || ready == 0 || ready >= e->cfg.max_streams ||
        (e->cfg.batch_wait < 0 && 2 * e->step_ema <= PERIOD))
        return 0;
    if (e->gather_start <= 0)
        e->gather_start = now;
    double until = 0;
    for (srv_stream *s = e->streams; s; s = s->next) {
        if (s->failed || s->done || s->io_closed || s->kind != SRV_STREAM_WS || s->len >= FRAME ||
            s->t_frame <= 0 || now - s->t_frame > 2 * PERIOD)
            continue;
        const double late = s->t_frame + PERIOD * 1.25;
        if (late > now && late > until)
            until = late;
    }
    if (until <= 0)
        return 0;
    return until < e->gather_start + cap ? until : e->gather_start + cap;
}

static void *engine_main(void *arg) {
    srv_engine *e = arg;
    size_t maxs = e->cfg.max_streams;
    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        reap_locked(e);
        {
            size_t ready = 0;
            for (srv_stream *s = e->streams; s; s = s->next)
                ready += !s->failed && !s->done && s->len >= FRAME;
            const double now = app_now(), until = gather_until_locked(e, ready, now);
            if (until > now) {
                const double t = until;
                struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
                pthread_cond_timedwait(&e->cv, &e->mu, &ts);
                continue;
            }
            e->gather_start = 0;
        }
        size_t count = 0;
        srv_stream *post = NULL;
        double backlog_max = 0;
        int any_marker_due = 0;
        for (srv_stream *s = e->streams; s; s = s->next) {
            if (s->failed || s->done)
                continue;
            if (s->reset_pending) {
                kstt_stream_reset(s->ks);
                s->reset_pending = 0;
            }
            if (s->mk_len && s->mk[s->mk_head].due <= s->frames_done)
                any_marker_due = 1;
            if (s->len >= FRAME && count < maxs) {
                memcpy(e->frames + count * FRAME, s->buf + s->head, FRAME * sizeof(float));
                s->head += FRAME;
                s->len -= FRAME;
                s->step_buffered = s->len;
                if ((double)s->len / 24000.0 > backlog_max)
                    backlog_max = (double)s->len / 24000.0;
                s->in_step = 1;
                e->batch_s[count] = s;
                e->batch_ks[count] = s->ks;
                e->pcm[count] = e->frames + count * FRAME;
                e->n[count] = FRAME;
                count++;
            } else if (s->kind == SRV_STREAM_POST && s->input_ended && s->len < FRAME && !post) {
                post = s;
            }
        }
        if (any_marker_due && !count) {
            for (srv_stream *s = e->streams; s; s = s->next)
                publish_locked(e, s);
            pthread_mutex_unlock(&e->mu);
            e->cfg.wake(e->cfg.wake_user);
            pthread_mutex_lock(&e->mu);
            continue;
        }
        if (!count && !post) {
            pthread_cond_wait(&e->cv, &e->mu);
            continue;
        }
        float rest[FRAME];
        size_t nrest = 0;
        if (post && !count) {
            nrest = post->len;
            memcpy(rest, post->buf + post->head, nrest * sizeof(float));
            post->len = post->head = 0;
        } else {
            post = NULL; /* flush once no full frame of any stream waits */
        }
        pthread_mutex_unlock(&e->mu);

        if (post) {
            finish_post(e, post, rest, nrest);
            e->cfg.wake(e->cfg.wake_user);
            pthread_mutex_lock(&e->mu);
            continue;
        }
        double t0 = app_now();
        srv_log(3, "step %zu", count);
        /* the one place that steps streams together: one batched call (kstt_batch: scratch
         * preallocated for max_streams, nothing allocated per step) */
        int rc = kstt_batch_feed(e->batch, e->batch_ks, e->pcm, e->n, count);
        double dt = app_now() - t0;
        e->step_ema = e->step_ema > 0 ? 0.75 * e->step_ema + 0.25 * dt : dt;
        size_t words = 0;
        pthread_mutex_lock(&e->mu);
        for (size_t i = 0; i < count; i++) {
            srv_stream *s = e->batch_s[i];
            s->in_step = 0;
            if (rc < 0) {
                free_list(s->pend_head);
                s->pend_head = s->pend_tail = NULL;
                fail_stream_locked(e, s, "internal error: model step failed");
                continue;
            }
            if (!s->reset_pending)
                s->frames_done++;
            s->steps_total++;
            words += s->words;
            s->words = 0;
            if (s->kind == SRV_STREAM_WS)
                publish_locked(e, s);
        }
        if (rc < 0)
            srv_log(0, "model step failed: %s", kstt_batch_errmsg(e->batch));
        pthread_mutex_unlock(&e->mu);
        if (e->cfg.metrics) {
            srv_metrics_step(e->cfg.metrics, dt, count, rc > 0 ? (size_t)rc : 1);
            srv_metrics_words(e->cfg.metrics, words);
            srv_metrics_backlog(e->cfg.metrics, backlog_max);
        }
        e->cfg.wake(e->cfg.wake_user);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* ---- engine ----------------------------------------------------------------------------- */

int srv_engine_new(srv_engine **out, kstt_model *model, const srv_engine_config *cfg, char *err,
                   size_t errlen) {
    srv_engine *e = srv_xcalloc(1, sizeof *e);
    e->model = model;
    e->cfg = *cfg;
    if (!e->cfg.max_streams)
        e->cfg.max_streams = 1;
    kstt_model_get_info(model, &e->info);
    size_t m = e->cfg.max_streams;
    e->batch_ks = srv_xcalloc(m, sizeof *e->batch_ks);
    e->batch_s = srv_xcalloc(m, sizeof *e->batch_s);
    e->frames = srv_xcalloc(m * FRAME, sizeof(float));
    e->pcm = srv_xcalloc(m, sizeof *e->pcm);
    e->n = srv_xcalloc(m, sizeof *e->n);
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_t ca; /* timed waits (gathering) on app_now's monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (kstt_batch_new(&e->batch, model, m, err, errlen)) {
        srv_engine_free(e);
        return -1;
    }
    if (pthread_create(&e->thread, NULL, engine_main, e)) {
        snprintf(err, errlen, "cannot start the inference thread");
        srv_engine_free(e);
        return -1;
    }
    e->thread_started = 1;
    *out = e;
    return 0;
}

void srv_engine_free(srv_engine *e) {
    if (!e)
        return;
    if (e->thread_started) {
        pthread_mutex_lock(&e->mu);
        e->stop = 1;
        pthread_cond_signal(&e->cv);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->thread, NULL);
    }
    while (e->streams) {
        srv_stream *s = e->streams;
        e->streams = s->next;
        stream_free(s);
    }
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    kstt_batch_free(e->batch);
    free(e->batch_ks);
    free(e->batch_s);
    free(e->frames);
    free(e->pcm);
    free(e->n);
    free(e);
}

size_t srv_engine_used(srv_engine *e) {
    pthread_mutex_lock(&e->mu);
    size_t u = e->used;
    pthread_mutex_unlock(&e->mu);
    return u;
}

size_t srv_engine_total(const srv_engine *e) {
    return e->cfg.max_streams;
}
int srv_engine_delay(const srv_engine *e) {
    return e->info.asr_delay_in_tokens;
}
