/*
 * kstt transcribe: speech to text for audio files and standard input, streamed: each input is
 * read in 2-second blocks (app_audio: libsndfile chunks, libsoxr streaming resampling to
 * 24 kHz mono; "-" is standard input, which also takes raw PCM with --raw), fed to one stream
 * in pad mode (the library adds the model's silence prefix and, at flush, the trailing
 * silence, and reports times from the start of the input), and the events go to a streaming
 * writer (app_transcript.h) that prints words as the format allows. Memory stays flat
 * whatever the length; the model is loaded once and the stream reset between inputs.
 *
 * Order of work, so that mistakes cost nothing: options are validated, then every input is
 * opened (its header read) and the output checked (not one of the inputs, not a model file)
 * and created as a temporary file, then the model is resolved and loaded, then the inputs are
 * transcribed. The output file replaces its destination only when every input was
 * transcribed (app_output.h); an error or a signal leaves the destination as it was.
 *
 * Exit status: 0 success, 1 failure (model, audio, output), 2 bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_audio.h"
#include "app_hub.h"
#include "app_output.h"
#include "app_progress.h"
#include "app_transcript.h"
#include "cli_opts.h"
#include "commands.h"
#include "kstt.h"

#define BLOCK_SECONDS 2

typedef struct {
    const char *model;
    const char *out_path;
    app_writer_opts w;
    int vad, quiet, threads;
    kstt_kv_type kv;        /* --kv: the LM's KV cache storage */
    kstt_mimi_weights mimi; /* --mimi-weights: the Mimi encoder's matrix storage */
    int codebooks;          /* --codebooks: audio codebooks the model reads (0 = all) */
    app_audio_opts audio;
    int no_padding; /* --no-padding: raw stream (moshi-server's times, no silence added) */
    int rate_given, channels_given;
    char **inputs;
    int n_inputs;
} options;

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: kstt transcribe [options] AUDIO...   (AUDIO '-' = standard input)\n"
        "\n"
        "Transcribes audio files (WAV, FLAC, OGG/Vorbis, Opus, MP3: anything libsndfile reads;\n"
        "any rate and channel count, resampled to 24 kHz mono) or standard input. Input is\n"
        "read and transcribed as it arrives, so memory stays flat for inputs of any length and\n"
        "`arecord -f S16_LE -r 16000 | kstt transcribe --raw s16le --rate 16000 -` is live.\n"
        "\n"
        "  --model DIR|REPO_ID   model directory or Hugging Face repo id\n"
        "                        (default %s; downloaded into the Hugging Face\n"
        "                        cache on first use, see `kstt download --help`)\n"
        "  --format FMT          txt (default), json, jsonl, srt or vtt\n"
        "  --timestamps          txt: one word per line, \"[start - end] word\"\n"
        "  --vad                 json: a \"vad\" array with the end-of-turn probabilities of\n"
        "                        every model step; jsonl: end_of_turn events (models with VAD\n"
        "                        heads, e.g. kyutai/stt-1b-en_fr)\n"
        "  --no-padding          run the stream as moshi-server does: no silence before the\n"
        "                        audio or after it (the input's own trailing audio must\n"
        "                        cover the model's delay), times from the first sample;\n"
        "                        the last pending word is still reported at the end\n"
        "  --eot-threshold P     jsonl --vad: an end of turn is reported when prs[2] (pause of\n"
        "                        at least 2 s) reaches P after a word (default 0.6)\n"
        "  -o, --output OUT      write to OUT instead of standard output; OUT is written to a\n"
        "                        temporary file and replaces OUT only when every input was\n"
        "                        transcribed; it may not be one of the inputs or model files\n"
        "  --raw s16le|f32le     inputs are headerless PCM (signed 16-bit or 32-bit float,\n"
        "                        little-endian, channels interleaved); needs --rate\n"
        "  --rate HZ             --raw: sample rate, %d..%d\n"
        "  --channels N          --raw: channel count, 1..%d (default 1; mixed to mono)\n"
        "  --threads N           worker threads, 1..1024 (default: one per CPU)\n"
        "  --kv auto|f32|f16|q8  LM key/value cache storage: f16 halves its memory and\n"
        "                        read traffic, q8 (int8 rows with a scale) quarters it;\n"
        "                        auto (default) is f16 for quantized (GGUF q8_0/q4_0/\n"
        "                        q4_k) weights, f32 otherwise\n"
        "  --mimi-weights auto|f32|bf16\n"
        "                        Mimi encoder matrices: f32 gives the reference's codes;\n"
        "                        bf16 halves the encoder's weight traffic (approximate\n"
        "                        codes; on a CPU with AMX, products on the tile unit with\n"
        "                        bf16 activations, as moshi-server computes); auto\n"
        "                        (default) is bf16 for 4-bit LMs, else f32\n"
        "  --codebooks K         use only the first K of the model's audio codebooks (Mimi's\n"
        "                        RVQ levels), 1..n_q; 0 = all (default); moshi-server's\n"
        "                        audio_codebooks\n"
        "  -q, --quiet           no progress bar, warnings or download messages\n"
        "  -h, --help            this text\n"
        "\n",
        APP_DEFAULT_MODEL, APP_AUDIO_MIN_RATE, APP_AUDIO_MAX_RATE, APP_AUDIO_MAX_CHANNELS);
    /* Two pieces: C11 only promises string literals of 4095 characters. */
    fputs("Formats (times are seconds from the start of each input, on the model's 80 ms grid):\n"
          "  txt    the words on one line, printed as they are recognised; --timestamps: one\n"
          "         line per word once its end is known. Several inputs: \"==> FILE <==\" first.\n"
          "  json   {\"file\", \"text\", \"words\": [{\"word\", \"start\", \"end\"}],\n"
          "         \"vad\": [{\"time\", \"prs\"}]} written when the input ends; several inputs\n"
          "         give an array. \"vad\" (with --vad): one entry per model step, time = audio\n"
          "         consumed when the step ran, prs = the probabilities that a pause of at\n"
          "         least 0.5, 1, 2 and 3 s starts there (the semantic VAD heads).\n"
          "  jsonl  one event per line, flushed as it happens:\n"
          "         {\"type\":\"word\",\"text\",\"start\"}  {\"type\":\"end_word\",\"stop\"}\n"
          "         {\"type\":\"end_of_turn\",\"time\",\"prs\"} (--vad)\n"
          "         {\"type\":\"file\",\"file\"} (several inputs)  "
          "{\"type\":\"end\",\"file\",\"duration\"}\n"
          "  srt, vtt  subtitle cues (pauses of 0.8 s, at most 7 s and 2 lines of 42\n"
          "         characters), each printed when the next one starts; one input only.\n"
          "\n"
          "Errors: every input is checked before the model loads; an input that fails while\n"
          "being transcribed is reported and skipped (exit status 1). NaN or infinite samples\n"
          "are an error naming the input and the time of the first one (standard input too).\n"
          "A WAV file shorter than its header says gives a warning. Progress goes to stderr,\n"
          "as a bar only when stderr is a terminal. Exit status: 0, 1 failure, 2 bad usage.\n"
          "\n"
          "Environment: HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE=1,\n"
          "HF_HUB_DISABLE_PROGRESS_BARS=1, HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT (model\n"
          "download, as huggingface_hub reads them); "
          "KSTT_KERNELS=ref|avx2|avx512|neon|dotprod|i8mm caps\n"
          "the CPU kernels (for comparisons; the default is the best the CPU has).\n",
          f);
}

