/*
 * JSON vocabulary reader (see vocab_json.h): cJSON parses the object, the ids are checked to be
 * the dense range 0..n-1 written in plain decimal, and the pieces go to kstt__spm_from_pieces.
 */
#include "tokenizer/vocab_json.h"

#include <cJSON.h>
#include <limits.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

/* Real vocabularies have 4000 or 8000 pieces; a bound keeps a hostile file cheap. */
#define MAX_PIECES (1 << 20)

int kstt__vocab_json_sniff(const void *buf, size_t size) {
    const unsigned char *b = buf;
    if (!b)
        return 0;
    for (size_t i = 0; i < size; i++) {
        if (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')
            continue;
        return b[i] == '{';
    }
    return 0;
}

/* The id a key spells: plain decimal, no sign, no leading zero (except "0"); -1 otherwise. */
static long key_id(const char *k) {
    if (!k || !*k || (k[0] == '0' && k[1]))
        return -1;
    long v = 0;
    for (const char *p = k; *p; p++) {
        if (*p < '0' || *p > '9' || v > MAX_PIECES)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static int is_byte_piece(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return 0;
    for (int i = 3; i < 5; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return 1;
}

int kstt__vocab_json_load_memory(kstt__spm **out, const void *buf, size_t size, const char *name,
                                 char *err, size_t errlen) {
    if (!out)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt__vocab_json_load: out is NULL");
    *out = NULL;
    if (!name)
        name = "(memory)";
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, size, &end, 0);
    if (root && end) { /* nothing but blanks may follow the object */
        const char *stop = (const char *)buf + size;
        while (end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
        if (end < stop && *end != '\0') {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    if (!root) {
        long at = end ? (long)(end - (const char *)buf) : 0L;
        return kstt__errf(err, errlen, KSTT_EFORMAT,
                          "%s: not a valid JSON vocabulary (JSON error near byte %ld)", name, at);
    }
    int rc = KSTT_OK;
    const char **text = NULL;
    size_t *len = NULL;
    uint8_t *type = NULL;
    int n = cJSON_GetArraySize(root);
    if (!cJSON_IsObject(root)) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                        "%s: a JSON vocabulary is an object mapping ids to pieces", name);
        goto done;
    }
    if (n <= 0 || n > MAX_PIECES) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: %d pieces (expected 1..%d)", name, n,
                        MAX_PIECES);
        goto done;
    }
    text = kstt__calloc((size_t)n, sizeof *text);
    len = kstt__calloc((size_t)n, sizeof *len);
    type = kstt__calloc((size_t)n, sizeof *type);
    if (!text || !len || !type) {
        rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory (%d pieces)", name, n);
        goto done;
    }
    kstt__spm_info info;
    kstt__spm_info_defaults(&info);
    info.vocab_size = n;
    info.unk_id = info.bos_id = info.eos_id = info.pad_id = -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        long id = key_id(it->string);
        if (id < 0 || id >= n) {
            rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                            "%s: key \"%.40s\" is not a token id in 0..%d (the ids of a JSON "
                            "vocabulary are 0..n-1)",
                            name, it->string ? it->string : "", n - 1);
            goto done;
        }
        if (text[id]) {
            rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: token id %ld appears twice", name, id);
            goto done;
        }
        if (!cJSON_IsString(it) || !it->valuestring || !it->valuestring[0]) {
            rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                            "%s: token id %ld: the piece must be a non-empty string", name, id);
            goto done;
        }
        const char *s = it->valuestring;
        size_t sl = strlen(s);
        text[id] = s;
        len[id] = sl;
        uint8_t t = KSTT_SPM_NORMAL;
        if (!strcmp(s, "<unk>")) {
            t = KSTT_SPM_UNKNOWN;
            if (info.unk_id < 0)
                info.unk_id = (int)id;
        } else if (!strcmp(s, "<s>")) {
            t = KSTT_SPM_CONTROL;
            info.bos_id = (int)id;
        } else if (!strcmp(s, "</s>")) {
            t = KSTT_SPM_CONTROL;
            info.eos_id = (int)id;
        } else if (!strcmp(s, "<pad>")) {
            t = KSTT_SPM_CONTROL;
            info.pad_id = (int)id;
        } else if (is_byte_piece(s, sl)) {
            t = KSTT_SPM_BYTE;
            info.byte_fallback = 1;
        }
        type[id] = t;
    }
    /* n distinct keys in 0..n-1: every id is present. */
    rc = kstt__spm_from_pieces(out, n, text, len, type, &info, name, err, errlen);
done:
    kstt__free(text);
    kstt__free(len);
    kstt__free(type);
    cJSON_Delete(root);
    return rc;
}
