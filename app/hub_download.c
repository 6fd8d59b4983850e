/*
 * The Hugging Face download protocol: which requests fetch a repo snapshot into the local
 * cache, in the layout huggingface_hub writes (hub_cache.h), so either tool reuses the other's
 * files. Transfers are hub_http.c's; cache paths and writes are hub_cache.c's.
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
 *      fsync, size check and an atomic rename to blobs/ETAG. The blob is written under
 *      flock(.locks/.../ETAG.lock), the lock file huggingface_hub uses, so two processes never
 *      write the same blob.
 *   3. snapshots/COMMIT/FILE becomes a relative symlink to the blob (replaced atomically).
 * config.json comes first, at the requested revision; the commit it reports is written to
 * refs/REVISION and every other file is fetched at that commit, so a snapshot never mixes two
 * commits. A file already present in that snapshot costs no request. The files are those
 * config.json names by the loader's rules (app_model_files_read), so a download that succeeds
 * is a model the library can load.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_hub.h"
#include "app_progress.h"
#include "app_util.h"
#include "hub_cache.h"
#include "hub_http.h"
#include "kstt.h"

#define MAX_ATTEMPTS 5 /* GET attempts per file: retried after progress, a 5xx or a 416 */
#define MAX_HOPS 10    /* redirects followed by the metadata request */
#define URL_MAX 4096

typedef struct {
    app_http *http;
    const app_hub_opts *opts;
    const char *repo;
    const char *rev; /* the revision asked for, for error messages */
    char endpoint[1024];
    int has_token;
    char repo_dir[APP_HUB_PATH_MAX];
    char locks_dir[APP_HUB_PATH_MAX];
} hub_ctx;

typedef struct {
    char commit[128];
    char etag[512];
    long long size;    /* -1: unknown */
    char url[URL_MAX]; /* where the content is: the resolve URL or the redirect target */
} file_meta;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
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

/* An HTTP error status, explained the way a user can act on it. */
static int http_error(hub_ctx *c, const char *url, const app_http_resp *h, const char *file,
                      char *err, size_t errlen) {
    long s = h->status;
    char server[600] = "";
    if (h->error_message[0])
        snprintf(server, sizeof server, " (server: %s)", h->error_message);
    const char *code = h->error_code;
    if (s == 404 || (s == 401 && !strcmp(code, "RepoNotFound"))) {
        const char *what = s == 404 ? "404 Not Found" : "401 Unauthorized";
        if (!strcmp(code, "RevisionNotFound"))
            return app_errf(err, errlen, KSTT_ENOTFOUND, "%s: %s: no revision '%s' in %s%s", url,
                            what, c->rev, c->repo, server);
        if (!strcmp(code, "EntryNotFound"))
            return app_errf(err, errlen, KSTT_ENOTFOUND,
                            "%s: %s: no file %s in %s at revision %s%s", url, what, file, c->repo,
                            c->rev, server);
        if (!strcmp(code, "RepoNotFound"))
            return app_errf(err, errlen, KSTT_ENOTFOUND,
                            "%s: %s: no repository %s (check the name; a private or gated "
                            "repo also needs HF_TOKEN)%s",
                            url, what, c->repo, server);
        return app_errf(err, errlen, KSTT_ENOTFOUND,
                        "%s: 404 Not Found: no such repository, revision or file (repo %s, "
                        "revision %s, file %s)%s",
                        url, c->repo, c->rev, file, server);
    }
    if (s == 401)
        return app_errf(err, errlen, KSTT_ENETWORK,
                        "%s: 401 Unauthorized: %s is gated or private; %s%s", url, c->repo,
                        c->has_token ? "the token (HF_TOKEN or the login token) was not "
                                       "accepted; check it"
                                     : "accept its conditions on its model page and set "
                                       "HF_TOKEN to a token that has access",
                        server);
    if (s == 403)
        return app_errf(err, errlen, KSTT_ENETWORK,
                        "%s: 403 Forbidden: your token has no access to %s (a gated repo: "
                        "request access on %s/%s, then use a token of that account in "
                        "HF_TOKEN)%s",
                        url, c->repo, c->endpoint, c->repo, server);
    return app_errf(err, errlen, KSTT_ENETWORK, "%s: HTTP %ld from the server%s", url, s, server);
}

/* ---- step 1: metadata ------------------------------------------------------------------- */

