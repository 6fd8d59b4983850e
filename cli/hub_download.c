/*
 * Downloads a Hugging Face repo snapshot into the local cache with libcurl, writing the same
 * layout as huggingface_hub (hub_internal.h) so that either tool reuses the other's files.
 *
 * Per file, as huggingface_hub does it:
 *   1. HEAD {endpoint}/{repo}/resolve/{revision}/{file} without following redirects. The answer
 *      (a 200, or for large "LFS" files a 302 to a CDN) carries X-Repo-Commit (the snapshot
 *      folder), X-Linked-Etag or ETag (the blob name, quotes and W/ removed) and X-Linked-Size or
 *      Content-Length (the size checked at the end). Relative redirects without those headers
 *      (a renamed repo) are followed.
 *   2. Unless blobs/ETAG already exists with that size: GET the content (the resolve URL or the
 *      redirect target, redirects followed) into blobs/ETAG.incomplete. An .incomplete left by
 *      an earlier run is resumed with a Range request; a 206 must start where the file ends, a
 *      200 (a server ignoring Range) restarts the file from zero. A connection lost after some
 *      progress, or a 5xx answer, is retried at once, up to MAX_ATTEMPTS attempts in all. Then
 * fsync, size check and an atomic rename to blobs/ETAG. The blob is written under
 * flock(.locks/.../ETAG.lock), the lock file huggingface_hub uses, so two processes never write the
 * same blob.
 *   3. snapshots/COMMIT/FILE becomes a relative symlink to the blob (replaced atomically).
 * config.json comes first, at the requested revision; the commit it reports is written to
 * refs/REVISION and every other file is fetched at that commit, so a snapshot never mixes two
 * commits. A file already present in that snapshot costs no request.
 *
 * The token (HF_TOKEN) goes only to the endpoint's own origin, never to a CDN host that a
 * redirect leads to (libcurl drops custom Authorization headers on cross-host redirects too).
 * Everything taken from a server's headers is validated before it names a file.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "hub_internal.h"
#include "kstt.h"

#define MAX_ATTEMPTS 5 /* GET attempts per file: retried after progress, a 5xx or a 416 */
#define MAX_HOPS 10    /* redirects followed by the metadata request */
#define URL_MAX 4096
#define MAX_LISTING (16 << 20)

typedef struct {
    long status;
    char commit[128];
    char etag[512];
    char linked_etag[512];
    long long length;      /* Content-Length, -1 if absent */
    long long linked_size; /* X-Linked-Size, -1 if absent */
    char content_range[128];
    char error_code[64];
    char error_message[512];
} resp_headers;

typedef struct {
    CURL *curl;
    const kstt_hub_opts *opts;
    const char *repo;
    const char *rev; /* the revision asked for, for error messages */
    char endpoint[1024];
    char origin[1024]; /* scheme://host[:port] of the endpoint: where the token may go */
    char token[2048];
    char repo_dir[KSTT_HUB_PATH_MAX];
    char locks_dir[KSTT_HUB_PATH_MAX];
    long connect_timeout, stall_timeout; /* seconds */
    /* Stall watch of the running request: when its byte count last moved. */
    double watch_time;
    curl_off_t watch_bytes;
    int stalled;
    char what[96];
    struct dl_state *bar; /* the download whose progress bar is drawn, or NULL */
    int unreachable;      /* the last failure was: no connection to the server at all */
    char curl_err[CURL_ERROR_SIZE];
    char user_agent[64];
    struct curl_slist *auth;
} hub_ctx;

typedef struct {
    char commit[128];
    char etag[512];
    long long size;    /* -1: unknown */
    char url[URL_MAX]; /* where the content is: the resolve URL or the redirect target */
} file_meta;

/* ---- helpers --------------------------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* "306.4 kB": decimal units, as Hugging Face pages and tqdm print them. */
static void human_size(char *out, size_t cap, double b) {
    static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000.0 && i < 4) {
        b /= 1000.0;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, units[i]);
}

static long env_seconds(const char *name, long def) {
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d > 0) || d > 86400)
        return def;
    return d < 1 ? 1 : (long)(d + 0.5);
}

/* Percent-encodes s (RFC 3986 unreserved characters kept, and '/' when keep_slash). */
static int url_encode(const char *s, int keep_slash, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
                    (keep_slash && ch == '/');
        if (o + (plain ? 1 : 3) >= cap)
            return KSTT_ERANGE;
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return KSTT_OK;
}

/* The parent folder of path (path up to its last '/'). */
static void parent_dir(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", path);
    char *s = strrchr(out, '/');
    if (s && s != out)
        *s = '\0';
}

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

static int same_origin(const hub_ctx *c, const char *url) {
    char o[1024];
    url_origin(url, o, sizeof o);
    return !strcmp(o, c->origin);
}

/* ---- response headers ---------------------------------------------------------------- */

