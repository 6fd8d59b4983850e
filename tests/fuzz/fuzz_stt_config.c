/*
 * Fuzz target for the STT config.json parser: any byte string goes through
 * kstt__stt_config_parse. Rejections must come with a message naming the input; an accepted
 * config must satisfy the invariants the LM loader relies on (positive dimensions, dim a
 * multiple of num_heads with an even head size, pad id inside the text vocabulary, non-empty
 * NUL-terminated file names, non-negative delays).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm/config.h"

static void check(int cond) {
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kstt__stt_config c;
    char err[512];
    err[0] = 0;
    int rc = kstt__stt_config_parse(&c, (const char *)data, size, "fuzz.json", err, sizeof err);
    if (rc != KSTT_OK) {
        check(rc == KSTT_EFORMAT || rc == KSTT_EUNSUPPORTED || rc == KSTT_ENOMEM);
        check(strncmp(err, "fuzz.json: ", 11) == 0);
        return 0;
    }
    check(c.dim >= 2 && c.num_heads >= 1 && c.num_layers >= 1 && c.context >= 1);
    check(c.dim % c.num_heads == 0 && (c.dim / c.num_heads) % 2 == 0);
    check(c.n_q >= 1 && c.card >= 1 && c.text_card >= 5);
    check(c.pad_id >= 0 && c.pad_id < c.text_card);
    check(c.max_period >= 1.0);
    check(c.audio_delay_seconds >= 0 && c.audio_silence_prefix_seconds >= 0);
    check(c.asr_delay_in_tokens >= -1);
    check(c.extra_heads_num_heads >= 0 && c.extra_heads_dim >= 1);
    check(memchr(c.moshi_name, 0, sizeof c.moshi_name) && c.moshi_name[0]);
    check(memchr(c.mimi_name, 0, sizeof c.mimi_name) && c.mimi_name[0]);
    check(memchr(c.tokenizer_name, 0, sizeof c.tokenizer_name) && c.tokenizer_name[0]);
    check(memchr(c.mimi_config_name, 0, sizeof c.mimi_config_name) != NULL);
    return 0;
}
