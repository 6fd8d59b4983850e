/*
 * HTTP transfers for the hub (libcurl): one connection-reusing handle, the token sent only to
 * the endpoint's own origin, response headers parsed into a struct, a stall watch (no byte for
 * HF_HUB_DOWNLOAD_TIMEOUT seconds aborts), and errors in words. It knows nothing of the Hugging
 * Face protocol (hub_download.c) or the cache layout (hub_cache.c).
 */
#ifndef APP_HUB_HTTP_H
#define APP_HUB_HTTP_H

#include <stddef.h>

typedef struct {
    long status;
    char commit[128];      /* X-Repo-Commit */
    char etag[512];        /* ETag */
    char linked_etag[512]; /* X-Linked-Etag */
    long long length;      /* Content-Length, -1 if absent */
    long long linked_size; /* X-Linked-Size, -1 if absent */
    char content_range[128];
    char error_code[64];     /* X-Error-Code */
    char error_message[512]; /* X-Error-Message */
} app_http_resp;

typedef struct app_http app_http;

/* Body callback: returns the bytes consumed (fewer aborts the transfer). The response headers
 * so far are in resp. */
typedef size_t (*app_http_body_fn)(const char *p, size_t len, const app_http_resp *resp,
                                   void *user);
/* Called about once a second and on progress: bytes received by this request. */
typedef void (*app_http_progress_fn)(long long received, const app_http_resp *resp, void *user);

/* endpoint: where the token may go (its scheme://host[:port]); token may be empty.
 * Timeouts in seconds: connecting, and no byte at all. */
int app_http_new(app_http **out, const char *endpoint, const char *token, long connect_timeout,
                 long stall_timeout, char *err, size_t errlen);
void app_http_free(app_http *h);

/* HEAD url without following redirects; a 3xx's Location goes to location (may be empty).
 * shown_url is the URL named in messages (the one the user can act on).
 * Returns 0 when a response arrived (any status, in resp), or a negative status with a
 * message for a failed transfer. */
int app_http_head(app_http *h, const char *url, const char *shown_url, app_http_resp *resp,
                  char *location, size_t loccap, char *err, size_t errlen);

/* GET url, redirects followed, from byte range_from (0: all). The body goes to fn. Returns 0
 * when the transfer ended normally (check resp->status), or a negative status with a message
 * (fn's abort included: the caller knows why it aborted). */
int app_http_get(app_http *h, const char *url, const char *shown_url, long long range_from,
                 app_http_body_fn fn, app_http_progress_fn progress, void *user,
                 app_http_resp *resp, char *err, size_t errlen);

/* After a failed call: 1 if the server could not be reached at all (for the cache fallback). */
int app_http_unreachable(const app_http *h);

/* What the last failed transfer was, in words (libcurl's message, or the stall time). */
const char *app_http_what(const app_http *h);

#endif
