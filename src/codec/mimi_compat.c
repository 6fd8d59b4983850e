/*
 * include/mimi.h (rustymimi-c's interface) over the native kstt_mimi API. A MimiTokenizer owns
 * a model, one stream and a pool over all cores. The codes array handed to the caller is
 * allocated per call, as the interface requires (the caller owns and frees each array), through
 * kstt__alloc; everything else is sized at creation.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "kstt.h"
#include "mimi.h"

struct MimiTokenizer {
    kstt_pool *pool;
    kstt_mimi *mimi;
    kstt_mimi_stream *stream;
    char err[256];
};

void mimi_tokenizer_free(MimiTokenizer *t) {
    if (!t)
        return;
    kstt_mimi_stream_free(t->stream);
    kstt_mimi_free(t->mimi);
    kstt_pool_free(t->pool);
    kstt__free(t);
}

MimiTokenizer *mimi_tokenizer_new_ex(const char *path, size_t num_codebooks,
                                     const char *config_path, char *err, size_t errlen) {
    if (err && errlen)
        err[0] = '\0';
    if (!path) {
        kstt__errf(err, errlen, KSTT_EINVAL, "mimi_tokenizer_new: path is NULL");
        return NULL;
    }
    if (num_codebooks < 1 || num_codebooks > 1024) {
        kstt__errf(err, errlen, KSTT_EINVAL, "%s: num_codebooks %zu out of range (1..n_q)", path,
                   num_codebooks);
        return NULL;
    }
    MimiTokenizer *t = kstt__calloc(1, sizeof *t);
    if (!t) {
        kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (kstt_pool_new(&t->pool, 0) != KSTT_OK) {
        kstt__errf(err, errlen, KSTT_ENOMEM, "%s: cannot start the thread pool", path);
        goto fail;
    }
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = config_path;
    p.num_codebooks = (int)num_codebooks;
    p.pool = t->pool;
    if (kstt_mimi_load(&t->mimi, path, &p, err, errlen) != KSTT_OK)
        goto fail;
    if (kstt_mimi_stream_new(&t->stream, t->mimi) != KSTT_OK) {
        kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    return t;
fail:
    mimi_tokenizer_free(t);
    return NULL;
}

MimiTokenizer *mimi_tokenizer_new(const char *path, size_t num_codebooks) {
    return mimi_tokenizer_new_ex(path, num_codebooks, NULL, NULL, 0);
}

int32_t mimi_encode_step(MimiTokenizer *t, const float *pcm, size_t samples, uint32_t **out_codes,
                         size_t *out_codebooks, size_t *out_steps) {
    if (!t)
        return -1;
    t->err[0] = '\0';
    if (!pcm || !out_codes || !out_codebooks || !out_steps) {
        kstt__errf(t->err, sizeof t->err, KSTT_EINVAL, "mimi_encode_step: NULL argument");
        return -1;
    }
    const size_t frames = kstt_mimi_stream_frames_after(t->stream, samples);
    const size_t k = (size_t)kstt_mimi_num_codebooks(t->mimi);
    uint32_t *codes = NULL;
    if (frames > 0) {
        codes = kstt__calloc(frames * k, sizeof *codes);
        if (!codes) {
            kstt__errf(t->err, sizeof t->err, KSTT_ENOMEM,
                       "mimi_encode_step: out of memory for %zu frames", frames);
            return -1;
        }
    }
    /* codes are in [0, bins): int32 and uint32 representations agree */
    const int rc = kstt_mimi_stream_encode(t->stream, pcm, samples, (int32_t *)codes, frames);
    if (rc < 0) {
        snprintf(t->err, sizeof t->err, "%s", kstt_mimi_stream_errmsg(t->stream));
        kstt__free(codes);
        return -1;
    }
    if (rc == 0)
        return -1; /* no complete frame yet: not an error */
    *out_codes = codes;
    *out_codebooks = k;
    *out_steps = (size_t)rc;
    return 0;
}

void mimi_free_codes(uint32_t *codes, size_t len) {
    (void)len;
    kstt__free(codes);
}

void mimi_reset(MimiTokenizer *t) {
    if (!t)
        return;
    kstt_mimi_stream_reset(t->stream);
    t->err[0] = '\0';
}

const char *mimi_last_error(const MimiTokenizer *t) {
    return t ? t->err : "";
}
