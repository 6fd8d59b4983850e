/*
 * The quantisation error of real model directories and of single products (bench_error.h).
 *
 * Model level: the reference is the original directory (bf16 weights, computed in f32 by the
 * exact bf16 kernel); each type is produced by `kstt quantize` itself (into a temporary
 * directory), so the figures are those of the files users get. Every LM sees the same token
 * inputs (teacher forcing): the golden file's tf.input_tokens, or the tokens the original
 * model feeds itself while decoding the bundled clips (Mimi codes of clip + the pad-mode
 * silence, text input = its own previous output). The quantised weights dequantised to f32
 * ("weights only") separate the weights' error from the kernels' 8-bit activations.
 *
 * Product level: ||W x - W_q x|| / ||W x|| over Gaussian x, with the f32 product on the
 * dequantised weights and with the quantised kernels (which quantise x to 8 bits per block),
 * for the max-based (ggml reference) and searched scales.
 */
#include "bench_error.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_audio.h"
#include "asr/asr.h"
#include "asr/model.h"
#include "bench.h"
#include "commands.h"
#include "core/alloc.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "lm/cpu/lm_cpu.h"
#include "lm/lm.h"
#include "quant/quant.h"
#include "quant/repack.h"

/* ---- small helpers --------------------------------------------------------------------- */

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "kstt bench: out of memory\n");
        exit(1);
    }
    return p;
}

/* Removes dir and the regular files in it and in its subdirectories (one level: what
 * kstt quantize writes). */
static void remove_tree(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    char p[2048];
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (unlink(p) != 0 && depth > 0)
            remove_tree(p, depth - 1);
    }
    closedir(d);
    rmdir(dir);
}

static double file_mb(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    const double mb = (double)ftell(f) / 1e6;
    fclose(f);
    return mb;
}

/* ---- token inputs ------------------------------------------------------------------------ */

typedef struct {
    int32_t *tok; /* [T, width] */
    int T, width;
    int *starts; /* steps at which a new sequence (fresh cache) begins */
    int nseq;
    /* clips (demo): audio and reference words, for the transcripts */
    float **pcm;
    size_t *npcm;
    char **ref_words;
    int nclips;
} inputs;

static void inputs_free(inputs *in) {
    free(in->tok);
    free(in->starts);
    for (int i = 0; i < in->nclips; i++) {
        free(in->pcm[i]);
        free(in->ref_words[i]);
    }
    free(in->pcm);
    free(in->npcm);
    free(in->ref_words);
}

static int golden_inputs(const char *ref_file, inputs *in, FILE *log) {
    kstt__st_file *st;
    char err[512];
    if (kstt__st_open(&st, ref_file, err, sizeof err)) {
        fprintf(log, "kstt bench: %s\n", err);
        return -1;
    }
    const kstt__tensor *t = kstt__st_find(st, "tf.input_tokens");
    if (!t || t->ndim != 2 || t->nbytes != (size_t)t->numel * 4) {
        fprintf(log, "kstt bench: %s: no int32 [T, 1 + n_q] tf.input_tokens\n", ref_file);
        kstt__st_close(st);
        return -1;
    }
    in->T = (int)t->shape[0];
    in->width = (int)t->shape[1];
    in->tok = xcalloc((size_t)t->numel, sizeof(int32_t));
    memcpy(in->tok, t->data, t->nbytes);
    in->starts = xcalloc(1, sizeof(int));
    in->nseq = 1;
    kstt__st_close(st);
    return 0;
}

/* DIR/samples/expected.tsv: "file<TAB>anything<TAB>reference words" per line, '#' comments. */
static int read_clips(const char *dir, inputs *in, FILE *log) {
    char path[2048], line[2048];
    snprintf(path, sizeof path, "%s/samples/expected.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\r\n")] = 0;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2)
            continue;
        *t1 = 0;
        if (in->nclips == cap) {
            cap = cap ? 2 * cap : 8;
            in->pcm = realloc(in->pcm, cap * sizeof *in->pcm);
            in->npcm = realloc(in->npcm, cap * sizeof *in->npcm);
            in->ref_words = realloc(in->ref_words, cap * sizeof *in->ref_words);
            if (!in->pcm || !in->npcm || !in->ref_words)
                exit(1);
        }
        char wav[2100], err[512];
        snprintf(wav, sizeof wav, "%s/samples/%s", dir, line);
        float *pcm;
        size_t n;
        if (app_audio_load(wav, 24000, NULL, &pcm, &n, err, sizeof err)) {
            fprintf(log, "kstt bench: %s\n", err);
            continue;
        }
        in->pcm[in->nclips] = pcm;
        in->npcm[in->nclips] = n;
        in->ref_words[in->nclips] = strdup(t2 + 1);
        in->nclips++;
    }
    fclose(f);
    return in->nclips;
}

