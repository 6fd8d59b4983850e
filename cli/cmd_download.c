/*
 * kstt download [--revision R] [--quiet] [--progress] REPO_ID
 *
 * Fetches config.json and the files it names into the Hugging Face cache (see hub.h) and
 * prints the local snapshot directory on stdout, so that `dir=$(kstt download ORG/NAME)` works
 * in scripts. Progress and messages go to stderr. Exit status: 0, 1 on failure, 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "hub.h"
#include "hub_internal.h"

static void usage(FILE *f) {
    fprintf(f,
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
            "Environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE=1,\n"
            "HF_HUB_DISABLE_PROGRESS_BARS=1, HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT.\n",
            KSTT_DEFAULT_MODEL);
}

int kstt_cmd_download(int argc, char **argv) {
    kstt_hub_opts o = kstt_hub_opts_default();
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
    char dir[KSTT_HUB_PATH_MAX], err[3 * KSTT_HUB_PATH_MAX];
    int st = kstt_hub_download(repo, &o, dir, sizeof dir, err, sizeof err);
    if (st) {
        fprintf(stderr, "kstt download: %s\n", err);
        return 1;
    }
    printf("%s\n", dir);
    return 0;
}
