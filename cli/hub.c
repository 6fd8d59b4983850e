/*
 * Model resolution: turns a --model spec (a directory or a Hugging Face repo id) into a local
 * directory, looking repo ids up in the Hugging Face cache exactly as huggingface_hub lays it
 * out (see hub_internal.h), so a model fetched by either tool is found by the other.
 *
 * This file never touches the network: when a cached snapshot is missing or incomplete it
 * hands over to kstt_hub_download (hub_download.c). A complete snapshot (config.json plus every
 * file it names) is returned with no request at all, which is what makes the CLI work offline.
 *
 * Everything a server or a config.json says is validated before it becomes part of a path:
 * repo ids, revisions, commit hashes and file names may not climb out of the cache.
 */
#include "hub.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub_internal.h"

/* ---- small helpers ------------------------------------------------------------------- */

/* An environment variable, NULL when unset or empty (huggingface_hub treats both alike). */
static const char *env_get(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int kstt__hub_env_true(const char *name) {
    const char *v = env_get(name);
    if (!v)
        return 0;
    return !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
           !strcasecmp(v, "on");
}

int kstt__hub_fmt(char *out, size_t cap, char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return kstt__errf(err, errlen, KSTT_ERANGE, "path too long (over %zu bytes): %.200s...",
                          cap - 1, out);
    return KSTT_OK;
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

int kstt__hub_repo_id_valid(const char *id) {
    if (!id)
        return 0;
    const char *slash = strchr(id, '/');
    if (!slash || strchr(slash + 1, '/'))
        return 0;
    return repo_part_valid(id, (size_t)(slash - id)) &&
           repo_part_valid(slash + 1, strlen(slash + 1));
}

int kstt__hub_is_commit(const char *rev) {
    if (!rev || strlen(rev) != 40)
        return 0;
    for (const char *p = rev; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

int kstt__hub_safe_component(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

int kstt__hub_revision_valid(const char *rev) {
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
        if (!kstt__hub_safe_component(t))
            return 0;
    return 1;
}

int kstt__hub_safe_relpath(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= KSTT_HUB_NAME_MAX || s[0] == '/' || s[n - 1] == '/')
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

int kstt__hub_etag_normalize(const char *in, char *out, size_t cap) {
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
        return kstt__hub_fmt(out, cap, err, errlen, "%s", path);
    const char *home = env_get("HOME");
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return kstt__errf(err, errlen, KSTT_ENOTFOUND,
                          "cannot expand '~' in %s: HOME is not set and the user has no home "
                          "directory; set HF_HOME",
                          path);
    return kstt__hub_fmt(out, cap, err, errlen, "%s%s", home, path + 1);
}

int kstt__hub_home_dir(char *out, size_t cap, char *err, size_t errlen) {
    const char *v = env_get("HF_HOME");
    if (v)
        return expand_user(v, out, cap, err, errlen);
    char base[KSTT_HUB_PATH_MAX];
    const char *xdg = env_get("XDG_CACHE_HOME");
    int st = expand_user(xdg ? xdg : "~/.cache", base, sizeof base, err, errlen);
    if (st)
        return st;
    return kstt__hub_fmt(out, cap, err, errlen, "%s/huggingface", base);
}

int kstt__hub_cache_dir(char *out, size_t cap, char *err, size_t errlen) {
    const char *v = env_get("HF_HUB_CACHE");
    if (!v)
        v = env_get("HUGGINGFACE_HUB_CACHE");
    if (v)
        return expand_user(v, out, cap, err, errlen);
    char home[KSTT_HUB_PATH_MAX];
    int st = kstt__hub_home_dir(home, sizeof home, err, errlen);
    if (st)
        return st;
    return kstt__hub_fmt(out, cap, err, errlen, "%s/hub", home);
}

int kstt__hub_repo_dir(const char *repo, char *out, size_t cap, char *err, size_t errlen) {
    if (!kstt__hub_repo_id_valid(repo))
        return kstt__errf(err, errlen, KSTT_EINVAL, "'%s' is not a Hugging Face repo id (ORG/NAME)",
                          repo);
    char cache[KSTT_HUB_PATH_MAX];
    int st = kstt__hub_cache_dir(cache, sizeof cache, err, errlen);
    if (st)
        return st;
    const char *slash = strchr(repo, '/');
    return kstt__hub_fmt(out, cap, err, errlen, "%s/models--%.*s--%s", cache, (int)(slash - repo),
                         repo, slash + 1);
}

int kstt__hub_mkdirs(const char *path, char *err, size_t errlen) {
    char buf[KSTT_HUB_PATH_MAX];
    int st = kstt__hub_fmt(buf, sizeof buf, err, errlen, "%s", path);
    if (st)
        return st;
    size_t n = strlen(buf);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return kstt__errf(err, errlen, KSTT_EIO, "cannot create directory %s: %s", buf,
                              strerror(errno));
        struct stat sb;
        if (saved == '\0' && (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)))
            return kstt__errf(err, errlen, KSTT_EIO,
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

void kstt__hub_token(char *out, size_t cap) {
    out[0] = '\0';
    const char *v = env_get("HF_TOKEN");
    if (!v)
        v = env_get("HUGGING_FACE_HUB_TOKEN");
    if (v) {
        snprintf(out, cap, "%s", v);
        return;
    }
    char home[KSTT_HUB_PATH_MAX], path[KSTT_HUB_PATH_MAX];
    const char *tp = env_get("HF_TOKEN_PATH");
    int st = tp ? expand_user(tp, path, sizeof path, NULL, 0)
                : kstt__hub_home_dir(home, sizeof home, NULL, 0);
    if (!st && !tp)
        st = kstt__hub_fmt(path, sizeof path, NULL, 0, "%s/token", home);
    if (st || read_line(path, out, cap) != KSTT_OK)
        out[0] = '\0';
}

void kstt__hub_endpoint(char *out, size_t cap) {
    const char *v = env_get("HF_ENDPOINT");
    snprintf(out, cap, "%s", v ? v : "https://huggingface.co");
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

/* ---- config.json: the files a model needs ------------------------------------------------ */

static void files_add(kstt__hub_files *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->name[i], name))
            return;
    if (f->n < KSTT_HUB_MAX_FILES)
        snprintf(f->name[f->n++], KSTT_HUB_NAME_MAX, "%s", name);
}

/* Adds the file named by config key `key`; def is used when the key is absent or null. */
static int config_name(const cJSON *root, const char *key, const char *def, const char *path,
                       kstt__hub_files *f, int *found, char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *found = 0;
    if (!v || cJSON_IsNull(v)) {
        if (def)
            files_add(f, def);
        *found = def != NULL;
        return KSTT_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: \"%s\" must be a string", path, key);
    if (!kstt__hub_safe_relpath(v->valuestring))
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: \"%s\" is \"%.200s\", not a file name inside the repository", path,
                          key, v->valuestring);
    files_add(f, v->valuestring);
    *found = 1;
    return KSTT_OK;
}

int kstt__hub_config_files(const char *config_path, kstt__hub_files *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(config_path, "rb");
    if (!fp)
        return kstt__errf(err, errlen, errno == ENOENT ? KSTT_ENOTFOUND : KSTT_EIO,
                          "%s: cannot open: %s", config_path, strerror(errno));
    enum { MAX_CONFIG = 1 << 20 };
    char *buf = malloc(MAX_CONFIG + 1);
    if (!buf) {
        fclose(fp);
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", config_path);
    }
    size_t n = fread(buf, 1, MAX_CONFIG + 1, fp);
    int rerr = ferror(fp);
    fclose(fp);
    int st = KSTT_OK;
    if (rerr) {
        st = kstt__errf(err, errlen, KSTT_EIO, "%s: read error", config_path);
        goto done;
    }
    if (n > MAX_CONFIG) {
        st = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: larger than 1 MiB, not a model config",
                        config_path);
        goto done;
    }
    buf[n] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(buf, &end, 0);
    if (!root) {
        st = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: not valid JSON (error near byte %ld)",
                        config_path, end ? (long)(end - buf) : 0L);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        st = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: not a JSON object", config_path);
    } else {
        int found = 0;
        st = config_name(root, "moshi_name", "model.safetensors", config_path, f, &found, err,
                         errlen);
        if (!st)
            st = config_name(root, "mimi_name", NULL, config_path, f, &found, err, errlen);
        if (!st)
            st = config_name(root, "tokenizer_name", NULL, config_path, f, &found, err, errlen);
        if (!st)
            f->want_tokenizer_glob = !found;
        if (!st)
            st = config_name(root, "mimi_config_name", NULL, config_path, f, &found, err, errlen);
    }
    cJSON_Delete(root);
done:
    free(buf);
    return st;
}

/* 1 if dir (top level) holds a regular file (or a link to one) named *.model. */
static int has_tokenizer_file(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= 6 || strcmp(e->d_name + n - 6, ".model"))
            continue;
        char p[KSTT_HUB_PATH_MAX];
        struct stat sb;
        if (kstt__hub_fmt(p, sizeof p, NULL, 0, "%s/%s", dir, e->d_name) == KSTT_OK &&
            stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
            found = 1;
    }
    closedir(d);
    return found;
}

int kstt__hub_snapshot_check(const char *snap, char *why, size_t whylen) {
    char p[KSTT_HUB_PATH_MAX];
    struct stat sb;
    int st = kstt__hub_fmt(p, sizeof p, why, whylen, "%s/config.json", snap);
    if (st)
        return st;
    if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
        return kstt__errf(why, whylen, KSTT_ENOTFOUND, "%s has no config.json", snap);
    kstt__hub_files f;
    st = kstt__hub_config_files(p, &f, why, whylen);
    if (st)
        return st;
    for (int i = 0; i < f.n; i++) {
        st = kstt__hub_fmt(p, sizeof p, why, whylen, "%s/%s", snap, f.name[i]);
        if (st)
            return st;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
            continue;
        if (lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode))
            return kstt__errf(why, whylen, KSTT_ENOTFOUND,
                              "%s: %s is a broken link (its blob is missing)", snap, f.name[i]);
        return kstt__errf(why, whylen, KSTT_ENOTFOUND, "%s lacks %s (named by config.json)", snap,
                          f.name[i]);
    }
    if (f.want_tokenizer_glob && !has_tokenizer_file(snap))
        return kstt__errf(why, whylen, KSTT_ENOTFOUND,
                          "%s has no tokenizer: config.json names no tokenizer_name and there "
                          "is no *.model file",
                          snap);
    return KSTT_OK;
}

