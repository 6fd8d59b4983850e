/* flite_words: synthesize sentences with libflite (voices linked in statically) and report, for
 * every token of flite's Token relation (= space-separated word of the input), the output sample
 * at which the first segment of its first word starts.
 *
 * stdin, one job per line:  voice<TAB>duration_stretch<TAB>f0_mean_hz (0 = voice default)<TAB>text
 * voices: kal kal16 awb rms slt
 * stdout, per job (little-endian int32): n_samples, n_words, sample_rate, then n_words x
 *   (token index, 0, start sample), then n_samples x int16 PCM (same layout as espeak_words).
 * Build (static, no runtime dependency but libc/libm; prepare.sh does it):
 *   cc -O2 -o flite_words flite_words.c -Wl,-Bstatic -lflite_cmu_us_kal -lflite_cmu_us_kal16 \
 *     -lflite_cmu_us_awb -lflite_cmu_us_rms -lflite_cmu_us_slt -lflite_usenglish \
 *     -lflite_cmulex -lflite -Wl,-Bdynamic -lm
 */
#include <flite/flite.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cst_voice *register_cmu_us_kal(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_slt(const char *voxdir);

int main(void) {
    flite_init();
    const char *names[5] = {"kal", "kal16", "awb", "rms", "slt"};
    cst_voice *voices[5] = {register_cmu_us_kal(NULL), register_cmu_us_kal16(NULL),
                            register_cmu_us_awb(NULL), register_cmu_us_rms(NULL),
                            register_cmu_us_slt(NULL)};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int32_t *starts = NULL;
    size_t cap_s = 0;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = 0;
        char *f[4];
        int nf = 0;
        char *p = line;
        f[nf++] = p;
        while (nf < 4 && (p = strchr(p, '\t'))) {
            *p++ = 0;
            f[nf++] = p;
        }
        if (nf != 4) {
            fprintf(stderr, "bad line\n");
            return 1;
        }
        cst_voice *v = NULL;
        for (int i = 0; i < 5; i++)
            if (!strcmp(f[0], names[i]))
                v = voices[i];
        if (!v) {
            fprintf(stderr, "bad voice %s\n", f[0]);
            return 1;
        }
        feat_set_float(v->features, "duration_stretch", (float)atof(f[1]));
        float f0 = (float)atof(f[2]);
        if (f0 > 0)
            feat_set_float(v->features, "int_f0_target_mean", f0);
        cst_utterance *u = flite_synth_text(f[3], v);
        cst_wave *w = utt_wave(u);
        int sr = w->sample_rate;
        size_t nw = 0;
        for (cst_item *it = relation_head(utt_relation(u, "Token")); it; it = item_next(it)) {
            if (nw + 1 > cap_s) {
                cap_s = (nw + 1) * 2;
                starts = realloc(starts, cap_s * 3 * sizeof *starts);
                if (!starts)
                    abort();
            }
            float t =
                ffeature_float(it, "daughter1.R:SylStructure.daughter1.daughter1.R:Segment.p.end");
            starts[3 * nw + 0] = (int32_t)nw;
            starts[3 * nw + 1] = 0;
            starts[3 * nw + 2] = (int32_t)(t * sr + 0.5f);
            nw++;
        }
        int32_t hdr[3] = {(int32_t)w->num_samples, (int32_t)nw, sr};
        fwrite(hdr, sizeof hdr, 1, stdout);
        fwrite(starts, sizeof *starts, 3 * nw, stdout);
        fwrite(w->samples, sizeof(short), (size_t)w->num_samples, stdout);
        fflush(stdout);
        delete_utterance(u);
    }
    free(line);
    free(starts);
    return 0;
}
