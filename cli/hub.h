/*
 * Model resolution and download for the CLI. A model spec is a directory, or a Hugging Face
 * repo id ("kyutai/stt-1b-en_fr-candle"). A repo id resolves to the local Hugging Face cache
 * ($HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub or
 * ~/.cache/huggingface/hub: models--ORG--NAME/snapshots/REV/, REV from refs/main), so files
 * downloaded by Hugging Face's own tools are reused; missing files are downloaded from
 * $HF_ENDPOINT (default https://huggingface.co) with libcurl into the same layout (blobs +
 * snapshot symlinks), resumable, with a size check and atomic rename.
 *
 * Environment, as huggingface_hub reads it: HF_ENDPOINT, HF_TOKEN (or HUGGING_FACE_HUB_TOKEN,
 * or the token file of `huggingface-cli login`), HF_HOME, HF_HUB_CACHE, XDG_CACHE_HOME,
 * HF_HUB_OFFLINE=1 (cache only), HF_HUB_DISABLE_PROGRESS_BARS=1, HF_HUB_ETAG_TIMEOUT and
 * HF_HUB_DOWNLOAD_TIMEOUT (seconds: connect, and no progress at all).
 *
 * Not thread-safe (one call at a time per process: it initialises libcurl).
 */
#ifndef KSTT_CLI_HUB_H
#define KSTT_CLI_HUB_H

#include <stddef.h>

#define KSTT_DEFAULT_MODEL "kyutai/stt-1b-en_fr-candle"

typedef struct {
    int allow_download;   /* 0: cache only (error if missing) */
    int progress;         /* 1: progress bar on stderr */
    const char *revision; /* NULL = "main"; a branch, tag or 40-digit commit hash */
    int verbose;          /* 1: one line per downloaded file on stderr (when no bar) */
} kstt_hub_opts;

/* Defaults: download allowed, progress bar when stderr is a terminal (and
 * HF_HUB_DISABLE_PROGRESS_BARS is not set), revision "main", verbose. */
kstt_hub_opts kstt_hub_opts_default(void);

/* Resolves `spec` to a directory holding config.json and the files it names. Writes the path
 * into dir. A spec that is an existing directory is returned as is (it must hold config.json).
 * A repo id whose cached snapshot is complete is returned without any network access;
 * otherwise it is downloaded when opts->allow_download and HF_HUB_OFFLINE allow.
 * Returns 0 or a negative kstt status (KSTT_ENOTFOUND, KSTT_ENETWORK, KSTT_EIO, ...) with a
 * message in err naming the path or URL and the problem. opts may be NULL (defaults). */
int kstt_hub_resolve(const char *spec, const kstt_hub_opts *opts, char *dir, size_t dircap,
                     char *err, size_t errlen);

/* Downloads (or completes) every file a repo needs: config.json, then the files it names.
 * Like huggingface_hub's snapshot_download: asks the server which commit the revision is
 * (one request when everything is cached already); with HF_HUB_OFFLINE set, or when the
 * server cannot be reached and the cache has a complete snapshot, the cache answers. Writes
 * the snapshot folder into dir. Same return convention as kstt_hub_resolve. */
int kstt_hub_download(const char *repo_id, const kstt_hub_opts *opts, char *dir, size_t dircap,
                      char *err, size_t errlen);

#endif
