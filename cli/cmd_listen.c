/*
 * kstt listen [--model DIR|REPO_ID] [--device NAME|INDEX] [--list-devices] [--format txt|jsonl]
 *             [--vad] [--eot-threshold P] [--once] [--threads N] [--quiet]
 *
 * Live transcription of a microphone (app/mic.h: PortAudio, a lock-free ring, libsoxr's
 * streaming resampler to 24 kHz). One stream in pad mode: words are printed as the model emits
 * them, i.e. its delay (0.5 s for stt-1b-en_fr) after they are spoken.
 *
 * End of turn (--vad, --once): the model's semantic VAD head for pauses of at least 2 s
 * (prs[2]) crossing --eot-threshold (default 0.6, the level unmute ends a user's turn at), once
 * at least one word was heard since the last end of turn. txt prints it as a newline, jsonl as
 * an event. --once stops capturing at the first end of turn, flushes the model (the trailing
 * silence that makes its last delayed words come out: they are never lost) and prints the
 * utterance as one line, so `text=$(kstt listen --once)` works. Ctrl-C (SIGINT) or SIGTERM
 * stops capturing, flushes the same way and exits 0.
 *
 * jsonl: one object per line, flushed per line:
 *   {"type":"word","text":"hello","start":1.28}
 *   {"type":"end_word","stop":1.60}
 *   {"type":"end_of_turn","time":3.92,"prs":[0.98,0.95,0.71,0.40]}
 * times in seconds since capture started.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_hub.h"
#include "app_transcript.h"
#include "cli_opts.h"
#include "commands.h"
#include "kstt.h"
#include "mic.h"

#define LISTEN_DEFAULT_MODEL APP_DEFAULT_MODEL

enum { FMT_TXT, FMT_JSONL };

typedef struct {
    const char *model, *device;
    int list_devices, format, vad, once, quiet, threads;
    float eot_threshold;
} options;

typedef struct {
    const options *o;
    double prefix_s;   /* pad-mode prefix: step times are reported from the audio's start */
    double frame_rate; /* model steps per second */
    app_eot eot;       /* end-of-turn detector (app_transcript.h) */
    int eot_seen;      /* --once: the first end of turn happened */
    double eot_time;   /* its time and probabilities, reported after the flush */
    float eot_prs[4];
    int line_open;   /* txt: a line of words is being printed */
    char *utterance; /* --once, txt: the words, printed at the end */
    size_t utt_len, utt_cap;
    int oom;
} listener;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: kstt listen [options]\n"
            "\n"
            "Transcribes the microphone live; words appear as the model emits them.\n"
            "\n"
            "  --model DIR|REPO_ID   model directory or Hugging Face repo id\n"
            "                        (default %s)\n"
            "  --device NAME|INDEX   input device: an index or part of its name (default:\n"
            "                        the system's default input)\n"
            "  --list-devices        print the input devices and exit\n"
            "  --format txt|jsonl    txt (default): words on a line; jsonl: one JSON event per\n"
            "                        line: {\"type\":\"word\",\"text\",\"start\"},\n"
            "                        {\"type\":\"end_word\",\"stop\"}, {\"type\":\"end_of_turn\",\n"
            "                        \"time\",\"prs\"} (times: seconds since capture started)\n"
            "  --vad                 mark ends of turn (txt: a newline; jsonl: an event) using\n"
            "                        the model's semantic end-of-turn head (models with VAD\n"
            "                        heads, e.g. kyutai/stt-1b-en_fr)\n"
            "  --eot-threshold P     end of turn when the probability of a pause of at least\n"
            "                        2 s (prs[2]) reaches P (default 0.6, unmute's level)\n"
            "  --once                stop at the first end of turn and print the utterance on\n"
            "                        one line: text=$(kstt listen --once)\n"
            "  --threads N           worker threads, 1..1024 (default: one per CPU)\n"
            "  -q, --quiet           no status messages on stderr\n"
            "\n"
            "Ctrl-C stops listening; the words still inside the model's delay are flushed\n"
            "and printed before kstt exits. The four prs values are the probabilities of a\n"
            "pause of at least 0.5, 1, 2 and 3 s. Environment: HF_HOME, HF_HUB_CACHE,\n"
            "HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE (model download); KSTT_KERNELS=ref|avx2|\n"
            "avx512|neon|dotprod|i8mm caps the CPU kernels; KSTT_MIC_DEBUG=1 shows the audio\n"
            "system's own messages.\n",
            LISTEN_DEFAULT_MODEL);
}

