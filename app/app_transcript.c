/*
 * Transcripts: word assembly from stream events and the txt / JSON / SRT / WebVTT writers. The
 * rules (word ends, cue grouping) are stated in app_transcript.h. Text from the model is treated as
 * untrusted bytes: control characters become spaces in the plain-text formats, JSON strings
 * are escaped (app_json.h) and ill-formed UTF-8 is replaced by U+FFFD so the output parses, and
 * WebVTT cue text has &, < and > escaped.
 */
#include "app_transcript.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- assembly ------------------------------------------------------------------------ */

void app_transcript_init(app_transcript *t, const char *name) {
    memset(t, 0, sizeof *t);
    t->name = name;
}

void app_transcript_free(app_transcript *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->n_words; i++)
        free(t->words[i].text);
    free(t->words);
    free(t->vad);
    memset(t, 0, sizeof *t);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    if (n < need)
        n = need;
    if (n > (size_t)-1 / elem)
        return -1;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

int app_transcript_word(app_transcript *t, const char *text, double start) {
    if (!text || !text[0])
        return 0; /* nothing to show (the library drops these already) */
    if (grow((void **)&t->words, &t->cap_words, t->n_words + 1, sizeof *t->words))
        return -1;
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len + 1);
    if (t->open) {
        app_tr_word *prev = &t->words[t->n_words - 1];
        prev->end = start > prev->start ? start : prev->start;
    }
    t->words[t->n_words++] = (app_tr_word){copy, start, start};
    t->open = 1;
    return 0;
}

void app_transcript_end_word(app_transcript *t, double stop) {
    if (!t->open)
        return; /* an EndWord for words already closed */
    app_tr_word *w = &t->words[t->n_words - 1];
    w->end = stop > w->start ? stop : w->start;
    t->open = 0;
}

int app_transcript_vad(app_transcript *t, double time, const float prs[4]) {
    if (grow((void **)&t->vad, &t->cap_vad, t->n_vad + 1, sizeof *t->vad))
        return -1;
    app_tr_vad *v = &t->vad[t->n_vad++];
    v->time = time;
    memcpy(v->prs, prs, sizeof v->prs);
    return 0;
}

void app_transcript_finish(app_transcript *t, double duration) {
    t->duration = duration;
    if (t->open) {
        app_tr_word *w = &t->words[t->n_words - 1];
        w->end = duration > w->start ? duration : w->start;
        t->open = 0;
    }
}

char *app_transcript_text(const app_transcript *t) {
    size_t len = 0;
    for (size_t i = 0; i < t->n_words; i++)
        len += strlen(t->words[i].text) + 1;
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    size_t pos = 0;
    for (size_t i = 0; i < t->n_words; i++) {
        if (i)
            s[pos++] = ' ';
        size_t k = strlen(t->words[i].text);
        memcpy(s + pos, t->words[i].text, k);
        pos += k;
    }
    s[pos] = '\0';
    return s;
}

/* ---- small formatting helpers ---------------------------------------------------------- */

size_t app_utf8_chars(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    size_t n = 0;
    while (*s) {
        size_t k = app_utf8_len(s);
        s += k ? k : 1;
        n++;
    }
    return n;
}

void app_format_seconds(char *buf, size_t cap, double seconds) {
    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    snprintf(buf, cap, "%.3f", seconds);
    size_t n = strlen(buf);
    if (n >= 4 && buf[n - 1] == '0' && buf[n - 4] == '.')
        buf[n - 1] = '\0';
}

void app_format_timestamp(char *buf, size_t cap, double seconds, char sep) {
    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    long long ms = llround(seconds * 1000.0);
    long long h = ms / 3600000;
    int m = (int)(ms / 60000 % 60), s = (int)(ms / 1000 % 60), r = (int)(ms % 1000);
    snprintf(buf, cap, "%02lld:%02d:%02d%c%03d", h, m, s, sep, r);
}

