/*
 * Unit tests of the model hub's offline half (app/app_hub.c, app/hub_cache.c,
 * app/app_model_files.c from kstt_app): repo id and name validation, ETag normalisation, cache
 * folder precedence (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, ~), the file list read from
 * config.json by the loader's rules, cache lookup in a hand-built Hugging Face cache (symlinked
 * snapshots, refs, broken links), named pipes refused as model files, and app_hub_resolve's
 * choices between a directory, the cache and a download; app_model_open (resolve + load) on
 * the demo model. app_hub_download (libcurl,
 * hub_download.c) is replaced by a stub defined here (the linker takes it before the
 * library's); the network side is tested end to end by tests/e2e/test_download.sh.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_hub.h"
#include "hub_cache.h"
#include "kstt.h"
#include "test.h"

static int download_calls;
static char download_repo[256];

int app_hub_download(const char *repo_id, const app_hub_opts *opts, char *dir, size_t dircap,
                     char *err, size_t errlen) {
    (void)opts;
    download_calls++;
    snprintf(download_repo, sizeof download_repo, "%s", repo_id);
    snprintf(dir, dircap, "(downloaded)");
    snprintf(err, errlen, "stub");
    return KSTT_OK;
}

static char tmp_root[256];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static void clear_env(void) {
    static const char *vars[] = {"HF_HUB_CACHE",           "HUGGINGFACE_HUB_CACHE", "HF_HOME",
                                 "XDG_CACHE_HOME",         "HF_HUB_OFFLINE",        "HF_TOKEN",
                                 "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH",         "HF_ENDPOINT"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static const char *CONFIG =
    "{\"mimi_name\": \"mimi-pytorch-e351c8d8@125.safetensors\",\n"
    " \"tokenizer_name\": \"tokenizer_en_fr_audio_8000.model\", \"dim\": 2048}\n";

/* A cache at ROOT/hub with repo kyutai/stt-x at commit C: blobs, links, refs/main. */
#define COMMIT "0123456789abcdef0123456789abcdef01234567"
static void make_cache(const char *root, int with_mimi) {
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s/hub/models--kyutai--stt-x/blobs", root);
    if (app_hub_mkdirs(p, NULL, 0) != KSTT_OK)
        exit(1);
    snprintf(p, sizeof p, "%s/hub/models--kyutai--stt-x/snapshots/" COMMIT, root);
    if (app_hub_mkdirs(p, NULL, 0) != KSTT_OK)
        exit(1);
    snprintf(p, sizeof p, "%s/hub/models--kyutai--stt-x/refs", root);
    if (app_hub_mkdirs(p, NULL, 0) != KSTT_OK)
        exit(1);
    snprintf(p, sizeof p, "%s/hub/models--kyutai--stt-x/refs/main", root);
    write_text(p, COMMIT); /* no newline, as huggingface_hub writes it */
    const char *names[] = {"config.json", "model.safetensors",
                           "mimi-pytorch-e351c8d8@125.safetensors",
                           "tokenizer_en_fr_audio_8000.model"};
    for (int i = 0; i < 4; i++) {
        if (i == 2 && !with_mimi)
            continue;
        snprintf(p, sizeof p, "%s/hub/models--kyutai--stt-x/blobs/etag%d", root, i);
        write_text(p, i == 0 ? CONFIG : "data");
        snprintf(p, sizeof p, "%s/hub/models--kyutai--stt-x/snapshots/" COMMIT "/%s", root,
                 names[i]);
        snprintf(q, sizeof q, "../../blobs/etag%d", i);
        unlink(p);
        if (symlink(q, p) != 0)
            exit(1);
    }
}

static void test_repo_ids(void) {
    ASSERT_TRUE(app_hub_repo_id_valid("kyutai/stt-1b-en_fr-candle"));
    ASSERT_TRUE(app_hub_repo_id_valid("kyutai/stt-2.6b-en"));
    ASSERT_TRUE(app_hub_repo_id_valid("Codes4Fun/stt-1b-en_fr-GGUF"));
    ASSERT_TRUE(!app_hub_repo_id_valid("kyutai"));
    ASSERT_TRUE(!app_hub_repo_id_valid("a/b/c"));
    ASSERT_TRUE(!app_hub_repo_id_valid("/b"));
    ASSERT_TRUE(!app_hub_repo_id_valid("a/"));
    ASSERT_TRUE(!app_hub_repo_id_valid("a/.."));
    ASSERT_TRUE(!app_hub_repo_id_valid("a/b--c"));
    ASSERT_TRUE(!app_hub_repo_id_valid("a/b c"));
    ASSERT_TRUE(!app_hub_repo_id_valid("-a/b"));
    ASSERT_TRUE(app_hub_is_commit(COMMIT));
    ASSERT_TRUE(!app_hub_is_commit("0123456789ABCDEF0123456789abcdef01234567"));
    ASSERT_TRUE(!app_hub_is_commit("main"));
    ASSERT_TRUE(app_hub_revision_valid("main"));
    ASSERT_TRUE(app_hub_revision_valid("refs/pr/1"));
    ASSERT_TRUE(!app_hub_revision_valid("../main"));
    ASSERT_TRUE(!app_hub_revision_valid("a//b"));
    ASSERT_TRUE(!app_hub_revision_valid("/abs"));
}