static int parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->model = LISTEN_DEFAULT_MODEL;
    o->eot_threshold = 0.6f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = !strcmp(a, "--model") || !strcmp(a, "--device") || !strcmp(a, "--format") ||
                    !strcmp(a, "--eot-threshold") || !strcmp(a, "--threads");
        if (takes && !val) {
            fprintf(stderr, "kstt listen: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model")) {
            o->model = val;
        } else if (!strcmp(a, "--device")) {
            o->device = val;
        } else if (!strcmp(a, "--list-devices")) {
            o->list_devices = 1;
        } else if (!strcmp(a, "--format")) {
            if (!strcmp(val, "txt"))
                o->format = FMT_TXT;
            else if (!strcmp(val, "jsonl"))
                o->format = FMT_JSONL;
            else {
                fprintf(stderr, "kstt listen: --format wants txt or jsonl, not '%s'\n", val);
                return 2;
            }
        } else if (!strcmp(a, "--vad")) {
            o->vad = 1;
        } else if (!strcmp(a, "--once")) {
            o->once = 1;
        } else if (!strcmp(a, "--eot-threshold")) {
            double p;
            if (cli_parse_double("listen", "--eot-threshold", val, 0, 1, 1, 1, &p))
                return 2;
            o->eot_threshold = (float)p;
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_int("listen", "--threads", val, 1, 1024, &o->threads))
                return 2;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else {
            fprintf(stderr, "kstt listen: unknown option '%s' (see kstt listen --help)\n", a);
            return 2;
        }
        if (takes)
            i++;
    }
    return -1;
}

static void utter_append(listener *l, const char *text) {
    size_t n = strlen(text), need = l->utt_len + n + 2;
    if (need > l->utt_cap) {
        size_t cap = need * 2;
        char *p = realloc(l->utterance, cap);
        if (!p) {
            l->oom = 1;
            return;
        }
        l->utterance = p;
        l->utt_cap = cap;
    }
    if (l->utt_len)
        l->utterance[l->utt_len++] = ' ';
    memcpy(l->utterance + l->utt_len, text, n + 1);
    l->utt_len += n;
}

static void end_of_turn(listener *l, double time, const float prs[4]) {
    if (l->o->format == FMT_JSONL) {
        app_jsonl_end_of_turn(stdout, time, prs);
    } else if (l->line_open) {
        putchar('\n');
        l->line_open = 0;
    }
    fflush(stdout);
}

static void on_event(void *user, const kstt_event *ev) {
    listener *l = user;
    const options *o = l->o;
    switch (ev->type) {
    case KSTT_EVENT_WORD:
        app_eot_word(&l->eot);
        if (o->once && o->format == FMT_TXT) {
            utter_append(l, ev->text);
            break;
        }
        if (o->format == FMT_JSONL) {
            app_jsonl_word(stdout, ev->text, ev->start);
        } else {
            printf("%s%s", l->line_open ? " " : "", ev->text);
            l->line_open = 1;
        }
        fflush(stdout);
        break;
    case KSTT_EVENT_END_WORD:
        if (o->format == FMT_JSONL && !(o->once && l->eot_seen)) {
            app_jsonl_end_word(stdout, ev->stop);
        }
        break;
    case KSTT_EVENT_STEP:
        if (!(o->vad || o->once) || l->eot_seen || !app_eot_step(&l->eot, ev->prs))
            break;
        double t = (double)ev->step / l->frame_rate - l->prefix_s;
        if (o->once) {
            /* Reported after the flush, with the last words. */
            l->eot_seen = 1;
            l->eot_time = t > 0 ? t : 0;
            memcpy(l->eot_prs, ev->prs, sizeof l->eot_prs);
            g_stop = 1;
            break;
        }
        end_of_turn(l, t > 0 ? t : 0, ev->prs);
        break;
    }
}