/* The original model decoding each clip (pad mode: prefix and suffix silence), recording the
 * token inputs of every step. */
static int clip_inputs(kstt_model *m, inputs *in, FILE *log) {
    const int nq = m->cfg.n_q, fs = m->frame_size;
    in->width = 1 + nq;
    in->starts = xcalloc((size_t)in->nclips, sizeof(int));
    int rc = 0, capT = 0;
    kstt__lm_state *cp = NULL;
    kstt__lm_work *w = NULL;
    float *logits = xcalloc((size_t)m->lm->text_card, sizeof(float));
    float *vad = xcalloc((size_t)(m->lm->n_vad * m->lm->vad_dim) + 1, sizeof(float));
    if (kstt__lm_state_new(&cp, m->lm) || kstt__lm_work_new(&w, m->lm, 1)) {
        kstt__lm_state_free(m->lm, cp);
        free(logits);
        free(vad);
        return -1;
    }
    for (int c = 0; c < in->nclips && !rc; c++) {
        const size_t pre = (size_t)m->prefix_frames * fs, post = (size_t)m->suffix_frames * fs;
        const size_t total = pre + in->npcm[c] + post;
        float *pcm = xcalloc(total, sizeof(float));
        memcpy(pcm + pre, in->pcm[c], in->npcm[c] * sizeof(float));
        const int T = (int)(total / (size_t)fs);
        int32_t *codes = xcalloc((size_t)T * nq, sizeof(int32_t));
        kstt_mimi_stream *ms = NULL;
        int got = kstt_mimi_stream_new(&ms, m->mimi);
        if (got == KSTT_OK)
            got = kstt_mimi_stream_encode(ms, pcm, total, codes, (size_t)T);
        kstt_mimi_stream_free(ms);
        free(pcm);
        if (got < 0) {
            fprintf(log, "kstt bench: Mimi: %s\n", kstt_strerror(got));
            free(codes);
            rc = -1;
            break;
        }
        kstt__asr_params p = {.n_q = nq,
                              .card = m->cfg.card,
                              .text_card = m->cfg.text_card,
                              .pad_id = m->cfg.pad_id,
                              .delay = m->delay,
                              .n_vad = m->lm->n_vad,
                              .vad_dim = m->lm->vad_dim,
                              .spm = m->spm};
        kstt__asr a;
        if (kstt__asr_init(&a, &p)) {
            free(codes);
            rc = -1;
            break;
        }
        kstt__lm_state_reset(m->lm, cp);
        in->starts[in->nseq++] = in->T;
        for (int t = 0; t < got && !rc; t++) {
            if (in->T == capT) {
                capT = capT ? 2 * capT : 256;
                in->tok = realloc(in->tok, (size_t)capT * in->width * sizeof(int32_t));
                if (!in->tok)
                    exit(1);
            }
            int32_t *tok = in->tok + (size_t)in->T * in->width;
            kstt__asr_release(&a);
            kstt__asr_input(&a, codes + (size_t)t * nq, tok);
            rc = kstt__lm_step(m->lm, w, &cp, tok, 1, logits, vad);
            if (!rc)
                rc = kstt__asr_output(&a, logits, vad);
            kstt_event ev[16];
            while (kstt__asr_read(&a, ev, 16) > 0) {
            }
            in->T++;
        }
        kstt__asr_free(&a);
        free(codes);
    }
    kstt__lm_work_free(m->lm, w);
    kstt__lm_state_free(m->lm, cp);
    free(logits);
    free(vad);
    return rc ? -1 : 0;
}

/* ---- teacher forcing and transcripts ----------------------------------------------------- */