/* Writes a word for plain text: control characters become spaces; `vtt` escapes &, <, >. */
static void put_text(FILE *f, const char *text, int vtt) {
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p < 0x20 || *p == 0x7F)
            fputc(' ', f);
        else if (vtt && *p == '&')
            fputs("&amp;", f);
        else if (vtt && *p == '<')
            fputs("&lt;", f);
        else if (vtt && *p == '>')
            fputs("&gt;", f);
        else
            fputc(*p, f);
    }
}

static void put_json_float(FILE *f, float x) {
    if (isfinite(x))
        fprintf(f, "%.6g", (double)x);
    else
        fputs("null", f);
}

static int finish(FILE *f) {
    return ferror(f) ? -1 : 0;
}

/* ---- JSON ------------------------------------------------------------------------ */

int app_write_json(FILE *f, const app_transcript *t, int with_vad, int indent) {
    char *text = app_transcript_text(t);
    if (!text)
        return -1;
    int in = indent;
    fprintf(f, "%*s{\n%*s  \"file\": ", in, "", in, "");
    app_json_string(f, t->name ? t->name : "");
    fprintf(f, ",\n%*s  \"text\": ", in, "");
    app_json_string(f, text);
    free(text);
    fprintf(f, ",\n%*s  \"words\": [", in, "");
    for (size_t i = 0; i < t->n_words; i++) {
        char a[32], b[32];
        app_format_seconds(a, sizeof a, t->words[i].start);
        app_format_seconds(b, sizeof b, t->words[i].end);
        fprintf(f, "%s\n%*s    {\"word\": ", i ? "," : "", in, "");
        app_json_string(f, t->words[i].text);
        fprintf(f, ", \"start\": %s, \"end\": %s}", a, b);
    }
    if (t->n_words)
        fprintf(f, "\n%*s  ]", in, "");
    else
        fputc(']', f);
    if (with_vad) {
        fprintf(f, ",\n%*s  \"vad\": [", in, "");
        for (size_t i = 0; i < t->n_vad; i++) {
            char a[32];
            app_format_seconds(a, sizeof a, t->vad[i].time);
            fprintf(f, "%s\n%*s    {\"time\": %s, \"prs\": [", i ? "," : "", in, "", a);
            for (int k = 0; k < 4; k++) {
                if (k)
                    fputs(", ", f);
                put_json_float(f, t->vad[i].prs[k]);
            }
            fputs("]}", f);
        }
        if (t->n_vad)
            fprintf(f, "\n%*s  ]", in, "");
        else
            fputc(']', f);
    }
    fprintf(f, "\n%*s}", in, "");
    return finish(f);
}

/* ---- subtitle cues --------------------------------------------------------------------- */

app_cue_opts app_cue_opts_default(void) {
    app_cue_opts o = {0.8, 7.0, 42, 2, 20, 0.5};
    return o;
}

static int ends_sentence(const char *text) {
    size_t n = strlen(text);
    while (n > 0 && strchr("\"')]\xC2\xBB", text[n - 1]))
        n--; /* closing quotes, brackets */
    if (n == 0)
        return 0;
    char c = text[n - 1];
    if (c == '.' || c == '?' || c == '!')
        return 1;
    return n >= 3 && memcmp(text + n - 3, "\xE2\x80\xA6", 3) == 0; /* U+2026 ... */
}

/* Best split of the words of a cue (chars[i]: code points of word i) into two lines: the index
 * of the first word of line 2 minimising the longer line (ties: the shorter line on top), among
 * splits whose lines both fit max_chars; count when the words fit one line; 0 when no split
 * fits. */
static size_t best_split(const size_t *chars, size_t count, size_t max_chars) {
    size_t total = count - 1;
    for (size_t i = 0; i < count; i++)
        total += chars[i];
    if (total <= max_chars)
        return count;
    size_t best = 0, best_max = (size_t)-1, line1 = 0;
    for (size_t k = 1; k < count; k++) {
        line1 += chars[k - 1] + (k > 1);
        size_t line2 = total - line1 - 1;
        if (line1 > max_chars || line2 > max_chars)
            continue;
        size_t m = line1 > line2 ? line1 : line2;
        if (m < best_max || (m == best_max && line1 <= line2)) {
            best = k;
            best_max = m;
        }
    }
    return best;
}

