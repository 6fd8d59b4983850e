/*
 * config.json parsing: the golden tiny config and the real configs' shapes parse to the right
 * values; unknown keys are ignored; every class of bad input gives its exact message (file and
 * key named) and leaves nothing allocated.
 */
#include "core/alloc.h"
#include "lm/config.h"
#include "test.h"

/* A valid minimal config (the 1B values) in which tests substitute fragments. */
#define BASE_HEAD                                                                                  \
    "{\"mimi_name\": \"mimi.safetensors\", \"tokenizer_name\": \"tok.model\", "                    \
    "\"dim\": 2048, \"num_heads\": 16, \"num_layers\": 16, \"context\": 750, "                     \
    "\"n_q\": 32, \"card\": 2048, \"text_card\": 8000, \"max_period\": 100000.0"
#define BASE_STT                                                                                   \
    ", \"stt_config\": {\"audio_delay_seconds\": 0.5, "                                            \
    "\"audio_silence_prefix_seconds\": 0.0}"

static kstt__stt_config cfg;
static char err[512];

static int parse(const char *js) {
    err[0] = 0;
    long long live = kstt__alloc_live_bytes();
    int rc = kstt__stt_config_parse(&cfg, js, strlen(js), "config.json", err, sizeof err);
    if (kstt__alloc_live_bytes() != live)
        return 999;
    return rc;
}

#define EXPECT_ERR(js, code, text)                                                                 \
    do {                                                                                           \
        ASSERT_INT_EQ(parse(js), code);                                                            \
        ASSERT_STR_EQ(err, text);                                                                  \
    } while (0)

static void test_golden_tiny(void) {
    ASSERT_INT_EQ(kstt__stt_config_load(&cfg, test_golden("stt_tiny/config.json"), err, sizeof err),
                  KSTT_OK);
    ASSERT_STR_EQ(cfg.moshi_name, "model.safetensors");
    ASSERT_STR_EQ(cfg.mimi_name, "mimi_tiny.safetensors");
    ASSERT_STR_EQ(cfg.mimi_config_name, "mimi_tiny_config.json");
    ASSERT_STR_EQ(cfg.tokenizer_name, "tokenizer_tiny_en_fr_audio_128.model");
    ASSERT_INT_EQ(cfg.dim, 64);
    ASSERT_INT_EQ(cfg.num_heads, 4);
    ASSERT_INT_EQ(cfg.num_layers, 2);
    ASSERT_INT_EQ(cfg.context, 16);
    ASSERT_INT_EQ(cfg.n_q, 8);
    ASSERT_INT_EQ(cfg.card, 64);
    ASSERT_INT_EQ(cfg.text_card, 128);
    ASSERT_INT_EQ(cfg.pad_id, 3);
    ASSERT_NEAR(cfg.max_period, 100000.0, 0);
    ASSERT_INT_EQ(cfg.extra_heads_num_heads, 4);
    ASSERT_INT_EQ(cfg.extra_heads_dim, 6);
    ASSERT_NEAR(cfg.audio_delay_seconds, 0.5, 0);
    ASSERT_NEAR(cfg.audio_silence_prefix_seconds, 1.0, 0);
    ASSERT_INT_EQ(cfg.asr_delay_in_tokens, -1);
}

