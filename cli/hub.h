/*
 * Model resolution and download for the CLI. A model spec is a directory, or a Hugging Face
 * repo id ("kyutai/stt-1b-en_fr-candle"). A repo id resolves to the local Hugging Face cache
 * ($HF_HOME/hub or ~/.cache/huggingface/hub: models--ORG--NAME/snapshots/REV/, REV from
 * refs/main), so files downloaded by Hugging Face's own tools are reused; missing files are
 * downloaded from $HF_ENDPOINT (default https://huggingface.co) with libcurl into the same
 * layout (blobs + snapshot symlinks), resumable, with a size check and atomic rename.
 */
#ifndef KSTT_CLI_HUB_H
#define KSTT_CLI_HUB_H

#include <stddef.h>

#define KSTT_DEFAULT_MODEL "kyutai/stt-1b-en_fr-candle"

typedef struct {
    int allow_download; /* 0: cache only (error if missing) */
    int progress;       /* 1: progress bar on stderr */
    const char *revision; /* NULL = "main" */
} kstt_hub_opts;

/* Resolves `spec` to a directory holding config.json and the files it names. Writes the path
 * into dir. Returns 0 or a negative kstt status with a message in err. */
int kstt_hub_resolve(const char *spec, const kstt_hub_opts *opts, char *dir, size_t dircap,
                     char *err, size_t errlen);

/* Downloads (or completes) every file a repo needs: config.json, then the files it names. */
int kstt_hub_download(const char *repo_id, const kstt_hub_opts *opts, char *dir, size_t dircap,
                      char *err, size_t errlen);

#endif