static int cue_fits(const size_t *chars, size_t count, const app_cue_opts *o) {
    size_t s = best_split(chars, count, (size_t)o->max_line_chars);
    if (s == count)
        return 1;
    return o->max_lines >= 2 && s != 0;
}

/* ---- JSON lines and end of turn ---------------------------------------------------------- */

static int flushed(FILE *f) {
    fflush(f);
    return ferror(f) ? -1 : 0;
}

int app_jsonl_word(FILE *f, const char *text, double start) {
    fputs("{\"type\":\"word\",\"text\":", f);
    app_json_string(f, text);
    fprintf(f, ",\"start\":%.2f}\n", start);
    return flushed(f);
}

int app_jsonl_end_word(FILE *f, double stop) {
    fprintf(f, "{\"type\":\"end_word\",\"stop\":%.2f}\n", stop);
    return flushed(f);
}

int app_jsonl_end_of_turn(FILE *f, double time, const float prs[4]) {
    fprintf(f, "{\"type\":\"end_of_turn\",\"time\":%.2f,\"prs\":[%.4f,%.4f,%.4f,%.4f]}\n", time,
            (double)prs[0], (double)prs[1], (double)prs[2], (double)prs[3]);
    return flushed(f);
}

void app_eot_init(app_eot *e, float threshold) {
    e->threshold = threshold;
    e->words = 0;
}

void app_eot_word(app_eot *e) {
    e->words++;
}

int app_eot_step(app_eot *e, const float prs[4]) {
    if (e->words == 0 || !(prs[2] >= e->threshold))
        return 0;
    e->words = 0;
    return 1;
}

/* ---- streaming writer -------------------------------------------------------------------- */

int app_format_parse(const char *s) {
    static const char *const names[] = {"txt", "json", "srt", "vtt", "jsonl"};
    for (int i = 0; i < 5; i++)
        if (s && !strcmp(s, names[i]))
            return i;
    return -1;
}

app_writer_opts app_writer_opts_default(void) {
    app_writer_opts o;
    memset(&o, 0, sizeof o);
    o.format = APP_FMT_TXT;
    o.eot_threshold = 0.6f;
    o.cues = app_cue_opts_default();
    return o;
}

struct app_writer {
    FILE *f;
    app_writer_opts o;
    const char *name;
    int begun;   /* inputs begun */
    int written; /* JSON objects written */
    int bad;     /* a write failed or memory ran out */
    /* the current input */
    app_transcript tr; /* JSON only: the whole input's words and steps */
    char *open_text;   /* the word whose end is not known yet (not JSON) */
    double open_start;
    int have_open;
    size_t words; /* words of this input so far */
    app_eot eot;
    /* srt/vtt: the words of the cue being built */
    app_tr_word *cue;
    size_t *cue_chars;
    size_t n_cue, cap_cue, cue_len; /* cue_len: its characters, spaces included */
    long cue_no;
};

int app_writer_new(app_writer **out, FILE *f, const app_writer_opts *o) {
    app_writer *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->f = f;
    w->o = o ? *o : app_writer_opts_default();
    *out = w;
    return 0;
}

static int check(app_writer *w, int rc) {
    if (rc || ferror(w->f))
        w->bad = 1;
    return w->bad ? -1 : 0;
}

static void cue_clear(app_writer *w) {
    for (size_t i = 0; i < w->n_cue; i++)
        free(w->cue[i].text);
    w->n_cue = 0;
    w->cue_len = 0;
}

