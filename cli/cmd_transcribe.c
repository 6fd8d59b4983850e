/*
 * kstt transcribe [--model DIR|REPO_ID] [--format txt|json|srt|vtt] [--timestamps] [--vad]
 *                 [-o OUT] [--threads N] [--kv auto|f32|f16]
 *                 [--mimi-weights auto|f32|bf16] [--quiet] AUDIO...
 *
 * Speech to text for whole files. Each file is decoded to 24 kHz mono (kstt_audio_load; "-" reads
 * standard input), fed in 2-second blocks to one stream in pad mode (the library adds the
 * model's silence prefix and, at flush, the trailing silence, and reports times from the start
 * of the file), flushed, and its events assembled into words (cli/transcript.h states how word
 * ends are chosen). The model is loaded once and the stream reset between files.
 *
 * Output formats (to stdout, or OUT, which is created only once the first transcript is ready):
 *   txt   the text on one line; with --timestamps one word per line "[start - end] word"
 *   json  {"file", "text", "words": [{"word", "start", "end"}], "vad": [{"time", "prs"}]}; times
 *         in seconds (the model's 80 ms grid, so 2 decimals are exact); "vad" only with --vad:
 *         one entry per model step, time = audio consumed when the step ran (steps of the
 *         trailing silence included), prs = probabilities of a pause of >= 0.5, 1, 2, 3 s
 *   srt, vtt  subtitle cues grouped by pauses and length (transcript.h)
 * Several inputs are transcribed in turn: txt prints a "==> FILE <==" line before each text,
 * json prints an array of the per-file objects; srt and vtt take one input (a subtitle file
 * belongs to one media file). A file that fails is reported on stderr and skipped; the exit
 * status is then 1. Exit status: 0 success, 1 failure (model, audio, output), 2 bad usage.
 * Progress goes to stderr, as a bar only when stderr is a terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "hub.h"
#include "kstt.h"
#include "progress.h"
#include "transcript.h"

#define BLOCK_SECONDS 2

enum { FMT_TXT, FMT_JSON, FMT_SRT, FMT_VTT };

typedef struct {
    const char *model;
    const char *out_path;
    int format;
    int timestamps, vad, quiet;
    int threads;
    kstt_kv_type kv; /* --kv: the LM's KV cache storage */
    kstt_mimi_weights mimi; /* --mimi-weights: the Mimi encoder's matrix storage */
    char **inputs;
    int n_inputs;
} options;