static int bad_usage(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "kstt transcribe: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see kstt transcribe --help)\n");
    return 2;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->model = APP_DEFAULT_MODEL;
    o->w = app_writer_opts_default();
    o->audio = app_audio_opts_default();
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    if (!o->inputs) {
        fprintf(stderr, "kstt transcribe: out of memory\n");
        return 1;
    }
    int only_files = 0, stdin_seen = 0, eot_given = 0;
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
                o->w.timestamps = 1;
                continue;
            }
            if (!strcmp(a, "--vad")) {
                o->vad = 1;
                continue;
            }
            if (!strcmp(a, "--no-padding")) {
                o->no_padding = 1;
                continue;
            }
            if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
                o->quiet = 1;
                continue;
            }
            static const char *const valued[] = {
                "--model",    "--format",       "--output",        "-o",
                "--threads",  "--kv",           "--raw",           "--rate",
                "--channels", "--mimi-weights", "--eot-threshold", "--codebooks"};
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
                int f = app_format_parse(val);
                if (f < 0) {
                    fprintf(stderr,
                            "kstt transcribe: unknown format '%s' (txt, json, jsonl, srt or vtt)\n",
                            val);
                    return 2;
                }
                o->w.format = (app_format)f;
            } else if (!strcmp(name, "--threads")) {
                if (cli_parse_int("transcribe", "--threads", val, 1, 1024, &o->threads))
                    return 2;
            } else if (!strcmp(name, "--codebooks")) {
                /* the model's n_q is checked when it loads */
                if (cli_parse_int("transcribe", "--codebooks", val, 0, 1024, &o->codebooks))
                    return 2;
            } else if (!strcmp(name, "--rate")) {
                if (cli_parse_int("transcribe", "--rate", val, APP_AUDIO_MIN_RATE,
                                  APP_AUDIO_MAX_RATE, &o->audio.raw_rate))
                    return 2;
                o->rate_given = 1;
            } else if (!strcmp(name, "--channels")) {
                if (cli_parse_int("transcribe", "--channels", val, 1, APP_AUDIO_MAX_CHANNELS,
                                  &o->audio.raw_channels))
                    return 2;
                o->channels_given = 1;
            } else if (!strcmp(name, "--eot-threshold")) {
                double p;
                if (cli_parse_double("transcribe", "--eot-threshold", val, 0, 1, 1, 1, &p))
                    return 2;
                o->w.eot_threshold = (float)p;
                eot_given = 1;
            } else if (!strcmp(name, "--raw")) {
                int r = app_raw_format_parse(val);
                if (r < 0)
                    return bad_usage("--raw wants s16le or f32le, not '%s'%s", val, "");
                o->audio.raw = (app_raw_format)r;
            } else if (!strcmp(name, "--kv")) {
                if (cli_parse_kv("transcribe", name, val, &o->kv))
                    return 2;
            } else if (!strcmp(name, "--mimi-weights")) {
                if (cli_parse_mimi_weights("transcribe", name, val, &o->mimi))
                    return 2;
            } else {
                o->out_path = val;
            }
            continue;
        }
        if (!strcmp(a, "-") && stdin_seen++) {
            fprintf(stderr, "kstt transcribe: standard input ('-') given twice\n");
            return 2;
        }
        o->inputs[o->n_inputs++] = a;
    }
    if (o->n_inputs == 0) {
        fprintf(stderr, "kstt transcribe: no audio file given\n");
        usage(stderr);
        return 2;
    }
    int fmt = o->w.format;
    if (o->vad && fmt != APP_FMT_JSON && fmt != APP_FMT_JSONL) {
        fprintf(stderr, "kstt transcribe: --vad needs --format json or jsonl\n");
        return 2;
    }
    if (eot_given && !(o->vad && fmt == APP_FMT_JSONL)) {
        fprintf(stderr, "kstt transcribe: --eot-threshold needs --format jsonl --vad\n");
        return 2;
    }
    if (o->w.timestamps && fmt != APP_FMT_TXT) {
        fprintf(stderr, "kstt transcribe: --timestamps is for --format txt (the other formats "
                        "always have times)\n");
        return 2;
    }
    if (o->n_inputs > 1 && (fmt == APP_FMT_SRT || fmt == APP_FMT_VTT)) {
        fprintf(stderr, "kstt transcribe: --format %s takes one audio file (got %d)\n",
                fmt == APP_FMT_SRT ? "srt" : "vtt", o->n_inputs);
        return 2;
    }
    if (o->audio.raw != APP_RAW_NONE && !o->rate_given) {
        fprintf(stderr, "kstt transcribe: --raw needs --rate (the sample rate of the PCM)\n");
        return 2;
    }
    if (o->audio.raw == APP_RAW_NONE && (o->rate_given || o->channels_given)) {
        fprintf(stderr, "kstt transcribe: --rate and --channels describe --raw input; other "
                        "inputs carry them in their header\n");
        return 2;
    }
    o->w.vad = o->vad;
    o->w.multi = o->n_inputs > 1;
    return -1;
}