static void test_names(void) {
    ASSERT_TRUE(app_hub_safe_relpath("mimi-pytorch-e351c8d8@125.safetensors"));
    ASSERT_TRUE(app_hub_safe_relpath("sub/dir/file.bin"));
    ASSERT_TRUE(!app_hub_safe_relpath("../x"));
    ASSERT_TRUE(!app_hub_safe_relpath("a/../x"));
    ASSERT_TRUE(!app_hub_safe_relpath("/etc/passwd"));
    ASSERT_TRUE(!app_hub_safe_relpath("a//b"));
    ASSERT_TRUE(!app_hub_safe_relpath("a\\b"));
    ASSERT_TRUE(!app_hub_safe_relpath("a\nb"));
    ASSERT_TRUE(!app_hub_safe_relpath(""));
    ASSERT_TRUE(app_hub_safe_component("b9e97c53229dce728d65c76bfa892f7b563c69d6"));
    ASSERT_TRUE(!app_hub_safe_component(".."));
    ASSERT_TRUE(!app_hub_safe_component("a/b"));
    char e[64];
    ASSERT_INT_EQ(app_hub_etag_normalize("W/\"abc123\"", e, sizeof e), KSTT_OK);
    ASSERT_STR_EQ(e, "abc123");
    ASSERT_INT_EQ(app_hub_etag_normalize("  \"d41d8\"  ", e, sizeof e), KSTT_OK);
    ASSERT_STR_EQ(e, "d41d8");
    ASSERT_INT_EQ(app_hub_etag_normalize("plain", e, sizeof e), KSTT_OK);
    ASSERT_STR_EQ(e, "plain");
    ASSERT_INT_EQ(app_hub_etag_normalize("\"0123456789\"", e, 5), KSTT_ERANGE);
}

