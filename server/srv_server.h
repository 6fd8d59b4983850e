/* srv_server: the server object shared by the I/O callbacks (srv_http.c, srv_ws.c) and the
 * command (srv_main.c). Everything here is touched by the lws service thread only, except
 * the fields marked otherwise. */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <libwebsockets.h>
#include <stddef.h>

#include "srv_engine.h"
#include "srv_metrics.h"

typedef struct srv_session srv_session;

typedef struct {
    const char *addr;
    int port;
    const char *path;  /* the ASR route, "/api/asr-streaming" */
    const char **keys; /* accepted API keys */
    int n_keys;
    size_t max_message;      /* bytes per WebSocket message */
    size_t max_post;         /* bytes per POST body */
    double max_post_seconds; /* decoded length of a POST body */
    double idle_timeout;     /* s without any incoming WebSocket message */
    double audio_timeout;    /* s without a binary message */
    double ping_interval;    /* s without outgoing traffic before a Ping */
    double drain_timeout;    /* s that SIGTERM waits for streams to finish */
    const char *model_name;  /* for /api/modules_info */
    const char *lm_file, *mimi_file;
} srv_config;

typedef struct {
    srv_config cfg;
    struct lws_context *ctx;
    srv_engine *engine;
    srv_metrics *metrics;
    srv_session *sessions; /* live WebSocket and POST sessions */
    size_t backlog_limit;  /* samples: above it a stream's socket is not read */
    int draining;          /* SIGTERM seen: refuse new streams, finish the others */
    double drain_deadline;
} srv_server;

/* The one protocol (HTTP and WebSocket on the same port). */
int srv_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
size_t srv_session_size(void);
/* Called on the service thread after lws_cancel_service: write what the engine produced,
 * resume paused input, answer finished POSTs, progress a drain. */
void srv_service_wake(srv_server *srv);
/* Number of live sessions (WebSocket + POST). */
size_t srv_live_sessions(srv_server *srv);

/* Static page content (generated from server/web at build time). */
typedef struct {
    const char *path, *mime;
    const unsigned char *data;
    size_t len;
} srv_web_file;
extern const srv_web_file srv_web_files[];
extern const size_t srv_web_n_files;

#endif
