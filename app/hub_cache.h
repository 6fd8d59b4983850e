/*
 * The local Hugging Face cache: names, folders, lookups and writes, no network. Used by
 * app_hub.c (resolution) and hub_download.c (the download protocol).
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
#ifndef APP_HUB_CACHE_H
#define APP_HUB_CACHE_H

#include <stddef.h>

#define APP_HUB_PATH_MAX 4096

/* 1 if the variable is set to 1/true/yes/on (any case), as huggingface_hub reads booleans. */
int app_hub_env_true(const char *name);

/* 1 for a Hugging Face repo id ORG/NAME: two parts of [A-Za-z0-9._-], 1..96 characters each,
 * not starting or ending with '-' or '.', without "--" or "..". */
int app_hub_repo_id_valid(const char *id);

/* 1 for a full 40-digit lowercase hex commit hash. */
int app_hub_is_commit(const char *rev);

/* 1 for a revision usable as a refs/ path: [A-Za-z0-9._-/], no "..", no leading '/'. */
int app_hub_revision_valid(const char *rev);

/* 1 for a single path component made of [A-Za-z0-9._-] (commit hashes, blob names), not "."
 * or "..". Values sent by a server are checked with this before they become file names. */
int app_hub_safe_component(const char *s);

/* 1 for a relative file name inside a repository: components separated by '/', each a
 * non-empty name that is not "." or "..", no backslash or control characters. */
int app_hub_safe_relpath(const char *s);

/* Blob name from an ETag header value: drops surrounding blanks, a weak "W/" prefix and the
 * double quotes. Returns KSTT_ERANGE if it does not fit in out. */
int app_hub_etag_normalize(const char *in, char *out, size_t cap);

/* The cache root (see the file comment), the Hugging Face home ($HF_HOME or its default) and
 * a repo's folder CACHE/models--ORG--NAME. */
int app_hub_cache_dir(char *out, size_t cap, char *err, size_t errlen);
int app_hub_home_dir(char *out, size_t cap, char *err, size_t errlen);
int app_hub_repo_dir(const char *repo, char *out, size_t cap, char *err, size_t errlen);

/* mkdir -p; an error names the directory that could not be made and why. */
int app_hub_mkdirs(const char *path, char *err, size_t errlen);

/* Whether snapshot directory snap holds config.json and every file it names
 * (app_model_dir_check). KSTT_OK when complete, KSTT_ENOTFOUND with the first missing file in
 * why, or another status (bad config.json) with a message in why. */
int app_hub_snapshot_check(const char *snap, char *why, size_t whylen);

/* Looks repo (at revision rev: a branch, tag or commit) up in the cache without touching the
 * network. KSTT_OK with the snapshot folder in snap when it is complete; KSTT_ENOTFOUND with a
 * sentence in why saying what is missing; another status for an unusable cache. */
int app_hub_cache_lookup(const char *repo, const char *rev, char *snap, size_t snapcap, char *why,
                         size_t whylen);

/* Token for Authorization: $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the first line of the
 * file $HF_TOKEN_PATH or $HF_HOME/token (what `huggingface-cli login` writes). Empty if none. */
void app_hub_token(char *out, size_t cap);

/* $HF_ENDPOINT without trailing slashes, default https://huggingface.co. */
void app_hub_endpoint(char *out, size_t cap);

/* Cache writes. The lock huggingface_hub takes for a blob (*fd -1 where the file system has no
 * locks; waits, saying so on stderr when verbose, while another process holds it). */
int app_hub_lock_blob(const char *locks_dir, const char *etag, int verbose, int *fd, char *err,
                      size_t errlen);
void app_hub_unlock_blob(int fd);
/* snapshots/COMMIT/FILE -> ../../blobs/ETAG (one more ../ per folder in FILE), atomically. */
int app_hub_link_snapshot(const char *repo_dir, const char *commit, const char *file,
                          const char *etag, char *err, size_t errlen);
/* refs/REVISION = COMMIT (no newline), replaced atomically. */
int app_hub_write_ref(const char *repo_dir, const char *rev, const char *commit, char *err,
                      size_t errlen);

#endif