static void usage(FILE *f) {
    fprintf(f,
            "usage: kstt transcribe [options] AUDIO...   (AUDIO '-' = standard input)\n"
            "\n"
            "  --model DIR|REPO_ID   model directory or Hugging Face repo id\n"
            "                        (default %s)\n"
            "  --format FMT          txt (default), json, srt or vtt\n"
            "  --timestamps          txt: one word per line, \"[start - end] word\"\n"
            "  --vad                 json: end-of-turn probabilities per step (VAD models)\n"
            "  -o, --output OUT      write to OUT instead of standard output\n"
            "  --threads N           worker threads (default: one per CPU)\n"
            "  --kv auto|f32|f16     LM key/value cache storage: f16 halves its memory and\n"
            "                        read traffic; auto (default) is f16 for quantized\n"
            "                        (GGUF q8_0/q4_0/q4_k) weights, f32 otherwise\n"
            "  --mimi-weights auto|f32|bf16\n"
            "                        Mimi encoder matrices: f32 gives the reference's codes;\n"
            "                        bf16 halves the encoder's weight traffic (approximate\n"
            "                        codes); auto (default) is bf16 for 4-bit LMs, else f32\n"
            "  -q, --quiet           no progress bar or download messages\n"
            "\n"
            "Times are seconds from the start of each file. Several files: txt gets a\n"
            "\"==> FILE <==\" line before each, json an array of objects; srt and vtt take one.\n",
            KSTT_DEFAULT_MODEL);
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->model = KSTT_DEFAULT_MODEL;
    o->format = FMT_TXT;
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    if (!o->inputs) {
        fprintf(stderr, "kstt transcribe: out of memory\n");
        return 1;
    }
    int only_files = 0, stdin_seen = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        const char *val = NULL;
        if (!only_files && a[0] == '-' && a[1] != '\0') {
            if (!strcmp(a, "--")) {
                only_files = 1;
                continue;
            }
            if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                usage(stdout);
                return 0;
            }
            if (!strcmp(a, "--timestamps")) {
                o->timestamps = 1;
                continue;
            }
            if (!strcmp(a, "--vad")) {
                o->vad = 1;
                continue;
            }
            if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
                o->quiet = 1;
                continue;
            }
            static const char *const valued[] = {"--model", "--format", "--output", "-o",
                                                  "--threads", "--kv", "--mimi-weights"};
            const char *name = NULL;
            for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !name; k++) {
                size_t len = strlen(valued[k]);
                if (!strcmp(a, valued[k])) {
                    if (i + 1 >= argc) {
                        fprintf(stderr, "kstt transcribe: %s needs a value\n", a);
                        return 2;
                    }
                    name = valued[k];
                    val = argv[++i];
                } else if (valued[k][1] == '-' && !strncmp(a, valued[k], len) && a[len] == '=') {
                    name = valued[k];
                    val = a + len + 1;
                }
            }
            if (!name) {
                fprintf(stderr, "kstt transcribe: unknown option '%s'\n", a);
                usage(stderr);
                return 2;
            }
            if (!strcmp(name, "--model")) {
                o->model = val;
            } else if (!strcmp(name, "--format")) {
                static const char *const fmts[] = {"txt", "json", "srt", "vtt"};
                o->format = -1;
                for (int k = 0; k < 4; k++)
                    if (!strcmp(val, fmts[k])) o->format = k;
                if (o->format < 0) {
                    fprintf(stderr,
                            "kstt transcribe: unknown format '%s' (txt, json, srt or vtt)\n",
                            val);
                    return 2;
                }
            } else if (!strcmp(name, "--threads")) {
                char *end;
                long n = strtol(val, &end, 10);
                if (*val == '\0' || *end != '\0' || n < 1 || n > 1024) {
                    fprintf(stderr, "kstt transcribe: --threads wants 1..1024, not '%s'\n", val);
                    return 2;
                }
                o->threads = (int)n;
            } else if (!strcmp(name, "--kv")) {
                if (!strcmp(val, "auto"))
                    o->kv = KSTT_KV_AUTO;
                else if (!strcmp(val, "f32"))
                    o->kv = KSTT_KV_F32;
                else if (!strcmp(val, "f16"))
                    o->kv = KSTT_KV_F16;
                else {
                    fprintf(stderr, "kstt transcribe: --kv wants auto, f32 or f16, not '%s'\n",
                            val);
                    return 2;
                }
            } else if (!strcmp(name, "--mimi-weights")) {
                if (!strcmp(val, "auto"))
                    o->mimi = KSTT_MIMI_WEIGHTS_AUTO;
                else if (!strcmp(val, "f32"))
                    o->mimi = KSTT_MIMI_WEIGHTS_F32;
                else if (!strcmp(val, "bf16"))
                    o->mimi = KSTT_MIMI_WEIGHTS_BF16;
                else {
                    fprintf(stderr,
                            "kstt transcribe: --mimi-weights wants auto, f32 or bf16, not '%s'\n",
                            val);
                    return 2;
                }
            } else {
                o->out_path = val;
            }
            continue;
        }
        if (!strcmp(a, "-")) {
            if (stdin_seen++) {
                fprintf(stderr, "kstt transcribe: standard input ('-') given twice\n");
                return 2;
            }
        }
        o->inputs[o->n_inputs++] = a;
    }
    if (o->n_inputs == 0) {
        fprintf(stderr, "kstt transcribe: no audio file given\n");
        usage(stderr);
        return 2;
    }
    if (o->vad && o->format != FMT_JSON) {
        fprintf(stderr, "kstt transcribe: --vad needs --format json\n");
        return 2;
    }
    if (o->n_inputs > 1 && (o->format == FMT_SRT || o->format == FMT_VTT)) {
        fprintf(stderr, "kstt transcribe: --format %s takes one audio file (got %d)\n",
                o->format == FMT_SRT ? "srt" : "vtt", o->n_inputs);
        return 2;
    }
    return -1;
}

/* ---- one file ------------------------------------------------------------------------ */