/* logits[T, text_card] of `lm` on the inputs. */
static int teacher_force(const kstt__lm *lm, const inputs *in, float *logits) {
    kstt__lm_state *cp = NULL;
    kstt__lm_work *w = NULL;
    if (kstt__lm_state_new(&cp, lm))
        return -1;
    if (kstt__lm_work_new(&w, lm, 1)) {
        kstt__lm_state_free(lm, cp);
        return -1;
    }
    float *vad = xcalloc((size_t)(lm->n_vad * lm->vad_dim) + 1, sizeof(float));
    int rc = 0, s = 0;
    for (int t = 0; t < in->T && !rc; t++) {
        if (s < in->nseq && in->starts[s] == t) {
            kstt__lm_state_reset(lm, cp);
            s++;
        }
        rc = kstt__lm_step(lm, w, &cp, in->tok + (size_t)t * in->width, 1,
                           logits + (size_t)t * lm->text_card, vad);
    }
    kstt__lm_work_free(lm, w);
    kstt__lm_state_free(lm, cp);
    free(vad);
    return rc;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

static void compare(const float *got, const float *want, int T, int V, double *rel, double *max_abs,
                    int *argmax_equal) {
    double num = 0, den = 0, mx = 0;
    int eq = 0;
    for (int t = 0; t < T; t++) {
        for (int v = 0; v < V; v++) {
            const double d = (double)got[(size_t)t * V + v] - want[(size_t)t * V + v];
            num += d * d;
            den += (double)want[(size_t)t * V + v] * want[(size_t)t * V + v];
            mx = fmax(mx, fabs(d));
        }
        eq += argmax(got + (size_t)t * V, V) == argmax(want + (size_t)t * V, V);
    }
    *rel = sqrt(num / (den > 0 ? den : 1));
    if (max_abs)
        *max_abs = mx;
    if (argmax_equal)
        *argmax_equal = eq;
}

/* The words of a clip through the public stream API, space-separated, into out. */
static int transcribe(kstt_model *m, const float *pcm, size_t n, char *out, size_t cap) {
    kstt_stream_params sp = kstt_stream_params_default();
    kstt_stream *s;
    out[0] = 0;
    if (kstt_stream_new(&s, m, &sp))
        return -1;
    int rc = kstt_stream_feed(s, pcm, n) < 0 || kstt_stream_flush(s) ? -1 : 0;
    kstt_event ev[16];
    int k;
    while ((k = kstt_stream_read(s, ev, 16)) > 0)
        for (int i = 0; i < k; i++)
            if (ev[i].type == KSTT_EVENT_WORD && strlen(out) + strlen(ev[i].text) + 2 < cap) {
                if (out[0])
                    strcat(out, " ");
                strcat(out, ev[i].text);
            }
    kstt_stream_free(s);
    return rc;
}

/* Word-level edit distance between two space-separated strings; *nref = words of ref. */
static int word_edits(const char *ref, const char *hyp, int *nref) {
    char a[2048], b[2048];
    const char *ra[256], *hb[256];
    int na = 0, nb = 0;
    snprintf(a, sizeof a, "%s", ref);
    snprintf(b, sizeof b, "%s", hyp);
    for (char *t = strtok(a, " "); t && na < 256; t = strtok(NULL, " "))
        ra[na++] = t;
    for (char *t = strtok(b, " "); t && nb < 256; t = strtok(NULL, " "))
        hb[nb++] = t;
    int prev[257], cur[257];
    for (int j = 0; j <= nb; j++)
        prev[j] = j;
    for (int i = 1; i <= na; i++) {
        cur[0] = i;
        for (int j = 1; j <= nb; j++) {
            const int sub = prev[j - 1] + (strcmp(ra[i - 1], hb[j - 1]) != 0);
            const int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (nb + 1));
    }
    *nref = na;
    return prev[nb];
}

/* ---- the quantised weights dequantised to f32 ------------------------------------------- */

/* Writes `path`: the tensors of `g`, block types dequantised to f32, the others as stored. */
static int write_dequantized(const kstt__gguf *g, const char *path, char *err, size_t errlen) {
    kstt__gguf_writer *w;
    if (kstt__gguf_writer_new(&w))
        return -1;
    const size_t n = kstt__gguf_count(g);
    float **bufs = xcalloc(n, sizeof *bufs);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const kstt__gguf_tensor *t = kstt__gguf_at(g, i);
        if (kstt__wtype_block_elems(t->type) > 1) {
            bufs[i] = xcalloc((size_t)t->numel, sizeof(float));
            kstt__dequantize_row(t->type, t->data, bufs[i], t->numel);
            rc = kstt__gguf_writer_add(w, t->name, KSTT_WT_F32, t->ndim, t->shape, bufs[i]);
        } else {
            rc = kstt__gguf_writer_add(w, t->name, t->type, t->ndim, t->shape, t->data);
        }
    }
    if (!rc)
        rc = kstt__gguf_writer_save(w, path, err, errlen);
    kstt__gguf_writer_free(w);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    return rc ? -1 : 0;
}

