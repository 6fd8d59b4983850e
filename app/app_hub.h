/*
 * Model resolution and download (the kstt tool, the server, the bench and bindings share it).
 * A model spec is a directory, or a Hugging Face repo id ("kyutai/stt-1b-en_fr-candle"). A repo
 * id resolves to the local Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub or ~/.cache/huggingface/hub: models--ORG--NAME/snapshots/REV/,
 * REV from refs/main), so files downloaded by Hugging Face's own tools are reused; missing files
 * are downloaded from $HF_ENDPOINT (default https://huggingface.co) with libcurl into the same
 * layout (blobs + snapshot symlinks), resumable, with a size check and atomic rename.
 *
 * Which files a model needs is read from its config.json by the same rules as the library's
 * loader (app_model_files): moshi_name (default model.safetensors), mimi_name (required),
 * mimi_config_name (optional), tokenizer_name (required).
 *
 * Layers, no call loop: app_hub.c (resolve: spec -> directory) -> hub_download.c (the Hugging
 * Face protocol: which files, in which order, at which commit) -> hub_http.c (libcurl transfers)
 * and hub_cache.c (cache layout, lookups and writes; no network).
 *
 * Environment, as huggingface_hub reads it: HF_ENDPOINT, HF_TOKEN (or HUGGING_FACE_HUB_TOKEN,
 * or the token file of `huggingface-cli login`), HF_HOME, HF_HUB_CACHE, XDG_CACHE_HOME,
 * HF_HUB_OFFLINE=1 (cache only), HF_HUB_DISABLE_PROGRESS_BARS=1, HF_HUB_ETAG_TIMEOUT and
 * HF_HUB_DOWNLOAD_TIMEOUT (seconds: connect, and no progress at all).
 *
 * Not thread-safe (one call at a time per process: it initialises libcurl).
 * Return values: 0 or a negative kstt status (KSTT_ENOTFOUND, KSTT_ENETWORK, KSTT_EIO, ...) with
 * a message in err naming the path or URL and the problem.
 */
#ifndef APP_HUB_H
#define APP_HUB_H

#include <stddef.h>

#include "kstt.h" /* app_model_open */

#define APP_DEFAULT_MODEL "kyutai/stt-1b-en_fr-candle"

typedef struct {
    int allow_download;   /* 0: cache only (error if missing) */
    int progress;         /* 1: progress bar on stderr */
    const char *revision; /* NULL = "main"; a branch, tag or 40-digit commit hash */
    int verbose;          /* 1: one line per downloaded file on stderr (when no bar) */
} app_hub_opts;

/* Defaults: download allowed, progress bar when stderr is a terminal (and
 * HF_HUB_DISABLE_PROGRESS_BARS is not set), revision "main", verbose. */
app_hub_opts app_hub_opts_default(void);

/* Resolves `spec` to a directory holding config.json and the files it names. Writes the path
 * into dir. A spec that is an existing directory is returned as is (it must hold config.json).
 * A spec that looks like a local path ("./x", "../x", "/x", "~/x", "x/", "a/b/c", or one whose
 * parent directory exists) and does not exist fails with "no such model directory" (no network).
 * A repo id whose cached snapshot is complete is returned without any network access;
 * otherwise it is downloaded when opts->allow_download and HF_HUB_OFFLINE allow. The files the
 * config names must be regular files (a FIFO or a device is refused). opts may be NULL. */
int app_hub_resolve(const char *spec, const app_hub_opts *opts, char *dir, size_t dircap, char *err,
                    size_t errlen);

/* The front ends' resolve (kstt transcribe, listen, serve): app_hub_resolve with the default
 * options, where quiet turns off the progress bar and the per-file download messages. */
int app_model_resolve(const char *spec, int quiet, char *dir, size_t dircap, char *err,
                      size_t errlen);

/* app_model_resolve, then kstt_model_load of that directory with mp (NULL: the defaults).
 * dir (may be NULL) receives the resolved directory. 0, or a negative kstt status with a
 * message in err; *out is set only on success (release with kstt_model_free). */
int app_model_open(kstt_model **out, const char *spec, int quiet, const kstt_model_params *mp,
                   char *dir, size_t dircap, char *err, size_t errlen);

/* Downloads (or completes) every file a repo needs: config.json, then the files it names.
 * Like huggingface_hub's snapshot_download: asks the server which commit the revision is
 * (one request when everything is cached already); with HF_HUB_OFFLINE set, or when the
 * server cannot be reached and the cache has a complete snapshot, the cache answers. Writes
 * the snapshot folder into dir. */
int app_hub_download(const char *repo_id, const app_hub_opts *opts, char *dir, size_t dircap,
                     char *err, size_t errlen);

/* The files a model directory needs besides config.json, named by its config.json, read by
 * the loader's rules (see the file comment); each must be a relative name inside the
 * directory. */
#define APP_HUB_MAX_FILES 8
#define APP_HUB_NAME_MAX 512
typedef struct {
    int n;
    char name[APP_HUB_MAX_FILES][APP_HUB_NAME_MAX];
} app_model_files;

int app_model_files_read(const char *config_path, app_model_files *f, char *err, size_t errlen);

/* Checks that a model directory holds config.json and every file it names as regular files
 * (not FIFOs, devices or directories). KSTT_OK, or KSTT_ENOTFOUND / KSTT_EINVAL / KSTT_EFORMAT
 * with a sentence in err. */
int app_model_dir_check(const char *dir, char *err, size_t errlen);

#endif