static void headers_reset(resp_headers *h) {
    memset(h, 0, sizeof *h);
    h->length = h->linked_size = -1;
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
    resp_headers *h = user;
    size_t n = size * nitems;
    char line[2048];
    size_t m = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, buf, m);
    line[m] = '\0';
    while (m > 0 && (line[m - 1] == '\r' || line[m - 1] == '\n'))
        line[--m] = '\0';
    if (!strncmp(line, "HTTP/", 5)) {
        headers_reset(h);
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

/* ---- errors --------------------------------------------------------------------------- */

/* What went wrong in a transfer, in words. */
static const char *xfer_what(hub_ctx *c, CURLcode rc) {
    if (rc == CURLE_ABORTED_BY_CALLBACK && c->stalled) {
        snprintf(c->what, sizeof c->what, "no data received for %ld s (HF_HUB_DOWNLOAD_TIMEOUT)",
                 c->stall_timeout);
        return c->what;
    }
    return curl_easy_strerror(rc);
}

/* A transfer that failed below HTTP. `head`: the metadata request, where a timeout also means
 * the server cannot be reached. Sets c->unreachable for the caller's cache fallback. */
static int net_error(hub_ctx *c, const char *url, CURLcode rc, int head, const char *tail,
                     char *err, size_t errlen) {
    /* curl's own buffer says more ("Failed to connect to HOST port N ...: <what>"); it
     * replaces the generic text when it contains it, else it follows in parentheses. */
    const char *what = xfer_what(c, rc);
    int detail = !c->stalled && c->curl_err[0] && strcmp(c->curl_err, what) != 0;
    if (detail && strstr(c->curl_err, what)) {
        what = c->curl_err;
        detail = 0;
    }
    c->unreachable =
        rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_COULDNT_RESOLVE_PROXY ||
        (head && (rc == CURLE_OPERATION_TIMEDOUT || c->stalled || rc == CURLE_GOT_NOTHING ||
                  rc == CURLE_RECV_ERROR || rc == CURLE_SSL_CONNECT_ERROR));
    if (c->unreachable)
        return kstt__errf(err, errlen, KSTT_ENETWORK,
                          "cannot reach %s: %s%s%s%s; check the network connection and "
                          "HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use only the local cache",
                          url, what, detail ? " (" : "", detail ? c->curl_err : "",
                          detail ? ")" : "");
    return kstt__errf(err, errlen, KSTT_ENETWORK, "download of %s failed: %s%s%s%s%s", url, what,
                      detail ? " (" : "", detail ? c->curl_err : "", detail ? ")" : "",
                      tail ? tail : "");
}

/* An HTTP error status, explained the way a user can act on it. */
static int http_error(hub_ctx *c, const char *url, const resp_headers *h, const char *file,
                      char *err, size_t errlen) {
    long s = h->status;
    char server[600] = "";
    if (h->error_message[0])
        snprintf(server, sizeof server, " (server: %s)", h->error_message);
    const char *code = h->error_code;
    if (s == 404 || (s == 401 && !strcmp(code, "RepoNotFound"))) {
        const char *what = s == 404 ? "404 Not Found" : "401 Unauthorized";
        if (!strcmp(code, "RevisionNotFound"))
            return kstt__errf(err, errlen, KSTT_ENOTFOUND, "%s: %s: no revision '%s' in %s%s", url,
                              what, c->rev, c->repo, server);
        if (!strcmp(code, "EntryNotFound"))
            return kstt__errf(err, errlen, KSTT_ENOTFOUND,
                              "%s: %s: no file %s in %s at revision %s%s", url, what, file, c->repo,
                              c->rev, server);
        if (!strcmp(code, "RepoNotFound"))
            return kstt__errf(err, errlen, KSTT_ENOTFOUND,
                              "%s: %s: no repository %s (check the name; a private or gated "
                              "repo also needs HF_TOKEN)%s",
                              url, what, c->repo, server);
        return kstt__errf(err, errlen, KSTT_ENOTFOUND,
                          "%s: 404 Not Found: no such repository, revision or file (repo %s, "
                          "revision %s, file %s)%s",
                          url, c->repo, c->rev, file, server);
    }
    if (s == 401)
        return kstt__errf(err, errlen, KSTT_ENETWORK,
                          "%s: 401 Unauthorized: %s is gated or private; %s%s", url, c->repo,
                          c->token[0] ? "the token (HF_TOKEN or the login token) was not "
                                        "accepted; check it"
                                      : "accept its conditions on its model page and set "
                                        "HF_TOKEN to a token that has access",
                          server);
    if (s == 403)
        return kstt__errf(err, errlen, KSTT_ENETWORK,
                          "%s: 403 Forbidden: your token has no access to %s (a gated repo: "
                          "request access on %s/%s, then use a token of that account in "
                          "HF_TOKEN)%s",
                          url, c->repo, c->endpoint, c->repo, server);
    return kstt__errf(err, errlen, KSTT_ENETWORK, "%s: HTTP %ld from the server%s", url, s, server);
}

/* ---- requests ------------------------------------------------------------------------- */

static int on_xfer(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow);

/* Resets the handle (keeping its connections) and sets what every request shares. */
static void setup(hub_ctx *c, const char *url, resp_headers *h) {
    CURL *k = c->curl;
    curl_easy_reset(k);
    headers_reset(h);
    c->curl_err[0] = '\0';
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
    /* No byte at all for stall_timeout seconds: give up (a dead server or link). libcurl's
     * LOW_SPEED option averages over a window of seconds, so a stall after a fast start went
     * unnoticed for several extra seconds; on_xfer watches the byte count itself. */
    c->watch_time = now_s();
    c->watch_bytes = 0;
    c->stalled = 0;
    c->bar = NULL;
    curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(k, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    if (c->auth && same_origin(c, url))
        curl_easy_setopt(k, CURLOPT_HTTPHEADER, c->auth);
}

/* Fills m from the response that carries the file's metadata. */
static int meta_from(hub_ctx *c, const resp_headers *h, int redirect, const char *where,
                     const char *url0, file_meta *m, char *err, size_t errlen) {
    if (snprintf(m->url, sizeof m->url, "%s", where) >= (int)sizeof m->url)
        return kstt__errf(err, errlen, KSTT_ENETWORK, "%s: redirect URL too long", url0);
    if (!h->commit[0])
        return kstt__errf(err, errlen, KSTT_ENETWORK,
                          "%s: the answer has no X-Repo-Commit header; HF_ENDPOINT (%s) does "
                          "not look like a Hugging Face hub",
                          url0, c->endpoint);
    if (!kstt__hub_safe_component(h->commit))
        return kstt__errf(err, errlen, KSTT_ENETWORK, "%s: unusable X-Repo-Commit header \"%.80s\"",
                          url0, h->commit);
    snprintf(m->commit, sizeof m->commit, "%s", h->commit);
    const char *et = h->linked_etag[0] ? h->linked_etag : h->etag;
    if (kstt__hub_etag_normalize(et, m->etag, sizeof m->etag) != KSTT_OK || !m->etag[0])
        return kstt__errf(err, errlen, KSTT_ENETWORK,
                          "%s: the answer has no ETag header; cannot name the file in the cache",
                          url0);
    if (!kstt__hub_safe_component(m->etag))
        return kstt__errf(err, errlen, KSTT_ENETWORK, "%s: unusable ETag \"%.80s\"", url0, m->etag);
    /* A redirect's own Content-Length is that of its (empty) body, not the file's. */
    m->size = h->linked_size >= 0 ? h->linked_size : redirect ? -1 : h->length;
    return KSTT_OK;
}

/* Step 1: the metadata request (HEAD, redirects handled by hand). */
static int head_file(hub_ctx *c, const char *url0, const char *file, file_meta *m, char *err,
                     size_t errlen) {
    char url[URL_MAX];
    snprintf(url, sizeof url, "%s", url0);
    for (int hop = 0; hop <= MAX_HOPS; hop++) {
        resp_headers h;
        setup(c, url, &h);
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
        CURLcode rc = curl_easy_perform(c->curl);
        if (rc != CURLE_OK)
            return net_error(c, url0, rc, 1, NULL, err, errlen);
        c->unreachable = 0;
        if (h.status >= 300 && h.status < 400) {
            char *loc = NULL;
            curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &loc);
            if (!loc)
                return kstt__errf(err, errlen, KSTT_ENETWORK,
                                  "%s: HTTP %ld redirect without a Location header", url0,
                                  h.status);
            /* A CDN redirect carries the file's metadata; a bare one (renamed repo) is
             * followed. */
            if (h.linked_etag[0] || h.commit[0])
                return meta_from(c, &h, 1, loc, url0, m, err, errlen);
            if (snprintf(url, sizeof url, "%s", loc) >= (int)sizeof url)
                return kstt__errf(err, errlen, KSTT_ENETWORK, "%s: redirect URL too long", url0);
            continue;
        }
        if (h.status >= 200 && h.status < 300)
            return meta_from(c, &h, 0, url, url0, m, err, errlen);
        return http_error(c, url0, &h, file, err, errlen);
    }
    return kstt__errf(err, errlen, KSTT_ENETWORK, "%s: more than %d redirects", url0, MAX_HOPS);
}

/* State of one file's GET (all attempts). */
typedef struct dl_state {
    hub_ctx *c;
    int fd;
    const char *label;
    long long expected; /* -1: unknown */
    long long pos;      /* bytes in the file now */
    long long got;      /* body bytes written by this attempt */
    int started;        /* this response's first body byte was seen */
    int bad_range, too_big, werr;
    resp_headers h;
    /* progress bar */
    double t0, last_draw;
    long long pos0;
    int drawn;
} dl_state;

static void draw_bar(dl_state *d, int final) {
    double t = now_s();
    if (!final && t - d->last_draw < 0.1)
        return;
    d->last_draw = t;
    long long total = d->expected;
    char done_s[32], total_s[32] = "?", rate_s[32], bar[31];
    human_size(done_s, sizeof done_s, (double)d->pos);
    if (total > 0)
        human_size(total_s, sizeof total_s, (double)total);
    double dt = t - d->t0 > 1e-3 ? t - d->t0 : 1e-3;
    human_size(rate_s, sizeof rate_s, (double)(d->pos - d->pos0) / dt);
    int pct = total > 0 ? (int)(d->pos * 100 / total) : 0;
    int fill = total > 0 ? (int)(d->pos * 30 / total) : 0;
    if (pct > 100)
        pct = 100;
    if (fill > 30)
        fill = 30;
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[30] = '\0';
    fprintf(stderr, "\r%-28.28s %3d%% [%s] %9s / %-9s %9s/s ", d->label, pct, bar, done_s, total_s,
            rate_s);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
    d->drawn = !final;
}

/* libcurl's progress callback, about once a second even when nothing arrives: aborts a
 * request whose byte count has not moved for stall_timeout seconds, and draws the bar. */
static int on_xfer(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow) {
    (void)dltotal, (void)ultotal, (void)ulnow;
    hub_ctx *c = user;
    double t = now_s();
    if (dlnow != c->watch_bytes) {
        c->watch_bytes = dlnow;
        c->watch_time = t;
    } else if (t - c->watch_time > (double)c->stall_timeout) {
        c->stalled = 1;
        return 1;
    }
    if (c->bar && c->bar->h.status >= 200 && c->bar->h.status < 300)
        draw_bar(c->bar, 0);
    return 0;
}

/* Ends a bar line that an error interrupts, so the message starts on a fresh line. */
static void bar_break(dl_state *d) {
    if (d->drawn)
        fputc('\n', stderr);
    d->drawn = 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *user) {
    dl_state *d = user;
    size_t len = size * nmemb;
    if (d->h.status < 200 || d->h.status >= 300)
        return len; /* an error page: dropped */
    if (!d->started) {
        d->started = 1;
        if (d->h.status == 206) {
            long long start = -1;
            if (sscanf(d->h.content_range, "bytes %lld-", &start) != 1 || start != d->pos) {
                d->bad_range = 1;
                return 0;
            }
        } else if (d->pos > 0) {
            /* 200 to a Range request: the server sends the whole file; start over. */
            if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0) {
                d->werr = errno;
                return 0;
            }
            d->pos = d->pos0 = 0;
        }
    }
    if (d->expected >= 0 && d->pos + (long long)len > d->expected) {
        d->too_big = 1;
        return 0;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(d->fd, p + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            d->werr = errno;
            return 0;
        }
        off += (size_t)w;
    }
    d->pos += (long long)len;
    d->got += (long long)len;
    return len;
}

