/*
 * kstt quantize --type q8_0|q4_0|q4_k [--head-type T] IN_DIR OUT_DIR
 *
 * Writes the LM weights of a model directory as GGUF with the same tensor names: every 2-D
 * float matmul weight of at least 64 rows whose row length is a multiple of the block size is
 * quantised; the embedding tables (names containing "emb"), norms, tiny heads (the [6, 2048]
 * VAD heads: no speed to gain, only error) and anything else keep their dtype (bf16/f16/f32).
 * config.json is copied with `moshi_name` pointing at the .gguf, and every other regular file
 * of IN_DIR (Mimi weights, tokenizer, ...) is copied as is.
 *
 * The text head (text_linear.weight) is the one product whose error reaches the logits
 * undamped, and it is ~1.5 % of a 1B model's weights: for the 4-bit types it is stored as q8_0
 * by default, as llama.cpp keeps output.weight at q6_K in its q4_0/q4_K files (we have no
 * q6_K). --head-type same stores it in --type like the rest. GGUF tensors carry their own
 * type, so mixed files are ordinary GGUF. Measurements: BENCHMARKS.md, bench/bench_error.c.
 *
 * Safety: OUT_DIR may not be IN_DIR, lie inside it, or be the same directory under another
 * name; IN_DIR's files are only ever opened for reading. Every output file is written to a
 * temporary name in OUT_DIR and renamed into place only after all of them were written, so an
 * error or Ctrl-C leaves OUT_DIR as it was (app_output.h).
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app_hub.h"
#include "app_output.h"
#include "cli_opts.h"
#include "commands.h"
#include "core/alloc.h"
#include "core/pool.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "kstt.h"
#include "quant/quant.h"

static void usage(FILE *f) {
    fprintf(f, "usage: kstt quantize --type q8_0|q4_0|q4_k [--head-type T|same] [--threads N]\n"
               "                     [--max-scale] [--quiet] IN_DIR OUT_DIR\n"
               "\n"
               "Writes OUT_DIR/<moshi_name stem>.<type>.gguf (matmul weights quantised,\n"
               "embeddings, norms and the VAD heads kept), config.json pointing at it, and\n"
               "copies of the other files of IN_DIR (a local model directory, safetensors).\n"
               "OUT_DIR is created if needed; it may not be IN_DIR or lie inside it. Files are\n"
               "written under temporary names and renamed only when all are complete.\n"
               "\n"
               "  --type T      required: q8_0 (8-bit, near lossless), q4_0 or q4_k (4-bit)\n"
               "  --head-type T type of the text head text_linear.weight: q8_0 (the default),\n"
               "                q4_0, q4_k, same (= --type), or bf16 (unquantised, as stored)\n"
               "  --threads N   worker threads, 1..1024 (default: one per CPU)\n"
               "  --max-scale   q8_0/q4_0 blocks scaled by their largest value (the ggml\n"
               "                reference rounding) instead of the lowest-error scale search\n"
               "  -q, --quiet   no summary line on stdout\n"
               "  -h, --help    this text\n"
               "\n"
               "Exit status: 0, 1 failure, 2 bad usage. Environment: KSTT_KERNELS caps the CPU\n"
               "kernels used while quantising.\n");
}

/* Output files of this run, published together at the end. */
#define MAX_OUTPUTS 64
typedef struct {
    app_output *o[MAX_OUTPUTS];
    int n;
} outputs;

/* A temporary file for dst (closed at once: the writers reopen its path). */
static const char *out_new(outputs *os, const char *dst) {
    char err[1024];
    if (os->n == MAX_OUTPUTS) {
        fprintf(stderr, "kstt quantize: more than %d files to write\n", MAX_OUTPUTS);
        return NULL;
    }
    app_output *o;
    if (app_output_open(&o, dst, err, sizeof err)) {
        fprintf(stderr, "kstt quantize: %s\n", err);
        return NULL;
    }
    os->o[os->n++] = o;
    return app_output_temp_path(o);
}

static char *read_text(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[len] = 0, *n = (size_t)len;
    return buf;
}

