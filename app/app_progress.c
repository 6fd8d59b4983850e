/*
 * The progress bar (see app_progress.h). The bar is sized from the terminal width
 * (TIOCGWINSZ, else $COLUMNS, else 80) minus the fixed fields; a long label is cut to keep at
 * least a 10-cell bar. Only ASCII is drawn, so the column count is the byte count except for
 * the label, which is cut at a UTF-8 character boundary.
 */
#include "app_progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "app_util.h"

static int term_width(FILE *f) {
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int w = c ? atoi(c) : 0;
    return w > 0 ? w : 80;
}

/* m:ss, or h:mm:ss from one hour. */
static void clock_str(char *buf, size_t cap, double s) {
    if (!(s >= 0))
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

void app_human_size(char *out, size_t cap, double b) {
    static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000.0 && i < 4) {
        b /= 1000.0;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, units[i]);
}

static void amount(char *buf, size_t cap, app_progress_unit unit, double v) {
    if (unit == APP_PROGRESS_BYTES)
        app_human_size(buf, cap, v);
    else
        clock_str(buf, cap, v);
}

void app_progress_format(char *buf, size_t cap, const char *label, app_progress_unit unit,
                         double done, double total, double rate, int width) {
    if (cap == 0)
        return;
    buf[0] = '\0';
    if (done < 0)
        done = 0;
    int known = total > 0;
    if (known && done > total)
        done = total;
    char pos[24], len[24], speed[40] = "", tail[120];
    amount(pos, sizeof pos, unit, done);
    if (rate > 0) {
        if (unit == APP_PROGRESS_BYTES) {
            char r[24];
            app_human_size(r, sizeof r, rate);
            snprintf(speed, sizeof speed, "  %s/s", r);
        } else {
            snprintf(speed, sizeof speed, "  %.1fx", rate);
        }
    }
    size_t lab = strlen(label);
    if (!known) { /* no bar: "label  position  speed" */
        snprintf(tail, sizeof tail, "  %s%s", pos, speed);
        int avail = width - 1 - (int)strlen(tail);
        if ((int)lab > avail) {
            lab = avail > 0 ? (size_t)avail : 0;
            while (lab > 0 && ((unsigned char)label[lab] & 0xC0) == 0x80)
                lab--;
        }
        snprintf(buf, cap, "%.*s%s", (int)lab, label, tail);
        return;
    }
    double frac = done / total;
    amount(len, sizeof len, unit, total);
    snprintf(tail, sizeof tail, " %3d%%  %s/%s%s", (int)(frac * 100), pos, len, speed);
    int tail_w = (int)strlen(tail);
    /* label + " [" + bar + "]" + tail <= width - 1 (never touch the last column) */
    int avail = width - 1 - tail_w - 3;
    if (avail - (int)lab < 10) {
        int keep = avail - 10;
        lab = keep > 0 ? (size_t)keep : 0;
        while (lab > 0 && ((unsigned char)label[lab] & 0xC0) == 0x80)
            lab--;
    }
    int bar = avail - (int)lab;
    if (bar < 1)
        bar = 1;
    if (bar > 60)
        bar = 60;
    int filled = (int)(frac * bar + 1e-9);
    size_t at = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (at + 1 < cap)                                                                          \
            buf[at++] = (c);                                                                       \
    } while (0)
    for (size_t i = 0; i < lab; i++)
        PUT(label[i]);
    if (lab)
        PUT(' ');
    PUT('[');
    for (int i = 0; i < bar; i++)
        PUT(i < filled ? '#' : '-');
    PUT(']');
    for (int i = 0; i < tail_w; i++)
        PUT(tail[i]);
#undef PUT
    buf[at] = '\0';
}

void app_progress_start(app_progress *p, FILE *out, const char *label, app_progress_unit unit,
                        double total) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->enabled = out && isatty(fileno(out));
    p->unit = unit;
    size_t n = label ? strlen(label) : 0;
    if (n >= sizeof p->label) { /* cut at a character boundary */
        n = sizeof p->label - 1;
        while (n > 0 && ((unsigned char)label[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(p->label, label, n);
    p->label[n] = '\0';
    p->total = total;
    p->t0 = app_now();
    p->last_draw = -1;
    p->width = p->enabled ? term_width(out) : 80;
}

void app_progress_set_start(app_progress *p, double start) {
    p->start = start;
    p->t0 = app_now();
}

void app_progress_update(app_progress *p, double done) {
    if (!p->enabled)
        return;
    double t = app_now();
    if (p->last_draw >= 0 && t - p->last_draw < 0.1 && (p->total <= 0 || done < p->total))
        return;
    p->last_draw = t;
    double el = t - p->t0;
    double rate = el > 0.05 && done > p->start ? (done - p->start) / el : 0;
    char line[512];
    app_progress_format(line, sizeof line, p->label, p->unit, done, p->total, rate, p->width);
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
}

void app_progress_end(app_progress *p) {
    if (!p->enabled || p->last_draw < 0)
        return;
    fputs("\r\033[K", p->out);
    fflush(p->out);
    p->last_draw = -1;
}

void app_progress_done(app_progress *p, double done) {
    if (!p->enabled)
        return;
    p->last_draw = -1;
    app_progress_update(p, done);
    fputc('\n', p->out);
    fflush(p->out);
    p->last_draw = -1;
}

void app_progress_break(app_progress *p) {
    if (!p->enabled || p->last_draw < 0)
        return;
    fputc('\n', p->out);
    fflush(p->out);
    p->last_draw = -1;
}