/* ---- one input ------------------------------------------------------------------------- */

typedef struct {
    kstt_stream *stream;
    kstt_model_info info;
    int64_t prefix_frames; /* pad mode: silent frames the stream puts before the audio */
    app_writer *w;
    float *block;
} engine;

/* Returns 0, -1 when the output failed. */
static int drain(engine *e) {
    kstt_event ev[64];
    int k;
    while ((k = kstt_stream_read(e->stream, ev, 64)) > 0) {
        for (int i = 0; i < k; i++) {
            int rc = 0;
            switch (ev[i].type) {
            case KSTT_EVENT_WORD:
                rc = app_writer_word(e->w, ev[i].text, ev[i].start);
                break;
            case KSTT_EVENT_END_WORD:
                rc = app_writer_end_word(e->w, ev[i].stop);
                break;
            case KSTT_EVENT_STEP: { /* only with --vad (sp.step_events) */
                double t = (double)(ev[i].step - e->prefix_frames) / e->info.frame_rate;
                if (t >= 0)
                    rc = app_writer_step(e->w, t, ev[i].prs);
                break;
            }
            }
            if (rc)
                return -1;
        }
    }
    return 0;
}

static const char *base_name(const char *path) {
    if (!strcmp(path, "-"))
        return "stdin";
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

enum { IN_OK = 0, IN_FAILED = 1, OUT_FAILED = 2 };

/* Transcribes one input (its reader already open) through the writer. */
static int transcribe_one(engine *e, app_audio *a, const char *path, int progress) {
    const int rate = e->info.sample_rate;
    const size_t block = (size_t)BLOCK_SECONDS * (size_t)rate;
    kstt_stream_reset(e->stream);
    if (app_writer_begin(e->w, path))
        return OUT_FAILED;
    app_progress bar;
    app_progress_start(&bar, progress ? stderr : NULL, base_name(path), APP_PROGRESS_SECONDS,
                       app_audio_duration(a));
    const char *what = NULL;
    int status = IN_OK;
    uint64_t fed = 0;
    for (;;) {
        long n = app_audio_read(a, e->block, block);
        if (n < 0) {
            what = app_audio_errmsg(a);
            status = IN_FAILED;
            break;
        }
        if (n == 0)
            break;
        if (kstt_stream_feed(e->stream, e->block, (size_t)n) < 0) {
            what = kstt_stream_errmsg(e->stream);
            status = IN_FAILED;
            break;
        }
        fed += (uint64_t)n;
        if (drain(e)) {
            status = OUT_FAILED;
            break;
        }
        app_progress_update(&bar, (double)fed / rate);
    }
    if (status == IN_OK && kstt_stream_flush(e->stream) < 0) {
        what = kstt_stream_errmsg(e->stream);
        status = IN_FAILED;
    }
    if (status == IN_OK && drain(e))
        status = OUT_FAILED;
    app_progress_end(&bar);
    if (status == IN_FAILED) {
        const char *name = strcmp(path, "-") ? path : "stdin";
        /* audio errors start with the input's name already */
        if (what && !strncmp(what, name, strlen(name)))
            fprintf(stderr, "kstt transcribe: %s\n", what);
        else
            fprintf(stderr, "kstt transcribe: %s: %s\n", name, what ? what : "failed");
    }
    if (status != OUT_FAILED && app_writer_end(e->w, (double)fed / rate, status != IN_OK))
        status = OUT_FAILED;
    return status;
}

/* ---- command ------------------------------------------------------------------------- */

int cli_cmd_transcribe(int argc, char **argv) {
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
    app_output *out = NULL;
    app_audio *stdin_reader = NULL;
    const int rate = 24000; /* every Kyutai STT model; checked against the model below */

    /* 1. Inputs: each opened (header read) before anything else. */
    int bad = 0;
    for (int i = 0; i < o.n_inputs; i++) {
        const char *in = o.inputs[i];
        if (!strcmp(in, "-") && isatty(fileno(stdin))) {
            fprintf(stderr, "kstt transcribe: standard input is a terminal, not audio "
                            "(pipe a file into it, e.g. 'kstt transcribe - < talk.wav')\n");
            bad++;
            continue;
        }
        app_audio *a = NULL;
        if (app_audio_open(&a, in, rate, &o.audio, err, sizeof err)) {
            fprintf(stderr, "kstt transcribe: %s\n", err);
            bad++;
            continue;
        }
        if (!strcmp(in, "-"))
            stdin_reader = a; /* a pipe cannot be opened twice */
        else
            app_audio_close(a);
    }
    if (bad) {
        if (o.n_inputs > 1)
            fprintf(stderr,
                    "kstt transcribe: %d of %d inputs cannot be read; nothing was "
                    "transcribed\n",
                    bad, o.n_inputs);
        status = 1;
        goto done;
    }
    /* 2. The output: never one of the inputs. */
    if (o.out_path && strcmp(o.out_path, "-")) {
        for (int i = 0; i < o.n_inputs; i++)
            if (app_same_file(o.out_path, o.inputs[i])) {
                fprintf(stderr,
                        "kstt transcribe: the output %s is the input %s; refusing to "
                        "overwrite it\n",
                        o.out_path, o.inputs[i]);
                status = 1;
                goto done;
            }
    }
    /* 3. The model, resolved (no loading yet): the output may not be one of its files. */
    if (app_model_resolve(o.model, o.quiet, dir, sizeof dir, err, sizeof err)) {
        fprintf(stderr, "kstt transcribe: %s\n", err);
        status = 1;
        goto done;
    }
    if (o.out_path && strcmp(o.out_path, "-")) {
        app_model_files mf;
        char p[4200];
        snprintf(p, sizeof p, "%s/config.json", dir);
        int clash = app_same_file(o.out_path, p);
        if (!clash && app_model_files_read(p, &mf, NULL, 0) == 0)
            for (int i = 0; i < mf.n && !clash; i++) {
                snprintf(p, sizeof p, "%s/%s", dir, mf.name[i]);
                clash = app_same_file(o.out_path, p);
            }
        if (clash) {
            fprintf(stderr,
                    "kstt transcribe: the output %s is a file of the model %s; "
                    "refusing to overwrite it\n",
                    o.out_path, dir);
            status = 1;
            goto done;
        }
    }
    if (app_output_open(&out, o.out_path, err, sizeof err)) {
        fprintf(stderr, "kstt transcribe: %s\n", err);
        status = 1;
        goto done;
    }
    app_output_cleanup_on_signals();
    /* 4. The model. */
    if (kstt_pool_new(&pool, o.threads) != KSTT_OK) {
        fprintf(stderr, "kstt transcribe: cannot start %d threads\n", o.threads);
        status = 1;
        goto done;
    }
    kstt_model_params mp = kstt_model_params_default();
    mp.pool = pool;
    mp.kv_type = o.kv;
    mp.mimi_weights = o.mimi;
    mp.num_codebooks = o.codebooks;
    if (kstt_model_load(&model, dir, &mp, err, sizeof err)) {
        fprintf(stderr, "kstt transcribe: %s\n", err);
        status = 1;
        goto done;
    }
    kstt_model_get_info(model, &e.info);
    if (e.info.sample_rate != rate) {
        fprintf(stderr,
                "kstt transcribe: the model in %s runs at %d Hz; only %d Hz models are "
                "supported\n",
                dir, e.info.sample_rate, rate);
        status = 1;
        goto done;
    }
    if (o.vad && !e.info.has_vad) {
        fprintf(stderr, "kstt transcribe: --vad: the model in %s has no end-of-turn heads\n", dir);
        status = 1;
        goto done;
    }
    e.prefix_frames = o.no_padding ? 0 : e.info.prefix_frames;
    e.block = malloc((size_t)BLOCK_SECONDS * (size_t)rate * sizeof *e.block);
    kstt_stream_params sp = kstt_stream_params_default();
    sp.pad = !o.no_padding;
    sp.step_events = o.vad;
    int rc = kstt_stream_new(&e.stream, model, &sp);
    if (rc || !e.block) {
        fprintf(stderr, "kstt transcribe: cannot create a stream: %s\n",
                kstt_strerror(rc ? rc : KSTT_ENOMEM));
        status = 1;
        goto done;
    }
    if (app_writer_new(&e.w, app_output_file(out), &o.w)) {
        fprintf(stderr, "kstt transcribe: out of memory\n");
        status = 1;
        goto done;
    }

    /* 5. The inputs, in turn. */
    int failed = 0, out_failed = 0;
    for (int i = 0; i < o.n_inputs && !out_failed; i++) {
        const char *in = o.inputs[i];
        app_audio *a = NULL;
        if (!strcmp(in, "-")) {
            a = stdin_reader;
            stdin_reader = NULL;
        } else if (app_audio_open(&a, in, rate, &o.audio, err, sizeof err)) {
            fprintf(stderr, "kstt transcribe: %s\n", err);
            failed++;
            continue;
        }
        if (!o.quiet && app_audio_warning(a))
            fprintf(stderr, "kstt transcribe: warning: %s\n", app_audio_warning(a));
        int r = transcribe_one(&e, a, in, progress);
        app_audio_close(a);
        if (r == IN_FAILED)
            failed++;
        if (r == OUT_FAILED)
            out_failed = 1;
    }
    if (!out_failed && app_writer_finish(e.w))
        out_failed = 1;
    if (out_failed) {
        fprintf(stderr, "kstt transcribe: cannot write %s%s\n",
                o.out_path && strcmp(o.out_path, "-") ? "" : "to ", app_output_name(out));
        status = 1;
    } else if (failed) {
        if (o.out_path && strcmp(o.out_path, "-"))
            fprintf(stderr, "kstt transcribe: %s was not written: %d of %d inputs failed\n",
                    o.out_path, failed, o.n_inputs);
        status = 1;
    }
    if (status) {
        app_output_abort(out);
    } else if (app_output_commit(out, err, sizeof err)) {
        fprintf(stderr, "kstt transcribe: %s\n", err);
        status = 1;
    }
    out = NULL;

done:
    app_output_abort(out);
    app_audio_close(stdin_reader);
    app_writer_free(e.w);
    free(e.block);
    kstt_stream_free(e.stream);
    kstt_model_free(model);
    kstt_pool_free(pool);
    free(o.inputs);
    return status;
}