/* Fills m from the response that carries the file's metadata. */
static int meta_from(hub_ctx *c, const app_http_resp *h, int redirect, const char *where,
                     const char *url0, file_meta *m, char *err, size_t errlen) {
    if (snprintf(m->url, sizeof m->url, "%s", where) >= (int)sizeof m->url)
        return app_errf(err, errlen, KSTT_ENETWORK, "%s: redirect URL too long", url0);
    if (!h->commit[0])
        return app_errf(err, errlen, KSTT_ENETWORK,
                        "%s: the answer has no X-Repo-Commit header; HF_ENDPOINT (%s) does "
                        "not look like a Hugging Face hub",
                        url0, c->endpoint);
    if (!app_hub_safe_component(h->commit))
        return app_errf(err, errlen, KSTT_ENETWORK, "%s: unusable X-Repo-Commit header \"%.80s\"",
                        url0, h->commit);
    snprintf(m->commit, sizeof m->commit, "%s", h->commit);
    const char *et = h->linked_etag[0] ? h->linked_etag : h->etag;
    if (app_hub_etag_normalize(et, m->etag, sizeof m->etag) != KSTT_OK || !m->etag[0])
        return app_errf(err, errlen, KSTT_ENETWORK,
                        "%s: the answer has no ETag header; cannot name the file in the cache",
                        url0);
    if (!app_hub_safe_component(m->etag))
        return app_errf(err, errlen, KSTT_ENETWORK, "%s: unusable ETag \"%.80s\"", url0, m->etag);
    /* A redirect's own Content-Length is that of its (empty) body, not the file's. */
    m->size = h->linked_size >= 0 ? h->linked_size : redirect ? -1 : h->length;
    return KSTT_OK;
}

/* The metadata request (HEAD, redirects handled by hand). */
static int head_file(hub_ctx *c, const char *url0, const char *file, file_meta *m, char *err,
                     size_t errlen) {
    char url[URL_MAX], loc[URL_MAX];
    snprintf(url, sizeof url, "%s", url0);
    for (int hop = 0; hop <= MAX_HOPS; hop++) {
        app_http_resp h;
        int st = app_http_head(c->http, url, url0, &h, loc, sizeof loc, err, errlen);
        if (st)
            return st;
        if (h.status >= 300 && h.status < 400) {
            if (!loc[0])
                return app_errf(err, errlen, KSTT_ENETWORK,
                                "%s: HTTP %ld redirect without a Location header", url0, h.status);
            /* A CDN redirect carries the file's metadata; a bare one (renamed repo) is
             * followed. */
            if (h.linked_etag[0] || h.commit[0])
                return meta_from(c, &h, 1, loc, url0, m, err, errlen);
            snprintf(url, sizeof url, "%s", loc);
            continue;
        }
        if (h.status >= 200 && h.status < 300)
            return meta_from(c, &h, 0, url, url0, m, err, errlen);
        return http_error(c, url0, &h, file, err, errlen);
    }
    return app_errf(err, errlen, KSTT_ENETWORK, "%s: more than %d redirects", url0, MAX_HOPS);
}

/* ---- step 2: content ----------------------------------------------------------------- */

/* State of one file's GET (all attempts). */
typedef struct {
    int fd;
    long long expected; /* -1: unknown */
    long long pos;      /* bytes in the file now */
    long long got;      /* body bytes written by this attempt */
    int started;        /* this response's first body byte was seen */
    int bad_range, too_big, werr;
    app_progress bar;
    int bar_on;
} dl_state;