static int copy_file(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb");
    if (!in)
        return -1;
    FILE *out = fopen(dst, "wb");
    if (!out) {
        fclose(in);
        return -1;
    }
    static char buf[1 << 20];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    if (ferror(in))
        ok = 0;
    fclose(in);
    if (fclose(out) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static int is_float(kstt__dtype d, kstt__wtype *t) {
    switch (d) {
    case KSTT_DT_F32:
        *t = KSTT_WT_F32;
        return 1;
    case KSTT_DT_BF16:
        *t = KSTT_WT_BF16;
        return 1;
    case KSTT_DT_F16:
        *t = KSTT_WT_F16;
        return 1;
    default:
        return 0;
    }
}

typedef struct {
    const kstt__tensor *t;
    kstt__wtype from, to;
    unsigned char *dst;
    size_t src_row, dst_row;
    int max_scale; /* q8_0/q4_0: the ggml reference's max-based scale instead of the search */
} qjob;

static void qtask(void *arg, int ith, int nth) {
    const qjob *j = arg;
    const int64_t rows = j->t->shape[0], cols = j->t->shape[1];
    long r0, r1;
    kstt__split_range((long)rows, 1, ith, nth, &r0, &r1);
    float *row = malloc((size_t)cols * sizeof(float));
    if (!row)
        abort(); /* the CLI may die on OOM */
    for (long r = r0; r < r1; r++) {
        kstt__dequantize_row(j->from, (const char *)j->t->data + (size_t)r * j->src_row, row, cols);
        unsigned char *out = j->dst + (size_t)r * j->dst_row;
        if (j->max_scale && j->to == KSTT_WT_Q8_0)
            kstt__quantize_q8_0_maxscale(row, out, cols);
        else if (j->max_scale && j->to == KSTT_WT_Q4_0)
            kstt__quantize_q4_0_maxscale(row, out, cols);
        else
            kstt__quantize_row(j->to, row, out, cols);
    }
    free(row);
}

int cli_cmd_quantize(int argc, char **argv) {
    const char *type_name = NULL, *head_name = NULL, *in_dir = NULL, *out_dir = NULL;
    int threads = 0, quiet = 0, max_scale = 0;
    for (int i = 1; i < argc; i++) {
        int valued = !strcmp(argv[i], "--type") || !strcmp(argv[i], "--head-type") ||
                     !strcmp(argv[i], "--threads");
        if (valued && i + 1 >= argc) {
            fprintf(stderr, "kstt quantize: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--type"))
            type_name = argv[++i];
        else if (!strcmp(argv[i], "--head-type"))
            head_name = argv[++i];
        else if (!strcmp(argv[i], "--threads")) {
            if (cli_parse_int("quantize", "--threads", argv[++i], 1, 1024, &threads))
                return 2;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
            quiet = 1;
        else if (!strcmp(argv[i], "--max-scale"))
            max_scale = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "kstt quantize: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!in_dir)
            in_dir = argv[i];
        else if (!out_dir)
            out_dir = argv[i];
        else {
            fprintf(stderr, "kstt quantize: one IN_DIR and one OUT_DIR, not also '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!type_name) {
        fprintf(stderr, "kstt quantize: --type is required (q8_0, q4_0 or q4_k; see kstt "
                        "quantize --help)\n");
        return 2;
    }
    const int qt = kstt__wtype_from_name(type_name);
    if (qt != KSTT_WT_Q8_0 && qt != KSTT_WT_Q4_0 && qt != KSTT_WT_Q4_K) {
        fprintf(stderr, "kstt quantize: unknown --type '%s' (q8_0, q4_0 or q4_k)\n", type_name);
        return 2;
    }
    if (!in_dir || !out_dir) {
        fprintf(stderr, "kstt quantize: %s is required (see kstt quantize --help)\n",
                !in_dir ? "IN_DIR (the model directory to read)"
                        : "OUT_DIR (the directory to write)");
        return 2;
    }
    {
        struct stat sb;
        if (stat(in_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "kstt quantize: %s: %s\n", in_dir,
                    stat(in_dir, &sb) != 0 ? "no such model directory" : "not a directory");
            return 1;
        }
        if (app_path_inside(out_dir, in_dir)) {
            fprintf(stderr,
                    "kstt quantize: OUT_DIR %s is %s IN_DIR %s; the model would be "
                    "overwritten: choose another directory\n",
                    out_dir, app_same_file(out_dir, in_dir) ? "the same directory as" : "inside",
                    in_dir);
            return 1;
        }
        if (stat(out_dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "kstt quantize: OUT_DIR %s exists and is not a directory\n", out_dir);
            return 1;
        }
        char cerr[1024];
        if (app_model_dir_check(in_dir, cerr, sizeof cerr)) {
            fprintf(stderr, "kstt quantize: %s\n", cerr);
            return 1;
        }
    }
    /* the head's type: q8_0 under the 4-bit types unless told otherwise (see the header) */
    int ht = KSTT_WT_Q8_0;
    if (head_name && strcmp(head_name, "same"))
        ht = kstt__wtype_from_name(head_name);
    else if (head_name)
        ht = qt;
    if (ht != KSTT_WT_Q8_0 && ht != KSTT_WT_Q4_0 && ht != KSTT_WT_Q4_K && ht != KSTT_WT_BF16) {
        fprintf(stderr, "kstt quantize: unknown --head-type '%s'\n", head_name);
        usage(stderr);
        return 2;
    }
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/config.json", in_dir);
    size_t clen;
    char *ctext = read_text(path, &clen);
    if (!ctext) {
        fprintf(stderr, "kstt quantize: %s: cannot read: %s\n", path, strerror(errno));
        return 1;
    }
    cJSON *cfg = cJSON_ParseWithLength(ctext, clen);
    free(ctext);
    if (!cJSON_IsObject(cfg)) {
        fprintf(stderr, "kstt quantize: %s: not a JSON object\n", path);
        cJSON_Delete(cfg);
        return 1;
    }
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(cfg, "moshi_name");
    char moshi[1024];
    snprintf(moshi, sizeof moshi, "%s", cJSON_IsString(mn) ? mn->valuestring : "model.safetensors");
    char stem[1024], out_name[1100];
    snprintf(stem, sizeof stem, "%s", moshi);
    char *dot = strrchr(stem, '.');
    if (dot && (!strcmp(dot, ".safetensors") || !strcmp(dot, ".gguf")))
        *dot = 0;
    snprintf(out_name, sizeof out_name, "%s.%s.gguf", stem, kstt__wtype_name((kstt__wtype)qt));

    int rc = 1;
    outputs outs = {{0}, 0};
    const char *tmp = NULL;
    kstt__st_file *st = NULL;
    kstt__gguf_writer *gw = NULL;
    kstt_pool *pool = NULL;
    unsigned char **bufs = NULL;
    size_t nbufs = 0;
    snprintf(path, sizeof path, "%s/%s", in_dir, moshi);
    if (kstt__st_open(&st, path, err, sizeof err) != KSTT_OK) {
        fprintf(stderr, "kstt quantize: %s\n", err);
        goto done;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "kstt quantize: %s: cannot create: %s\n", out_dir, strerror(errno));
        goto done;
    }
    if (kstt__gguf_writer_new(&gw) != KSTT_OK || kstt_pool_new(&pool, threads) != KSTT_OK)
        goto oom;
    if (kstt__gguf_writer_set_str(gw, "general.architecture", "kyutai-stt") ||
        kstt__gguf_writer_set_str(gw, "general.name", moshi) ||
        kstt__gguf_writer_set_str(gw, "kstt.quantization", kstt__wtype_name((kstt__wtype)qt)))
        goto oom;
    const size_t n = kstt__st_count(st);
    bufs = calloc(n + 1, sizeof *bufs);
    if (!bufs)
        goto oom;
    size_t in_bytes = 0, out_bytes = 0, nq = 0;
    const double t0 = (double)clock();
    for (size_t i = 0; i < n; i++) {
        const kstt__tensor *t = kstt__st_at(st, i);
        kstt__wtype ft;
        if (!is_float(t->dtype, &ft)) {
            fprintf(stderr,
                    "kstt quantize: %s: tensor '%s' has dtype %s; GGUF output supports "
                    "float tensors only\n",
                    path, t->name, kstt__dtype_name(t->dtype));
            goto done;
        }
        if (t->ndim < 1 || t->ndim > KSTT_GGUF_MAX_DIMS || t->numel == 0) {
            fprintf(stderr,
                    "kstt quantize: %s: tensor '%s' has rank %d or no elements; not "
                    "representable in GGUF\n",
                    path, t->name, t->ndim);
            goto done;
        }
        in_bytes += t->nbytes;
        const kstt__wtype tt = (kstt__wtype)(!strcmp(t->name, "text_linear.weight") ? ht : qt);
        const int blk = kstt__wtype_block_elems(tt);
        const int quantize = tt != KSTT_WT_BF16 && t->ndim == 2 && t->shape[0] >= 64 &&
                             t->shape[1] % blk == 0 && !strstr(t->name, "emb");
        if (!quantize) {
            if (kstt__gguf_writer_add(gw, t->name, ft, t->ndim, t->shape, t->data))
                goto oom;
            out_bytes += t->nbytes;
            continue;
        }
        qjob j = {t,
                  ft,
                  tt,
                  NULL,
                  kstt__wtype_row_bytes(ft, t->shape[1]),
                  kstt__wtype_row_bytes(tt, t->shape[1]),
                  max_scale};
        const size_t bytes = j.dst_row * (size_t)t->shape[0];
        if (!(j.dst = bufs[nbufs++] = kstt__alloc(bytes)))
            goto oom;
        kstt__pool_run(pool, qtask, &j);
        if (kstt__gguf_writer_add(gw, t->name, tt, 2, t->shape, j.dst))
            goto oom;
        out_bytes += bytes;
        nq++;
    }
    app_output_cleanup_on_signals();
    snprintf(path, sizeof path, "%s/%s", out_dir, out_name);
    if (!(tmp = out_new(&outs, path)))
        goto done;
    if (kstt__gguf_writer_save(gw, tmp, err, sizeof err) != KSTT_OK) {
        fprintf(stderr, "kstt quantize: %s\n", err);
        goto done;
    }
    if (!quiet)
        printf("%s: %zu tensors, %zu quantised to %s (text head %s), %.1f MB -> %.1f MB "
               "(%.1f s CPU)\n",
               path, n, nq, kstt__wtype_name((kstt__wtype)qt), kstt__wtype_name((kstt__wtype)ht),
               in_bytes / 1e6, out_bytes / 1e6, ((double)clock() - t0) / CLOCKS_PER_SEC);

    /* config.json with moshi_name -> the gguf */
    cJSON *nm = cJSON_CreateString(out_name);
    if (!nm)
        goto oom;
    if (cJSON_HasObjectItem(cfg, "moshi_name"))
        cJSON_ReplaceItemInObjectCaseSensitive(cfg, "moshi_name", nm);
    else
        cJSON_AddItemToObject(cfg, "moshi_name", nm);
    char *text = cJSON_Print(cfg);
    if (!text)
        goto oom;
    snprintf(path, sizeof path, "%s/config.json", out_dir);
    if (!(tmp = out_new(&outs, path))) {
        cJSON_free(text);
        goto done;
    }
    FILE *cf = fopen(tmp, "wb");
    int ok = cf && fputs(text, cf) >= 0 && fputc('\n', cf) != EOF;
    if (cf && fclose(cf) != 0)
        ok = 0;
    cJSON_free(text);
    if (!ok) {
        fprintf(stderr, "kstt quantize: %s: cannot write: %s\n", path, strerror(errno));
        goto done;
    }
    /* the other files */
    DIR *d = opendir(in_dir);
    if (!d) {
        fprintf(stderr, "kstt quantize: %s: cannot list: %s\n", in_dir, strerror(errno));
        goto done;
    }
    struct dirent *de;
    ok = 1;
    while (ok && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "config.json") ||
            !strcmp(de->d_name, moshi))
            continue;
        char src[4096], dst[4096];
        snprintf(src, sizeof src, "%s/%s", in_dir, de->d_name);
        snprintf(dst, sizeof dst, "%s/%s", out_dir, de->d_name);
        struct stat sb;
        if (stat(src, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (!(tmp = out_new(&outs, dst))) {
            ok = 0;
            break;
        }
        if (copy_file(src, tmp) != 0) {
            fprintf(stderr, "kstt quantize: cannot copy %s to %s: %s\n", src, dst, strerror(errno));
            ok = 0;
        }
    }
    closedir(d);
    /* everything is written: publish it */
    for (int i = 0; ok && i < outs.n; i++) {
        int c = app_output_commit(outs.o[i], err, sizeof err);
        outs.o[i] = NULL;
        if (c) {
            fprintf(stderr, "kstt quantize: %s\n", err);
            ok = 0;
        }
    }
    rc = ok ? 0 : 1;
    goto done;
oom:
    fprintf(stderr, "kstt quantize: out of memory\n");
done:
    for (int i = 0; i < outs.n; i++)
        app_output_abort(outs.o[i]);
    for (size_t i = 0; i < nbufs; i++)
        kstt__free(bufs[i]);
    free(bufs);
    kstt__gguf_writer_free(gw);
    kstt__st_close(st);
    kstt_pool_free(pool);
    cJSON_Delete(cfg);
    return rc;
}