/* Step 2: GET the content into part (the .incomplete file), resuming what is there. */
static int get_blob(hub_ctx *c, const file_meta *m, const char *file, const char *url0,
                    const char *part, char *err, size_t errlen) {
    int fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return kstt__errf(err, errlen, KSTT_EIO, "cannot open %s for writing: %s", part,
                          strerror(errno));
    dl_state d;
    memset(&d, 0, sizeof d);
    d.c = c;
    d.fd = fd;
    d.label = file;
    d.expected = m->size;
    d.t0 = now_s();
    d.last_draw = -1;
    int st = KSTT_OK;
    for (int attempt = 1;; attempt++) {
        off_t end = lseek(fd, 0, SEEK_END);
        if (end < 0) {
            st = kstt__errf(err, errlen, KSTT_EIO, "cannot seek in %s: %s", part, strerror(errno));
            goto out;
        }
        if (m->size >= 0 && end > m->size) { /* longer than the file: not a prefix of it */
            if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
                st = kstt__errf(err, errlen, KSTT_EIO, "cannot truncate %s: %s", part,
                                strerror(errno));
                goto out;
            }
            end = 0;
        }
        d.pos = (long long)end;
        if (attempt == 1)
            d.pos0 = d.pos;
        if (m->size >= 0 && d.pos == m->size)
            break; /* complete already */
        setup(c, m->url, &d.h);
        CURL *k = c->curl;
        curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(k, CURLOPT_MAXREDIRS, (long)MAX_HOPS);
        curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(k, CURLOPT_WRITEDATA, &d);
        if (c->opts->progress)
            c->bar = &d;
        char range[48];
        if (d.pos > 0) {
            snprintf(range, sizeof range, "%lld-", d.pos);
            curl_easy_setopt(k, CURLOPT_RANGE, range);
        }
        d.started = d.bad_range = d.too_big = d.werr = 0;
        d.got = 0;
        CURLcode rc = curl_easy_perform(k);
        long status = d.h.status;
        if (rc == CURLE_OK && status >= 200 && status < 300) {
            if (!d.started && status == 200 && d.pos > 0) { /* an empty file, in full */
                if (ftruncate(fd, 0) != 0) {
                    st = kstt__errf(err, errlen, KSTT_EIO, "cannot truncate %s: %s", part,
                                    strerror(errno));
                    goto out;
                }
                d.pos = 0;
            }
            break;
        }
        bar_break(&d);
        if (rc == CURLE_OK && status == 416 && d.pos > 0 && attempt < MAX_ATTEMPTS) {
            /* The server says our partial file is not a prefix it can continue: restart. */
            if (ftruncate(fd, 0) != 0) {
                st = kstt__errf(err, errlen, KSTT_EIO, "cannot truncate %s: %s", part,
                                strerror(errno));
                goto out;
            }
            continue;
        }
        if (rc == CURLE_OK && status >= 500 && attempt < MAX_ATTEMPTS) {
            /* A CDN's passing 502/503/504: try again shortly. */
            if (c->opts->verbose)
                fprintf(stderr, "kstt: HTTP %ld for %s; retrying, attempt %d of %d\n", status, file,
                        attempt + 1, MAX_ATTEMPTS);
            sleep_ms(200L * attempt);
            continue;
        }
        if (rc == CURLE_OK) {
            st = http_error(c, url0, &d.h, file, err, errlen);
            goto out;
        }
        if (d.werr) {
            st = kstt__errf(err, errlen, KSTT_EIO, "cannot write %s: %s", part, strerror(d.werr));
            goto out;
        }
        if (d.too_big) {
            st = kstt__errf(err, errlen, KSTT_EIO,
                            "%s: size mismatch: the server sent more than the %lld bytes it "
                            "announced; the partial file was removed",
                            url0, m->size);
            close(fd);
            unlink(part);
            return st;
        }
        if (d.bad_range) {
            st = kstt__errf(err, errlen, KSTT_ENETWORK,
                            "%s: asked for bytes %lld- and the server answered with "
                            "Content-Range \"%s\"",
                            url0, d.pos, d.h.content_range);
            goto out;
        }
        if (d.got > 0 && attempt < MAX_ATTEMPTS) {
            if (c->opts->verbose)
                fprintf(stderr,
                        "kstt: connection lost after byte %lld of %s: %s; resuming, attempt "
                        "%d of %d\n",
                        d.pos, file, xfer_what(c, rc), attempt + 1, MAX_ATTEMPTS);
            sleep_ms(200L * attempt);
            continue;
        }
        char tail[KSTT_HUB_PATH_MAX + 128];
        snprintf(tail, sizeof tail, "; %lld bytes are kept in %s: run the command again to resume",
                 d.pos, part);
        st = net_error(c, url0, rc, 0, d.pos > 0 ? tail : NULL, err, errlen);
        goto out;
    }
    if (c->opts->progress)
        draw_bar(&d, 1);
    if (fsync(fd) != 0)
        st = kstt__errf(err, errlen, KSTT_EIO, "cannot write %s: %s", part, strerror(errno));