/* ---- one model directory ------------------------------------------------------------------ */

int bench_error_model(const char *label, const char *dir, const char *ref_file, const char *types,
                      const char *qopts, int transcripts, kstt_pool *pool, FILE *log,
                      bench_err *rows, int cap) {
    char err[1024], tmp[1024];
    const char *td = getenv("TMPDIR");
    if (!td || !*td)
        td = P_tmpdir; /* the system's temporary directory (stdio.h) */
    snprintf(tmp, sizeof tmp, "%s/bench_err_XXXXXX", td);
    if (!mkdtemp(tmp)) {
        fprintf(log, "kstt bench: cannot create a temporary directory under %s\n", td);
        return -1;
    }
    kstt_model_params mp = kstt_model_params_default();
    mp.pool = pool;
    kstt_model *ref = NULL;
    inputs in = {0};
    float *want = NULL, *got = NULL;
    char **ref_text = NULL;
    int nrows = 0, rc = -1;
    if (kstt_model_load(&ref, dir, &mp, err, sizeof err)) {
        fprintf(log, "kstt bench: %s\n", err);
        goto done;
    }
    if (ref_file) {
        if (golden_inputs(ref_file, &in, log))
            goto done;
    } else {
        if (read_clips(dir, &in, log) <= 0) {
            fprintf(log, "kstt bench: %s: no clips in samples/expected.tsv\n", dir);
            goto done;
        }
        if (clip_inputs(ref, &in, log))
            goto done;
    }
    const int V = ref->lm->text_card, T = in.T;
    want = xcalloc((size_t)T * V, sizeof(float));
    got = xcalloc((size_t)T * V, sizeof(float));
    if (teacher_force(ref->lm, &in, want))
        goto done;
    /* transcripts 0: the clips' token inputs are used, their words not */
    const int nclips = transcripts ? in.nclips : 0;
    ref_text = xcalloc((size_t)in.nclips + 1, sizeof *ref_text);
    for (int c = 0; c < nclips; c++) {
        ref_text[c] = xcalloc(1024, 1);
        transcribe(ref, in.pcm[c], in.npcm[c], ref_text[c], 1024);
    }
    char list[128];
    snprintf(list, sizeof list, "%s", types);
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok && nrows < cap;
         tok = strtok_r(NULL, ",", &save)) {
        const int t = kstt__wtype_from_name(tok);
        if (t != KSTT_WT_Q8_0 && t != KSTT_WT_Q4_0 && t != KSTT_WT_Q4_K)
            continue;
        char qd[1100], threads[16];
        snprintf(qd, sizeof qd, "%s/%s", tmp, kstt__wtype_name((kstt__wtype)t));
        snprintf(threads, sizeof threads, "%d", kstt_pool_threads(pool));
        char *argv[24] = {"quantize", "--type", tok, "--threads", threads, "--quiet"};
        int argc = 6;
        char opts[256];
        snprintf(opts, sizeof opts, "%s", qopts ? qopts : "");
        char *os = NULL;
        for (char *o = strtok_r(opts, " ", &os); o && argc < 20; o = strtok_r(NULL, " ", &os))
            argv[argc++] = o;
        argv[argc++] = (char *)dir;
        argv[argc++] = qd;
        if (cli_cmd_quantize(argc, argv) != 0)
            goto done;
        kstt_model *qm = NULL;
        if (kstt_model_load(&qm, qd, &mp, err, sizeof err)) {
            fprintf(log, "kstt bench: %s\n", err);
            goto done;
        }
        bench_err *r = &rows[nrows++];
        memset(r, 0, sizeof *r);
        snprintf(r->model, sizeof r->model, "%s", label);
        snprintf(r->weights, sizeof r->weights, "%s", kstt__wtype_name((kstt__wtype)t));
        snprintf(
            r->head, sizeof r->head, "%s",
            kstt__wtype_name(kstt__repack_file_type(kstt__lm_cpu_of(qm->lm)->text_linear.type)));
        r->lm_mb = file_mb(kstt__weights_path(qm->weights));
        r->steps = T;
        r->weights_only = -1;
        if (teacher_force(qm->lm, &in, got) == 0)
            compare(got, want, T, V, &r->rel_rms, &r->max_abs, &r->argmax_equal);
        /* weights only: the same file dequantised to f32, through the same LM code */
        char dq[1200];
        snprintf(dq, sizeof dq, "%s/dequantized.gguf", tmp);
        const kstt__gguf *g = kstt__weights_gguf(qm->weights);
        kstt__weights *wf = NULL;
        kstt__lm *lm = NULL;
        if (g && write_dequantized(g, dq, err, sizeof err) == 0 &&
            kstt__weights_open(&wf, dq, err, sizeof err) == 0 &&
            kstt__lm_load(&lm, wf, &qm->cfg, pool, KSTT_KERNELS_AUTO, err, sizeof err) == 0 &&
            teacher_force(lm, &in, got) == 0)
            compare(got, want, T, V, &r->weights_only, NULL, NULL);
        kstt__lm_free(lm);
        kstt__weights_close(wf);
        unlink(dq);
        for (int c = 0; c < nclips; c++) {
            char text[1024];
            int n = 0;
            transcribe(qm, in.pcm[c], in.npcm[c], text, sizeof text);
            r->word_errors += word_edits(in.ref_words[c], text, &n);
            r->words += n;
            r->same_transcripts += !strcmp(text, ref_text[c]);
            r->n_transcripts++;
            fprintf(log, "    %s %s clip %d: \"%s\"%s\n", label, r->weights, c, text,
                    strcmp(text, ref_text[c]) ? " (differs from the original)" : "");
        }
        fprintf(log,
                "  %s %s (head %s, %.1f MB): logits rel RMS %.3f%% (weights only %.3f%%), "
                "max abs %.3g, argmax %d/%d\n",
                label, r->weights, r->head, r->lm_mb, 100 * r->rel_rms, 100 * r->weights_only,
                r->max_abs, r->argmax_equal, r->steps);
        kstt_model_free(qm);
    }
    if (nclips) {
        int e = 0, n = 0;
        for (int c = 0; c < nclips; c++) {
            int k;
            e += word_edits(in.ref_words[c], ref_text[c], &k);
            n += k;
        }
        fprintf(log, "  %s original: %d word errors in %d reference words\n", label, e, n);
    }
    rc = 0;
