/*
 * Model resolution: turns a --model spec (a directory or a Hugging Face repo id) into a local
 * directory, looking repo ids up in the Hugging Face cache exactly as huggingface_hub lays it
 * out (hub_cache.h), so a model fetched by either tool is found by the other.
 *
 * This file never touches the network itself: when a cached snapshot is missing or incomplete
 * it hands over to app_hub_download (hub_download.c), which never calls back. A complete
 * snapshot (config.json plus every file it names) is returned with no request at all, which is
 * what makes the tools work offline.
 */
#include "app_hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_util.h"
#include "hub_cache.h"
#include "kstt.h"

/* ---- public entry points -------------------------------------------------------------- */

app_hub_opts app_hub_opts_default(void) {
    app_hub_opts o;
    memset(&o, 0, sizeof o);
    o.allow_download = 1;
    o.progress = isatty(2) && !app_hub_env_true("HF_HUB_DISABLE_PROGRESS_BARS");
    o.revision = NULL;
    o.verbose = 1;
    return o;
}

/* A spec written as a path (not a repo id): "/x", "./x", "../x", "~/x", "x/", "a/b/c", or
 * "a/b" where the folder "a" exists here (a typo in a local model name must not turn into a
 * Hugging Face request). */
static int looks_like_path(const char *s) {
    size_t n = strlen(s);
    const char *slash = strchr(s, '/');
    if (s[0] == '/' || s[0] == '.' || s[0] == '~' || s[n - 1] == '/' ||
        (slash && strchr(slash + 1, '/')))
        return 1;
    if (!slash)
        return 0;
    char parent[APP_HUB_PATH_MAX];
    struct stat sb;
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - s), s);
    return stat(parent, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int app_hub_resolve(const char *spec, const app_hub_opts *opts, char *dir, size_t dircap, char *err,
                    size_t errlen) {
    app_hub_opts def = app_hub_opts_default();
    if (!opts)
        opts = &def;
    if (!spec || !*spec)
        return app_errf(err, errlen, KSTT_EINVAL, "empty model name");
    struct stat sb;
    if (stat(spec, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return app_errf(err, errlen, KSTT_EINVAL,
                            "%s: is a file; --model takes a model directory or a Hugging Face "
                            "repo id (ORG/NAME)",
                            spec);
        char p[APP_HUB_PATH_MAX];
        int st = app_fmt(p, sizeof p, err, errlen, "%s/config.json", spec);
        if (st)
            return st;
        if (stat(p, &sb) != 0)
            return app_errf(err, errlen, KSTT_ENOTFOUND,
                            "%s: no config.json in this directory (a model directory holds "
                            "config.json and the files it names)",
                            spec);
        st = app_model_dir_check(spec, err, errlen);
        if (st)
            return st;
        return app_fmt(dir, dircap, err, errlen, "%s", spec);
    }
    if (looks_like_path(spec))
        return app_errf(err, errlen, KSTT_ENOTFOUND, "%s: no such model directory", spec);
    if (!app_hub_repo_id_valid(spec))
        return app_errf(err, errlen, KSTT_EINVAL,
                        "'%s' is neither a model directory nor a Hugging Face repo id "
                        "(ORG/NAME, e.g. %s)",
                        spec, APP_DEFAULT_MODEL);
    const char *rev = opts->revision ? opts->revision : "main";
    char why[2 * APP_HUB_PATH_MAX];
    int st = app_hub_cache_lookup(spec, rev, dir, dircap, why, sizeof why);
    if (st == KSTT_OK)
        return KSTT_OK;
    if (st != KSTT_ENOTFOUND)
        return app_errf(err, errlen, st, "%s", why);
    if (app_hub_env_true("HF_HUB_OFFLINE"))
        return app_errf(err, errlen, KSTT_ENOTFOUND,
                        "%s; HF_HUB_OFFLINE is set, so nothing is downloaded (run `kstt "
                        "download %s` while online)",
                        why, spec);
    if (!opts->allow_download)
        return app_errf(err, errlen, KSTT_ENOTFOUND, "%s (run `kstt download %s`)", why, spec);
    return app_hub_download(spec, opts, dir, dircap, err, errlen);
}

int app_model_resolve(const char *spec, int quiet, char *dir, size_t dircap, char *err,
                      size_t errlen) {
    app_hub_opts ho = app_hub_opts_default();
    if (quiet)
        ho.progress = ho.verbose = 0;
    return app_hub_resolve(spec, &ho, dir, dircap, err, errlen);
}

int app_model_open(kstt_model **out, const char *spec, int quiet, const kstt_model_params *mp,
                   char *dir, size_t dircap, char *err, size_t errlen) {
    char own[APP_HUB_PATH_MAX];
    if (!dir) {
        dir = own;
        dircap = sizeof own;
    }
    int st = app_model_resolve(spec, quiet, dir, dircap, err, errlen);
    if (st)
        return st;
    kstt_model_params def = kstt_model_params_default();
    return kstt_model_load(out, dir, mp ? mp : &def, err, errlen);
}