out:
    bar_break(&d);
    if (close(fd) != 0 && st == KSTT_OK)
        st = kstt__errf(err, errlen, KSTT_EIO, "cannot write %s: %s", part, strerror(errno));
    if (st)
        return st;
    struct stat sb;
    if (stat(part, &sb) != 0)
        return kstt__errf(err, errlen, KSTT_EIO, "%s: %s", part, strerror(errno));
    if (m->size >= 0 && (long long)sb.st_size != m->size) {
        unlink(part);
        return kstt__errf(err, errlen, KSTT_EIO,
                          "%s: size mismatch: expected %lld bytes (announced by the server), "
                          "got %lld; the partial file was removed",
                          url0, m->size, (long long)sb.st_size);
    }
    return KSTT_OK;
}

/* ---- cache writes --------------------------------------------------------------------- */

/* Takes the lock huggingface_hub takes for the blob; *fd is -1 when locks are unsupported. */
static int lock_blob(hub_ctx *c, const char *etag, int *fd, char *err, size_t errlen) {
    char path[KSTT_HUB_PATH_MAX];
    *fd = -1;
    int st = kstt__hub_mkdirs(c->locks_dir, err, errlen);
    if (!st)
        st = kstt__hub_fmt(path, sizeof path, err, errlen, "%s/%s.lock", c->locks_dir, etag);
    if (st)
        return st;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0)
        return kstt__errf(err, errlen, KSTT_EIO, "cannot open lock file %s: %s", path,
                          strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            if (c->opts->verbose)
                fprintf(stderr, "kstt: waiting for another download of the same file (%s)\n", path);
            while (flock(f, LOCK_EX) != 0) {
                if (errno != EINTR) {
                    int e = errno;
                    close(f);
                    return kstt__errf(err, errlen, KSTT_EIO, "cannot lock %s: %s", path,
                                      strerror(e));
                }
            }
        } else { /* a file system without locks: go on unlocked, as filelock would fail */
            close(f);
            return KSTT_OK;
        }
    }
    *fd = f;
    return KSTT_OK;
}

