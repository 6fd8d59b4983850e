/* srv_http: the lws protocol callback: HTTP routes, the WebSocket ASR stream, POST whole files.
 * Runs on the lws service thread only; the engine thread talks to it through srv_stream
 * queues and lws_cancel_service (LWS_CALLBACK_EVENT_WAIT_CANCELLED -> srv_service_wake). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_json.h"
#include "kstt.h"
#include "srv_decode.h"
#include "srv_msg.h"
#include "srv_opus.h"
#include "srv_server.h"
#include "srv_util.h"

#define FRAME 1920
#define MAX_SAMPLES_PER_MSG (16u << 20)

enum { K_NONE = 0, K_HTTP, K_POST, K_WS };

/* A POST body being decoded on its own thread (the service thread never blocks on it). */
typedef struct {
    pthread_mutex_t mu;
    unsigned char *body;
    size_t len;
    float *pcm;
    size_t n;
    char err[256];
    size_t max_samples;
    int rc, finished, abandoned;
    srv_server *srv;
} decode_job;

struct srv_session {
    struct lws *wsi;
    srv_server *srv;
    int kind;
    srv_session *next, **pprev; /* live list (WS and POST) */
    /* HTTP answer */
    char *resp;
    size_t resp_len, resp_off;
    int close_after;
    /* POST */
    unsigned char *body;
    size_t body_len, body_cap;
    int body_refused;
    int body_done, resp_done; /* refused body: close once it was read and the answer sent */
    decode_job *job;
    /* WS and POST */
    srv_stream *st;
    /* WS */
    srv_out_msg *early; /* messages before/without a stream: Ready, capacity Error, close */
    unsigned char *rx;
    size_t rx_len, rx_cap;
    int rx_text, rx_skip;
    double last_rx, last_audio, last_tx;
    int ping_due, closing, paused;
    srv_opus *opus;
};

size_t srv_session_size(void) {
    return sizeof(srv_session);
}

static srv_server *server_of(struct lws *wsi) {
    return (srv_server *)lws_context_user(lws_get_context(wsi));
}

static void live_add(srv_server *srv, srv_session *p) {
    p->next = srv->sessions;
    if (p->next)
        p->next->pprev = &p->next;
    p->pprev = &srv->sessions;
    srv->sessions = p;
}

static void live_del(srv_session *p) {
    if (!p->pprev)
        return;
    *p->pprev = p->next;
    if (p->next)
        p->next->pprev = p->pprev;
    p->pprev = NULL;
    p->next = NULL;
}

size_t srv_live_sessions(srv_server *srv) {
    size_t n = 0;
    for (srv_session *p = srv->sessions; p; p = p->next)
        n++;
    return n;
}

/* ---- HTTP answers -------------------------------------------------------------------- */

/* Sends headers now and queues the body for HTTP_WRITEABLE. body is copied. */
static int http_answer(struct lws *wsi, srv_session *p, unsigned status, const char *ctype,
                       const void *body, size_t len) {
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *q = start,
                                       *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)len, &q, end))
        return 1;
    if (!strncmp(ctype, "text/html", 9) || !strncmp(ctype, "application/javascript", 22)) {
        static const char cc[] = "no-cache";
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (const unsigned char *)cc, (int)strlen(cc), &q, end))
            return 1;
    }
    if (lws_finalize_write_http_header(wsi, start, &q, end))
        return 1;
    free(p->resp);
    p->resp = srv_xmalloc(LWS_PRE + len + 1);
    if (len)
        memcpy(p->resp + LWS_PRE, body, len);
    p->resp_len = len;
    p->resp_off = 0;
    p->kind = p->kind == K_NONE ? K_HTTP : p->kind;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_text(struct lws *wsi, srv_session *p, unsigned status, const char *text) {
    return http_answer(wsi, p, status, "text/plain; charset=utf-8", text, strlen(text));
}