/* Prints the cue held in w->cue; next_start < 0: no cue follows. */
static void cue_emit(app_writer *w, double next_start) {
    const app_cue_opts *o = &w->o.cues;
    size_t n = w->n_cue;
    if (n == 0)
        return;
    int vtt = w->o.format == APP_FMT_VTT;
    double start = w->cue[0].start;
    double end = w->cue[n - 1].end > start ? w->cue[n - 1].end : start;
    if (end - start < o->min_duration) {
        double e = start + o->min_duration;
        if (next_start >= 0 && e > next_start)
            e = next_start;
        if (e > end)
            end = e;
    }
    size_t s = best_split(w->cue_chars, n, (size_t)o->max_line_chars);
    size_t line2 = (s == 0 || o->max_lines < 2) ? n : s;
    char a[32], b[32];
    char sep = vtt ? '.' : ',';
    app_format_timestamp(a, sizeof a, start, sep);
    app_format_timestamp(b, sizeof b, end, sep);
    if (!vtt)
        fprintf(w->f, "%ld\n", ++w->cue_no);
    fprintf(w->f, "%s --> %s\n", a, b);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(i == line2 ? '\n' : ' ', w->f);
        put_text(w->f, w->cue[i].text, vtt);
    }
    fputs("\n\n", w->f);
    fflush(w->f);
    cue_clear(w);
}

/* A word whose end is now known, for the formats that print closed words. Takes text. */
static int closed_word(app_writer *w, char *text, double start, double end) {
    if (w->o.format == APP_FMT_TXT) { /* with timestamps */
        char a[32], b[32];
        app_format_seconds(a, sizeof a, start);
        app_format_seconds(b, sizeof b, end);
        fprintf(w->f, "[%s - %s] ", a, b);
        put_text(w->f, text, 0);
        fputc('\n', w->f);
        free(text);
        return check(w, flushed(w->f));
    }
    /* srt / vtt: the cue rules of app_transcript.h, decided as each word closes */
    const app_cue_opts *o = &w->o.cues;
    if (w->n_cue + 1 > w->cap_cue) {
        size_t cap = w->cap_cue ? w->cap_cue * 2 : 32;
        app_tr_word *c = realloc(w->cue, cap * sizeof *c);
        if (c)
            w->cue = c;
        size_t *k = c ? realloc(w->cue_chars, cap * sizeof *k) : NULL;
        if (!c || !k) {
            free(text);
            w->bad = 1;
            return -1;
        }
        w->cue_chars = k;
        w->cap_cue = cap;
    }
    size_t chars = app_utf8_chars(text);
    size_t n = w->n_cue;
    if (n > 0) {
        const app_tr_word *prev = &w->cue[n - 1];
        w->cue_chars[n] = chars;
        int brk = start - prev->end >= o->max_gap - 1e-9 ||
                  end - w->cue[0].start > o->max_duration + 1e-9 ||
                  !cue_fits(w->cue_chars, n + 1, o) ||
                  (o->sentence_chars > 0 && w->cue_len >= (size_t)o->sentence_chars &&
                   ends_sentence(prev->text));
        if (brk) {
            cue_emit(w, start);
            n = 0;
        }
    }
    w->cue[n] = (app_tr_word){text, start, end};
    w->cue_chars[n] = chars;
    w->cue_len = n ? w->cue_len + 1 + chars : chars;
    w->n_cue = n + 1;
    return check(w, 0);
}

int app_writer_begin(app_writer *w, const char *name) {
    w->name = name;
    w->words = 0;
    w->have_open = 0;
    app_eot_init(&w->eot, w->o.eot_threshold);
    switch (w->o.format) {
    case APP_FMT_TXT:
        if (w->o.multi)
            fprintf(w->f, "%s==> %s <==\n", w->begun ? "\n" : "", name);
        break;
    case APP_FMT_JSON:
        app_transcript_init(&w->tr, name);
        break;
    case APP_FMT_VTT:
        fputs("WEBVTT\n\n", w->f);
        break;
    case APP_FMT_JSONL:
        if (w->o.multi) {
            fputs("{\"type\":\"file\",\"file\":", w->f);
            app_json_string(w->f, name);
            fputs("}\n", w->f);
        }
        break;
    default:
        break;
    }
    w->begun++;
    w->cue_no = 0;
    return check(w, flushed(w->f));
}

static int streams_closed_words(const app_writer *w) {
    return (w->o.format == APP_FMT_TXT && w->o.timestamps) || w->o.format == APP_FMT_SRT ||
           w->o.format == APP_FMT_VTT;
}