static void unlock_blob(int fd) {
    if (fd < 0)
        return;
    flock(fd, LOCK_UN);
    close(fd);
}

/* Step 3: snapshots/COMMIT/FILE -> ../../blobs/ETAG (one more ../ per folder in FILE). */
static int link_snapshot(hub_ctx *c, const char *commit, const char *file, const char *etag,
                         char *err, size_t errlen) {
    char lnk[KSTT_HUB_PATH_MAX], target[KSTT_HUB_PATH_MAX], dir[KSTT_HUB_PATH_MAX];
    char tmp[KSTT_HUB_PATH_MAX + 32], cur[KSTT_HUB_PATH_MAX];
    int st = kstt__hub_fmt(lnk, sizeof lnk, err, errlen, "%s/snapshots/%s/%s", c->repo_dir, commit,
                           file);
    if (st)
        return st;
    size_t t = 0;
    target[0] = '\0';
    for (const char *p = file;; p++) {
        if (t + 3 >= sizeof target)
            return kstt__errf(err, errlen, KSTT_ERANGE, "path too long");
        memcpy(target + t, "../", 4);
        t += 3;
        if (!(p = strchr(p, '/')))
            break;
    }
    st = kstt__hub_fmt(target + t, sizeof target - t, err, errlen, "../blobs/%s", etag);
    if (st)
        return st;
    parent_dir(lnk, dir, sizeof dir);
    st = kstt__hub_mkdirs(dir, err, errlen);
    if (st)
        return st;
    ssize_t n = readlink(lnk, cur, sizeof cur - 1);
    if (n >= 0) {
        cur[n] = '\0';
        if (!strcmp(cur, target))
            return KSTT_OK;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", lnk, (long)getpid());
    unlink(tmp);
    if (symlink(target, tmp) != 0) {
        int e = errno;
        char blob[KSTT_HUB_PATH_MAX];
        /* File systems without symlinks: a hard link to the blob serves too. */
        if (!((e == EPERM || e == EOPNOTSUPP || e == ENOSYS) &&
              kstt__hub_fmt(blob, sizeof blob, NULL, 0, "%s/blobs/%s", c->repo_dir, etag) ==
                  KSTT_OK &&
              link(blob, tmp) == 0))
            return kstt__errf(err, errlen, KSTT_EIO, "cannot create link %s -> %s: %s", tmp, target,
                              strerror(e));
    }
    if (rename(tmp, lnk) != 0) {
        int e = errno;
        unlink(tmp);
        return kstt__errf(err, errlen, KSTT_EIO, "cannot rename %s to %s: %s", tmp, lnk,
                          strerror(e));
    }
    return KSTT_OK;
}

/* refs/REVISION = COMMIT (no newline), replaced atomically. */
static int write_ref(hub_ctx *c, const char *rev, const char *commit, char *err, size_t errlen) {
    char path[KSTT_HUB_PATH_MAX], dir[KSTT_HUB_PATH_MAX], tmp[KSTT_HUB_PATH_MAX + 32];
    char cur[256] = "";
    int st = kstt__hub_fmt(path, sizeof path, err, errlen, "%s/refs/%s", c->repo_dir, rev);
    if (st)
        return st;
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t n = fread(cur, 1, sizeof cur - 1, f);
        cur[n] = '\0';
        fclose(f);
        if (!strcmp(cur, commit))
            return KSTT_OK;
    }
    parent_dir(path, dir, sizeof dir);
    st = kstt__hub_mkdirs(dir, err, errlen);
    if (st)
        return st;
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f)
        return kstt__errf(err, errlen, KSTT_EIO, "cannot write %s: %s", tmp, strerror(errno));
    int ok = fputs(commit, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return kstt__errf(err, errlen, KSTT_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return KSTT_OK;
}

/* Makes snapshots/COMMIT/file present: `rev` is the revision asked for (config.json) or the
 * commit already known (every other file). The commit is written to commit_out. */
static int fetch_file(hub_ctx *c, const char *file, const char *rev, char *commit_out,
                      size_t commit_cap, char *err, size_t errlen) {
    char p[KSTT_HUB_PATH_MAX];
    struct stat sb;
    int st;
    if (kstt__hub_is_commit(rev)) {
        st = kstt__hub_fmt(p, sizeof p, err, errlen, "%s/snapshots/%s/%s", c->repo_dir, rev, file);
        if (st)
            return st;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) { /* cached: no request */
            if (commit_out)
                snprintf(commit_out, commit_cap, "%s", rev);
            return KSTT_OK;
        }
    }
    char erev[1024], efile[3 * KSTT_HUB_NAME_MAX], url0[URL_MAX];
    if (url_encode(rev, 0, erev, sizeof erev) || url_encode(file, 1, efile, sizeof efile))
        return kstt__errf(err, errlen, KSTT_ERANGE, "%s: file name too long", file);
    st = kstt__hub_fmt(url0, sizeof url0, err, errlen, "%s/%s/resolve/%s/%s", c->endpoint, c->repo,
                       erev, efile);
    if (st)
        return st;
    file_meta m;
    st = head_file(c, url0, file, &m, err, errlen);
    if (st)
        return st;
    /* A known commit names the snapshot; the server's answer names it for a branch. */
    const char *commit = kstt__hub_is_commit(rev) ? rev : m.commit;
    if (commit_out)
        snprintf(commit_out, commit_cap, "%s", commit);

    char blobs[KSTT_HUB_PATH_MAX], blob[KSTT_HUB_PATH_MAX], part[KSTT_HUB_PATH_MAX];
    st = kstt__hub_fmt(blobs, sizeof blobs, err, errlen, "%s/blobs", c->repo_dir);
    if (!st)
        st = kstt__hub_fmt(blob, sizeof blob, err, errlen, "%s/%s", blobs, m.etag);
    if (!st)
        st = kstt__hub_fmt(part, sizeof part, err, errlen, "%s.incomplete", blob);
    if (!st)
        st = kstt__hub_mkdirs(blobs, err, errlen);
    if (st)
        return st;
    int lock = -1;
    st = lock_blob(c, m.etag, &lock, err, errlen);
    if (st)
        return st;
    int have = stat(blob, &sb) == 0 && S_ISREG(sb.st_mode) &&
               (m.size < 0 || (long long)sb.st_size == m.size);
    if (!have) {
        if (lstat(blob, &sb) == 0)
            unlink(blob); /* wrong size: not this content */
        if (c->opts->verbose && !c->opts->progress) {
            char size_s[32] = "size unknown";
            if (m.size >= 0)
                human_size(size_s, sizeof size_s, (double)m.size);
            if (stat(part, &sb) == 0 && sb.st_size > 0)
                fprintf(stderr, "kstt: resuming %s (%s) at byte %lld\n", file, size_s,
                        (long long)sb.st_size);
            else
                fprintf(stderr, "kstt: downloading %s (%s)\n", file, size_s);
        }
        st = get_blob(c, &m, file, url0, part, err, errlen);
        if (!st && rename(part, blob) != 0)
            st = kstt__errf(err, errlen, KSTT_EIO, "cannot rename %s to %s: %s", part, blob,
                            strerror(errno));
    }
    unlock_blob(lock);
    if (st)
        return st;
    return link_snapshot(c, commit, file, m.etag, err, errlen);
}