int kstt__hub_cache_lookup(const char *repo, const char *rev, char *snap, size_t snapcap, char *why,
                           size_t whylen) {
    char rdir[KSTT_HUB_PATH_MAX], p[KSTT_HUB_PATH_MAX], commit[256];
    int st = kstt__hub_repo_dir(repo, rdir, sizeof rdir, why, whylen);
    if (st)
        return st;
    if (!kstt__hub_revision_valid(rev))
        return kstt__errf(why, whylen, KSTT_EINVAL, "'%s' is not a valid revision", rev);
    if (kstt__hub_is_commit(rev)) {
        snprintf(commit, sizeof commit, "%s", rev);
    } else {
        st = kstt__hub_fmt(p, sizeof p, why, whylen, "%s/refs/%s", rdir, rev);
        if (st)
            return st;
        if (read_line(p, commit, sizeof commit) != KSTT_OK)
            return kstt__errf(why, whylen, KSTT_ENOTFOUND,
                              "%s is not in the Hugging Face cache (no %s)", repo, p);
        if (!kstt__hub_safe_component(commit))
            return kstt__errf(why, whylen, KSTT_EFORMAT,
                              "%s: does not hold a commit hash (\"%.64s\")", p, commit);
    }
    st = kstt__hub_fmt(snap, snapcap, why, whylen, "%s/snapshots/%s", rdir, commit);
    if (st)
        return st;
    struct stat sb;
    if (stat(snap, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return kstt__errf(why, whylen, KSTT_ENOTFOUND,
                          "%s at revision %s is not in the Hugging Face cache (no %s)", repo, rev,
                          snap);
    return kstt__hub_snapshot_check(snap, why, whylen);
}

/* ---- public entry points -------------------------------------------------------------- */

kstt_hub_opts kstt_hub_opts_default(void) {
    kstt_hub_opts o;
    memset(&o, 0, sizeof o);
    o.allow_download = 1;
    o.progress = isatty(2) && !kstt__hub_env_true("HF_HUB_DISABLE_PROGRESS_BARS");
    o.revision = NULL;
    o.verbose = 1;
    return o;
}

/* A spec written as a path (not a repo id): "/x", "./x", "~/x", "x/", "a/b/c". */
static int looks_like_path(const char *s) {
    size_t n = strlen(s);
    const char *slash = strchr(s, '/');
    return s[0] == '/' || s[0] == '.' || s[0] == '~' || s[n - 1] == '/' ||
           (slash && strchr(slash + 1, '/'));
}

int kstt_hub_resolve(const char *spec, const kstt_hub_opts *opts, char *dir, size_t dircap,
                     char *err, size_t errlen) {
    kstt_hub_opts def = kstt_hub_opts_default();
    if (!opts)
        opts = &def;
    if (!spec || !*spec)
        return kstt__errf(err, errlen, KSTT_EINVAL, "empty model name");
    struct stat sb;
    if (stat(spec, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return kstt__errf(err, errlen, KSTT_EINVAL,
                              "%s: is a file; --model takes a model directory or a Hugging Face "
                              "repo id (ORG/NAME)",
                              spec);
        char p[KSTT_HUB_PATH_MAX];
        int st = kstt__hub_fmt(p, sizeof p, err, errlen, "%s/config.json", spec);
        if (st)
            return st;
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
            return kstt__errf(err, errlen, KSTT_ENOTFOUND,
                              "%s: no config.json in this directory (a model directory holds "
                              "config.json and the files it names)",
                              spec);
        return kstt__hub_fmt(dir, dircap, err, errlen, "%s", spec);
    }
    if (looks_like_path(spec))
        return kstt__errf(err, errlen, KSTT_ENOTFOUND, "%s: no such model directory", spec);
    if (!kstt__hub_repo_id_valid(spec))
        return kstt__errf(err, errlen, KSTT_EINVAL,
                          "'%s' is neither a model directory nor a Hugging Face repo id "
                          "(ORG/NAME, e.g. %s)",
                          spec, KSTT_DEFAULT_MODEL);
    const char *rev = opts->revision ? opts->revision : "main";
    char why[2 * KSTT_HUB_PATH_MAX];
    int st = kstt__hub_cache_lookup(spec, rev, dir, dircap, why, sizeof why);
    if (st == KSTT_OK)
        return KSTT_OK;
    if (st != KSTT_ENOTFOUND)
        return kstt__errf(err, errlen, st, "%s", why);
    if (kstt__hub_env_true("HF_HUB_OFFLINE"))
        return kstt__errf(err, errlen, KSTT_ENOTFOUND,
                          "%s; HF_HUB_OFFLINE is set, so nothing is downloaded (run `kstt "
                          "download %s` while online)",
                          why, spec);
    if (!opts->allow_download)
        return kstt__errf(err, errlen, KSTT_ENOTFOUND, "%s (run `kstt download %s`)", why, spec);
    return kstt_hub_download(spec, opts, dir, dircap, err, errlen);
}
