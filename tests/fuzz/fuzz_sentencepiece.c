/*
 * Fuzz target for the SentencePiece reader and decoder. Any byte string goes through
 * kstt__spm_load_memory; a rejection must come with a message naming the input and leave no
 * model. When the image is accepted, every piece is read back (non-empty C string, type in the
 * enum, BYTE pieces spelled <0xHH>), and id sequences taken from the input itself (in range,
 * out of range, negative) are decoded into a roomy buffer and into shorter ones: the text
 * must end at the returned length, a shorter buffer must give KSTT_ERANGE with a NUL-terminated
 * prefix of the full text, and the input must never be read or written out of bounds (ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/sentencepiece.h"

static void check(int cond) {
    if (!cond)
        abort();
}

static void decode_checks(const kstt__spm *spm, const int32_t *ids, size_t n) {
    static char full[1 << 16], part[1 << 16];
    int len = kstt__spm_decode(spm, ids, n, full, sizeof full);
    if (len == KSTT_ERANGE)
        return; /* pieces can be long; 64 KiB is not always enough */
    /* A <0x00> byte piece puts a NUL inside the text: the count, not strlen, is its length. */
    check(len >= 0 && full[len] == '\0' && strlen(full) <= (size_t)len);
    for (size_t cap = 1; cap <= (size_t)len && cap < 64; cap++) {
        int r = kstt__spm_decode(spm, ids, n, part, cap);
        check(r == KSTT_ERANGE);
        size_t k = strlen(part);
        check(k < cap && memcmp(part, full, k) == 0);
    }
    check(kstt__spm_decode(spm, ids, n, part, (size_t)len + 1) == len);
    check(memcmp(part, full, (size_t)len + 1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kstt__spm *spm = NULL;
    char err[512];
    err[0] = 0;
    int rc = kstt__spm_load_memory(&spm, data, size, "fuzz.model", err, sizeof err);
    if (rc != KSTT_OK) {
        check(rc == KSTT_EFORMAT || rc == KSTT_ENOMEM);
        check(spm == NULL);
        check(strncmp(err, "fuzz.model: ", 12) == 0);
        return 0;
    }
    int n = kstt__spm_size(spm);
    check(n > 0);
    for (int i = 0; i < n; i++) {
        const char *p = kstt__spm_piece(spm, i);
        check(p != NULL && p[0] != '\0');
        kstt__spm_type t = kstt__spm_piece_type(spm, i);
        check(t >= KSTT_SPM_NORMAL && t <= KSTT_SPM_BYTE);
        if (t == KSTT_SPM_BYTE)
            check(strlen(p) == 6 && memcmp(p, "<0x", 3) == 0);
    }
    check(kstt__spm_piece(spm, n) == NULL && kstt__spm_piece(spm, -1) == NULL);
    kstt__spm_info info;
    kstt__spm_get_info(spm, &info);
    check(info.unk_surface != NULL);

    /* Every piece once, in order; then ids drawn from the input's last bytes. */
    int32_t ids[256];
    size_t m = 0;
    for (int i = 0; i < n && m < 256; i++)
        ids[m++] = i;
    decode_checks(spm, ids, m);
    m = 0;
    for (size_t i = 0; i + 2 <= size && m < 64; i += 2) {
        int v = data[size - 1 - i] | data[size - 2 - i] << 8;
        ids[m++] = (v & 0x8000) ? -(v & 0x7fff) : v % (n + 2); /* some out of range */
    }
    decode_checks(spm, ids, m);
    kstt__spm_free(spm);
    return 0;
}
