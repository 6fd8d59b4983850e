/*
 * kstt serve --model DIR|REPO [--addr 127.0.0.1] [--port 8080] [--max-streams N] [--api-key KEY
 * ...]
 *            [--threads N] [--path /api/asr-streaming] [--asr-delay N] [--kv auto|f32|f16]
 *            [--codebooks K]
 *            [--max-message-mb N] [--max-post-mb N] [--backlog-seconds S]
 *            [--idle-timeout S] [--audio-timeout S] [--ping-interval S] [--drain-timeout S]
 *            [--log-level 0|1|2] [-q]
 *
 * A streaming speech-to-text server speaking moshi-server's ASR protocol (see
 * docs: moshi-server-protocol) over HTTP + WebSocket on one port (libwebsockets). One engine
 * thread steps every stream with a frame in one batched call; the lws service thread does the
 * I/O. SIGTERM/SIGINT: stop taking streams, let the active ones finish (bounded), exit.
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_hub.h"
#include "cli_opts.h"
#include "kstt.h"
#include "srv_server.h"
#include "srv_util.h"

int cli_cmd_serve(int argc, char **argv);

static volatile sig_atomic_t g_stop;
static struct lws_context *volatile g_ctx;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
    if (g_ctx)
        lws_cancel_service(g_ctx);
}

static void wake_io(void *user) {
    srv_server *srv = user;
    if (srv->ctx)
        lws_cancel_service(srv->ctx);
}

static void usage(FILE *f) {
    fprintf(f, "usage: kstt serve --model DIR|REPO [options]\n\n"
               "Serves moshi-server's streaming ASR protocol (WebSocket and POST on\n"
               "/api/asr-streaming), /api/build_info, /api/modules_info, /metrics, /healthz and a\n"
               "microphone page at /.\n\n"
               "options:\n"
               "  --model DIR|REPO       model directory, or a Hugging Face repo id (cache, then\n"
               "                         download; HF_HUB_OFFLINE=1: cache only)\n"
               "  --addr ADDR            listen address (default 127.0.0.1)\n"
               "  --port N               TCP port (default 8080; 0 picks a free one, printed)\n"
               "  --max-streams N        concurrent streams (slots; default 64)\n"
               "  --api-key KEY          accepted key (repeatable); default: public_token only\n"
               "  --threads N            compute threads (default: one per CPU)\n"
               "  --path PATH            ASR route (default /api/asr-streaming)\n"
               "  --asr-delay N          model delay in frames (default: from the model)\n"
               "  --kv auto|f32|f16|q8   LM key/value cache storage (auto: f16 for quantized\n"
               "                         weights, else f32; q8 quarters the f32 bytes)\n"
               "  --mimi-weights auto|f32|bf16\n"
               "                         Mimi encoder matrices (auto: bf16 for 4-bit LMs, else\n"
               "                         f32, the reference's codes; bf16 on a CPU with AMX:\n"
               "                         tile-unit products, moshi-server's precision, the\n"
               "                         most streams per core)\n"
               "  --codebooks K          audio codebooks the model reads, 1..n_q (moshi-server's\n"
               "                         audio_codebooks; default 0 = all)\n"
               "  --batch-wait-ms N|auto longest wait for live streams' next frames so that they\n"
               "                         step together (one step reads all the weights): auto\n"
               "                         (default) waits up to a frame (80 ms) while steps take\n"
               "                         over half of one; 0 never waits\n"
               "  --max-message-mb N     largest WebSocket message (default 16)\n"
               "  --max-post-mb N        largest POST body (default 64)\n"
               "  --max-post-seconds S   longest decoded POST audio (default 3600)\n"
               "  --backlog-seconds S    per-stream audio buffered before reading pauses (60)\n"
               "  --idle-timeout S       close after S s without any message (default 20)\n"
               "  --audio-timeout S      close after S s without audio (default 120)\n"
               "  --ping-interval S      Ping after S s without output (default 10)\n"
               "  --drain-timeout S      on SIGTERM, wait S s for streams to finish (default 10)\n"
               "  --log-level N          0 errors, 1 info (default), 2 debug\n"
               "  -q, --quiet            errors only\n");
}

/* Option values: the kstt commands' validated parsers (cli/cli_opts.h). */
static int parse_int(const char *opt, const char *v, long lo, long hi, int *out) {
    return cli_parse_int("serve", opt, v, lo, hi, out);
}
static int parse_num(const char *opt, const char *v, double lo, double hi, double *out) {
    return cli_parse_double("serve", opt, v, lo, hi, 0, 0, out);
}

