/*
 * kstt codes: the Mimi codes of an audio file. The file is decoded with app_audio_load (mixed
 * to mono, resampled to 24 kHz) and fed whole to a fresh encoder stream, which takes the
 * batched path; a trailing partial frame gives no codes. The output is written to a temporary
 * file and renamed into place on success (app_output.h); it may not be the audio or Mimi file.
 * Output: JSON (default, to stdout)
 *     {"frames": T, "codebooks": K, "codes": [[...K codes of frame 0...], ...]}
 * or a safetensors file with one I32 tensor "codes" [T, K].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_audio.h"
#include "app_output.h"
#include "cli_opts.h"
#include "commands.h"
#include "io/safetensors.h"
#include "kstt.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: kstt codes --mimi FILE.safetensors [--mimi-config FILE.json] [--codebooks N]\n"
            "                  [--format json|safetensors] [-o OUT] [--threads N] AUDIO\n"
            "\n"
            "Writes the Mimi codes of AUDIO (any format libsndfile reads, '-' = stdin; resampled\n"
            "to 24 kHz, mixed to mono): one frame of N codes per 1920 samples (80 ms).\n"
            "  --mimi FILE          Mimi weights (safetensors, real key names)\n"
            "  --mimi-config FILE   Mimi config JSON overriding the real Mimi's dimensions\n"
            "  --codebooks N        codebooks per frame, 1..n_q (default: all, 32 for Mimi)\n"
            "  --format F           json (default) or safetensors (I32 tensor \"codes\" [T, N])\n"
            "  -o OUT               output file (default: stdout; required for safetensors)\n"
            "  --threads N          worker threads, 1..1024 (default: all cores)\n"
            "\n"
            "Environment: KSTT_KERNELS=ref|avx2|avx512 caps the CPU kernels.\n");
}

static int write_json(FILE *f, const int32_t *codes, long frames, int k) {
    fprintf(f, "{\"frames\": %ld, \"codebooks\": %d, \"codes\": [", frames, k);
    for (long t = 0; t < frames; t++) {
        fputs(t ? ",\n  [" : "\n  [", f);
        for (int j = 0; j < k; j++)
            fprintf(f, j ? ", %d" : "%d", (int)codes[t * k + j]);
        fputc(']', f);
    }
    fputs(frames ? "\n]}\n" : "]}\n", f);
    /* flush here: on stdout nothing else would, and a failed write must fail the command */
    return fflush(f) != 0 || ferror(f) ? -1 : 0;
}

static int parse_int(const char *opt, const char *v, int lo, int hi, int *out) {
    return cli_parse_int("codes", opt, v, lo, hi, out);
}