/* ---- repo listing (only for a config.json without tokenizer_name) ---------------------- */

typedef struct {
    char *data;
    size_t n, cap;
    int overflow;
} membuf;

static size_t on_mem(char *p, size_t size, size_t nmemb, void *user) {
    membuf *b = user;
    size_t len = size * nmemb;
    if (b->n + len + 1 > MAX_LISTING) {
        b->overflow = 1;
        return 0;
    }
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *q = realloc(b->data, cap);
        if (!q)
            return 0;
        b->data = q;
        b->cap = cap;
    }
    memcpy(b->data + b->n, p, len);
    b->n += len;
    b->data[b->n] = '\0';
    return len;
}

/* The repo's *.model files, from GET {endpoint}/api/models/{repo}/revision/{commit}. */
static int list_tokenizers(hub_ctx *c, const char *commit, kstt__hub_files *out, char *err,
                           size_t errlen) {
    char url[URL_MAX];
    int st = kstt__hub_fmt(url, sizeof url, err, errlen, "%s/api/models/%s/revision/%s",
                           c->endpoint, c->repo, commit);
    if (st)
        return st;
    membuf b = {0};
    resp_headers h;
    setup(c, url, &h);
    curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c->curl, CURLOPT_MAXREDIRS, (long)MAX_HOPS);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_mem);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c->curl);
    memset(out, 0, sizeof *out);
    cJSON *root = NULL;
    if (b.overflow) {
        st = kstt__errf(err, errlen, KSTT_ENETWORK, "%s: listing larger than %d MiB", url,
                        MAX_LISTING >> 20);
    } else if (rc != CURLE_OK) {
        st = net_error(c, url, rc, 0, NULL, err, errlen);
    } else if (h.status != 200) {
        st = http_error(c, url, &h, "(repo listing)", err, errlen);
    } else if (!b.data || !(root = cJSON_Parse(b.data))) {
        st = kstt__errf(err, errlen, KSTT_ENETWORK, "%s: the listing is not valid JSON", url);
    } else {
        const cJSON *sib = cJSON_GetObjectItemCaseSensitive(root, "siblings");
        const cJSON *it;
        cJSON_ArrayForEach(it, sib) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "rfilename");
            if (!cJSON_IsString(name) || !name->valuestring)
                continue;
            const char *s = name->valuestring;
            size_t n = strlen(s);
            if (n > 6 && !strcmp(s + n - 6, ".model") && kstt__hub_safe_relpath(s) &&
                out->n < KSTT_HUB_MAX_FILES)
                snprintf(out->name[out->n++], KSTT_HUB_NAME_MAX, "%s", s);
        }
        if (out->n == 0)
            st = kstt__errf(err, errlen, KSTT_ENOTFOUND,
                            "%s: config.json names no tokenizer_name and the repo has no "
                            "*.model file",
                            c->repo);
    }
    cJSON_Delete(root);
    free(b.data);
    return st;
}