typedef struct {
    kstt_stream *stream;
    kstt_model_info info;
    int64_t prefix_frames; /* pad mode: silent frames the stream puts before the audio */
    int want_vad;
} engine;

static int drain(engine *e, kstt_transcript *tr) {
    kstt_event ev[64];
    int k;
    while ((k = kstt_stream_read(e->stream, ev, 64)) > 0) {
        for (int i = 0; i < k; i++) {
            int rc = 0;
            switch (ev[i].type) {
            case KSTT_EVENT_WORD:
                rc = kstt_transcript_word(tr, ev[i].text, ev[i].start);
                break;
            case KSTT_EVENT_END_WORD:
                kstt_transcript_end_word(tr, ev[i].stop);
                break;
            case KSTT_EVENT_STEP:
                if (e->want_vad) {
                    double t = (double)(ev[i].step - e->prefix_frames) / e->info.frame_rate;
                    if (t >= 0) rc = kstt_transcript_vad(tr, t, ev[i].prs);
                }
                break;
            }
            if (rc) return -1;
        }
    }
    return 0;
}

static const char *base_name(const char *path) {
    if (!strcmp(path, "-")) return "stdin";
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Transcribes one file into tr. Returns 0, or 1 after printing the error. */
static int transcribe_file(engine *e, const char *path, int progress, kstt_transcript *tr) {
    char err[1024];
    float *pcm = NULL;
    size_t n = 0;
    const int rate = e->info.sample_rate;
    if (!strcmp(path, "-") && isatty(fileno(stdin))) {
        fprintf(stderr, "kstt transcribe: standard input is a terminal, not audio "
                        "(pipe a file into it, e.g. 'kstt transcribe - < talk.wav')\n");
        return 1;
    }
    if (kstt_audio_load(path, rate, &pcm, &n, err, sizeof err)) {
        fprintf(stderr, "kstt transcribe: %s\n", err);
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "kstt transcribe: %s: no audio samples\n",
                strcmp(path, "-") ? path : "stdin");
        kstt_audio_free(pcm);
        return 1;
    }
    kstt_stream_reset(e->stream);
    kstt_progress bar;
    kstt_progress_start(&bar, progress ? stderr : NULL, base_name(path), (double)n / rate);
    const size_t block = (size_t)BLOCK_SECONDS * (size_t)rate;
    int status = 0;
    const char *what = NULL;
    for (size_t off = 0; off < n && !status; off += block) {
        size_t k = n - off < block ? n - off : block;
        if (kstt_stream_feed(e->stream, pcm + off, k) < 0) {
            what = kstt_stream_errmsg(e->stream);
            status = 1;
        } else if (drain(e, tr)) {
            what = "out of memory";
            status = 1;
        }
        kstt_progress_update(&bar, (double)(off + k) / rate);
    }
    if (!status && kstt_stream_flush(e->stream) < 0) {
        what = kstt_stream_errmsg(e->stream);
        status = 1;
    }
    if (!status && drain(e, tr)) {
        what = "out of memory";
        status = 1;
    }
    kstt_progress_end(&bar);
    if (status) fprintf(stderr, "kstt transcribe: %s: %s\n", path, what ? what : "failed");
    else kstt_transcript_finish(tr, (double)n / rate);
    kstt_audio_free(pcm);
    return status;
}

/* ---- output -------------------------------------------------------------------------- */

typedef struct {
    const options *o;
    FILE *f;       /* NULL until the first write */
    int written;   /* transcripts written so far */
    int reported;  /* a write error was already reported */
} output;

static int out_open(output *out) {
    if (out->f) return 0;
    if (!out->o->out_path || !strcmp(out->o->out_path, "-")) {
        out->f = stdout;
        return 0;
    }
    out->f = fopen(out->o->out_path, "w");
    if (!out->f) {
        fprintf(stderr, "kstt transcribe: %s: cannot open for writing: %s\n", out->o->out_path,
                strerror(errno));
        return 1;
    }
    return 0;
}

