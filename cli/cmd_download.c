/*
 * kstt download [--revision R] [--quiet] [--progress] REPO_ID
 *
 * Fetches config.json and the files it names into the Hugging Face cache (see app/app_hub.h) and
 * prints the local snapshot directory on stdout, so that `dir=$(kstt download ORG/NAME)` works
 * in scripts. Progress and messages go to stderr. Exit status: 0, 1 on failure, 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "app_hub.h"
#include "commands.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: kstt download [--revision R] [--quiet] [--progress] REPO_ID\n"
        "\n"
        "Downloads a model repo (config.json and the files it names) into the Hugging Face\n"
        "cache, resuming interrupted downloads, and prints the snapshot directory.\n"
        "Example: kstt download %s\n"
        "\n"
        "  --revision R   branch, tag or commit hash (default: main)\n"
        "  --quiet, -q    no progress bar or messages (errors are still printed)\n"
        "  --progress     progress bar even when stderr is not a terminal\n"
        "\n"
        "  -h, --help     this text\n"
        "\n"
        "The files are those config.json names (moshi_name, default model.safetensors;\n"
        "mimi_name; mimi_config_name; tokenizer_name), read by the same rules as the\n"
        "model loader. The cache layout is huggingface_hub's, so either tool reuses the\n"
        "other's files. Exit status: 0, 1 failure, 2 bad usage.\n"
        "\n"
        "Environment (as huggingface_hub reads it):\n"
        "  HF_ENDPOINT       server (default https://huggingface.co)\n"
        "  HF_TOKEN          access token for gated or private repos (else\n"
        "                    HUGGING_FACE_HUB_TOKEN, else the file of `huggingface-cli login`,\n"
        "                    $HF_TOKEN_PATH or $HF_HOME/token)\n"
        "  HF_HOME           Hugging Face folder (default ~/.cache/huggingface, or\n"
        "                    $XDG_CACHE_HOME/huggingface); the cache is $HF_HOME/hub\n"
        "  HF_HUB_CACHE      the cache folder itself\n"
        "  HF_HUB_OFFLINE=1  no network: the cache only\n"
        "  HF_HUB_DISABLE_PROGRESS_BARS=1   no progress bar\n"
        "  HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT   seconds to connect, and with no\n"
        "                    data at all before giving up (default 10 each)\n",
        APP_DEFAULT_MODEL);
}

int cli_cmd_download(int argc, char **argv) {
    app_hub_opts o = app_hub_opts_default();
    const char *repo = NULL;
    int quiet = 0, force_progress = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--revision")) {
            if (++i >= argc) {
                fprintf(stderr, "kstt download: --revision needs a value\n");
                return 2;
            }
            o.revision = argv[i];
        } else if (!strncmp(a, "--revision=", 11)) {
            o.revision = a + 11;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (!strcmp(a, "--progress")) {
            force_progress = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "kstt download: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (repo) {
            fprintf(stderr, "kstt download: one REPO_ID only ('%s' and '%s')\n", repo, a);
            return 2;
        } else {
            repo = a;
        }
    }
    if (!repo) {
        usage(stderr);
        return 2;
    }
    if (force_progress)
        o.progress = 1;
    if (quiet)
        o.progress = o.verbose = 0;
    char dir[4096], err[3 * 4096];
    int st = app_hub_download(repo, &o, dir, sizeof dir, err, sizeof err);
    if (st) {
        fprintf(stderr, "kstt download: %s\n", err);
        return 1;
    }
    printf("%s\n", dir);
    return 0;
}