static void test_defaults_and_unknown_keys(void) {
    ASSERT_INT_EQ(parse(BASE_HEAD BASE_STT ", \"whatever\": [1, {\"x\": null}], "
                                           "\"depformer_dim\": 1024, \"delays\": [0, 0]}"),
                  KSTT_OK);
    ASSERT_STR_EQ(cfg.moshi_name, "model.safetensors");
    ASSERT_STR_EQ(cfg.mimi_config_name, "");
    ASSERT_INT_EQ(cfg.pad_id, 3);
    ASSERT_INT_EQ(cfg.extra_heads_num_heads, 0);
    ASSERT_INT_EQ(cfg.extra_heads_dim, 6);
    ASSERT_INT_EQ(cfg.asr_delay_in_tokens, -1);
    ASSERT_INT_EQ(parse(BASE_HEAD BASE_STT ", \"moshi_name\": \"lm.safetensors\", "
                                           "\"asr_delay_in_tokens\": 32, "
                                           "\"extra_heads_num_heads\": 4, \"dep_q\": 0, "
                                           "\"gating\": \"silu\", \"norm\": \"rms_norm_f32\", "
                                           "\"positional_embedding\": \"rope\", "
                                           "\"layer_scale\": null}"),
                  KSTT_OK);
    ASSERT_STR_EQ(cfg.moshi_name, "lm.safetensors");
    ASSERT_INT_EQ(cfg.asr_delay_in_tokens, 32);
    ASSERT_INT_EQ(cfg.extra_heads_num_heads, 4);
    ASSERT_INT_EQ(cfg.dim, 2048);
    ASSERT_INT_EQ(cfg.text_card, 8000);
}

static void test_not_json(void) {
    EXPECT_ERR("{\"dim\": 12,", KSTT_EFORMAT, "config.json: not valid JSON (error near byte 10)");
    EXPECT_ERR("", KSTT_EFORMAT, "config.json: not valid JSON (error near byte 0)");
    EXPECT_ERR("[1, 2]", KSTT_EFORMAT, "config.json: top level is not a JSON object");
    EXPECT_ERR("\"x\"", KSTT_EFORMAT, "config.json: top level is not a JSON object");
}

static void test_missing_keys(void) {
    EXPECT_ERR("{}", KSTT_EFORMAT, "config.json: missing key \"mimi_name\"");
    EXPECT_ERR("{\"mimi_name\": \"m\"}", KSTT_EFORMAT,
               "config.json: missing key \"tokenizer_name\"");
    EXPECT_ERR("{\"mimi_name\": \"m\", \"tokenizer_name\": \"t\"}", KSTT_EFORMAT,
               "config.json: missing key \"dim\"");
    EXPECT_ERR(BASE_HEAD "}", KSTT_EFORMAT, "config.json: missing key \"stt_config\"");
    EXPECT_ERR(BASE_HEAD ", \"stt_config\": {}}", KSTT_EFORMAT,
               "config.json: missing key \"stt_config.audio_delay_seconds\"");
    EXPECT_ERR(BASE_HEAD ", \"stt_config\": {\"audio_delay_seconds\": 2.5}}", KSTT_EFORMAT,
               "config.json: missing key \"stt_config.audio_silence_prefix_seconds\"");
}

static void test_wrong_types(void) {
    EXPECT_ERR("{\"mimi_name\": 3}", KSTT_EFORMAT,
               "config.json: key \"mimi_name\" must be a string");
    EXPECT_ERR(BASE_HEAD BASE_STT ", \"moshi_name\": null}", KSTT_EFORMAT,
               "config.json: key \"moshi_name\" must be a string");
    EXPECT_ERR(BASE_HEAD BASE_STT ", \"moshi_name\": \"\"}", KSTT_EFORMAT,
               "config.json: key \"moshi_name\" is empty");
    EXPECT_ERR("{\"mimi_name\": \"m\", \"tokenizer_name\": \"t\", \"dim\": \"2048\"}", KSTT_EFORMAT,
               "config.json: key \"dim\" must be an integer");
    EXPECT_ERR("{\"mimi_name\": \"m\", \"tokenizer_name\": \"t\", \"dim\": 20.5}", KSTT_EFORMAT,
               "config.json: key \"dim\" must be an integer");
    EXPECT_ERR("{\"mimi_name\": \"m\", \"tokenizer_name\": \"t\", \"dim\": 0}", KSTT_EFORMAT,
               "config.json: key \"dim\" out of range (got 0; expected 2..65536)");
    EXPECT_ERR(BASE_HEAD ", \"stt_config\": 1}", KSTT_EFORMAT,
               "config.json: key \"stt_config\" must be an object");
    EXPECT_ERR(BASE_HEAD ", \"stt_config\": {\"audio_delay_seconds\": \"0.5\"}}", KSTT_EFORMAT,
               "config.json: key \"stt_config.audio_delay_seconds\" must be a number");
    EXPECT_ERR(BASE_HEAD ", \"stt_config\": {\"audio_delay_seconds\": -1}}", KSTT_EFORMAT,
               "config.json: key \"stt_config.audio_delay_seconds\" out of range (got -1; "
               "expected 0..3600)");
    EXPECT_ERR(BASE_HEAD BASE_STT ", \"existing_text_padding_id\": 8000}", KSTT_EFORMAT,
               "config.json: key \"existing_text_padding_id\" out of range (got 8000; expected "
               "0..7999)");
    EXPECT_ERR(BASE_HEAD BASE_STT ", \"asr_delay_in_tokens\": true}", KSTT_EFORMAT,
               "config.json: key \"asr_delay_in_tokens\" must be an integer");
}

