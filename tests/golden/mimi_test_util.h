/*
 * Helpers shared by the Mimi tests: reading golden tensors, comparing tensors with the golden
 * README's tolerances, comparing codes with its near-tie rule, and collecting the encoder's
 * intermediates through the test tap (codec/mimi_internal.h).
 */
#ifndef KSTT_TEST_MIMI_UTIL_H
#define KSTT_TEST_MIMI_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/mimi_internal.h"
#include "io/safetensors.h"
#include "kstt.h"

/* ---- golden tensors -------------------------------------------------------------------- */

/* A tensor of the reference file as f32 (malloc'd), or NULL (message printed). */
static inline float *mt_get_f32(const kstt__st_file *f, const char *name, int64_t *rows,
                                int64_t *cols) {
    const kstt__tensor *t = kstt__st_find(f, name);
    if (!t) {
        fprintf(stderr, "  golden tensor missing: %s\n", name);
        return NULL;
    }
    float *p = malloc((size_t)t->numel * sizeof(float) + 1);
    char err[256];
    if (kstt__st_to_f32(f, t, p, err, sizeof err) != KSTT_OK) {
        fprintf(stderr, "  %s\n", err);
        free(p);
        return NULL;
    }
    if (rows)
        *rows = t->shape[0];
    if (cols)
        *cols = t->ndim > 1 ? t->shape[1] : 1;
    return p;
}

static inline int32_t *mt_get_i32(const kstt__st_file *f, const char *name, int64_t *rows,
                                  int64_t *cols) {
    const kstt__tensor *t = kstt__st_find(f, name);
    if (!t || t->dtype != KSTT_DT_I32) {
        fprintf(stderr, "  golden I32 tensor missing: %s\n", name);
        return NULL;
    }
    int32_t *p = malloc(t->nbytes + 1);
    memcpy(p, t->data, t->nbytes);
    if (rows)
        *rows = t->shape[0];
    if (cols)
        *cols = t->ndim > 1 ? t->shape[1] : 1;
    return p;
}

/* Raw little-endian f32 samples of a golden clip (malloc'd). */
static inline float *mt_read_pcm(const char *path, size_t *n) {
    size_t bytes = 0;
    float *p = test_read_file(path, &bytes);
    *n = bytes / sizeof(float);
    return p;
}

/* ---- comparisons ----------------------------------------------------------------------- */

/* got [rows, cols] against ref (transposed: ref is [cols, ref_ld] channels-first when
 * `ref_cf`), golden README section 9: rel L2 <= 1e-5 and max abs <= 1e-4 * max(1, max|ref|).
 * Prints one line; returns 1 when within tolerance. */
static inline int mt_compare(const char *what, const float *got, const float *ref, long rows,
                             long cols, int ref_cf, long ref_ld) {
    double d2 = 0, r2 = 0, maxd = 0, maxr = 0;
    for (long t = 0; t < rows; t++)
        for (long c = 0; c < cols; c++) {
            const double g = got[t * cols + c];
            const double r = ref_cf ? ref[c * ref_ld + t] : ref[t * cols + c];
            d2 += (g - r) * (g - r);
            r2 += r * r;
            if (fabs(g - r) > maxd)
                maxd = fabs(g - r);
            if (fabs(r) > maxr)
                maxr = fabs(r);
        }
    const double rel = sqrt(d2 / (r2 > 0 ? r2 : 1e-300));
    const double lim = 1e-4 * (maxr > 1 ? maxr : 1);
    const int ok = rel <= 1e-5 && maxd <= lim;
    printf("  %-28s [%ld, %ld] rel L2 %.2e  max abs %.2e (limit %.1e)%s\n", what, rows, cols, rel,
           maxd, lim, ok ? "" : "  <-- OUT OF TOLERANCE");
    return ok;
}

typedef struct {
    long total, equal, near_tie_flips, skipped, bad;
} mt_code_stats;

/* Codes [frames, K] against the reference with the near-tie rule (README section 9): at a
 * (frame, level) whose margin is below 1e-3 either choice is accepted; a differing acoustic
 * level skips the later acoustic levels of that frame. */
static inline mt_code_stats mt_compare_codes(const int32_t *got, const int32_t *ref,
                                             const float *margin, long frames, int K) {
    mt_code_stats st = {0, 0, 0, 0, 0};
    for (long f = 0; f < frames; f++) {
        int skip = 0;
        for (int k = 0; k < K; k++) {
            st.total++;
            if (k >= 1 && skip) {
                st.skipped++;
                continue;
            }
            const int32_t g = got[f * K + k], r = ref[f * K + k];
            if (g == r) {
                st.equal++;
            } else if (margin && margin[f * K + k] < 1e-3f) {
                st.near_tie_flips++;
                if (k >= 1)
                    skip = 1;
            } else {
                st.bad++;
                if (st.bad <= 5)
                    fprintf(stderr,
                            "  code mismatch frame %ld level %d: %d vs ref %d (margin %g)\n", f, k,
                            g, r, margin ? margin[f * K + k] : -1.0);
            }
        }
    }
    return st;
}

static inline void mt_print_codes(const char *what, mt_code_stats st) {
    printf("  %s: %ld/%ld codes equal (%.2f%%), %ld near-tie flips, %ld skipped after a flip, "
           "%ld wrong\n",
           what, st.equal, st.total, 100.0 * (double)st.equal / (double)(st.total ? st.total : 1),
           st.near_tie_flips, st.skipped, st.bad);
}

/* ---- intermediates collected through the tap ------------------------------------------- */

#define MT_MAX_TAPS 48

typedef struct {
    char name[40];
    float *data;
    long rows, cols, cap;
} mt_tap_buf;

typedef struct {
    mt_tap_buf b[MT_MAX_TAPS];
    int n;
    const char *skip_prefix; /* names starting with it are not collected */
} mt_taps;

static inline void mt_tap_fn(void *user, const char *name, const float *data, int rows, int cols) {
    mt_taps *tp = user;
    if (tp->skip_prefix && !strncmp(name, tp->skip_prefix, strlen(tp->skip_prefix)))
        return;
    mt_tap_buf *b = NULL;
    for (int i = 0; i < tp->n; i++)
        if (!strcmp(tp->b[i].name, name))
            b = &tp->b[i];
    if (!b) {
        if (tp->n == MT_MAX_TAPS)
            return;
        b = &tp->b[tp->n++];
        snprintf(b->name, sizeof b->name, "%s", name);
        b->cols = cols;
    }
    const long take = rows;
    if (b->rows + take > b->cap) {
        long nc = (b->rows + take) * 2;
        b->data = realloc(b->data, (size_t)nc * cols * sizeof(float));
        b->cap = nc;
    }
    memcpy(b->data + b->rows * cols, data, (size_t)take * cols * sizeof(float));
    b->rows += take;
}

static inline const mt_tap_buf *mt_find(const mt_taps *tp, const char *name) {
    for (int i = 0; i < tp->n; i++)
        if (!strcmp(tp->b[i].name, name))
            return &tp->b[i];
    return NULL;
}

static inline void mt_taps_free(mt_taps *tp) {
    for (int i = 0; i < tp->n; i++)
        free(tp->b[i].data);
    memset(tp, 0, sizeof *tp);
}

#endif
