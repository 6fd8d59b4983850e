/*
 * Progress bar on a terminal (see progress.h). The bar is sized from the terminal width
 * (TIOCGWINSZ, else $COLUMNS, else 80) minus the fixed fields; a long label is cut to keep at
 * least a 10-cell bar. Only ASCII is drawn, so the column count is the byte count except for
 * the label, which is cut at a UTF-8 character boundary.
 */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int term_width(FILE *f) {
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int w = c ? atoi(c) : 0;
    return w > 0 ? w : 80;
}

/* m:ss, or h:mm:ss from one hour. */
static void clock_str(char *buf, size_t cap, double s) {
    if (!(s >= 0)) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

void kstt_progress_format(char *buf, size_t cap, const char *label, double done, double total,
                          double elapsed, int width) {
    if (cap == 0) return;
    buf[0] = '\0';
    if (total <= 0) return;
    if (done < 0) done = 0;
    if (done > total) done = total;
    double frac = done / total;
    char pos[24], len[24], tail[80];
    clock_str(pos, sizeof pos, done);
    clock_str(len, sizeof len, total);
    if (elapsed > 0.05 && done > 0)
        snprintf(tail, sizeof tail, " %3d%%  %s/%s  %.1fx", (int)(frac * 100), pos, len,
                 done / elapsed);
    else
        snprintf(tail, sizeof tail, " %3d%%  %s/%s", (int)(frac * 100), pos, len);
    int tail_w = (int)strlen(tail);
    /* label + " [" + bar + "]" + tail <= width - 1 (never touch the last column) */
    int avail = width - 1 - tail_w - 3;
    size_t lab = strlen(label);
    if (avail - (int)lab < 10) {
        int keep = avail - 10;
        lab = keep > 0 ? (size_t)keep : 0;
        while (lab > 0 && ((unsigned char)label[lab] & 0xC0) == 0x80) lab--;
    }
    int bar = avail - (int)lab;
    if (bar < 1) bar = 1;
    if (bar > 60) bar = 60;
    int filled = (int)(frac * bar + 1e-9);
    size_t at = 0;
#define PUT(c)                                                                                 \
    do {                                                                                       \
        if (at + 1 < cap) buf[at++] = (c);                                                     \
    } while (0)
    for (size_t i = 0; i < lab; i++) PUT(label[i]);
    if (lab) PUT(' ');
    PUT('[');
    for (int i = 0; i < bar; i++) PUT(i < filled ? '#' : '-');
    PUT(']');
    for (int i = 0; i < tail_w; i++) PUT(tail[i]);
#undef PUT
    buf[at] = '\0';
}

void kstt_progress_start(kstt_progress *p, FILE *out, const char *label, double total) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->enabled = out && total > 0 && isatty(fileno(out));
    size_t n = label ? strlen(label) : 0;
    if (n >= sizeof p->label) { /* cut at a character boundary */
        n = sizeof p->label - 1;
        while (n > 0 && ((unsigned char)label[n] & 0xC0) == 0x80) n--;
    }
    if (n) memcpy(p->label, label, n);
    p->label[n] = '\0';
    p->total = total;
    p->t0 = now();
    p->last_draw = -1;
    p->width = p->enabled ? term_width(out) : 80;
}

void kstt_progress_update(kstt_progress *p, double done) {
    if (!p->enabled) return;
    double t = now();
    if (p->last_draw >= 0 && t - p->last_draw < 0.1 && done < p->total) return;
    p->last_draw = t;
    char line[512];
    kstt_progress_format(line, sizeof line, p->label, done, p->total, t - p->t0, p->width);
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
}

void kstt_progress_end(kstt_progress *p) {
    if (!p->enabled || p->last_draw < 0) return;
    fputs("\r\033[K", p->out);
    fflush(p->out);
    p->last_draw = -1;
}
