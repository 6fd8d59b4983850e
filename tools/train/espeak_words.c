/* espeak_words: synthesize sentences with libespeak-ng and report, for every word, the
 * exact output sample at which espeak-ng starts it (espeakEVENT_WORD).
 *
 * stdin, one job per line:  voice<TAB>rate<TAB>pitch<TAB>range<TAB>text
 * stdout, per job (little-endian int32 unless noted):
 *   n_samples, n_words, sample_rate, then n_words x (text_position, text_length, sample),
 *   then n_samples x int16 PCM.
 * Build: cc -O2 -o espeak_words espeak_words.c -lespeak-ng
 * Usage: espeak_words [espeak-ng-data parent dir]
 */
#include <espeak-ng/speak_lib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int16_t *pcm;
static size_t n_pcm, cap_pcm;
static int32_t *words; /* triples */
static size_t n_words, cap_words;

static int synth_cb(short *wav, int numsamples, espeak_EVENT *ev) {
    if (wav && numsamples > 0) {
        if (n_pcm + (size_t)numsamples > cap_pcm) {
            cap_pcm = (n_pcm + (size_t)numsamples) * 2;
            pcm = realloc(pcm, cap_pcm * sizeof *pcm);
            if (!pcm)
                abort();
        }
        memcpy(pcm + n_pcm, wav, (size_t)numsamples * sizeof *pcm);
        n_pcm += (size_t)numsamples;
    }
    for (; ev && ev->type != espeakEVENT_LIST_TERMINATED; ev++) {
        if (ev->type != espeakEVENT_WORD)
            continue;
        if (n_words + 1 > cap_words) {
            cap_words = (n_words + 1) * 2;
            words = realloc(words, cap_words * 3 * sizeof *words);
            if (!words)
                abort();
        }
        words[3 * n_words + 0] = ev->text_position;
        words[3 * n_words + 1] = ev->length;
        words[3 * n_words + 2] = ev->sample;
        n_words++;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : NULL;
    int sr = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, path, 0);
    if (sr <= 0) {
        fprintf(stderr, "espeak_Initialize failed\n");
        return 1;
    }
    espeak_SetSynthCallback(synth_cb);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = 0;
        char *f[5];
        int nf = 0;
        char *p = line;
        f[nf++] = p;
        while (nf < 5 && (p = strchr(p, '\t'))) {
            *p++ = 0;
            f[nf++] = p;
        }
        if (nf != 5) {
            fprintf(stderr, "bad line\n");
            return 1;
        }
        n_pcm = 0;
        n_words = 0;
        if (espeak_SetVoiceByName(f[0]) != EE_OK) {
            fprintf(stderr, "bad voice %s\n", f[0]);
            return 1;
        }
        espeak_SetParameter(espeakRATE, atoi(f[1]), 0);
        espeak_SetParameter(espeakPITCH, atoi(f[2]), 0);
        espeak_SetParameter(espeakRANGE, atoi(f[3]), 0);
        espeak_Synth(f[4], strlen(f[4]) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, NULL);
        espeak_Synchronize();
        int32_t hdr[3] = {(int32_t)n_pcm, (int32_t)n_words, sr};
        fwrite(hdr, sizeof hdr, 1, stdout);
        fwrite(words, sizeof *words, 3 * n_words, stdout);
        fwrite(pcm, sizeof *pcm, n_pcm, stdout);
        fflush(stdout);
    }
    free(line);
    free(pcm);
    free(words);
    espeak_Terminate();
    return 0;
}
