/*
 * Internals of the model hub, shared by cli/hub.c (cache layout, config file list, resolution;
 * no network) and cli/hub_download.c (libcurl transfers into the cache). Split this way so that
 * a unit test can compile hub.c alone, without libcurl.
 *
 * Cache layout (the one Hugging Face's own tools write, so files are shared both ways):
 *   CACHE/models--ORG--NAME/refs/REVISION           commit hash of a branch or tag, no newline
 *   CACHE/models--ORG--NAME/blobs/ETAG              file content, named by its ETag
 *   CACHE/models--ORG--NAME/blobs/ETAG.incomplete   a download in progress (resumable)
 *   CACHE/models--ORG--NAME/snapshots/COMMIT/FILE -> ../../blobs/ETAG
 *   CACHE/.locks/models--ORG--NAME/ETAG.lock        flock() while a blob is being written
 * CACHE is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (a leading ~ is expanded).
 */
#ifndef KSTT_CLI_HUB_INTERNAL_H
#define KSTT_CLI_HUB_INTERNAL_H

#include <stddef.h>

#include "core/status.h"

#define KSTT_HUB_PATH_MAX 4096
#define KSTT_HUB_MAX_FILES 16
#define KSTT_HUB_NAME_MAX 512

/* The files a model snapshot needs besides config.json, as named by its config.json. */
typedef struct {
    int n;
    char name[KSTT_HUB_MAX_FILES][KSTT_HUB_NAME_MAX];
    int want_tokenizer_glob; /* no tokenizer_name: any "*.model" file of the repo */
} kstt__hub_files;

/* 1 if the variable is set to 1/true/yes/on (any case), as huggingface_hub reads booleans. */
int kstt__hub_env_true(const char *name);

/* 1 for a Hugging Face repo id ORG/NAME: two parts of [A-Za-z0-9._-], 1..96 characters each,
 * not starting or ending with '-' or '.', without "--" or "..". */
int kstt__hub_repo_id_valid(const char *id);

/* 1 for a full 40-digit lowercase hex commit hash. */
int kstt__hub_is_commit(const char *rev);

/* 1 for a revision usable as a refs/ path: [A-Za-z0-9._-/], no "..", no leading '/'. */
int kstt__hub_revision_valid(const char *rev);

/* 1 for a single path component made of [A-Za-z0-9._-] (commit hashes, blob names), not "."
 * or "..". Values sent by a server are checked with this before they become file names. */
int kstt__hub_safe_component(const char *s);

/* 1 for a relative file name inside a repository: components separated by '/', each a
 * non-empty name that is not "." or "..", no backslash or control characters. */
int kstt__hub_safe_relpath(const char *s);

/* Blob name from an ETag header value: drops surrounding blanks, a weak "W/" prefix and the
 * double quotes. Returns KSTT_ERANGE if it does not fit in out. */
int kstt__hub_etag_normalize(const char *in, char *out, size_t cap);

/* The cache root (see the file comment), the Hugging Face home ($HF_HOME or its default) and
 * a repo's folder CACHE/models--ORG--NAME. */
int kstt__hub_cache_dir(char *out, size_t cap, char *err, size_t errlen);
int kstt__hub_home_dir(char *out, size_t cap, char *err, size_t errlen);
int kstt__hub_repo_dir(const char *repo, char *out, size_t cap, char *err, size_t errlen);

/* snprintf into a path buffer; KSTT_ERANGE with a message if it does not fit. */
int kstt__hub_fmt(char *out, size_t cap, char *err, size_t errlen, const char *fmt, ...)
    KSTT__PRINTF(5, 6);

/* mkdir -p; an error names the directory that could not be made and why. */
int kstt__hub_mkdirs(const char *path, char *err, size_t errlen);

/* Reads the files config.json names (moshi_name, default model.safetensors; mimi_name;
 * tokenizer_name; mimi_config_name), checking each is a safe relative name. */
int kstt__hub_config_files(const char *config_path, kstt__hub_files *f, char *err, size_t errlen);

/* Whether snapshot directory snap holds config.json and every file it names. Returns KSTT_OK
 * when complete, KSTT_ENOTFOUND with the first missing file in why, or another status (bad
 * config.json) with a message in why. */
int kstt__hub_snapshot_check(const char *snap, char *why, size_t whylen);

/* Looks repo (at revision rev: a branch, tag or commit) up in the cache without touching the
 * network. KSTT_OK with the snapshot folder in snap when it is complete; KSTT_ENOTFOUND with a
 * sentence in why saying what is missing; another status for an unusable cache. */
int kstt__hub_cache_lookup(const char *repo, const char *rev, char *snap, size_t snapcap, char *why,
                           size_t whylen);

/* Token for Authorization: $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the first line of the
 * file $HF_TOKEN_PATH or $HF_HOME/token (what `huggingface-cli login` writes). Empty if none. */
void kstt__hub_token(char *out, size_t cap);

/* $HF_ENDPOINT without trailing slashes, default https://huggingface.co. */
void kstt__hub_endpoint(char *out, size_t cap);

#endif