done:
    if (ref_text)
        for (int c = 0; c < in.nclips; c++)
            free(ref_text[c]);
    free(ref_text);
    free(want);
    free(got);
    inputs_free(&in);
    kstt_model_free(ref);
    remove_tree(tmp, 1);
    return rc ? -1 : nrows;
}

/* ---- single products ---------------------------------------------------------------------- */

typedef struct {
    const char *name;
    kstt__wtype type;
    void (*quantize)(const float *x, void *dst, int64_t n);
} method;

static const method g_methods[] = {
    {"q8_0 max-based", KSTT_WT_Q8_0, kstt__quantize_q8_0_maxscale},
    {"q8_0 searched", KSTT_WT_Q8_0, kstt__quantize_q8_0},
    {"q4_0 max-based", KSTT_WT_Q4_0, kstt__quantize_q4_0_maxscale},
    {"q4_0 searched", KSTT_WT_Q4_0, kstt__quantize_q4_0},
    {"q4_k", KSTT_WT_Q4_K, kstt__quantize_q4_K},
};
enum { NMETHOD = sizeof g_methods / sizeof g_methods[0], NX = 4 };

typedef struct {
    double w_num, w_den;        /* weights: sum of squared errors, sum of squares */
    double f_num, k_num, p_den; /* products: f32 on dequantised, kernels; sum of squares */
    double secs, elems;
} acc;

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static double urand(void) { /* [0, 1) */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (double)((g_rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static float grand(void) {
    const double u = urand() + 1e-300, v = urand();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* Accumulates method m's errors on the [rows, cols] matrix w. */
static void measure(const method *m, const float *w, long rows, long cols, kstt_pool *pool,
                    acc *a) {
    const size_t rb = kstt__wtype_row_bytes(m->type, cols);
    if (!rb)
        return;
    unsigned char *q = kstt__alloc(rb * (size_t)rows);
    float *dq = xcalloc((size_t)rows * cols, sizeof(float));
    float *x = xcalloc((size_t)NX * cols, sizeof(float));
    float *y = xcalloc((size_t)NX * rows, sizeof(float));
    if (!q)
        exit(1);
    for (long i = 0; i < NX * cols; i++)
        x[i] = grand();
    const double t0 = bench_now();
    for (long r = 0; r < rows; r++)
        m->quantize(w + r * cols, q + (size_t)r * rb, cols);
    a->secs += bench_now() - t0;
    a->elems += (double)rows * cols;
    for (long r = 0; r < rows; r++)
        kstt__dequantize_row(m->type, q + (size_t)r * rb, dq + r * cols, cols);
    for (long i = 0; i < rows * cols; i++) {
        a->w_num += ((double)dq[i] - w[i]) * ((double)dq[i] - w[i]);
        a->w_den += (double)w[i] * w[i];
    }
    const kstt__wmat wm = {m->type, rows, cols, rb, q};
    kstt__ws ws = {0};
    ws.cap = kstt__matmul_ws_size(m->type, cols, NX);
    ws.buf = ws.cap ? kstt__alloc(ws.cap) : NULL;
    kstt__matmul(pool, kstt__kernels_get(KSTT_KERNELS_AUTO), &wm, x, cols, y, rows, NX, &ws);
    for (int b = 0; b < NX; b++) {
        for (long r = 0; r < rows; r++) {
            double e = 0, f = 0;
            for (long c = 0; c < cols; c++) {
                e += (double)w[r * cols + c] * x[b * cols + c];
                f += (double)dq[r * cols + c] * x[b * cols + c];
            }
            a->p_den += e * e;
            a->f_num += (f - e) * (f - e);
            a->k_num += ((double)y[b * rows + r] - e) * ((double)y[b * rows + r] - e);
        }
    }
    kstt__free(ws.buf);
    kstt__free(q);
    free(dq);
    free(x);
    free(y);
}

static void print_products(FILE *out, const char *source, const acc *a) {
    for (int m = 0; m < NMETHOD; m++) {
        if (!a[m].elems)
            continue;
        fprintf(out, "| %s | %s | %.3f%% | %.3f%% | %.3f%% | %.1f |\n", source, g_methods[m].name,
                100 * sqrt(a[m].w_num / a[m].w_den), 100 * sqrt(a[m].f_num / a[m].p_den),
                100 * sqrt(a[m].k_num / a[m].p_den), 1e9 * a[m].secs / a[m].elems);
    }
}

void bench_error_products(const char *dir, kstt_pool *pool, FILE *out) {
    fprintf(out, "\n| matrices | quantiser | weights rel RMS | product, f32 x | product, kernel "
                 "(8-bit x) | ns/element |\n|---|---|---|---|---|---|\n");
    acc a[NMETHOD];
    if (dir) {
        /* the model's matmul weights: the tensors kstt quantize would quantise */
        char path[2048], err[512];
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        kstt__st_file *st;
        if (kstt__st_open(&st, path, err, sizeof err) == 0) {
            memset(a, 0, sizeof a);
            for (size_t i = 0; i < kstt__st_count(st); i++) {
                const kstt__tensor *t = kstt__st_at(st, i);
                if (t->ndim != 2 || t->shape[0] < 64 || strstr(t->name, "emb"))
                    continue;
                float *w = xcalloc((size_t)t->numel, sizeof(float));
                if (kstt__st_to_f32(st, t, w, err, sizeof err) == 0)
                    for (int m = 0; m < NMETHOD; m++)
                        measure(&g_methods[m], w, (long)t->shape[0], (long)t->shape[1], pool,
                                &a[m]);
                free(w);
            }
            kstt__st_close(st);
            print_products(out, dir, a);
        }
    }
    /* random matrices like bench lm's (uniform) and Gaussian ones (closer to trained weights'
     * bulk, with tails) */
    const long R = 512, C = 2048;
    float *w = xcalloc((size_t)R * C, sizeof(float));
    for (int kind = 0; kind < 2; kind++) {
        for (long i = 0; i < R * C; i++)
            w[i] = kind ? grand() : (float)(2 * urand() - 1);
        memset(a, 0, sizeof a);
        for (int m = 0; m < NMETHOD; m++)
            measure(&g_methods[m], w, R, C, pool, &a[m]);
        print_products(out, kind ? "random Gaussian" : "random uniform", a);
    }
    free(w);
}
