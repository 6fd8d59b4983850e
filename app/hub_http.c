/*
 * HTTP transfers for the hub with libcurl (see hub_http.h).
 *
 * The token goes only to the endpoint's own origin, never to a CDN host that a redirect leads
 * to (libcurl drops custom Authorization headers on cross-host redirects too). A request whose
 * byte count has not moved for stall_timeout seconds is aborted: libcurl's LOW_SPEED option
 * averages over a window, so a stall after a fast start went unnoticed for several seconds.
 */
#include "hub_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app_util.h"
#include "kstt.h"

#define MAX_HOPS 10 /* redirects followed by a GET */

struct app_http {
    CURL *curl;
    char origin[1024]; /* scheme://host[:port] of the endpoint: where the token may go */
    struct curl_slist *auth;
    long connect_timeout, stall_timeout;
    char user_agent[64];
    char curl_err[CURL_ERROR_SIZE];
    char what[160];
    int unreachable;
    /* the running request */
    double watch_time;
    curl_off_t watch_bytes;
    int stalled;
    app_http_resp *resp;
    app_http_body_fn body;
    app_http_progress_fn progress;
    void *user;
};

/* scheme://host[:port] of url, lowercased. */
static void url_origin(const char *url, char *out, size_t cap) {
    const char *p = strstr(url, "://");
    size_t n = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((url[i] >= 'A' && url[i] <= 'Z') ? url[i] - 'A' + 'a' : url[i]);
    out[n] = '\0';
}

int app_http_new(app_http **out, const char *endpoint, const char *token, long connect_timeout,
                 long stall_timeout, char *err, size_t errlen) {
    *out = NULL;
    app_http *h = calloc(1, sizeof *h);
    if (!h)
        return app_errf(err, errlen, KSTT_ENOMEM, "out of memory");
    url_origin(endpoint, h->origin, sizeof h->origin);
    h->connect_timeout = connect_timeout;
    h->stall_timeout = stall_timeout;
    snprintf(h->user_agent, sizeof h->user_agent, "kstt/%s", kstt_version());
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(h);
        return app_errf(err, errlen, KSTT_ENETWORK, "cannot initialise libcurl");
    }
    h->curl = curl_easy_init();
    if (token && token[0]) {
        size_t n = strlen(token) + 32;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "Authorization: Bearer %s", token);
            h->auth = curl_slist_append(NULL, line);
            memset(line, 0, n);
            free(line);
        }
    }
    if (!h->curl || (token && token[0] && !h->auth)) {
        app_http_free(h);
        return app_errf(err, errlen, KSTT_ENOMEM, "cannot create a libcurl handle");
    }
    *out = h;
    return KSTT_OK;
}

void app_http_free(app_http *h) {
    if (!h)
        return;
    curl_slist_free_all(h->auth);
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_global_cleanup();
    free(h);
}

int app_http_unreachable(const app_http *h) {
    return h->unreachable;
}

/* ---- response headers ---------------------------------------------------------------- */

static void resp_reset(app_http_resp *r) {
    memset(r, 0, sizeof *r);
    r->length = r->linked_size = -1;
}

static long long parse_size(const char *s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return (end == s || *end || v < 0 || errno) ? -1 : v;
}

/* libcurl header callback: one line at a time, for every response of a redirect chain. A
 * status line starts a new response, so the struct always describes the latest one. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *user) {
    app_http_resp *h = user;
    size_t n = size * nitems;
    char line[2048];
    size_t m = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, buf, m);
    line[m] = '\0';
    while (m > 0 && (line[m - 1] == '\r' || line[m - 1] == '\n'))
        line[--m] = '\0';
    if (!strncmp(line, "HTTP/", 5)) {
        resp_reset(h);
        const char *sp = strchr(line, ' ');
        h->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return n;
    }
    char *colon = strchr(line, ':');
    if (!colon)
        return n;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vn = strlen(v);
    while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        v[--vn] = '\0';
    if (!strcasecmp(line, "X-Repo-Commit"))
        snprintf(h->commit, sizeof h->commit, "%s", v);
    else if (!strcasecmp(line, "ETag"))
        snprintf(h->etag, sizeof h->etag, "%s", v);
    else if (!strcasecmp(line, "X-Linked-Etag"))
        snprintf(h->linked_etag, sizeof h->linked_etag, "%s", v);
    else if (!strcasecmp(line, "Content-Length"))
        h->length = parse_size(v);
    else if (!strcasecmp(line, "X-Linked-Size"))
        h->linked_size = parse_size(v);
    else if (!strcasecmp(line, "Content-Range"))
        snprintf(h->content_range, sizeof h->content_range, "%s", v);
    else if (!strcasecmp(line, "X-Error-Code"))
        snprintf(h->error_code, sizeof h->error_code, "%s", v);
    else if (!strcasecmp(line, "X-Error-Message"))
        snprintf(h->error_message, sizeof h->error_message, "%s", v);
    return n;
}

/* ---- requests ------------------------------------------------------------------------- */