int cli_cmd_listen(int argc, char **argv) {
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char err[512];
    if (o.list_devices) {
        if (app_mic_list(stdout, err, sizeof err)) {
            fprintf(stderr, "kstt listen: %s\n", err);
            return 1;
        }
        return 0;
    }

    kstt_pool *pool = NULL;
    kstt_model *model = NULL;
    kstt_stream *stream = NULL;
    app_mic *mic = NULL;
    float *buf = NULL;
    listener l = {.o = &o};
    int status = 1;

    if (kstt_pool_new(&pool, o.threads) != KSTT_OK) {
        fprintf(stderr, "kstt listen: cannot start %d threads\n", o.threads);
        return 1;
    }
    kstt_model_params mp = kstt_model_params_default();
    mp.pool = pool;
    if (app_model_open(&model, o.model, o.quiet, &mp, NULL, 0, err, sizeof err)) {
        fprintf(stderr, "kstt listen: %s\n", err);
        goto done;
    }
    kstt_model_info info;
    kstt_model_get_info(model, &info);
    if ((o.vad || o.once) && !info.has_vad) {
        fprintf(stderr,
                "kstt listen: %s has no end-of-turn heads: --vad and --once need a "
                "model with them (e.g. kyutai/stt-1b-en_fr)\n",
                o.model);
        status = 2;
        goto done;
    }
    l.prefix_s = (double)info.prefix_frames / info.frame_rate;
    l.frame_rate = info.frame_rate;
    app_eot_init(&l.eot, o.eot_threshold);
    kstt_stream_params sp = kstt_stream_params_default();
    sp.on_event = on_event;
    sp.user = &l;
    if (kstt_stream_new(&stream, model, &sp) != KSTT_OK) {
        fprintf(stderr, "kstt listen: out of memory\n");
        goto done;
    }
    size_t cap = (size_t)info.frame_size * 4;
    buf = malloc(cap * sizeof *buf);
    if (!buf) {
        fprintf(stderr, "kstt listen: out of memory\n");
        goto done;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (app_mic_open(&mic, o.device, info.sample_rate, err, sizeof err)) {
        fprintf(stderr, "kstt listen: %s\n", err);
        goto done;
    }
    if (!o.quiet)
        fprintf(stderr, "kstt listen: listening on %s (%.0f Hz); Ctrl-C to stop\n",
                app_mic_device_name(mic), app_mic_device_rate(mic));
    while (!g_stop) {
        long n = app_mic_read(mic, buf, cap, 100);
        if (n < 0) {
            fprintf(stderr, "kstt listen: %s\n", app_mic_errmsg(mic));
            goto done;
        }
        if (n > 0 && kstt_stream_feed(stream, buf, (size_t)n) < 0) {
            fprintf(stderr, "kstt listen: %s\n", kstt_stream_errmsg(stream));
            goto done;
        }
    }
    uint64_t dropped = app_mic_dropped(mic);
    app_mic_close(mic);
    mic = NULL;
    if (dropped && !o.quiet)
        fprintf(stderr,
                "kstt listen: warning: %.1f s of audio were lost (the model fell "
                "behind the microphone)\n",
                (double)dropped / info.sample_rate);
    /* The words still inside the model's delay come out of the flush. */
    if (kstt_stream_flush(stream) < 0) {
        fprintf(stderr, "kstt listen: %s\n", kstt_stream_errmsg(stream));
        goto done;
    }
    if (l.oom) {
        fprintf(stderr, "kstt listen: out of memory\n");
        goto done;
    }
    if (o.once && o.format == FMT_TXT) {
        printf("%s\n", l.utterance ? l.utterance : "");
    } else if (o.once && l.eot_seen) {
        end_of_turn(&l, l.eot_time, l.eot_prs);
    } else if (l.line_open) {
        putchar('\n');
    }
    fflush(stdout);
    status = ferror(stdout) ? 1 : 0;
done:
    app_mic_close(mic);
    free(buf);
    free(l.utterance);
    kstt_stream_free(stream);
    kstt_model_free(model);
    kstt_pool_free(pool);
    return status;
}