static size_t on_body(const char *p, size_t len, const app_http_resp *h, void *user) {
    dl_state *d = user;
    if (h->status < 200 || h->status >= 300)
        return len; /* an error page: dropped */
    if (!d->started) {
        d->started = 1;
        if (h->status == 206) {
            long long start = -1;
            if (sscanf(h->content_range, "bytes %lld-", &start) != 1 || start != d->pos) {
                d->bad_range = 1;
                return 0;
            }
        } else if (d->pos > 0) {
            /* 200 to a Range request: the server sends the whole file; start over. */
            if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0) {
                d->werr = errno;
                return 0;
            }
            d->pos = 0;
            app_progress_set_start(&d->bar, 0);
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

static void on_progress(long long received, const app_http_resp *h, void *user) {
    (void)received;
    dl_state *d = user;
    if (d->bar_on && h->status >= 200 && h->status < 300)
        app_progress_update(&d->bar, (double)d->pos);
}

/* GET the content into part (the .incomplete file), resuming what is there. */
static int get_blob(hub_ctx *c, const file_meta *m, const char *file, const char *url0,
                    const char *part, char *err, size_t errlen) {
    int fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return app_errf(err, errlen, KSTT_EIO, "cannot open %s for writing: %s", part,
                        strerror(errno));
    dl_state d;
    memset(&d, 0, sizeof d);
    d.fd = fd;
    d.expected = m->size;
    d.bar_on = c->opts->progress;
    if (d.bar_on) {
        app_progress_start(&d.bar, stderr, file, APP_PROGRESS_BYTES, (double)m->size);
        d.bar.enabled = 1; /* progress was asked for: a terminal, or --progress */
    }
    int st = KSTT_OK;
    for (int attempt = 1;; attempt++) {
        off_t end = lseek(fd, 0, SEEK_END);
        if (end < 0) {
            st = app_errf(err, errlen, KSTT_EIO, "cannot seek in %s: %s", part, strerror(errno));
            goto out;
        }
        if (m->size >= 0 && end > m->size) { /* longer than the file: not a prefix of it */
            if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
                st = app_errf(err, errlen, KSTT_EIO, "cannot truncate %s: %s", part,
                              strerror(errno));
                goto out;
            }
            end = 0;
        }
        d.pos = (long long)end;
        if (attempt == 1)
            app_progress_set_start(&d.bar, (double)d.pos);
        if (m->size >= 0 && d.pos == m->size)
            break; /* complete already */
        d.started = d.bad_range = d.too_big = d.werr = 0;
        d.got = 0;
        app_http_resp h;
        st = app_http_get(c->http, m->url, url0, d.pos, on_body, on_progress, &d, &h, err, errlen);
        long status = h.status;
        if (!st && status >= 200 && status < 300) {
            if (!d.started && status == 200 && d.pos > 0) { /* an empty file, in full */
                if (ftruncate(fd, 0) != 0) {
                    st = app_errf(err, errlen, KSTT_EIO, "cannot truncate %s: %s", part,
                                  strerror(errno));
                    goto out;
                }
                d.pos = 0;
            }
            break;
        }
        app_progress_break(&d.bar);
        if (!st && status == 416 && d.pos > 0 && attempt < MAX_ATTEMPTS) {
            /* The server says our partial file is not a prefix it can continue: restart. */
            if (ftruncate(fd, 0) != 0) {
                st = app_errf(err, errlen, KSTT_EIO, "cannot truncate %s: %s", part,
                              strerror(errno));
                goto out;
            }
            continue;
        }
        if (!st && status >= 500 && attempt < MAX_ATTEMPTS) {
            /* A CDN's passing 502/503/504: try again shortly. */
            if (c->opts->verbose)
                fprintf(stderr, "kstt: HTTP %ld for %s; retrying, attempt %d of %d\n", status, file,
                        attempt + 1, MAX_ATTEMPTS);
            sleep_ms(200L * attempt);
            continue;
        }
        if (!st) {
            st = http_error(c, url0, &h, file, err, errlen);
            goto out;
        }
        if (d.werr) {
            st = app_errf(err, errlen, KSTT_EIO, "cannot write %s: %s", part, strerror(d.werr));
            goto out;
        }
        if (d.too_big) {
            st = app_errf(err, errlen, KSTT_EIO,
                          "%s: size mismatch: the server sent more than the %lld bytes it "
                          "announced; the partial file was removed",
                          url0, m->size);
            close(fd);
            unlink(part);
            return st;
        }
        if (d.bad_range) {
            st = app_errf(err, errlen, KSTT_ENETWORK,
                          "%s: asked for bytes %lld- and the server answered with "
                          "Content-Range \"%s\"",
                          url0, d.pos, h.content_range);
            goto out;
        }
        if (d.got > 0 && attempt < MAX_ATTEMPTS) {
            if (c->opts->verbose)
                fprintf(stderr,
                        "kstt: connection lost after byte %lld of %s: %s; resuming, attempt "
                        "%d of %d\n",
                        d.pos, file, app_http_what(c->http), attempt + 1, MAX_ATTEMPTS);
            sleep_ms(200L * attempt);
            continue;
        }
        if (d.pos > 0) {
            size_t n = strlen(err);
            if (errlen > n)
                snprintf(err + n, errlen - n,
                         "; %lld bytes are kept in %s: run the command again to resume", d.pos,
                         part);
        }
        goto out;
    }
    if (d.bar_on)
        app_progress_done(&d.bar, (double)d.pos);
    if (fsync(fd) != 0)
        st = app_errf(err, errlen, KSTT_EIO, "cannot write %s: %s", part, strerror(errno));
out:
    app_progress_break(&d.bar);
    if (close(fd) != 0 && st == KSTT_OK)
        st = app_errf(err, errlen, KSTT_EIO, "cannot write %s: %s", part, strerror(errno));
    if (st)
        return st;
    struct stat sb;
    if (stat(part, &sb) != 0)
        return app_errf(err, errlen, KSTT_EIO, "%s: %s", part, strerror(errno));
    if (m->size >= 0 && (long long)sb.st_size != m->size) {
        unlink(part);
        return app_errf(err, errlen, KSTT_EIO,
                        "%s: size mismatch: expected %lld bytes (announced by the server), "
                        "got %lld; the partial file was removed",
                        url0, m->size, (long long)sb.st_size);
    }
    return KSTT_OK;
}

/* Makes snapshots/COMMIT/file present: `rev` is the revision asked for (config.json) or the
 * commit already known (every other file). The commit is written to commit_out. */
static int fetch_file(hub_ctx *c, const char *file, const char *rev, char *commit_out,
                      size_t commit_cap, char *err, size_t errlen) {
    char p[APP_HUB_PATH_MAX];
    struct stat sb;
    int st;
    if (app_hub_is_commit(rev)) {
        st = app_fmt(p, sizeof p, err, errlen, "%s/snapshots/%s/%s", c->repo_dir, rev, file);
        if (st)
            return st;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) { /* cached: no request */
            if (commit_out)
                snprintf(commit_out, commit_cap, "%s", rev);
            return KSTT_OK;
        }
    }
    char erev[1024], efile[3 * APP_HUB_NAME_MAX], url0[URL_MAX];
    if (url_encode(rev, 0, erev, sizeof erev) || url_encode(file, 1, efile, sizeof efile))
        return app_errf(err, errlen, KSTT_ERANGE, "%s: file name too long", file);
    st = app_fmt(url0, sizeof url0, err, errlen, "%s/%s/resolve/%s/%s", c->endpoint, c->repo, erev,
                 efile);
    if (st)
        return st;
    file_meta m;
    st = head_file(c, url0, file, &m, err, errlen);
    if (st)
        return st;
    /* A known commit names the snapshot; the server's answer names it for a branch. */
    const char *commit = app_hub_is_commit(rev) ? rev : m.commit;
    if (commit_out)
        snprintf(commit_out, commit_cap, "%s", commit);

    char blobs[APP_HUB_PATH_MAX], blob[APP_HUB_PATH_MAX], part[APP_HUB_PATH_MAX];
    st = app_fmt(blobs, sizeof blobs, err, errlen, "%s/blobs", c->repo_dir);
    if (!st)
        st = app_fmt(blob, sizeof blob, err, errlen, "%s/%s", blobs, m.etag);
    if (!st)
        st = app_fmt(part, sizeof part, err, errlen, "%s.incomplete", blob);
    if (!st)
        st = app_hub_mkdirs(blobs, err, errlen);
    if (st)
        return st;
    int lock = -1;
    st = app_hub_lock_blob(c->locks_dir, m.etag, c->opts->verbose, &lock, err, errlen);
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
                app_human_size(size_s, sizeof size_s, (double)m.size);
            if (stat(part, &sb) == 0 && sb.st_size > 0)
                fprintf(stderr, "kstt: resuming %s (%s) at byte %lld\n", file, size_s,
                        (long long)sb.st_size);
            else
                fprintf(stderr, "kstt: downloading %s (%s)\n", file, size_s);
        }
        st = get_blob(c, &m, file, url0, part, err, errlen);
        if (!st && rename(part, blob) != 0)
            st = app_errf(err, errlen, KSTT_EIO, "cannot rename %s to %s: %s", part, blob,
                          strerror(errno));
    }
    app_hub_unlock_blob(lock);
    if (st)
        return st;
    return app_hub_link_snapshot(c->repo_dir, commit, file, m.etag, err, errlen);
}