int cli_cmd_codes(int argc, char **argv) {
    const char *mimi_path = NULL, *config = NULL, *format = "json", *out = NULL, *audio = NULL;
    int codebooks = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        const int has_val = i + 1 < argc;
        if (!strcmp(a, "--mimi") && has_val) {
            mimi_path = argv[++i];
        } else if (!strcmp(a, "--mimi-config") && has_val) {
            config = argv[++i];
        } else if (!strcmp(a, "--codebooks") && has_val) {
            if (parse_int(a, argv[++i], 1, 1024, &codebooks))
                return 2;
        } else if (!strcmp(a, "--threads") && has_val) {
            if (parse_int(a, argv[++i], 1, 1024, &threads))
                return 2;
        } else if (!strcmp(a, "--format") && has_val) {
            format = argv[++i];
        } else if (!strcmp(a, "-o") && has_val) {
            out = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "kstt codes: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        } else if (!audio) {
            audio = a;
        } else {
            fprintf(stderr, "kstt codes: more than one audio file given ('%s')\n", a);
            return 2;
        }
    }
    if (!mimi_path || !audio) {
        fprintf(stderr, "kstt codes: %s is required\n", !mimi_path ? "--mimi" : "an AUDIO file");
        usage(stderr);
        return 2;
    }
    const int as_json = !strcmp(format, "json");
    if (!as_json && strcmp(format, "safetensors")) {
        fprintf(stderr, "kstt codes: unknown --format '%s' (json or safetensors)\n", format);
        return 2;
    }
    if (!as_json && (!out || !strcmp(out, "-"))) {
        fprintf(stderr, "kstt codes: --format safetensors needs -o OUT\n");
        return 2;
    }

    if (out && strcmp(out, "-")) {
        const char *inputs[3] = {audio, mimi_path, config};
        for (int i = 0; i < 3; i++)
            if (inputs[i] && app_same_file(out, inputs[i])) {
                fprintf(stderr,
                        "kstt codes: the output %s is the input %s; refusing to "
                        "overwrite it\n",
                        out, inputs[i]);
                return 1;
            }
    }
    int rc = 1;
    char err[1024];
    app_output *of = NULL;
    kstt_pool *pool = NULL;
    kstt_mimi *mimi = NULL;
    kstt_mimi_stream *s = NULL;
    float *pcm = NULL;
    int32_t *codes = NULL;
    size_t n = 0;
    if (kstt_pool_new(&pool, threads) != KSTT_OK) {
        fprintf(stderr, "kstt codes: cannot start %d threads\n", threads);
        goto done;
    }
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = config;
    p.num_codebooks = codebooks;
    p.pool = pool;
    if (kstt_mimi_load(&mimi, mimi_path, &p, err, sizeof err) != KSTT_OK) {
        fprintf(stderr, "kstt codes: %s\n", err);
        goto done;
    }
    if (app_audio_load(audio, kstt_mimi_sample_rate(mimi), NULL, &pcm, &n, err, sizeof err) !=
        KSTT_OK) {
        fprintf(stderr, "kstt codes: %s\n", err);
        goto done;
    }
    if (kstt_mimi_stream_new(&s, mimi) != KSTT_OK) {
        fprintf(stderr, "kstt codes: out of memory\n");
        goto done;
    }
    const int k = kstt_mimi_num_codebooks(mimi);
    const size_t frames = kstt_mimi_stream_frames_after(s, n);
    codes = malloc((frames ? frames : 1) * (size_t)k * sizeof *codes);
    if (!codes) {
        fprintf(stderr, "kstt codes: out of memory\n");
        goto done;
    }
    const int got = kstt_mimi_stream_encode(s, pcm, n, codes, frames);
    if (got < 0) {
        fprintf(stderr, "kstt codes: %s\n", kstt_mimi_stream_errmsg(s));
        goto done;
    }
    if (app_output_open(&of, out, err, sizeof err)) {
        fprintf(stderr, "kstt codes: %s\n", err);
        goto done;
    }
    app_output_cleanup_on_signals();
    if (as_json) {
        if (write_json(app_output_file(of), codes, got, k)) {
            fprintf(stderr, "kstt codes: write error on %s\n",
                    out && strcmp(out, "-") ? out : "stdout");
            goto done;
        }
    } else {
        /* the library's writer fills the temporary file; the rename below publishes it */
        kstt__st_writer *w = NULL;
        const int64_t shape[2] = {got, k};
        int st = kstt__st_writer_new(&w);
        if (st == KSTT_OK)
            st = kstt__st_writer_add(w, "codes", KSTT_DT_I32, 2, shape, codes);
        if (st == KSTT_OK)
            st = kstt__st_writer_save(w, app_output_temp_path(of), err, sizeof err);
        else
            snprintf(err, sizeof err, "%s: %s", out, kstt_strerror(st));
        kstt__st_writer_free(w);
        if (st != KSTT_OK) {
            fprintf(stderr, "kstt codes: %s\n", err);
            goto done;
        }
    }
    int cst = app_output_commit(of, err, sizeof err);
    of = NULL;
    if (cst) {
        fprintf(stderr, "kstt codes: %s\n", err);
        goto done;
    }
    rc = 0;
done:
    app_output_abort(of);
    free(codes);
    free(pcm);
    kstt_mimi_stream_free(s);
    kstt_mimi_free(mimi);
    kstt_pool_free(pool);
    return rc;
}