int app_writer_word(app_writer *w, const char *text, double start) {
    if (!text || !text[0])
        return check(w, 0);
    app_eot_word(&w->eot);
    switch (w->o.format) {
    case APP_FMT_JSON:
        return check(w, app_transcript_word(&w->tr, text, start));
    case APP_FMT_JSONL:
        return check(w, app_jsonl_word(w->f, text, start));
    case APP_FMT_TXT:
        if (!w->o.timestamps) {
            if (w->words++)
                fputc(' ', w->f);
            put_text(w->f, text, 0);
            return check(w, flushed(w->f));
        }
        break;
    default:
        break;
    }
    /* closed-word formats: the previous word ends here unless an EndWord closed it */
    if (w->have_open) {
        w->have_open = 0;
        double end = start > w->open_start ? start : w->open_start;
        if (closed_word(w, w->open_text, w->open_start, end))
            return -1;
    }
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy) {
        w->bad = 1;
        return -1;
    }
    memcpy(copy, text, len + 1);
    w->open_text = copy;
    w->open_start = start;
    w->have_open = 1;
    w->words++;
    return check(w, 0);
}

int app_writer_end_word(app_writer *w, double stop) {
    switch (w->o.format) {
    case APP_FMT_JSON:
        app_transcript_end_word(&w->tr, stop);
        return check(w, 0);
    case APP_FMT_JSONL:
        return check(w, app_jsonl_end_word(w->f, stop));
    default:
        break;
    }
    if (!streams_closed_words(w) || !w->have_open)
        return check(w, 0);
    w->have_open = 0;
    double end = stop > w->open_start ? stop : w->open_start;
    return closed_word(w, w->open_text, w->open_start, end);
}

int app_writer_step(app_writer *w, double time, const float prs[4]) {
    if (!w->o.vad)
        return check(w, 0);
    if (w->o.format == APP_FMT_JSON)
        return check(w, app_transcript_vad(&w->tr, time, prs));
    if (w->o.format == APP_FMT_JSONL && app_eot_step(&w->eot, prs))
        return check(w, app_jsonl_end_of_turn(w->f, time, prs));
    return check(w, 0);
}

int app_writer_end(app_writer *w, double duration, int failed) {
    int rc = 0;
    if (w->have_open) {
        w->have_open = 0;
        if (failed) {
            free(w->open_text);
        } else {
            double end = duration > w->open_start ? duration : w->open_start;
            rc = closed_word(w, w->open_text, w->open_start, end);
        }
    }
    switch (w->o.format) {
    case APP_FMT_TXT:
        if (!w->o.timestamps && (!failed || w->words))
            fputc('\n', w->f);
        break;
    case APP_FMT_JSON:
        if (!failed) {
            app_transcript_finish(&w->tr, duration);
            if (w->o.multi)
                fputs(w->written ? ",\n" : "[\n", w->f);
            rc |= app_write_json(w->f, &w->tr, w->o.vad, w->o.multi ? 2 : 0);
            if (!w->o.multi)
                fputc('\n', w->f);
            w->written++;
        }
        app_transcript_free(&w->tr);
        break;
    case APP_FMT_SRT:
    case APP_FMT_VTT:
        if (!failed)
            cue_emit(w, -1);
        cue_clear(w);
        break;
    case APP_FMT_JSONL:
        if (!failed) {
            fputs("{\"type\":\"end\",\"file\":", w->f);
            app_json_string(w->f, w->name ? w->name : "");
            fprintf(w->f, ",\"duration\":%.2f}\n", duration);
        }
        break;
    }
    return check(w, rc | flushed(w->f));
}

int app_writer_finish(app_writer *w) {
    if (w->o.format == APP_FMT_JSON && w->o.multi && w->written)
        fputs("\n]\n", w->f);
    return check(w, flushed(w->f));
}

void app_writer_free(app_writer *w) {
    if (!w)
        return;
    if (w->have_open)
        free(w->open_text);
    cue_clear(w);
    free(w->cue);
    free(w->cue_chars);
    app_transcript_free(&w->tr);
    free(w);
}