static void test_cache_dirs(void) {
    char out[1024], err[256];
    clear_env();
    setenv("HOME", "/home/u", 1);
    ASSERT_INT_EQ(app_hub_cache_dir(out, sizeof out, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(out, "/home/u/.cache/huggingface/hub");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    ASSERT_INT_EQ(app_hub_cache_dir(out, sizeof out, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(out, "/xdg/huggingface/hub");
    setenv("HF_HOME", "~/hf", 1);
    ASSERT_INT_EQ(app_hub_cache_dir(out, sizeof out, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(out, "/home/u/hf/hub");
    setenv("HUGGINGFACE_HUB_CACHE", "/legacy", 1);
    ASSERT_INT_EQ(app_hub_cache_dir(out, sizeof out, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(out, "/legacy");
    setenv("HF_HUB_CACHE", "/c", 1);
    ASSERT_INT_EQ(app_hub_cache_dir(out, sizeof out, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(out, "/c");
    setenv("HF_HUB_CACHE", "", 1); /* empty counts as unset */
    ASSERT_INT_EQ(app_hub_cache_dir(out, sizeof out, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(out, "/legacy");
    ASSERT_INT_EQ(app_hub_repo_dir("kyutai/stt-2.6b-en", out, sizeof out, err, sizeof err),
                  KSTT_OK);
    ASSERT_STR_EQ(out, "/legacy/models--kyutai--stt-2.6b-en");
    ASSERT_INT_EQ(app_hub_repo_dir("nope", out, sizeof out, err, sizeof err), KSTT_EINVAL);
    ASSERT_STR_EQ(err, "'nope' is not a Hugging Face repo id (ORG/NAME)");
    ASSERT_INT_EQ(app_hub_cache_dir(out, 4, err, sizeof err), KSTT_ERANGE);
    ASSERT_STR_CONTAINS(err, "path too long");
    clear_env();
}

static void test_env_token_endpoint(void) {
    char tok[128], ep[128], p[1024];
    clear_env();
    ASSERT_TRUE(!app_hub_env_true("HF_HUB_OFFLINE"));
    setenv("HF_HUB_OFFLINE", "TRUE", 1);
    ASSERT_TRUE(app_hub_env_true("HF_HUB_OFFLINE"));
    setenv("HF_HUB_OFFLINE", "0", 1);
    ASSERT_TRUE(!app_hub_env_true("HF_HUB_OFFLINE"));
    app_hub_endpoint(ep, sizeof ep);
    ASSERT_STR_EQ(ep, "https://huggingface.co");
    setenv("HF_ENDPOINT", "http://127.0.0.1:8080//", 1);
    app_hub_endpoint(ep, sizeof ep);
    ASSERT_STR_EQ(ep, "http://127.0.0.1:8080");
    snprintf(p, sizeof p, "%s/tokhome", tmp_root);
    ASSERT_INT_EQ(app_hub_mkdirs(p, NULL, 0), KSTT_OK);
    setenv("HF_HOME", p, 1);
    app_hub_token(tok, sizeof tok);
    ASSERT_STR_EQ(tok, "");
    snprintf(p, sizeof p, "%s/tokhome/token", tmp_root);
    write_text(p, "  hf_from_file\n");
    app_hub_token(tok, sizeof tok);
    ASSERT_STR_EQ(tok, "hf_from_file");
    setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy", 1);
    app_hub_token(tok, sizeof tok);
    ASSERT_STR_EQ(tok, "hf_legacy");
    setenv("HF_TOKEN", "hf_env", 1);
    app_hub_token(tok, sizeof tok);
    ASSERT_STR_EQ(tok, "hf_env");
    clear_env();
}

static void test_config_files(void) {
    char p[1024], err[1024];
    app_model_files f;
    snprintf(p, sizeof p, "%s/config.json", tmp_root);
    write_text(p, CONFIG);
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(f.n, 3);
    ASSERT_STR_EQ(f.name[0], "model.safetensors");
    ASSERT_STR_EQ(f.name[1], "mimi-pytorch-e351c8d8@125.safetensors");
    ASSERT_STR_EQ(f.name[2], "tokenizer_en_fr_audio_8000.model");

    write_text(p, "{\"moshi_name\": \"lm.gguf\", \"mimi_name\": \"m.safetensors\", "
                  "\"mimi_config_name\": \"m.json\", \"tokenizer_name\": \"t.model\"}");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(f.n, 4);
    ASSERT_STR_EQ(f.name[0], "lm.gguf");
    ASSERT_STR_EQ(f.name[2], "m.json");
    ASSERT_STR_EQ(f.name[3], "t.model");

    /* The loader's rules: tokenizer_name and mimi_name required, null is not a string. */
    char want[1200];
    write_text(p, "{\"mimi_name\": \"m.safetensors\", \"tokenizer_name\": null}");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: key \"tokenizer_name\" must be a string", p);
    ASSERT_STR_EQ(err, want);
    write_text(p, "{\"mimi_name\": \"m.safetensors\"}");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: missing key \"tokenizer_name\"", p);
    ASSERT_STR_EQ(err, want);
    write_text(p, "{\"tokenizer_name\": \"t.model\"}");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: missing key \"mimi_name\"", p);
    ASSERT_STR_EQ(err, want);
    write_text(p, "{\"mimi_name\": \"\", \"tokenizer_name\": \"t.model\"}");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: key \"mimi_name\" is empty", p);
    ASSERT_STR_EQ(err, want);

    write_text(p, "{\"mimi_name\": \"../../etc/passwd\", \"tokenizer_name\": \"t.model\"}");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want,
             "%s: \"mimi_name\" is \"../../etc/passwd\", not a file name inside the model "
             "directory",
             p);
    ASSERT_STR_EQ(err, want);

    write_text(p, "{\"mimi_name\": \"m\", \"tokenizer_name\": 7}");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: key \"tokenizer_name\" must be a string", p);
    ASSERT_STR_EQ(err, want);

    write_text(p, "{\"dim\": 2048,,}");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_EFORMAT);
    snprintf(want, sizeof want, "%s: not valid JSON (error near byte 14)", p);
    ASSERT_STR_EQ(err, want);

    write_text(p, "[1, 2]");
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(err, "not a JSON object");

    snprintf(p, sizeof p, "%s/absent.json", tmp_root);
    ASSERT_INT_EQ(app_model_files_read(p, &f, err, sizeof err), KSTT_ENOTFOUND);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", p);
    ASSERT_STR_EQ(err, want);
}

static void test_cache_lookup(void) {
    char root[512], snap[1024], why[4096], want[4096];
    clear_env();
    snprintf(root, sizeof root, "%s/cache1", tmp_root);
    make_cache(root, 1);
    setenv("HF_HOME", root, 1);
    ASSERT_INT_EQ(app_hub_cache_lookup("kyutai/stt-x", "main", snap, sizeof snap, why, sizeof why),
                  KSTT_OK);
    snprintf(want, sizeof want, "%s/hub/models--kyutai--stt-x/snapshots/" COMMIT, root);
    ASSERT_STR_EQ(snap, want);
    /* A commit revision needs no refs file. */
    ASSERT_INT_EQ(app_hub_cache_lookup("kyutai/stt-x", COMMIT, snap, sizeof snap, why, sizeof why),
                  KSTT_OK);
    ASSERT_STR_EQ(snap, want);
    /* Unknown branch, unknown repo. */
    ASSERT_INT_EQ(app_hub_cache_lookup("kyutai/stt-x", "v2", snap, sizeof snap, why, sizeof why),
                  KSTT_ENOTFOUND);
    snprintf(want, sizeof want,
             "kyutai/stt-x is not in the Hugging Face cache (no "
             "%s/hub/models--kyutai--stt-x/refs/v2)",
             root);
    ASSERT_STR_EQ(why, want);
    /* A blob missing behind its link, then a link missing. */
    char p[1024];
    snprintf(p, sizeof p, "%s/hub/models--kyutai--stt-x/blobs/etag1", root);
    ASSERT_INT_EQ(unlink(p), 0);
    ASSERT_INT_EQ(app_hub_cache_lookup("kyutai/stt-x", "main", snap, sizeof snap, why, sizeof why),
                  KSTT_ENOTFOUND);
    snprintf(want, sizeof want,
             "%s/hub/models--kyutai--stt-x/snapshots/" COMMIT
             ": model.safetensors is a broken link (its blob is missing)",
             root);
    ASSERT_STR_EQ(why, want);
    snprintf(root, sizeof root, "%s/cache2", tmp_root);
    make_cache(root, 0);
    setenv("HF_HOME", root, 1);
    ASSERT_INT_EQ(app_hub_cache_lookup("kyutai/stt-x", "main", snap, sizeof snap, why, sizeof why),
                  KSTT_ENOTFOUND);
    snprintf(want, sizeof want,
             "%s/hub/models--kyutai--stt-x/snapshots/" COMMIT
             " lacks mimi-pytorch-e351c8d8@125.safetensors (named by config.json)",
             root);
    ASSERT_STR_EQ(why, want);
    /* refs/main pointing at a snapshot that is not there. */
    snprintf(p, sizeof p, "%s/hub/models--kyutai--stt-x/refs/main", root);
    write_text(p, "ffffffffffffffffffffffffffffffffffffffff\n");
    ASSERT_INT_EQ(app_hub_cache_lookup("kyutai/stt-x", "main", snap, sizeof snap, why, sizeof why),
                  KSTT_ENOTFOUND);
    ASSERT_STR_CONTAINS(why, "kyutai/stt-x at revision main is not in the Hugging Face cache");
    write_text(p, "../../../etc");
    ASSERT_INT_EQ(app_hub_cache_lookup("kyutai/stt-x", "main", snap, sizeof snap, why, sizeof why),
                  KSTT_EFORMAT);
    ASSERT_STR_CONTAINS(why, "refs/main: does not hold a commit hash");
    clear_env();
}

static void test_resolve(void) {
    char dir[1024], err[4096], want[4096], p[1024];
    app_hub_opts o = app_hub_opts_default();
    clear_env();
    download_calls = 0;

    /* A directory with config.json is used as is; without, it is an error. */
    snprintf(p, sizeof p, "%s/modeldir", tmp_root);
    ASSERT_INT_EQ(app_hub_mkdirs(p, NULL, 0), KSTT_OK);
    ASSERT_INT_EQ(app_hub_resolve(p, &o, dir, sizeof dir, err, sizeof err), KSTT_ENOTFOUND);
    snprintf(want, sizeof want,
             "%s: no config.json in this directory (a model directory holds config.json and "
             "the files it names)",
             p);
    ASSERT_STR_EQ(err, want);
    snprintf(want, sizeof want, "%s/config.json", p);
    write_text(want, CONFIG);
    /* Every file config.json names must be there, as regular files. */
    char fn[1100], msg[4096];
    ASSERT_INT_EQ(app_hub_resolve(p, &o, dir, sizeof dir, err, sizeof err), KSTT_ENOTFOUND);
    snprintf(msg, sizeof msg, "%s lacks model.safetensors (named by config.json)", p);
    ASSERT_STR_EQ(err, msg);
    snprintf(fn, sizeof fn, "%s/model.safetensors", p);
    ASSERT_INT_EQ(mkfifo(fn, 0644), 0);
    ASSERT_INT_EQ(app_hub_resolve(p, &o, dir, sizeof dir, err, sizeof err), KSTT_EINVAL);
    snprintf(msg, sizeof msg,
             "%s is a named pipe, not a model file (config.json names model.safetensors)", fn);
    ASSERT_STR_EQ(err, msg);
    ASSERT_INT_EQ(unlink(fn), 0);
    static const char *const names[] = {"model.safetensors",
                                        "mimi-pytorch-e351c8d8@125.safetensors",
                                        "tokenizer_en_fr_audio_8000.model"};
    for (int i = 0; i < 3; i++) {
        snprintf(fn, sizeof fn, "%s/%s", p, names[i]);
        write_text(fn, "x");
    }
    ASSERT_INT_EQ(app_hub_resolve(p, &o, dir, sizeof dir, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(dir, p);
    /* A spec ORG/NAME whose ORG is a local folder is a path: a typo is not sent to the hub. */
    char cwd[1024];
    ASSERT_TRUE(getcwd(cwd, sizeof cwd) != NULL);
    ASSERT_INT_EQ(chdir(tmp_root), 0);
    ASSERT_INT_EQ(app_hub_resolve("modeldir/nope", &o, dir, sizeof dir, err, sizeof err),
                  KSTT_ENOTFOUND);
    ASSERT_STR_EQ(err, "modeldir/nope: no such model directory");
    ASSERT_INT_EQ(app_hub_resolve("../x", &o, dir, sizeof dir, err, sizeof err), KSTT_ENOTFOUND);
    ASSERT_STR_EQ(err, "../x: no such model directory");
    ASSERT_INT_EQ(chdir(cwd), 0);
    ASSERT_INT_EQ(download_calls, 0);
    ASSERT_INT_EQ(app_hub_resolve(want, &o, dir, sizeof dir, err, sizeof err), KSTT_EINVAL);
    ASSERT_STR_CONTAINS(err, "config.json: is a file; --model takes a model directory");

    ASSERT_INT_EQ(app_hub_resolve("./no/such/dir", &o, dir, sizeof dir, err, sizeof err),
                  KSTT_ENOTFOUND);
    ASSERT_STR_EQ(err, "./no/such/dir: no such model directory");
    ASSERT_INT_EQ(app_hub_resolve("stt", &o, dir, sizeof dir, err, sizeof err), KSTT_EINVAL);
    ASSERT_STR_EQ(err, "'stt' is neither a model directory nor a Hugging Face repo id "
                       "(ORG/NAME, e.g. kyutai/stt-1b-en_fr-candle)");
    ASSERT_INT_EQ(app_hub_resolve("", &o, dir, sizeof dir, err, sizeof err), KSTT_EINVAL);

    /* A complete cached snapshot: no download. */
    char root[512];
    snprintf(root, sizeof root, "%s/cache3", tmp_root);
    make_cache(root, 1);
    setenv("HF_HOME", root, 1);
    ASSERT_INT_EQ(app_hub_resolve("kyutai/stt-x", &o, dir, sizeof dir, err, sizeof err), KSTT_OK);
    snprintf(want, sizeof want, "%s/hub/models--kyutai--stt-x/snapshots/" COMMIT, root);
    ASSERT_STR_EQ(dir, want);
    ASSERT_INT_EQ(download_calls, 0);
    ASSERT_INT_EQ(app_hub_resolve("kyutai/stt-x", NULL, dir, sizeof dir, err, sizeof err), KSTT_OK);

    /* Not cached: offline and allow_download=0 refuse, else the download runs. */
    setenv("HF_HUB_OFFLINE", "1", 1);
    ASSERT_INT_EQ(app_hub_resolve("kyutai/other", &o, dir, sizeof dir, err, sizeof err),
                  KSTT_ENOTFOUND);
    snprintf(want, sizeof want,
             "kyutai/other is not in the Hugging Face cache (no "
             "%s/hub/models--kyutai--other/refs/main); HF_HUB_OFFLINE is set, so nothing is "
             "downloaded (run `kstt download kyutai/other` while online)",
             root);
    ASSERT_STR_EQ(err, want);
    unsetenv("HF_HUB_OFFLINE");
    o.allow_download = 0;
    ASSERT_INT_EQ(app_hub_resolve("kyutai/other", &o, dir, sizeof dir, err, sizeof err),
                  KSTT_ENOTFOUND);
    ASSERT_STR_CONTAINS(err, "(run `kstt download kyutai/other`)");
    ASSERT_INT_EQ(download_calls, 0);
    o.allow_download = 1;
    ASSERT_INT_EQ(app_hub_resolve("kyutai/other", &o, dir, sizeof dir, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(download_calls, 1);
    ASSERT_STR_EQ(download_repo, "kyutai/other");
    ASSERT_STR_EQ(dir, "(downloaded)");
    /* An incomplete snapshot is completed by a download too. */
    snprintf(root, sizeof root, "%s/cache4", tmp_root);
    make_cache(root, 0);
    setenv("HF_HOME", root, 1);
    ASSERT_INT_EQ(app_hub_resolve("kyutai/stt-x", &o, dir, sizeof dir, err, sizeof err), KSTT_OK);
    ASSERT_INT_EQ(download_calls, 2);
    o.revision = "../x";
    ASSERT_INT_EQ(app_hub_resolve("kyutai/stt-x", &o, dir, sizeof dir, err, sizeof err),
                  KSTT_EINVAL);
    ASSERT_STR_EQ(err, "'../x' is not a valid revision");
    clear_env();
}

/* The front ends' model loading (app_model_resolve, app_model_open): the demo model directory
 * resolves to itself and loads; a missing directory fails in the resolve step with its message
 * and leaves *out alone; dir may be NULL. */
static void test_model_open(void) {
    const char *src = getenv("KSTT_SOURCE_DIR");
    ASSERT_TRUE(src != NULL);
    char spec[1024], dir[4096], err[1024] = "";
    snprintf(spec, sizeof spec, "%s/models/kstt-demo-en", src);
    ASSERT_INT_EQ(app_model_resolve(spec, 1, dir, sizeof dir, err, sizeof err), KSTT_OK);
    ASSERT_STR_EQ(dir, spec);
    kstt_model *m = NULL;
    dir[0] = '\0';
    ASSERT_INT_EQ(app_model_open(&m, spec, 1, NULL, dir, sizeof dir, err, sizeof err), KSTT_OK);
    ASSERT_TRUE(m != NULL);
    ASSERT_STR_EQ(dir, spec);
    kstt_model_info info;
    kstt_model_get_info(m, &info);
    ASSERT_INT_EQ(info.sample_rate, 24000);
    kstt_model_free(m);

    m = NULL;
    char missing[1200];
    snprintf(missing, sizeof missing, "%s/no-model-here", tmp_root);
    ASSERT_INT_EQ(app_model_open(&m, missing, 1, NULL, NULL, 0, err, sizeof err), KSTT_ENOTFOUND);
    ASSERT_STR_CONTAINS(err, "no such model directory");
    ASSERT_TRUE(m == NULL);
}

static void test_mkdirs_errors(void) {
    char p[1024], err[2048], want[2048];
    snprintf(p, sizeof p, "%s/plainfile", tmp_root);
    write_text(p, "x");
    ASSERT_INT_EQ(app_hub_mkdirs(p, err, sizeof err), KSTT_EIO);
    snprintf(want, sizeof want, "cannot create directory %s: a file of that name is in the way", p);
    ASSERT_STR_EQ(err, want);
    snprintf(p, sizeof p, "%s/plainfile/sub/dir", tmp_root);
    ASSERT_INT_EQ(app_hub_mkdirs(p, err, sizeof err), KSTT_EIO);
    snprintf(want, sizeof want, "cannot create directory %s/plainfile/sub: Not a directory",
             tmp_root);
    ASSERT_STR_EQ(err, want);
}

static void remove_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[2048];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            remove_tree(p);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/app_hub_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_repo_ids);
    RUN(test_names);
    RUN(test_cache_dirs);
    RUN(test_env_token_endpoint);
    RUN(test_config_files);
    RUN(test_cache_lookup);
    RUN(test_resolve);
    RUN(test_model_open);
    RUN(test_mkdirs_errors);
    remove_tree(tmp_root);
    return test_summary();
}