/* ---- entry point ---------------------------------------------------------------------- */

static int download_all(hub_ctx *c, char *dir, size_t dircap, char *err, size_t errlen) {
    char commit[128], snap[KSTT_HUB_PATH_MAX], p[KSTT_HUB_PATH_MAX];
    char why[2 * KSTT_HUB_PATH_MAX];
    int st = fetch_file(c, "config.json", c->rev, commit, sizeof commit, err, errlen);
    if (st == KSTT_ENETWORK && c->unreachable &&
        kstt__hub_cache_lookup(c->repo, c->rev, dir, dircap, why, sizeof why) == KSTT_OK) {
        /* As huggingface_hub: no server, but a complete snapshot of that revision. */
        if (c->opts->verbose)
            fprintf(stderr, "kstt: %s\nkstt: using the cached snapshot %s\n", err, dir);
        return KSTT_OK;
    }
    if (st)
        return st;
    if (!kstt__hub_is_commit(c->rev)) {
        st = write_ref(c, c->rev, commit, err, errlen);
        if (st)
            return st;
    }
    st = kstt__hub_fmt(snap, sizeof snap, err, errlen, "%s/snapshots/%s", c->repo_dir, commit);
    if (!st)
        st = kstt__hub_fmt(p, sizeof p, err, errlen, "%s/config.json", snap);
    if (st)
        return st;
    kstt__hub_files f;
    st = kstt__hub_config_files(p, &f, err, errlen);
    for (int i = 0; !st && i < f.n; i++)
        st = fetch_file(c, f.name[i], commit, NULL, 0, err, errlen);
    if (!st && f.want_tokenizer_glob) {
        kstt__hub_files t;
        st = list_tokenizers(c, commit, &t, err, errlen);
        for (int i = 0; !st && i < t.n; i++)
            st = fetch_file(c, t.name[i], commit, NULL, 0, err, errlen);
    }
    if (st)
        return st;
    st = kstt__hub_snapshot_check(snap, why, sizeof why);
    if (st)
        return kstt__errf(err, errlen, st,
                          "%s: the download finished but the snapshot is not "
                          "complete: %s",
                          c->repo, why);
    return kstt__hub_fmt(dir, dircap, err, errlen, "%s", snap);
}