/* ---- the snapshot ---------------------------------------------------------------------- */

static int download_all(hub_ctx *c, char *dir, size_t dircap, char *err, size_t errlen) {
    char commit[128], snap[APP_HUB_PATH_MAX], p[APP_HUB_PATH_MAX];
    char why[2 * APP_HUB_PATH_MAX];
    int st = fetch_file(c, "config.json", c->rev, commit, sizeof commit, err, errlen);
    if (st == KSTT_ENETWORK && app_http_unreachable(c->http) &&
        app_hub_cache_lookup(c->repo, c->rev, dir, dircap, why, sizeof why) == KSTT_OK) {
        /* As huggingface_hub: no server, but a complete snapshot of that revision. */
        if (c->opts->verbose)
            fprintf(stderr, "kstt: %s\nkstt: using the cached snapshot %s\n", err, dir);
        return KSTT_OK;
    }
    if (st)
        return st;
    if (!app_hub_is_commit(c->rev)) {
        st = app_hub_write_ref(c->repo_dir, c->rev, commit, err, errlen);
        if (st)
            return st;
    }
    st = app_fmt(snap, sizeof snap, err, errlen, "%s/snapshots/%s", c->repo_dir, commit);
    if (!st)
        st = app_fmt(p, sizeof p, err, errlen, "%s/config.json", snap);
    if (st)
        return st;
    app_model_files f;
    st = app_model_files_read(p, &f, err, errlen);
    for (int i = 0; !st && i < f.n; i++)
        st = fetch_file(c, f.name[i], commit, NULL, 0, err, errlen);
    if (st)
        return st;
    st = app_hub_snapshot_check(snap, why, sizeof why);
    if (st)
        return app_errf(err, errlen, st,
                        "%s: the download finished but the snapshot is not complete: %s", c->repo,
                        why);
    return app_fmt(dir, dircap, err, errlen, "%s", snap);
}

