/*
 * `kstt codes` end to end ($KSTT_BIN): the golden English WAV through the tiny Mimi gives the
 * reference codes (near-tie rule) in JSON and in safetensors, --codebooks selects a prefix,
 * and bad invocations (and an unwritable output) fail with a message naming the problem.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#include "golden/mimi_test_util.h"

static char g_dir[64];
static const char *g_bin;

/* Runs a shell command; returns the exit status, output (stdout + stderr) in a malloc'd
 * string. */
static int sh(const char *cmd, char **out) {
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, p);
        if (!got)
            break;
        n += got;
    }
    buf[n] = '\0';
    const int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Parses the JSON written by kstt codes into codes [frames, k]. Minimal: the format is ours. */
static int32_t *parse_json(const char *s, long *frames, int *k) {
    if (sscanf(s, "{\"frames\": %ld, \"codebooks\": %d", frames, k) != 2)
        return NULL;
    int32_t *c = malloc((size_t)(*frames ? *frames : 1) * *k * sizeof *c);
    const char *p = strstr(s, "\"codes\": [");
    if (!p)
        return NULL;
    p += 10;
    for (long i = 0; i < *frames * *k; i++) {
        while (*p && (*p < '0' || *p > '9'))
            p++;
        c[i] = (int32_t)strtol(p, (char **)&p, 10);
    }
    return c;
}

static void test_codes_json_and_safetensors(void) {
    char cmd[2048], *out;
    const char *model = test_golden("stt_tiny/mimi_tiny.safetensors");
    const char *cfg = test_golden("stt_tiny/mimi_tiny_config.json");
    const char *wav = test_golden("bria_10s_24k.wav");
    snprintf(cmd, sizeof cmd, "%s codes --mimi %s --mimi-config %s %s", g_bin, model, cfg, wav);
    ASSERT_INT_EQ(sh(cmd, &out), 0);
    long frames;
    int k;
    int32_t *codes = parse_json(out, &frames, &k);
    free(out);
    ASSERT_TRUE(codes != NULL);
    ASSERT_INT_EQ(frames, 125);
    ASSERT_INT_EQ(k, 8);
    char err[256];
    kstt__st_file *ref;
    ASSERT_INT_EQ(kstt__st_open(&ref, test_golden("mimi_tiny_ref.safetensors"), err, sizeof err),
                  0);
    int32_t *want = mt_get_i32(ref, "bria.codes", NULL, NULL);
    float *margin = mt_get_f32(ref, "bria.code_margin", NULL, NULL);
    ASSERT_TRUE(want && margin);
    mt_code_stats st = mt_compare_codes(codes, want, margin, frames, k);
    mt_print_codes("kstt codes bria_10s_24k.wav (JSON)", st);
    ASSERT_INT_EQ(st.bad, 0);

    /* safetensors, 3 codebooks: the prefix of the JSON codes */
    char path[256];
    snprintf(path, sizeof path, "%s/codes.safetensors", g_dir);
    snprintf(cmd, sizeof cmd,
             "%s codes --mimi %s --mimi-config %s --codebooks 3 --format "
             "safetensors -o %s %s",
             g_bin, model, cfg, path, wav);
    ASSERT_INT_EQ(sh(cmd, &out), 0);
    free(out);
    kstt__st_file *f;
    ASSERT_INT_EQ(kstt__st_open(&f, path, err, sizeof err), 0);
    const kstt__tensor *t = kstt__st_find(f, "codes");
    ASSERT_TRUE(t && t->dtype == KSTT_DT_I32 && t->ndim == 2 && t->shape[0] == 125 &&
                t->shape[1] == 3);
    const int32_t *c3 = t->data;
    for (long i = 0; i < 125; i++)
        for (int j = 0; j < 3; j++)
            ASSERT_INT_EQ(c3[i * 3 + j], codes[i * 8 + j]);
    kstt__st_close(f);
    unlink(path);
    kstt__st_close(ref);
    free(want);
    free(margin);
    free(codes);
}

static void test_bad_invocations(void) {
    char cmd[2048], *out;
    const char *model = test_golden("stt_tiny/mimi_tiny.safetensors");
    const char *cfg = test_golden("stt_tiny/mimi_tiny_config.json");
    const char *wav = test_golden("fr_6s_24k.wav");
    snprintf(cmd, sizeof cmd, "%s codes %s", g_bin, wav);
    ASSERT_INT_EQ(sh(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "kstt codes: --mimi is required");
    free(out);
    snprintf(cmd, sizeof cmd, "%s codes --mimi %s --mimi-config %s --codebooks 9 %s", g_bin, model,
             cfg, wav);
    ASSERT_INT_EQ(sh(cmd, &out), 1);
    ASSERT_STR_CONTAINS(out, "num_codebooks 9 out of range 1..8 (0 = all)");
    free(out);
    snprintf(cmd, sizeof cmd, "%s codes --mimi %s --mimi-config %s --format csv %s", g_bin, model,
             cfg, wav);
    ASSERT_INT_EQ(sh(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "kstt codes: unknown --format 'csv' (json or safetensors)");
    free(out);
    snprintf(cmd, sizeof cmd, "%s codes --mimi %s --mimi-config %s --format safetensors %s", g_bin,
             model, cfg, wav);
    ASSERT_INT_EQ(sh(cmd, &out), 2);
    ASSERT_STR_CONTAINS(out, "kstt codes: --format safetensors needs -o OUT");
    free(out);
    snprintf(cmd, sizeof cmd, "%s codes --mimi %s %s", g_bin, model, wav);
    ASSERT_INT_EQ(sh(cmd, &out), 1);
    ASSERT_STR_CONTAINS(out, "has shape [8, 1, 7], expected [64, 1, 7]");
    free(out);
    /* standard output that cannot be written (a full disk): failure, not a silent exit 0 */
    snprintf(cmd, sizeof cmd, "( %s codes --mimi %s --mimi-config %s %s > /dev/full )", g_bin,
             model, cfg, wav);
    ASSERT_INT_EQ(sh(cmd, &out), 1);
    ASSERT_STR_CONTAINS(out, "kstt codes: write error on stdout");
    free(out);
    snprintf(cmd, sizeof cmd, "%s codes --mimi %s --mimi-config %s %s/none.wav", g_bin, model, cfg,
             g_dir);
    ASSERT_INT_EQ(sh(cmd, &out), 1);
    ASSERT_STR_CONTAINS(out, "none.wav");
    free(out);
}

int main(void) {
    g_bin = getenv("KSTT_BIN");
    if (!g_bin) {
        fprintf(stderr, "KSTT_BIN not set (run through ctest)\n");
        return 1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/kstt_mimi_cli_XXXXXX");
    if (!mkdtemp(g_dir))
        return 1;
    RUN(test_codes_json_and_safetensors);
    RUN(test_bad_invocations);
    rmdir(g_dir);
    return test_summary();
}