int kstt_hub_download(const char *repo_id, const kstt_hub_opts *opts, char *dir, size_t dircap,
                      char *err, size_t errlen) {
    kstt_hub_opts def = kstt_hub_opts_default();
    if (!opts)
        opts = &def;
    if (!repo_id || !kstt__hub_repo_id_valid(repo_id))
        return kstt__errf(err, errlen, KSTT_EINVAL,
                          "'%s' is not a Hugging Face repo id (ORG/NAME, e.g. %s)",
                          repo_id ? repo_id : "", KSTT_DEFAULT_MODEL);
    const char *rev = opts->revision ? opts->revision : "main";
    if (!kstt__hub_revision_valid(rev))
        return kstt__errf(err, errlen, KSTT_EINVAL,
                          "'%s' is not a valid revision (a branch, tag or commit hash)", rev);
    if (kstt__hub_env_true("HF_HUB_OFFLINE")) {
        char why[2 * KSTT_HUB_PATH_MAX];
        int st = kstt__hub_cache_lookup(repo_id, rev, dir, dircap, why, sizeof why);
        if (st == KSTT_ENOTFOUND)
            return kstt__errf(err, errlen, st,
                              "%s; HF_HUB_OFFLINE is set, so nothing is "
                              "downloaded",
                              why);
        return st ? kstt__errf(err, errlen, st, "%s", why) : KSTT_OK;
    }

    hub_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "out of memory");
    c->opts = opts;
    c->repo = repo_id;
    c->rev = rev;
    kstt__hub_endpoint(c->endpoint, sizeof c->endpoint);
    url_origin(c->endpoint, c->origin, sizeof c->origin);
    kstt__hub_token(c->token, sizeof c->token);
    c->connect_timeout = env_seconds("HF_HUB_ETAG_TIMEOUT", 10);
    c->stall_timeout = env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10);
    snprintf(c->user_agent, sizeof c->user_agent, "kstt/%s", kstt_version());
    char cache[KSTT_HUB_PATH_MAX];
    const char *slash = strchr(repo_id, '/');
    int st = kstt__hub_repo_dir(repo_id, c->repo_dir, sizeof c->repo_dir, err, errlen);
    if (!st)
        st = kstt__hub_cache_dir(cache, sizeof cache, err, errlen);
    if (!st)
        st = kstt__hub_fmt(c->locks_dir, sizeof c->locks_dir, err, errlen,
                           "%s/.locks/models--%.*s--%s", cache, (int)(slash - repo_id), repo_id,
                           slash + 1);
    if (st) {
        free(c);
        return st;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(c);
        return kstt__errf(err, errlen, KSTT_ENETWORK, "cannot initialise libcurl");
    }
    c->curl = curl_easy_init();
    if (c->token[0]) {
        char h[sizeof c->token + 32];
        snprintf(h, sizeof h, "Authorization: Bearer %s", c->token);
        c->auth = curl_slist_append(NULL, h);
    }
    if (!c->curl || (c->token[0] && !c->auth))
        st = kstt__errf(err, errlen, KSTT_ENOMEM, "cannot create a libcurl handle");
    else
        st = download_all(c, dir, dircap, err, errlen);
    curl_slist_free_all(c->auth);
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_global_cleanup();
    memset(c->token, 0, sizeof c->token);
    free(c);
    return st;
}
