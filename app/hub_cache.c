/*
 * The local Hugging Face cache (see hub_cache.h): names, folders, lookups and the writes a
 * download makes into it (blob locks, snapshot links, refs). No network: hub_http.c transfers,
 * hub_download.c decides what to fetch.
 *
 * Everything a server or a config.json says is validated before it becomes part of a path:
 * repo ids, revisions, commit hashes and file names may not climb out of the cache.
 */
#include "hub_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_hub.h"
#include "app_util.h"
#include "kstt.h"

/* ---- small helpers ------------------------------------------------------------------- */

/* An environment variable, NULL when unset or empty (huggingface_hub treats both alike). */
static const char *env_get(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int app_hub_env_true(const char *name) {
    const char *v = env_get(name);
    if (!v)
        return 0;
    return !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
           !strcasecmp(v, "on");
}

static int is_name_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

static int repo_part_valid(const char *s, size_t n) {
    if (n < 1 || n > 96)
        return 0;
    if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_name_char((unsigned char)s[i]))
            return 0;
        if (i > 0 && (s[i] == '-' || s[i] == '.') && s[i - 1] == s[i])
            return 0;
    }
    return 1;
}

int app_hub_repo_id_valid(const char *id) {
    if (!id)
        return 0;
    const char *slash = strchr(id, '/');
    if (!slash || strchr(slash + 1, '/'))
        return 0;
    return repo_part_valid(id, (size_t)(slash - id)) &&
           repo_part_valid(slash + 1, strlen(slash + 1));
}

int app_hub_is_commit(const char *rev) {
    if (!rev || strlen(rev) != 40)
        return 0;
    for (const char *p = rev; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int app_hub_safe_component(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

int app_hub_revision_valid(const char *rev) {
    size_t n = rev ? strlen(rev) : 0;
    if (n == 0 || n > 255)
        return 0;
    char buf[256];
    memcpy(buf, rev, n + 1);
    /* Every '/'-separated component must be a safe name: no empty, "." or ".." parts. */
    char *save = NULL;
    if (buf[0] == '/' || buf[n - 1] == '/' || strstr(buf, "//"))
        return 0;
    for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
        if (!app_hub_safe_component(t))
            return 0;
    return 1;
}

int app_hub_safe_relpath(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= APP_HUB_NAME_MAX || s[0] == '/' || s[n - 1] == '/')
        return 0;
    const char *part = s;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/' || c == '\0') {
            size_t len = (size_t)(s + i - part);
            if (len == 0 || (len == 1 && part[0] == '.') ||
                (len == 2 && part[0] == '.' && part[1] == '.'))
                return 0;
            part = s + i + 1;
        } else if (c < 0x20 || c == 0x7f || c == '\\') {
            return 0;
        }
    }
    return 1;
}

int app_hub_etag_normalize(const char *in, char *out, size_t cap) {
    const char *b = in;
    while (*b == ' ' || *b == '\t')
        b++;
    if (b[0] == 'W' && b[1] == '/')
        b += 2;
    const char *e = b + strlen(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        e--;
    if (e - b >= 2 && *b == '"' && e[-1] == '"') {
        b++;
        e--;
    }
    size_t n = (size_t)(e - b);
    if (n >= cap) {
        if (cap)
            out[0] = '\0';
        return KSTT_ERANGE;
    }
    memcpy(out, b, n);
    out[n] = '\0';
    return KSTT_OK;
}

/* Expands a leading "~" (alone or before '/') to the home directory, as os.path.expanduser. */
static int expand_user(const char *path, char *out, size_t cap, char *err, size_t errlen) {
    if (path[0] != '~' || (path[1] != '\0' && path[1] != '/'))
        return app_fmt(out, cap, err, errlen, "%s", path);
    const char *home = env_get("HOME");
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return app_errf(err, errlen, KSTT_ENOTFOUND,
                        "cannot expand '~' in %s: HOME is not set and the user has no home "
                        "directory; set HF_HOME",
                        path);
    return app_fmt(out, cap, err, errlen, "%s%s", home, path + 1);
}

int app_hub_home_dir(char *out, size_t cap, char *err, size_t errlen) {
    const char *v = env_get("HF_HOME");
    if (v)
        return expand_user(v, out, cap, err, errlen);
    char base[APP_HUB_PATH_MAX];
    const char *xdg = env_get("XDG_CACHE_HOME");
    int st = expand_user(xdg ? xdg : "~/.cache", base, sizeof base, err, errlen);
    if (st)
        return st;
    return app_fmt(out, cap, err, errlen, "%s/huggingface", base);
}

int app_hub_cache_dir(char *out, size_t cap, char *err, size_t errlen) {
    const char *v = env_get("HF_HUB_CACHE");
    if (!v)
        v = env_get("HUGGINGFACE_HUB_CACHE");
    if (v)
        return expand_user(v, out, cap, err, errlen);
    char home[APP_HUB_PATH_MAX];
    int st = app_hub_home_dir(home, sizeof home, err, errlen);
    if (st)
        return st;
    return app_fmt(out, cap, err, errlen, "%s/hub", home);
}

int app_hub_repo_dir(const char *repo, char *out, size_t cap, char *err, size_t errlen) {
    if (!app_hub_repo_id_valid(repo))
        return app_errf(err, errlen, KSTT_EINVAL, "'%s' is not a Hugging Face repo id (ORG/NAME)",
                        repo);
    char cache[APP_HUB_PATH_MAX];
    int st = app_hub_cache_dir(cache, sizeof cache, err, errlen);
    if (st)
        return st;
    const char *slash = strchr(repo, '/');
    return app_fmt(out, cap, err, errlen, "%s/models--%.*s--%s", cache, (int)(slash - repo), repo,
                   slash + 1);
}

int app_hub_mkdirs(const char *path, char *err, size_t errlen) {
    char buf[APP_HUB_PATH_MAX];
    int st = app_fmt(buf, sizeof buf, err, errlen, "%s", path);
    if (st)
        return st;
    size_t n = strlen(buf);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return app_errf(err, errlen, KSTT_EIO, "cannot create directory %s: %s", buf,
                            strerror(errno));
        struct stat sb;
        if (saved == '\0' && (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)))
            return app_errf(err, errlen, KSTT_EIO,
                            "cannot create directory %s: a file of that name is in the way", buf);
        buf[i] = saved;
    }
    return KSTT_OK;
}

