/*
 * Which files a model directory needs, read from its config.json by the library loader's rules
 * (src/lm/config.c, the strictest reader, following Kyutai's stt-rs), so that the hub never
 * downloads or accepts a snapshot the loader would then refuse:
 *   moshi_name        optional, default "model.safetensors"
 *   mimi_name         required
 *   mimi_config_name  optional
 *   tokenizer_name    required
 * A key that is present must be a non-empty string (null is not a string) shorter than 256
 * bytes; on top of the loader's rules, each name must stay inside the directory (no absolute
 * path, no ".."), since the hub makes cache paths out of them.
 *
 * app_model_dir_check then requires each file to be a regular file (or a link to one): a named
 * pipe or a device given as a model file would block or stream forever in the loader, so it is
 * refused before anything is opened.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app_hub.h"
#include "app_util.h"
#include "hub_cache.h"
#include "kstt.h"

#define NAME_MAX_BYTES 256 /* the loader's limit (KSTT__CFG_NAME_MAX) */

static void files_add(app_model_files *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->name[i], name))
            return;
    if (f->n < APP_HUB_MAX_FILES)
        snprintf(f->name[f->n++], APP_HUB_NAME_MAX, "%s", name);
}

/* The file named by config key `key`; def is used when the key is absent (NULL: required). */
static int config_name(const cJSON *root, const char *key, const char *def, int required,
                       const char *path, app_model_files *f, char *err, size_t errlen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v) {
        if (required)
            return app_errf(err, errlen, KSTT_EFORMAT, "%s: missing key \"%s\"", path, key);
        if (def)
            files_add(f, def);
        return KSTT_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return app_errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s\" must be a string", path, key);
    size_t n = strlen(v->valuestring);
    if (n == 0)
        return app_errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s\" is empty", path, key);
    if (n >= NAME_MAX_BYTES)
        return app_errf(err, errlen, KSTT_EFORMAT, "%s: key \"%s\" is too long (%zu bytes)", path,
                        key, n);
    if (!app_hub_safe_relpath(v->valuestring))
        return app_errf(err, errlen, KSTT_EFORMAT,
                        "%s: \"%s\" is \"%.200s\", not a file name inside the model directory",
                        path, key, v->valuestring);
    files_add(f, v->valuestring);
    return KSTT_OK;
}

int app_model_files_read(const char *config_path, app_model_files *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(config_path, "rb");
    if (!fp)
        return app_errf(err, errlen, errno == ENOENT ? KSTT_ENOTFOUND : KSTT_EIO,
                        "%s: cannot open: %s", config_path, strerror(errno));
    enum { MAX_CONFIG = 1 << 20 };
    char *buf = malloc(MAX_CONFIG + 1);
    if (!buf) {
        fclose(fp);
        return app_errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", config_path);
    }
    size_t n = fread(buf, 1, MAX_CONFIG + 1, fp);
    int rerr = ferror(fp);
    fclose(fp);
    int st = KSTT_OK;
    cJSON *root = NULL;
    if (rerr) {
        st = app_errf(err, errlen, KSTT_EIO, "%s: read error", config_path);
        goto done;
    }
    if (n > MAX_CONFIG) {
        st = app_errf(err, errlen, KSTT_EFORMAT, "%s: larger than 1 MiB, not a model config",
                      config_path);
        goto done;
    }
    buf[n] = '\0';
    const char *end = NULL;
    root = cJSON_ParseWithOpts(buf, &end, 0);
    if (!root) {
        st = app_errf(err, errlen, KSTT_EFORMAT, "%s: not valid JSON (error near byte %ld)",
                      config_path, end ? (long)(end - buf) : 0L);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        st = app_errf(err, errlen, KSTT_EFORMAT, "%s: top level is not a JSON object", config_path);
        goto done;
    }
    st = config_name(root, "moshi_name", "model.safetensors", 0, config_path, f, err, errlen);
    if (!st)
        st = config_name(root, "mimi_name", NULL, 1, config_path, f, err, errlen);
    if (!st)
        st = config_name(root, "mimi_config_name", NULL, 0, config_path, f, err, errlen);
    if (!st)
        st = config_name(root, "tokenizer_name", NULL, 1, config_path, f, err, errlen);
done:
    cJSON_Delete(root);
    free(buf);
    return st;
}

/* What a non-regular file is, for messages. */
static const char *kind_of(mode_t m) {
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a named pipe";
    if (S_ISCHR(m) || S_ISBLK(m))
        return "a device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

int app_model_dir_check(const char *dir, char *err, size_t errlen) {
    char p[APP_HUB_PATH_MAX];
    struct stat sb;
    int st = app_fmt(p, sizeof p, err, errlen, "%s/config.json", dir);
    if (st)
        return st;
    if (stat(p, &sb) != 0)
        return app_errf(err, errlen, KSTT_ENOTFOUND, "%s has no config.json", dir);
    if (!S_ISREG(sb.st_mode))
        return app_errf(err, errlen, KSTT_EINVAL, "%s is %s, not a model config", p,
                        kind_of(sb.st_mode));
    app_model_files f;
    st = app_model_files_read(p, &f, err, errlen);
    if (st)
        return st;
    for (int i = 0; i < f.n; i++) {
        st = app_fmt(p, sizeof p, err, errlen, "%s/%s", dir, f.name[i]);
        if (st)
            return st;
        if (stat(p, &sb) == 0) {
            if (S_ISREG(sb.st_mode))
                continue;
            return app_errf(err, errlen, KSTT_EINVAL,
                            "%s is %s, not a model file (config.json names %s)", p,
                            kind_of(sb.st_mode), f.name[i]);
        }
        if (lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode))
            return app_errf(err, errlen, KSTT_ENOTFOUND,
                            "%s: %s is a broken link (its blob is missing)", dir, f.name[i]);
        return app_errf(err, errlen, KSTT_ENOTFOUND, "%s lacks %s (named by config.json)", dir,
                        f.name[i]);
    }
    return KSTT_OK;
}