int cli_cmd_serve(int argc, char **argv) {
    const char *model_dir = NULL;
    srv_config cfg = {0};
    cfg.addr = "127.0.0.1";
    cfg.port = 8080;
    cfg.path = "/api/asr-streaming";
    cfg.max_message = 16u << 20;
    cfg.max_post = 64u << 20;
    cfg.max_post_seconds = 3600;
    cfg.idle_timeout = 20;
    cfg.audio_timeout = 120;
    cfg.ping_interval = 10;
    cfg.drain_timeout = 10;
    /* codebooks 0: all of them (the model's n_q is checked by the loader) */
    int max_streams = 64, threads = 0, delay = -1, codebooks = 0;
    double backlog_s = 60, mm = 16, mp = 64, batch_wait_ms = -1;
    kstt_kv_type kv = KSTT_KV_AUTO;
    kstt_mimi_weights mimi = KSTT_MIMI_WEIGHTS_AUTO;
    const char **keys = srv_xcalloc((size_t)argc + 1, sizeof *keys);
    int n_keys = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(keys);
            return 0;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            srv_log_level = 0;
            continue;
        }
        if (i + 1 >= argc || strncmp(a, "--", 2)) {
            fprintf(stderr, "kstt serve: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            free(keys);
            return 2;
        }
        const char *v = argv[++i];
        int bad = 0;
        if (!strcmp(a, "--model"))
            model_dir = v;
        else if (!strcmp(a, "--addr"))
            cfg.addr = v;
        else if (!strcmp(a, "--port")) {
            bad = parse_int(a, v, 0, 65535, &cfg.port);
        } else if (!strcmp(a, "--max-streams"))
            bad = parse_int(a, v, 1, 4096, &max_streams);
        else if (!strcmp(a, "--api-key"))
            keys[n_keys++] = v;
        else if (!strcmp(a, "--threads"))
            bad = parse_int(a, v, 1, 256, &threads);
        else if (!strcmp(a, "--path"))
            cfg.path = v;
        else if (!strcmp(a, "--asr-delay"))
            bad = parse_int(a, v, 0, 1000, &delay);
        else if (!strcmp(a, "--codebooks")) {
            bad = parse_int(a, v, 0, 1024, &codebooks);
        } else if (!strcmp(a, "--kv")) {
            bad = cli_parse_kv("serve", a, v, &kv);
        } else if (!strcmp(a, "--mimi-weights")) {
            bad = cli_parse_mimi_weights("serve", a, v, &mimi);
        } else if (!strcmp(a, "--batch-wait-ms")) {
            if (strcmp(v, "auto"))
                bad = parse_num(a, v, 0, 1000, &batch_wait_ms);
        } else if (!strcmp(a, "--max-message-mb"))
            bad = parse_num(a, v, 0.001, 1024, &mm);
        else if (!strcmp(a, "--max-post-mb"))
            bad = parse_num(a, v, 0.001, 4096, &mp);
        else if (!strcmp(a, "--backlog-seconds"))
            bad = parse_num(a, v, 1, 3600, &backlog_s);
        else if (!strcmp(a, "--idle-timeout"))
            bad = parse_num(a, v, 0.5, 86400, &cfg.idle_timeout);
        else if (!strcmp(a, "--audio-timeout"))
            bad = parse_num(a, v, 0.5, 86400, &cfg.audio_timeout);
        else if (!strcmp(a, "--ping-interval"))
            bad = parse_num(a, v, 0.1, 86400, &cfg.ping_interval);
        else if (!strcmp(a, "--drain-timeout"))
            bad = parse_num(a, v, 0, 3600, &cfg.drain_timeout);
        else if (!strcmp(a, "--log-level")) {
            bad = parse_int(a, v, 0, 3, &srv_log_level);
        } else {
            fprintf(stderr, "kstt serve: unknown option '%s'\n", a);
            usage(stderr);
            free(keys);
            return 2;
        }
        if (bad) {
            free(keys);
            return 2;
        }
    }
    if (!model_dir) {
        fprintf(stderr, "kstt serve: --model DIR|REPO is required\n");
        usage(stderr);
        free(keys);
        return 2;
    }
    static char resolved[4096];
    {
        char herr[512];
        if (app_model_resolve(model_dir, srv_log_level == 0, resolved, sizeof resolved, herr,
                              sizeof herr)) {
            fprintf(stderr, "kstt serve: --model %s: %s\n", model_dir, herr);
            free(keys);
            return 1;
        }
        model_dir = resolved;
    }
    if (!n_keys) {
        keys[n_keys++] = "public_token";
        srv_log(1, "no --api-key given: accepting only the key \"public_token\", which every "
                   "Kyutai client sends by default (the server is effectively open)");
    }
    cfg.keys = keys;
    cfg.n_keys = n_keys;
    cfg.max_message = (size_t)(mm * 1048576.0);
    cfg.max_post = (size_t)(mp * 1048576.0);
    cfg.model_name = model_dir;
    cfg.lm_file = model_dir; /* modules_info "lm": the model directory */

    int rc = 1;
    kstt_pool *pool = NULL;
    kstt_model *model = NULL;
    srv_server srv;
    memset(&srv, 0, sizeof srv);
    char err[512];
    if (kstt_pool_new(&pool, threads)) {
        fprintf(stderr, "kstt serve: cannot start the thread pool\n");
        goto out;
    }
    kstt_model_params mpar = kstt_model_params_default();
    mpar.pool = pool;
    mpar.kv_type = kv;
    mpar.mimi_weights = mimi;
    mpar.asr_delay_in_tokens = delay;
    mpar.num_codebooks = codebooks;
    if (kstt_model_load(&model, model_dir, &mpar, err, sizeof err)) {
        fprintf(stderr, "kstt serve: %s\n", err);
        goto out;
    }
    kstt_model_info info;
    kstt_model_get_info(model, &info);

    srv.cfg = cfg;
    srv.metrics = srv_metrics_new();
    srv.backlog_limit = (size_t)(backlog_s * 24000.0);
    srv_engine_config ec = {0};
    ec.max_streams = (size_t)max_streams;
    ec.backlog_samples = srv.backlog_limit;
    ec.batch_wait = batch_wait_ms < 0 ? -1 : batch_wait_ms / 1000.0;
    ec.out_pre = LWS_PRE;
    ec.wake = wake_io;
    ec.wake_user = &srv;
    ec.metrics = srv.metrics;

    static struct lws_protocols protocols[2];
    memset(protocols, 0, sizeof protocols);
    protocols[0].name = "kstt-asr";
    protocols[0].callback = srv_lws_callback;
    protocols[0].per_session_data_size = srv_session_size();
    protocols[0].rx_buffer_size = 65536;

    lws_set_log_level(srv_log_level >= 2 ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : LLL_ERR, NULL);
    struct lws_context_creation_info ci;
    memset(&ci, 0, sizeof ci);
    ci.port = cfg.port;
    ci.iface = cfg.addr;
    ci.protocols = protocols;
    ci.user = &srv;
    ci.options = LWS_SERVER_OPTION_VALIDATE_UTF8 * 0;
    ci.max_http_header_data = 4096;
    ci.timeout_secs = 30;

    if (srv_engine_new(&srv.engine, model, &ec, err, sizeof err)) {
        fprintf(stderr, "kstt serve: %s\n", err);
        goto out;
    }
    srv.ctx = lws_create_context(&ci);
    if (!srv.ctx) {
        fprintf(stderr, "kstt serve: cannot listen on %s:%d\n", cfg.addr, cfg.port);
        goto out;
    }
    g_ctx = srv.ctx;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int port = cfg.port;
    struct lws_vhost *vh = lws_get_vhost_by_name(srv.ctx, "default");
    if (vh)
        port = lws_get_vhost_listen_port(vh);
    srv_log(
        1, "model %s (delay %d frames, %d codebooks, %s), %zu slots, listening on http://%s:%d%s",
        model_dir, info.asr_delay_in_tokens, info.num_codebooks,
        info.has_vad ? "VAD heads" : "no VAD heads", (size_t)max_streams, cfg.addr, port, cfg.path);
    printf("listening on %s:%d\n", cfg.addr, port);
    fflush(stdout);

    while (1) {
        if (lws_service(srv.ctx, 0) < 0)
            break;
        if (g_stop && !srv.draining) {
            srv.draining = 1;
            srv.drain_deadline = app_now() + cfg.drain_timeout;
            srv_log(1, "signal: draining %zu sessions (at most %g s)", srv_live_sessions(&srv),
                    cfg.drain_timeout);
            srv_service_wake(&srv);
        }
        if (srv.draining) {
            srv_service_wake(&srv);
            if (!srv_live_sessions(&srv) || app_now() > srv.drain_deadline)
                break;
        }
    }
    srv_log(1, "stopped");
    rc = 0;
out:
    if (srv.ctx) {
        g_ctx = NULL;
        lws_context_destroy(srv.ctx);
    }
    srv_engine_free(srv.engine);
    srv_metrics_free(srv.metrics);
    kstt_model_free(model);
    kstt_pool_free(pool);
    free(keys);
    return rc;
}