static int http_writeable(struct lws *wsi, srv_session *p) {
    if (!p->resp)
        return 0;
    size_t chunk = p->resp_len - p->resp_off;
    if (chunk > 65536)
        chunk = 65536;
    int final = p->resp_off + chunk == p->resp_len;
    /* lws_write wants LWS_PRE writable bytes before the data: shift the window */
    unsigned char *data = (unsigned char *)p->resp + LWS_PRE + p->resp_off;
    unsigned char save[LWS_PRE];
    memcpy(save, data - LWS_PRE, LWS_PRE);
    int w = lws_write(wsi, data, chunk, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
    memcpy(data - LWS_PRE, save, LWS_PRE);
    if (w < (int)chunk)
        return -1;
    p->resp_off += chunk;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(p->resp);
    p->resp = NULL;
    p->resp_done = 1;
    /* a refused POST body is read to its end first, so the client sees the answer, not a
     * reset while it is still sending */
    if (p->body_refused && p->kind == K_POST && !p->body_done)
        return 0;
    if (p->close_after)
        return -1;
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

/* ---- auth ----------------------------------------------------------------------------- */

static int key_ok(const srv_server *srv, const char *key) {
    for (int i = 0; i < srv->cfg.n_keys; i++)
        if (!strcmp(srv->cfg.keys[i], key))
            return 1;
    return 0;
}

/* The header kyutai-api-key wins (even when wrong); else the auth_id query (if allowed). */
static int authorized(struct lws *wsi, srv_server *srv, int allow_query) {
    static const char h[] = "kyutai-api-key:";
    int hl = lws_hdr_custom_length(wsi, h, (int)strlen(h));
    char key[512];
    if (hl >= 0) {
        if (hl >= (int)sizeof key)
            return 0;
        if (lws_hdr_custom_copy(wsi, key, sizeof key, h, (int)strlen(h)) < 0)
            return 0;
        return key_ok(srv, key);
    }
    if (!allow_query)
        return 0;
    char buf[600];
    const char *v = lws_get_urlarg_by_name(wsi, "auth_id=", buf, sizeof buf);
    if (!v)
        return 0;
    return key_ok(srv, v);
}

/* ---- routes --------------------------------------------------------------------------- */

/* Answers a JSON body built in b and releases it (the server dies on OOM: srv_util.h). */
static int json_answer(struct lws *wsi, srv_session *p, app_sbuf *b) {
    if (b->oom)
        srv_die_oom();
    int rc = http_answer(wsi, p, 200, "application/json", b->s, b->len);
    app_sbuf_free(b);
    return rc;
}

static int route_build_info(struct lws *wsi, srv_session *p) {
    app_sbuf b = {0};
    app_sbuf_printf(&b,
                    "{\"build_timestamp\":\"%s %s\",\"build_date\":\"%s\",\"git_branch\":\"\","
                    "\"git_timestamp\":\"\",\"git_date\":\"\",\"git_hash\":\"\","
                    "\"git_describe\":\"kstt-%s\",\"rustc_host_triple\":\"\","
                    "\"rustc_version\":\"\",\"cargo_target_triple\":\"\","
                    "\"kstt_version\":\"%s\",\"system_info\":",
                    __DATE__, __TIME__, __DATE__, kstt_version(), kstt_version());
    app_sbuf_json_string(&b, kstt_system_info());
    app_sbuf_puts(&b, "}");
    return json_answer(wsi, p, &b);
}

static int route_modules_info(struct lws *wsi, srv_session *p, srv_server *srv) {
    app_sbuf b = {0};
    app_sbuf_puts(&b, "[{\"type\":\"batched_asr\",\"path\":");
    app_sbuf_json_string(&b, srv->cfg.path);
    app_sbuf_puts(&b, ",\"lm\":");
    app_sbuf_json_string(&b, srv->cfg.lm_file ? srv->cfg.lm_file : "");
    app_sbuf_puts(&b, ",\"audio_tokenizer\":");
    app_sbuf_json_string(&b, srv->cfg.mimi_file ? srv->cfg.mimi_file : "");
    app_sbuf_printf(&b, ",\"used_slots\":\"%zu\",\"total_slots\":\"%zu\"}]",
                    srv_engine_used(srv->engine), srv_engine_total(srv->engine));
    return json_answer(wsi, p, &b);
}

static int route_metrics(struct lws *wsi, srv_session *p, srv_server *srv) {
    size_t len;
    char *t = srv_metrics_render(srv->metrics, &len);
    if (!t)
        return http_text(wsi, p, 500, "out of memory\n");
    int rc = http_answer(wsi, p, 200, "text/plain; version=0.0.4", t, len);
    free(t);
    return rc;
}

static int route_static(struct lws *wsi, srv_session *p, const char *uri) {
    if (!strcmp(uri, "/"))
        uri = "/index.html";
    for (size_t i = 0; i < srv_web_n_files; i++)
        if (!strcmp(uri + 1, srv_web_files[i].path))
            return http_answer(wsi, p, 200, srv_web_files[i].mime, srv_web_files[i].data,
                               srv_web_files[i].len);
    return http_text(wsi, p, 404, "not found\n");
}

static int on_http(struct lws *wsi, srv_session *p, srv_server *srv, const char *uri) {
    char *u;
    int ul;
    int meth = lws_http_get_uri_and_method(wsi, &u, &ul);
    p->wsi = wsi;
    p->srv = srv;
    if (!strcmp(uri, srv->cfg.path)) {
        if (meth == LWSHUMETH_GET) {
            srv_metrics_reject(srv->metrics, SRV_REJECT_BAD_REQUEST);
            return http_text(wsi, p, 400, "WebSocket upgrade expected\n");
        }
        if (meth != LWSHUMETH_POST) {
            p->close_after = 1;
            return http_text(wsi, p, 405, "method not allowed\n");
        }
        p->kind = K_POST;
        if (!authorized(wsi, srv, 0)) {
            srv_metrics_reject(srv->metrics, SRV_REJECT_AUTH);
            p->close_after = 1;
            p->body_refused = 1;
            return http_answer(wsi, p, 401, "text/plain", "", 0);
        }
        if (srv->draining) {
            srv_metrics_reject(srv->metrics, SRV_REJECT_SHUTDOWN);
            p->close_after = 1;
            p->body_refused = 1;
            return http_text(wsi, p, 503, "shutting down\n");
        }
        char cl[32];
        if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
            strtoull(cl, NULL, 10) > srv->cfg.max_post) {
            srv_metrics_reject(srv->metrics, SRV_REJECT_TOO_LARGE);
            p->close_after = 1;
            p->body_refused = 1;
            return http_text(wsi, p, 413, "audio file too large\n");
        }
        return 0; /* the body follows */
    }
    if (meth != LWSHUMETH_GET && meth != LWSHUMETH_HEAD) {
        p->close_after = 1;
        return http_text(wsi, p, 405, "method not allowed\n");
    }
    if (!strcmp(uri, "/api/build_info"))
        return route_build_info(wsi, p);
    if (!strcmp(uri, "/api/modules_info"))
        return route_modules_info(wsi, p, srv);
    if (!strcmp(uri, "/metrics"))
        return route_metrics(wsi, p, srv);
    if (!strcmp(uri, "/healthz")) {
        if (srv->draining)
            return http_text(wsi, p, 503, "draining\n");
        return http_text(wsi, p, 200, "ok\n");
    }
    return route_static(wsi, p, uri);
}

/* ---- POST ----------------------------------------------------------------------------- */

static void *decode_main(void *arg) {
    decode_job *j = arg;
    j->rc = srv_decode_file(j->body, j->len, j->max_samples, &j->pcm, &j->n, j->err, sizeof j->err);
    free(j->body);
    j->body = NULL;
    pthread_mutex_lock(&j->mu);
    int abandoned = j->abandoned;
    j->finished = 1;
    struct lws_context *ctx = j->srv->ctx;
    pthread_mutex_unlock(&j->mu);
    if (abandoned) {
        free(j->pcm);
        pthread_mutex_destroy(&j->mu);
        free(j);
    } else {
        lws_cancel_service(ctx);
    }
    return NULL;
}

static int post_body_done(struct lws *wsi, srv_session *p, srv_server *srv) {
    if (p->body_refused)
        return 0;
    decode_job *j = srv_xcalloc(1, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
    j->body = p->body;
    j->len = p->body_len;
    j->max_samples = (size_t)(srv->cfg.max_post_seconds * 24000.0);
    j->srv = srv;
    p->body = NULL;
    p->body_len = p->body_cap = 0;
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    p->job = j;
    live_add(srv, p);
    if (pthread_create(&t, &at, decode_main, j)) {
        pthread_attr_destroy(&at);
        p->job = NULL;
        free(j->body);
        pthread_mutex_destroy(&j->mu);
        free(j);
        live_del(p);
        return http_text(wsi, p, 500, "cannot start a decoder thread\n");
    }
    pthread_attr_destroy(&at);
    return 0;
}

/* Service thread: the decode finished (or the stream finished): move the POST along. */
static void post_progress(srv_session *p, srv_server *srv) {
    if (p->job) {
        decode_job *j = p->job;
        pthread_mutex_lock(&j->mu);
        int fin = j->finished;
        pthread_mutex_unlock(&j->mu);
        if (!fin)
            return;
        p->job = NULL;
        if (j->rc) {
            srv_metrics_reject(srv->metrics, SRV_REJECT_BAD_REQUEST);
            char msg[300];
            snprintf(msg, sizeof msg, "%s\n", j->err);
            live_del(p);
            http_text(p->wsi, p, 400, msg);
        } else {
            char err[128];
            p->st = srv_stream_open(srv->engine, SRV_STREAM_POST, err, sizeof err);
            if (!p->st) {
                srv_metrics_reject(srv->metrics, SRV_REJECT_CAPACITY);
                live_del(p);
                http_text(p->wsi, p, 503, "no free channels\n");
            } else {
                srv_stream_push_audio(p->st, j->pcm, j->n);
                srv_stream_end_input(p->st);
            }
        }
        free(j->pcm);
        pthread_mutex_destroy(&j->mu);
        free(j);
        return;
    }
    int done = p->st ? srv_stream_done(p->st) : 0;
    if (done) {
        size_t len;
        const char *js = srv_stream_json(p->st, &len);
        if (done < 0)
            http_text(p->wsi, p, 500, "transcription failed\n");
        else
            http_answer(p->wsi, p, 200, "application/json", js, len);
        srv_stream_close(p->st);
        p->st = NULL;
        live_del(p);
    }
}

/* ---- WebSocket ------------------------------------------------------------------------ */

static void early_push(srv_session *p, srv_out_msg *m) {
    m->next = NULL;
    srv_out_msg **pp = &p->early;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
}

static void ws_fail(struct lws *wsi, srv_session *p, srv_reject_reason why, int code,
                    const char *message) {
    if (p->closing)
        return;
    srv_metrics_reject(p->srv->metrics, why);
    srv_log(1, "stream closed (%d): %s", code, message);
    if (p->st) {
        srv_stream_close(p->st);
        p->st = NULL;
    }
    early_push(p, srv_msg_error(LWS_PRE, message));
    early_push(p, srv_msg_close(code));
    p->closing = 1;
    lws_callback_on_writable(wsi);
}

static void opus_emit(void *user, const float *pcm, size_t n) {
    srv_session *p = user;
    if (p->st)
        srv_stream_push_audio(p->st, pcm, n);
}

static void ws_message(struct lws *wsi, srv_session *p, srv_server *srv) {
    srv_in_msg m;
    char err[160];
    if (srv_msg_decode(p->rx, p->rx_len, MAX_SAMPLES_PER_MSG, &m, err, sizeof err)) {
        ws_fail(wsi, p, SRV_REJECT_MALFORMED, LWS_CLOSE_STATUS_INVALID_PAYLOAD, err);
        return;
    }
    if (!p->st) { /* closing already */
        srv_in_msg_clear(&m);
        return;
    }
    size_t backlog = 0;
    switch (m.type) {
    case SRV_IN_AUDIO:
        backlog = srv_stream_push_audio(p->st, m.pcm, m.n);
        p->last_audio = p->last_rx;
        break;
    case SRV_IN_MARKER:
        if (srv_stream_push_marker(p->st, m.id)) {
            srv_in_msg_clear(&m);
            ws_fail(wsi, p, SRV_REJECT_TOO_LARGE, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                    "too many pending markers");
            return;
        }
        p->last_audio = p->last_rx;
        break;
    case SRV_IN_OGG_OPUS:
        if (!p->opus)
            p->opus = srv_opus_new();
        if (srv_opus_feed(p->opus, m.data, m.n_data, opus_emit, p, err, sizeof err)) {
            srv_in_msg_clear(&m);
            ws_fail(wsi, p, SRV_REJECT_MALFORMED, LWS_CLOSE_STATUS_INVALID_PAYLOAD, err);
            return;
        }
        backlog = srv_stream_backlog(p->st);
        p->last_audio = p->last_rx;
        break;
    case SRV_IN_INIT:
        srv_stream_reset(p->st);
        srv_opus_free(p->opus);
        p->opus = NULL;
        early_push(p, srv_msg_ready(LWS_PRE));
        lws_callback_on_writable(wsi);
        break;
    }
    srv_in_msg_clear(&m);
    if (backlog > srv->backlog_limit && !p->paused) {
        /* back-pressure: stop reading the socket until the engine has caught up */
        srv_stream_set_paused(p->st);
        srv_log(2, "back-pressure: input paused at %.2f s of backlog", (double)backlog / 24000.0);
        p->paused = 1;
        lws_rx_flow_control(wsi, 0);
    }
}

static int ws_receive(struct lws *wsi, srv_session *p, srv_server *srv, const void *in,
                      size_t len) {
    p->last_rx = app_now();
    int first = lws_is_first_fragment(wsi);
    int final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (first && !p->rx_len && !p->rx_skip)
        p->rx_text = !lws_frame_is_binary(wsi);
    if (p->closing)
        return 0;
    if (p->rx_text) { /* text frames are ignored, as moshi does */
        if (final)
            p->rx_text = 0;
        return 0;
    }
    if (p->rx_len + len > srv->cfg.max_message) {
        free(p->rx);
        p->rx = NULL;
        p->rx_len = p->rx_cap = 0;
        ws_fail(wsi, p, SRV_REJECT_TOO_LARGE, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                "message too large");
        return 0;
    }
    if (p->rx_len + len > p->rx_cap) {
        p->rx_cap = (p->rx_len + len) * 2;
        if (p->rx_cap > srv->cfg.max_message)
            p->rx_cap = srv->cfg.max_message;
        p->rx = srv_xrealloc(p->rx, p->rx_cap);
    }
    memcpy(p->rx + p->rx_len, in, len);
    p->rx_len += len;
    if (!final)
        return 0;
    ws_message(wsi, p, srv);
    p->rx_len = 0;
    if (p->rx_cap > (1u << 20)) { /* don't keep a big buffer for small messages */
        free(p->rx);
        p->rx = NULL;
        p->rx_cap = 0;
    }
    return 0;
}

static int ws_writeable(struct lws *wsi, srv_session *p, srv_server *srv) {
    srv_log(3, "writeable");
    if (p->ping_due) {
        /* a short payload: lws 4.1 reports the pong of an empty ping to no callback */
        unsigned char b[LWS_PRE + 4] = {0};
        memcpy(b + LWS_PRE, "kstt", 4);
        p->ping_due = 0;
        int pw = lws_write(wsi, b + LWS_PRE, 4, LWS_WRITE_PING);
        srv_log(2, "ping sent (%d)", pw);
        if (pw < 0)
            return -1;
        p->last_tx = app_now();
        lws_callback_on_writable(wsi);
        return 0;
    }
    for (int i = 0; i < 32; i++) {
        if (lws_send_pipe_choked(wsi))
            break;
        srv_out_msg *m = NULL;
        if (p->early) {
            m = p->early;
            p->early = m->next;
        } else if (p->st && !p->closing) {
            m = srv_stream_pop(p->st);
        }
        if (!m)
            return 0;
        if (m->is_close) {
            int code = m->close_code;
            srv_out_msg_free(m);
            lws_close_reason(wsi, (enum lws_close_status)code, NULL, 0);
            return -1;
        }
        int w = lws_write(wsi, m->data, m->len, LWS_WRITE_BINARY);
        srv_out_msg_free(m);
        if (w < 0)
            return -1;
        p->last_tx = app_now();
    }
    lws_callback_on_writable(wsi);
    (void)srv;
    return 0;
}

static void ws_timer(struct lws *wsi, srv_session *p, srv_server *srv) {
    double now = app_now();
    /* while the server itself is behind on this stream's audio, the client is not idle */
    if (p->st && srv_stream_busy(p->st))
        p->last_rx = p->last_audio = now;
    if (!p->closing) {
        if (now - p->last_rx > srv->cfg.idle_timeout) {
            ws_fail(wsi, p, SRV_REJECT_TIMEOUT, LWS_CLOSE_STATUS_GOINGAWAY,
                    "idle timeout: no message from the client");
        } else if (now - p->last_audio > srv->cfg.audio_timeout) {
            ws_fail(wsi, p, SRV_REJECT_TIMEOUT, LWS_CLOSE_STATUS_GOINGAWAY,
                    "timeout: no audio from the client");
        } else if (now - p->last_tx > srv->cfg.ping_interval) {
            p->ping_due = 1;
            lws_callback_on_writable(wsi);
        }
    }
    lws_set_timer_usecs(wsi, 500 * 1000);
}

static void ws_established(struct lws *wsi, srv_session *p, srv_server *srv) {
    p->wsi = wsi;
    p->srv = srv;
    p->kind = K_WS;
    p->last_rx = p->last_audio = p->last_tx = app_now();
    live_add(srv, p);
    char err[128];
    if (srv->draining) {
        ws_fail(wsi, p, SRV_REJECT_SHUTDOWN, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    } else if (!(p->st = srv_stream_open(srv->engine, SRV_STREAM_WS, err, sizeof err))) {
        /* moshi: upgrade, one Error, close. 1013: try again later */
        ws_fail(wsi, p, SRV_REJECT_CAPACITY, 1013, err);
    } else {
        early_push(p, srv_msg_ready(LWS_PRE));
        lws_callback_on_writable(wsi);
    }
    lws_set_timer_usecs(wsi, 500 * 1000);
}

static void session_cleanup(srv_session *p) {
    live_del(p);
    if (p->st) {
        srv_stream_close(p->st);
        p->st = NULL;
    }
    if (p->job) {
        decode_job *j = p->job;
        pthread_mutex_lock(&j->mu);
        int fin = j->finished;
        j->abandoned = 1;
        pthread_mutex_unlock(&j->mu);
        if (fin) {
            free(j->pcm);
            pthread_mutex_destroy(&j->mu);
            free(j);
        }
        p->job = NULL;
    }
    while (p->early) {
        srv_out_msg *m = p->early;
        p->early = m->next;
        srv_out_msg_free(m);
    }
    free(p->rx);
    p->rx = NULL;
    free(p->resp);
    p->resp = NULL;
    free(p->body);
    p->body = NULL;
    srv_opus_free(p->opus);
    p->opus = NULL;
}

/* ---- wake-ups from the engine --------------------------------------------------------- */

void srv_service_wake(srv_server *srv) {
    srv_session *p = srv->sessions;
    while (p) {
        srv_session *nx = p->next; /* post_progress may unlink p */
        if (p->kind == K_POST) {
            post_progress(p, srv);
        } else if (p->kind == K_WS) {
            if (p->st) {
                if (p->paused && srv_stream_take_resume(p->st)) {
                    p->paused = 0;
                    lws_rx_flow_control(p->wsi, 1);
                }
                if (srv->draining && !p->closing && srv_stream_idle(p->st)) {
                    srv_stream_close(p->st);
                    p->st = NULL;
                    early_push(p, srv_msg_close(LWS_CLOSE_STATUS_GOINGAWAY));
                    p->closing = 1;
                    lws_callback_on_writable(p->wsi);
                } else if (p->st && srv_stream_has_output(p->st)) {
                    lws_callback_on_writable(p->wsi);
                }
            }
        }
        p = nx;
    }
}

/* ---- the callback --------------------------------------------------------------------- */

int srv_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len) {
    srv_session *p = user;
    srv_server *srv = server_of(wsi);
    if (!p && reason != LWS_CALLBACK_EVENT_WAIT_CANCELLED &&
        reason != LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        memset(p, 0, sizeof *p);
        return on_http(wsi, p, srv, (const char *)in) ? -1 : 0;
    case LWS_CALLBACK_HTTP_BODY:
        if (p->body_refused || p->kind != K_POST)
            return 0;
        if (p->body_len + len > srv->cfg.max_post) {
            free(p->body);
            p->body = NULL;
            p->body_len = p->body_cap = 0;
            p->body_refused = 1;
            p->close_after = 1;
            srv_metrics_reject(srv->metrics, SRV_REJECT_TOO_LARGE);
            return http_text(wsi, p, 413, "audio file too large\n") ? -1 : 0;
        }
        if (p->body_len + len > p->body_cap) {
            p->body_cap = (p->body_len + len) * 2;
            if (p->body_cap > srv->cfg.max_post)
                p->body_cap = srv->cfg.max_post;
            p->body = srv_xrealloc(p->body, p->body_cap);
        }
        memcpy(p->body + p->body_len, in, len);
        p->body_len += len;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p->kind != K_POST)
            return 0;
        if (p->body_refused) {
            p->body_done = 1;
            return p->resp_done ? -1 : 0;
        }
        return post_body_done(wsi, p, srv) ? -1 : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writeable(wsi, p);
    case LWS_CALLBACK_CLOSED_HTTP:
        session_cleanup(p);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        char uri[256];
        int ul = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        unsigned status = 0;
        srv_reject_reason why = SRV_REJECT_BAD_REQUEST;
        if (ul < 0 || strcmp(uri, srv->cfg.path)) {
            status = 404;
        } else if (!authorized(wsi, srv, 1)) {
            status = 401;
            why = SRV_REJECT_AUTH;
        } else if (srv->draining) {
            status = 503;
            why = SRV_REJECT_SHUTDOWN;
        }
        if (!status)
            return 0;
        srv_metrics_reject(srv->metrics, why);
        /* written by hand: at this point lws would label the answer HTTP/1.0, which strict
         * clients (Python websockets) refuse to parse */
        unsigned char buf[LWS_PRE + 256];
        const char *txt = status == 401   ? "401 Unauthorized"
                          : status == 404 ? "404 Not Found"
                                          : "503 Service Unavailable";
        int n = snprintf((char *)buf + LWS_PRE, sizeof buf - LWS_PRE,
                         "HTTP/1.1 %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", txt);
        if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_HEADERS) != n)
            return -1;
        return 1;
    }
    case LWS_CALLBACK_ESTABLISHED:
        memset(p, 0, sizeof *p);
        ws_established(wsi, p, srv);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(wsi, p, srv, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        srv_log(2, "pong");
        p->last_rx = app_now();
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(wsi, p, srv);
    case LWS_CALLBACK_TIMER:
        if (p->kind == K_WS)
            ws_timer(wsi, p, srv);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* decision 7: drop the queue and free the slot at once */
        if (p->st) {
            srv_stream_close(p->st);
            p->st = NULL;
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        session_cleanup(p);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        srv_log(3, "wake");
        srv_service_wake(srv);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