int app_hub_download(const char *repo_id, const app_hub_opts *opts, char *dir, size_t dircap,
                     char *err, size_t errlen) {
    app_hub_opts def = app_hub_opts_default();
    if (!opts)
        opts = &def;
    if (!repo_id || !app_hub_repo_id_valid(repo_id))
        return app_errf(err, errlen, KSTT_EINVAL,
                        "'%s' is not a Hugging Face repo id (ORG/NAME, e.g. %s)",
                        repo_id ? repo_id : "", APP_DEFAULT_MODEL);
    const char *rev = opts->revision ? opts->revision : "main";
    if (!app_hub_revision_valid(rev))
        return app_errf(err, errlen, KSTT_EINVAL,
                        "'%s' is not a valid revision (a branch, tag or commit hash)", rev);
    if (app_hub_env_true("HF_HUB_OFFLINE")) {
        char why[2 * APP_HUB_PATH_MAX];
        int st = app_hub_cache_lookup(repo_id, rev, dir, dircap, why, sizeof why);
        if (st == KSTT_ENOTFOUND)
            return app_errf(err, errlen, st, "%s; HF_HUB_OFFLINE is set, so nothing is downloaded",
                            why);
        return st ? app_errf(err, errlen, st, "%s", why) : KSTT_OK;
    }

    hub_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return app_errf(err, errlen, KSTT_ENOMEM, "out of memory");
    c->opts = opts;
    c->repo = repo_id;
    c->rev = rev;
    app_hub_endpoint(c->endpoint, sizeof c->endpoint);
    char token[2048], cache[APP_HUB_PATH_MAX];
    app_hub_token(token, sizeof token);
    c->has_token = token[0] != '\0';
    const char *slash = strchr(repo_id, '/');
    int st = app_hub_repo_dir(repo_id, c->repo_dir, sizeof c->repo_dir, err, errlen);
    if (!st)
        st = app_hub_cache_dir(cache, sizeof cache, err, errlen);
    if (!st)
        st = app_fmt(c->locks_dir, sizeof c->locks_dir, err, errlen, "%s/.locks/models--%.*s--%s",
                     cache, (int)(slash - repo_id), repo_id, slash + 1);
    if (!st)
        st = app_http_new(&c->http, c->endpoint, token, env_seconds("HF_HUB_ETAG_TIMEOUT", 10),
                          env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10), err, errlen);
    memset(token, 0, sizeof token);
    if (!st)
        st = download_all(c, dir, dircap, err, errlen);
    app_http_free(c->http);
    free(c);
    return st;
}