static int out_write(output *out, const kstt_transcript *tr) {
    const options *o = out->o;
    if (out_open(out)) return 1;
    FILE *f = out->f;
    int multi = o->n_inputs > 1, rc = 0;
    kstt_cue_opts cue = kstt_cue_opts_default();
    switch (o->format) {
    case FMT_TXT:
        if (multi) fprintf(f, "%s==> %s <==\n", out->written ? "\n" : "", tr->name);
        rc = kstt_write_txt(f, tr, o->timestamps);
        break;
    case FMT_JSON:
        if (multi) fputs(out->written ? ",\n" : "[\n", f);
        rc = kstt_write_json(f, tr, o->vad, multi ? 2 : 0);
        if (!multi) fputc('\n', f);
        break;
    case FMT_SRT:
        rc = kstt_write_srt(f, tr, &cue);
        break;
    default:
        rc = kstt_write_vtt(f, tr, &cue);
        break;
    }
    out->written++;
    fflush(f);
    if (rc || ferror(f)) {
        fprintf(stderr, "kstt transcribe: cannot write %s\n",
                f == stdout ? "to standard output" : o->out_path);
        out->reported = 1;
        return 1;
    }
    return 0;
}

static int out_close(output *out) {
    if (!out->f) return 0;
    FILE *f = out->f;
    if (out->o->format == FMT_JSON && out->o->n_inputs > 1 && out->written) fputs("\n]\n", f);
    int bad = fflush(f) != 0 || ferror(f);
    if (f != stdout) bad |= fclose(f) != 0;
    out->f = NULL;
    if (bad && !out->reported) {
        fprintf(stderr, "kstt transcribe: cannot write %s\n",
                f == stdout ? "to standard output" : out->o->out_path);
        return 1;
    }
    return 0;
}

/* ---- command ------------------------------------------------------------------------- */

int kstt_cmd_transcribe(int argc, char **argv) {
    options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) {
        free(o.inputs);
        return status;
    }
    status = 0;
    int progress = !o.quiet && isatty(fileno(stderr));
    char dir[4096], err[4096];
    kstt_pool *pool = NULL;
    kstt_model *model = NULL;
    engine e;
    memset(&e, 0, sizeof e);
    output out = {&o, NULL, 0, 0};

    kstt_hub_opts ho = kstt_hub_opts_default();
    if (o.quiet) ho.progress = ho.verbose = 0;
    if (kstt_hub_resolve(o.model, &ho, dir, sizeof dir, err, sizeof err)) {
        fprintf(stderr, "kstt transcribe: %s\n", err);
        status = 1;
        goto done;
    }
    if (kstt_pool_new(&pool, o.threads) != KSTT_OK) {
        fprintf(stderr, "kstt transcribe: cannot start %d threads\n", o.threads);
        status = 1;
        goto done;
    }
    kstt_model_params mp = kstt_model_params_default();
    mp.pool = pool;
    mp.kv_type = o.kv;
    mp.mimi_weights = o.mimi;
    if (kstt_model_load(&model, dir, &mp, err, sizeof err)) {
        fprintf(stderr, "kstt transcribe: %s\n", err);
        status = 1;
        goto done;
    }
    kstt_model_get_info(model, &e.info);
    if (o.vad && !e.info.has_vad) {
        fprintf(stderr, "kstt transcribe: --vad: the model in %s has no end-of-turn heads\n", dir);
        status = 1;
        goto done;
    }
    e.want_vad = o.vad;
    e.prefix_frames = e.info.prefix_frames;
    kstt_stream_params sp = kstt_stream_params_default();
    sp.pad = 1;
    sp.step_events = o.vad;
    int rc = kstt_stream_new(&e.stream, model, &sp);
    if (rc) {
        fprintf(stderr, "kstt transcribe: cannot create a stream: %s\n", kstt_strerror(rc));
        status = 1;
        goto done;
    }

    for (int i = 0; i < o.n_inputs; i++) {
        kstt_transcript tr;
        kstt_transcript_init(&tr, o.inputs[i]);
        int failed = transcribe_file(&e, o.inputs[i], progress, &tr);
        int broken = !failed && out_write(&out, &tr);
        kstt_transcript_free(&tr);
        if (failed || broken) status = 1;
        if (broken) break; /* the output cannot be written: stop */
    }
    if (out_close(&out)) status = 1;

done:
    kstt_stream_free(e.stream);
    kstt_model_free(model);
    kstt_pool_free(pool);
    free(o.inputs);
    return status;
}