static void test_inconsistent_or_unsupported(void) {
    EXPECT_ERR("{\"mimi_name\": \"m\", \"tokenizer_name\": \"t\", \"dim\": 64, \"num_heads\": 3, "
               "\"num_layers\": 1, \"context\": 4, \"n_q\": 1, \"card\": 4, \"text_card\": 8, "
               "\"max_period\": 10000}",
               KSTT_EFORMAT,
               "config.json: dim 64 is not a multiple of num_heads 3 with an even head size");
    EXPECT_ERR(BASE_HEAD BASE_STT ", \"dep_q\": 8}", KSTT_EUNSUPPORTED,
               "config.json: dep_q 8 is not supported (an STT model has no depformer)");
    EXPECT_ERR(BASE_HEAD BASE_STT ", \"gating\": \"gelu\"}", KSTT_EUNSUPPORTED,
               "config.json: gating \"gelu\" is not supported");
    EXPECT_ERR(BASE_HEAD BASE_STT ", \"norm\": \"layer_norm\"}", KSTT_EUNSUPPORTED,
               "config.json: norm \"layer_norm\" is not supported");
    EXPECT_ERR(BASE_HEAD BASE_STT ", \"positional_embedding\": \"sin\"}", KSTT_EUNSUPPORTED,
               "config.json: positional_embedding \"sin\" is not supported");
}

static void test_long_name(void) {
    char js[1024];
    char name[300];
    memset(name, 'a', 299);
    name[299] = 0;
    snprintf(js, sizeof js, BASE_HEAD BASE_STT ", \"moshi_name\": \"%s\"}", name);
    EXPECT_ERR(js, KSTT_EFORMAT, "config.json: key \"moshi_name\" is too long (299 bytes)");
}

static void test_missing_file(void) {
    ASSERT_INT_EQ(kstt__stt_config_load(&cfg, "/nonexistent/dir/config.json", err, sizeof err),
                  KSTT_ENOTFOUND);
    ASSERT_STR_EQ(err, "/nonexistent/dir/config.json: cannot open: No such file or directory");
}

/* A config file whose bytes are cut at every position is either rejected with a message or
 * (when the cut lands after the closing brace) accepted; never a crash or a leak. */
static void test_truncations(void) {
    size_t n;
    char *js = test_read_file(test_golden("stt_tiny/config.json"), &n);
    ASSERT_TRUE(js != NULL);
    int ok = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        long long live = kstt__alloc_live_bytes();
        err[0] = 0;
        int rc = kstt__stt_config_parse(&cfg, js, cut, "c.json", err, sizeof err);
        ASSERT_INT_EQ(kstt__alloc_live_bytes(), live);
        if (rc == KSTT_OK)
            ok++;
        else
            ASSERT_STR_CONTAINS(err, "c.json: ");
    }
    free(js);
    ASSERT_TRUE(ok >= 1 && ok <= 2); /* the whole file, and the file without its final newline */
}

int main(void) {
    RUN(test_golden_tiny);
    RUN(test_defaults_and_unknown_keys);
    RUN(test_not_json);
    RUN(test_missing_keys);
    RUN(test_wrong_types);
    RUN(test_inconsistent_or_unsupported);
    RUN(test_long_name);
    RUN(test_missing_file);
    RUN(test_truncations);
    return test_summary();
}
