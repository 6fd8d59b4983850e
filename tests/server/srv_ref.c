/* srv_ref: the reference for the server tests. Runs one raw-mode stream (pad = 0, as the
 * server does for WebSocket clients) over a float32 PCM file fed in 1920-sample pieces, and
 * prints the protocol messages it implies, one JSON object per line:
 *   {"type":"Step","step_idx":N,"prs":[...]}   (VAD models)
 *   {"type":"Word","text":"...","start_time":T}
 *   {"type":"EndWord","stop_time":T}
 * usage: srv_ref MODEL_DIR PCM_F32LE_FILE */
#include <stdio.h>
#include <stdlib.h>

#include "kstt.h"

static void put_text(const char *t) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: srv_ref MODEL_DIR PCM_F32LE_FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t n = (size_t)bytes / sizeof(float);
    float *pcm = malloc((n ? n : 1) * sizeof(float));
    if (!pcm || fread(pcm, sizeof(float), n, f) != n) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);
    char err[256];
    kstt_model *m;
    kstt_model_params mp = kstt_model_params_default();
    if (kstt_model_load(&m, argv[1], &mp, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    kstt_stream *s;
    kstt_stream_params sp = kstt_stream_params_default();
    sp.pad = 0;
    if (kstt_stream_new(&s, m, &sp))
        return 1;
    for (size_t off = 0; off < n; off += 1920) {
        size_t k = n - off < 1920 ? n - off : 1920;
        if (kstt_stream_feed(s, pcm + off, k) < 0) {
            fprintf(stderr, "%s\n", kstt_stream_errmsg(s));
            return 1;
        }
        kstt_event ev[64];
        int c;
        while ((c = kstt_stream_read(s, ev, 64)) > 0) {
            for (int i = 0; i < c; i++) {
                if (ev[i].type == KSTT_EVENT_STEP) {
                    printf("{\"type\":\"Step\",\"step_idx\":%lld,\"prs\":[%.9g,%.9g,%.9g,%.9g]}\n",
                           (long long)ev[i].step, ev[i].prs[0], ev[i].prs[1], ev[i].prs[2],
                           ev[i].prs[3]);
                } else if (ev[i].type == KSTT_EVENT_WORD) {
                    printf("{\"type\":\"Word\",\"text\":");
                    put_text(ev[i].text ? ev[i].text : "");
                    printf(",\"start_time\":%.17g}\n", ev[i].start);
                } else if (ev[i].type == KSTT_EVENT_END_WORD) {
                    printf("{\"type\":\"EndWord\",\"stop_time\":%.17g}\n", ev[i].stop);
                }
            }
        }
    }
    kstt_model_info info;
    kstt_model_get_info(m, &info);
    fprintf(stderr, "delay %d\n", info.asr_delay_in_tokens);
    kstt_stream_free(s);
    kstt_model_free(m);
    free(pcm);
    return 0;
}