/* libcurl's progress callback, about once a second even when nothing arrives: aborts a
 * request whose byte count has not moved for stall_timeout seconds. */
static int on_xfer(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow) {
    (void)dltotal, (void)ultotal, (void)ulnow;
    app_http *h = user;
    double t = app_now();
    if (dlnow != h->watch_bytes) {
        h->watch_bytes = dlnow;
        h->watch_time = t;
    } else if (t - h->watch_time > (double)h->stall_timeout) {
        h->stalled = 1;
        return 1;
    }
    if (h->progress)
        h->progress((long long)dlnow, h->resp, h->user);
    return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *user) {
    app_http *h = user;
    size_t len = size * nmemb;
    return h->body ? h->body(p, len, h->resp, h->user) : len;
}

/* Resets the handle (keeping its connections) and sets what every request shares. */
static void setup(app_http *h, const char *url, app_http_resp *r) {
    CURL *k = h->curl;
    curl_easy_reset(k);
    resp_reset(r);
    h->resp = r;
    h->curl_err[0] = '\0';
    h->body = NULL;
    h->progress = NULL;
    h->user = NULL;
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_USERAGENT, h->user_agent);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, h->curl_err);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, h->connect_timeout);
    h->watch_time = app_now();
    h->watch_bytes = 0;
    h->stalled = 0;
    curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(k, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    char o[1024];
    url_origin(url, o, sizeof o);
    if (h->auth && !strcmp(o, h->origin))
        curl_easy_setopt(k, CURLOPT_HTTPHEADER, h->auth);
}

const char *app_http_what(const app_http *h) {
    return h->what;
}

/* A transfer that failed below HTTP. `head`: the metadata request, where a timeout also means
 * the server cannot be reached. */
static int net_error(app_http *h, const char *url, CURLcode rc, int head, char *err,
                     size_t errlen) {
    const char *what = curl_easy_strerror(rc);
    if (rc == CURLE_ABORTED_BY_CALLBACK && h->stalled) {
        snprintf(h->what, sizeof h->what, "no data received for %ld s (HF_HUB_DOWNLOAD_TIMEOUT)",
                 h->stall_timeout);
        what = h->what;
    } else {
        snprintf(h->what, sizeof h->what, "%s", what);
    }
    /* curl's own buffer says more ("Failed to connect to HOST port N ...: <what>"); it
     * replaces the generic text when it contains it, else it follows in parentheses. */
    int detail = !h->stalled && h->curl_err[0] && strcmp(h->curl_err, what) != 0;
    if (detail && strstr(h->curl_err, what)) {
        what = h->curl_err;
        detail = 0;
    }
    h->unreachable =
        rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_COULDNT_RESOLVE_PROXY ||
        (head && (rc == CURLE_OPERATION_TIMEDOUT || h->stalled || rc == CURLE_GOT_NOTHING ||
                  rc == CURLE_RECV_ERROR || rc == CURLE_SSL_CONNECT_ERROR));
    if (h->unreachable)
        return app_errf(err, errlen, KSTT_ENETWORK,
                        "cannot reach %s: %s%s%s%s; check the network connection and "
                        "HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use only the local cache",
                        url, what, detail ? " (" : "", detail ? h->curl_err : "",
                        detail ? ")" : "");
    return app_errf(err, errlen, KSTT_ENETWORK, "download of %s failed: %s%s%s%s", url, what,
                    detail ? " (" : "", detail ? h->curl_err : "", detail ? ")" : "");
}

int app_http_head(app_http *h, const char *url, const char *shown_url, app_http_resp *resp,
                  char *location, size_t loccap, char *err, size_t errlen) {
    setup(h, url, resp);
    curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(h->curl);
    if (rc != CURLE_OK)
        return net_error(h, shown_url, rc, 1, err, errlen);
    h->unreachable = 0;
    if (loccap)
        location[0] = '\0';
    char *loc = NULL;
    if (resp->status >= 300 && resp->status < 400 &&
        curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc &&
        snprintf(location, loccap, "%s", loc) >= (int)loccap)
        return app_errf(err, errlen, KSTT_ENETWORK, "%s: redirect URL too long", shown_url);
    return KSTT_OK;
}

int app_http_get(app_http *h, const char *url, const char *shown_url, long long range_from,
                 app_http_body_fn fn, app_http_progress_fn progress, void *user,
                 app_http_resp *resp, char *err, size_t errlen) {
    setup(h, url, resp);
    CURL *k = h->curl;
    h->body = fn;
    h->progress = progress;
    h->user = user;
    curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(k, CURLOPT_MAXREDIRS, (long)MAX_HOPS);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, h);
    char range[48];
    if (range_from > 0) {
        snprintf(range, sizeof range, "%lld-", range_from);
        curl_easy_setopt(k, CURLOPT_RANGE, range);
    }
    CURLcode rc = curl_easy_perform(k);
    h->body = NULL;
    h->progress = NULL;
    if (rc != CURLE_OK)
        return net_error(h, shown_url, rc, 0, err, errlen);
    h->unreachable = 0;
    return KSTT_OK;
}