/* First line of a small text file, blanks trimmed. KSTT_ENOTFOUND if it cannot be read. */
static int read_line(const char *path, char *out, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return KSTT_ENOTFOUND;
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    fclose(f);
    size_t n = strlen(out);
    while (n > 0 &&
           (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    size_t b = strspn(out, " \t");
    memmove(out, out + b, n - b + 1);
    return KSTT_OK;
}

void app_hub_token(char *out, size_t cap) {
    out[0] = '\0';
    const char *v = env_get("HF_TOKEN");
    if (!v)
        v = env_get("HUGGING_FACE_HUB_TOKEN");
    if (v) {
        snprintf(out, cap, "%s", v);
        return;
    }
    char home[APP_HUB_PATH_MAX], path[APP_HUB_PATH_MAX];
    const char *tp = env_get("HF_TOKEN_PATH");
    int st = tp ? expand_user(tp, path, sizeof path, NULL, 0)
                : app_hub_home_dir(home, sizeof home, NULL, 0);
    if (!st && !tp)
        st = app_fmt(path, sizeof path, NULL, 0, "%s/token", home);
    if (st || read_line(path, out, cap) != KSTT_OK)
        out[0] = '\0';
}

void app_hub_endpoint(char *out, size_t cap) {
    const char *v = env_get("HF_ENDPOINT");
    snprintf(out, cap, "%s", v ? v : "https://huggingface.co");
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

int app_hub_snapshot_check(const char *snap, char *why, size_t whylen) {
    return app_model_dir_check(snap, why, whylen);
}

int app_hub_cache_lookup(const char *repo, const char *rev, char *snap, size_t snapcap, char *why,
                         size_t whylen) {
    char rdir[APP_HUB_PATH_MAX], p[APP_HUB_PATH_MAX], commit[256];
    int st = app_hub_repo_dir(repo, rdir, sizeof rdir, why, whylen);
    if (st)
        return st;
    if (!app_hub_revision_valid(rev))
        return app_errf(why, whylen, KSTT_EINVAL, "'%s' is not a valid revision", rev);
    if (app_hub_is_commit(rev)) {
        snprintf(commit, sizeof commit, "%s", rev);
    } else {
        st = app_fmt(p, sizeof p, why, whylen, "%s/refs/%s", rdir, rev);
        if (st)
            return st;
        if (read_line(p, commit, sizeof commit) != KSTT_OK)
            return app_errf(why, whylen, KSTT_ENOTFOUND,
                            "%s is not in the Hugging Face cache (no %s)", repo, p);
        if (!app_hub_safe_component(commit))
            return app_errf(why, whylen, KSTT_EFORMAT,
                            "%s: does not hold a commit hash (\"%.64s\")", p, commit);
    }
    st = app_fmt(snap, snapcap, why, whylen, "%s/snapshots/%s", rdir, commit);
    if (st)
        return st;
    struct stat sb;
    if (stat(snap, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return app_errf(why, whylen, KSTT_ENOTFOUND,
                        "%s at revision %s is not in the Hugging Face cache (no %s)", repo, rev,
                        snap);
    return app_hub_snapshot_check(snap, why, whylen);
}

/* The parent folder of path (path up to its last '/'). */
static void parent_dir(const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s", path);
    char *s = strrchr(out, '/');
    if (s && s != out)
        *s = '\0';
}

/* ---- cache writes --------------------------------------------------------------------- */

/* Takes the lock huggingface_hub takes for the blob; *fd is -1 when locks are unsupported. */
int app_hub_lock_blob(const char *locks_dir, const char *etag, int verbose, int *fd, char *err,
                      size_t errlen) {
    char path[APP_HUB_PATH_MAX];
    *fd = -1;
    int st = app_hub_mkdirs(locks_dir, err, errlen);
    if (!st)
        st = app_fmt(path, sizeof path, err, errlen, "%s/%s.lock", locks_dir, etag);
    if (st)
        return st;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0)
        return app_errf(err, errlen, KSTT_EIO, "cannot open lock file %s: %s", path,
                        strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            if (verbose)
                fprintf(stderr, "kstt: waiting for another download of the same file (%s)\n", path);
            while (flock(f, LOCK_EX) != 0) {
                if (errno != EINTR) {
                    int e = errno;
                    close(f);
                    return app_errf(err, errlen, KSTT_EIO, "cannot lock %s: %s", path, strerror(e));
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

void app_hub_unlock_blob(int fd) {
    if (fd < 0)
        return;
    flock(fd, LOCK_UN);
    close(fd);
}

/* Step 3: snapshots/COMMIT/FILE -> ../../blobs/ETAG (one more ../ per folder in FILE). */
int app_hub_link_snapshot(const char *repo_dir, const char *commit, const char *file,
                          const char *etag, char *err, size_t errlen) {
    char lnk[APP_HUB_PATH_MAX], target[APP_HUB_PATH_MAX], dir[APP_HUB_PATH_MAX];
    char tmp[APP_HUB_PATH_MAX + 32], cur[APP_HUB_PATH_MAX];
    int st = app_fmt(lnk, sizeof lnk, err, errlen, "%s/snapshots/%s/%s", repo_dir, commit, file);
    if (st)
        return st;
    size_t t = 0;
    target[0] = '\0';
    for (const char *p = file;; p++) {
        if (t + 3 >= sizeof target)
            return app_errf(err, errlen, KSTT_ERANGE, "path too long");
        memcpy(target + t, "../", 4);
        t += 3;
        if (!(p = strchr(p, '/')))
            break;
    }
    st = app_fmt(target + t, sizeof target - t, err, errlen, "../blobs/%s", etag);
    if (st)
        return st;
    parent_dir(lnk, dir, sizeof dir);
    st = app_hub_mkdirs(dir, err, errlen);
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
        char blob[APP_HUB_PATH_MAX];
        /* File systems without symlinks: a hard link to the blob serves too. */
        if (!((e == EPERM || e == EOPNOTSUPP || e == ENOSYS) &&
              app_fmt(blob, sizeof blob, NULL, 0, "%s/blobs/%s", repo_dir, etag) == KSTT_OK &&
              link(blob, tmp) == 0))
            return app_errf(err, errlen, KSTT_EIO, "cannot create link %s -> %s: %s", tmp, target,
                            strerror(e));
    }
    if (rename(tmp, lnk) != 0) {
        int e = errno;
        unlink(tmp);
        return app_errf(err, errlen, KSTT_EIO, "cannot rename %s to %s: %s", tmp, lnk, strerror(e));
    }
    return KSTT_OK;
}

/* refs/REVISION = COMMIT (no newline), replaced atomically. */
int app_hub_write_ref(const char *repo_dir, const char *rev, const char *commit, char *err,
                      size_t errlen) {
    char path[APP_HUB_PATH_MAX], dir[APP_HUB_PATH_MAX], tmp[APP_HUB_PATH_MAX + 32];
    char cur[256] = "";
    int st = app_fmt(path, sizeof path, err, errlen, "%s/refs/%s", repo_dir, rev);
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
    st = app_hub_mkdirs(dir, err, errlen);
    if (st)
        return st;
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f)
        return app_errf(err, errlen, KSTT_EIO, "cannot write %s: %s", tmp, strerror(errno));
    int ok = fputs(commit, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return app_errf(err, errlen, KSTT_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return KSTT_OK;
}
