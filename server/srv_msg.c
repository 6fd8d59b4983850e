/* srv_msg: decoding client messages and encoding server messages with msgpack-c. Maps are read
 * by key (any order, extra keys ignored); server maps put "type" first and the fields in
 * moshi-server's order, with its wire types (float32 prs, float64 times, compact integers). */
#include "srv_msg.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_util.h"

static int key_is(const msgpack_object *k, const char *name) {
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           !memcmp(k->via.str.ptr, name, n);
}

static const msgpack_object *map_get(const msgpack_object *map, const char *name) {
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (key_is(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    return NULL;
}

static int num_to_float(const msgpack_object *o, float *out) {
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = (float)o->via.f64;
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (float)o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (float)o->via.i64;
        return 0;
    default:
        return -1;
    }
}

static int decode_map(const msgpack_object *root, size_t max_samples, srv_in_msg *out, char *err,
                      size_t errlen) {
    if (root->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "message is not a map");
        return -1;
    }
    const msgpack_object *t = map_get(root, "type");
    if (!t || t->type != MSGPACK_OBJECT_STR) {
        snprintf(err, errlen, "message has no string \"type\"");
        return -1;
    }
    const char *ts = t->via.str.ptr;
    uint32_t tn = t->via.str.size;
#define TYPE_IS(s) (tn == sizeof(s) - 1 && !memcmp(ts, s, tn))
    if (TYPE_IS("Audio")) {
        const msgpack_object *p = map_get(root, "pcm");
        if (!p || p->type != MSGPACK_OBJECT_ARRAY) {
            snprintf(err, errlen, "Audio: \"pcm\" must be an array of numbers");
            return -1;
        }
        size_t n = p->via.array.size;
        if (n > max_samples) {
            snprintf(err, errlen, "Audio: %zu samples in one message (limit %zu)", n, max_samples);
            return -1;
        }
        out->type = SRV_IN_AUDIO;
        out->n = n;
        out->pcm = n ? srv_xmalloc(n * sizeof(float)) : NULL;
        for (size_t i = 0; i < n; i++) {
            if (num_to_float(&p->via.array.ptr[i], &out->pcm[i])) {
                snprintf(err, errlen, "Audio: pcm[%zu] is not a number", i);
                return -1;
            }
        }
        return 0;
    }
    if (TYPE_IS("Marker")) {
        const msgpack_object *id = map_get(root, "id");
        if (!id) {
            snprintf(err, errlen, "Marker: missing \"id\"");
            return -1;
        }
        if (id->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (id->via.u64 > (uint64_t)INT64_MAX) {
                snprintf(err, errlen, "Marker: id out of int64 range");
                return -1;
            }
            out->id = (int64_t)id->via.u64;
        } else if (id->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            out->id = id->via.i64;
        } else {
            snprintf(err, errlen, "Marker: \"id\" must be an integer");
            return -1;
        }
        out->type = SRV_IN_MARKER;
        return 0;
    }
    if (TYPE_IS("OggOpus")) {
        const msgpack_object *d = map_get(root, "data");
        if (d && d->type == MSGPACK_OBJECT_BIN) {
            if (d->via.bin.size > max_samples) {
                snprintf(err, errlen, "OggOpus: data too long");
                return -1;
            }
            out->type = SRV_IN_OGG_OPUS;
            out->n_data = d->via.bin.size;
            out->data = srv_xmalloc(out->n_data ? out->n_data : 1);
            if (out->n_data)
                memcpy(out->data, d->via.bin.ptr, out->n_data);
            return 0;
        }
        if (!d || d->type != MSGPACK_OBJECT_ARRAY) {
            snprintf(err, errlen, "OggOpus: \"data\" must be bytes or an array of bytes");
            return -1;
        }
        size_t n = d->via.array.size;
        if (n > max_samples) {
            snprintf(err, errlen, "OggOpus: data too long");
            return -1;
        }
        out->type = SRV_IN_OGG_OPUS;
        out->n_data = n;
        out->data = srv_xmalloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) {
            const msgpack_object *b = &d->via.array.ptr[i];
            if (b->type != MSGPACK_OBJECT_POSITIVE_INTEGER || b->via.u64 > 255) {
                snprintf(err, errlen, "OggOpus: data[%zu] is not a byte", i);
                return -1;
            }
            out->data[i] = (uint8_t)b->via.u64;
        }
        return 0;
    }
    if (TYPE_IS("Init")) {
        out->type = SRV_IN_INIT;
        return 0;
    }
#undef TYPE_IS
    snprintf(err, errlen, "unknown message type \"%.*s\"", (int)(tn > 32 ? 32 : tn), ts);
    return -1;
}

/* msgpack-c allocates a container's object array from its declared count before reading the
 * elements, so a few bytes claiming 2^32 elements would make it ask for ~100 GB. This walk
 * (skip-only: it reads type bytes and lengths, builds nothing) checks, before unpacking, that
 * every declared count fits in the bytes that remain (each element takes at least one). */
static int counts_fit(const uint8_t *p, size_t len) {
    size_t i = 0, pending = 1;
    while (pending) {
        if (i >= len)
            return 0;
        uint8_t c = p[i++];
        pending--;
        size_t skip = 0, lenbytes = 0, n = 0;
        int container = 0; /* 1 array, 2 map */
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
            continue;
        if (c >= 0x80 && c <= 0x8f)
            n = c & 0x0f, container = 2;
        else if (c >= 0x90 && c <= 0x9f)
            n = c & 0x0f, container = 1;
        else if (c >= 0xa0 && c <= 0xbf)
            skip = c & 0x1f;
        else {
            switch (c) {
            case 0xc4:
            case 0xd9:
                lenbytes = 1;
                break; /* bin8, str8 */
            case 0xc5:
            case 0xda:
                lenbytes = 2;
                break; /* bin16, str16 */
            case 0xc6:
            case 0xdb:
                lenbytes = 4;
                break; /* bin32, str32 */
            case 0xc7:
                lenbytes = 1, skip = 1;
                break; /* ext8 (+ type) */
            case 0xc8:
                lenbytes = 2, skip = 1;
                break;
            case 0xc9:
                lenbytes = 4, skip = 1;
                break;
            case 0xca:
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcb:
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xd4:
                skip = 2;
                break; /* fixext 1..16, type included */
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
                lenbytes = 2, container = 1;
                break;
            case 0xdd:
                lenbytes = 4, container = 1;
                break;
            case 0xde:
                lenbytes = 2, container = 2;
                break;
            case 0xdf:
                lenbytes = 4, container = 2;
                break;
            default:
                return 0; /* 0xc1: never used */
            }
        }
        if (lenbytes) {
            if (len - i < lenbytes)
                return 0;
            size_t v = 0;
            for (size_t k = 0; k < lenbytes; k++)
                v = (v << 8) | p[i + k];
            i += lenbytes;
            if (container)
                n = v;
            else
                skip += v;
        }
        if (container) {
            size_t need = container == 2 ? 2 * n : n;
            if (need > len - i)
                return 0;
            pending += need;
        } else {
            if (skip > len - i)
                return 0;
            i += skip;
        }
    }
    return 1;
}

int srv_msg_decode(const uint8_t *buf, size_t len, size_t max_samples, srv_in_msg *out, char *err,
                   size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!counts_fit(buf, len)) {
        snprintf(err, errlen, "invalid msgpack");
        return -1;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = -1;
    msgpack_unpack_return r = msgpack_unpack_next(&u, (const char *)buf, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS) {
        snprintf(err, errlen, "invalid msgpack");
    } else if (off != len) {
        snprintf(err, errlen, "trailing bytes after the msgpack map");
    } else {
        rc = decode_map(&u.data, max_samples, out, err, errlen);
    }
    msgpack_unpacked_destroy(&u);
    if (rc)
        srv_in_msg_clear(out);
    return rc;
}

void srv_in_msg_clear(srv_in_msg *m) {
    free(m->pcm);
    free(m->data);
    memset(m, 0, sizeof *m);
}

/* ---- encoding ------------------------------------------------------------------------ */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} enc;

static void enc_begin(enc *e, size_t pre, const char *type, uint32_t n_fields) {
    msgpack_sbuffer_init(&e->sb);
    /* reserve room for the srv_out_msg header and lws's LWS_PRE in front of the payload */
    static const char zeros[256];
    size_t head = sizeof(srv_out_msg) + pre;
    msgpack_sbuffer_write(&e->sb, zeros, head); /* head < 256: pre is LWS_PRE */
    msgpack_packer_init(&e->pk, &e->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&e->pk, n_fields + 1);
    msgpack_pack_str(&e->pk, 4);
    msgpack_pack_str_body(&e->pk, "type", 4);
    size_t tl = strlen(type);
    msgpack_pack_str(&e->pk, tl);
    msgpack_pack_str_body(&e->pk, type, tl);
}

static void enc_key(enc *e, const char *k) {
    size_t n = strlen(k);
    msgpack_pack_str(&e->pk, n);
    msgpack_pack_str_body(&e->pk, k, n);
}

static srv_out_msg *enc_end(enc *e, size_t pre) {
    if (!e->sb.data)
        srv_die_oom();
    /* sbuffer memory comes from malloc/realloc: shrink it to the message (queues hold many) */
    srv_out_msg *m = srv_xrealloc(e->sb.data, e->sb.size);
    size_t head = sizeof(srv_out_msg) + pre;
    memset(m, 0, sizeof *m);
    m->data = (unsigned char *)m + head;
    m->len = e->sb.size - head;
    return m;
}

srv_out_msg *srv_msg_ready(size_t pre) {
    enc e;
    enc_begin(&e, pre, "Ready", 0);
    return enc_end(&e, pre);
}

srv_out_msg *srv_msg_error(size_t pre, const char *message) {
    enc e;
    enc_begin(&e, pre, "Error", 1);
    enc_key(&e, "message");
    size_t n = strlen(message);
    msgpack_pack_str(&e.pk, n);
    msgpack_pack_str_body(&e.pk, message, n);
    return enc_end(&e, pre);
}

srv_out_msg *srv_msg_word(size_t pre, const char *text, double start_time) {
    enc e;
    enc_begin(&e, pre, "Word", 2);
    enc_key(&e, "text");
    size_t n = strlen(text);
    msgpack_pack_str(&e.pk, n);
    msgpack_pack_str_body(&e.pk, text, n);
    enc_key(&e, "start_time");
    msgpack_pack_double(&e.pk, start_time);
    return enc_end(&e, pre);
}

srv_out_msg *srv_msg_end_word(size_t pre, double stop_time) {
    enc e;
    enc_begin(&e, pre, "EndWord", 1);
    enc_key(&e, "stop_time");
    msgpack_pack_double(&e.pk, stop_time);
    return enc_end(&e, pre);
}

srv_out_msg *srv_msg_marker(size_t pre, int64_t id) {
    enc e;
    enc_begin(&e, pre, "Marker", 1);
    enc_key(&e, "id");
    msgpack_pack_int64(&e.pk, id);
    return enc_end(&e, pre);
}

srv_out_msg *srv_msg_step(size_t pre, uint64_t step_idx, const float *prs, int n_prs,
                          uint64_t buffered_pcm) {
    enc e;
    enc_begin(&e, pre, "Step", 3);
    enc_key(&e, "step_idx");
    msgpack_pack_uint64(&e.pk, step_idx);
    enc_key(&e, "prs");
    msgpack_pack_array(&e.pk, (size_t)n_prs);
    for (int i = 0; i < n_prs; i++)
        msgpack_pack_float(&e.pk, prs[i]);
    enc_key(&e, "buffered_pcm");
    msgpack_pack_uint64(&e.pk, buffered_pcm);
    return enc_end(&e, pre);
}

srv_out_msg *srv_msg_close(int code) {
    srv_out_msg *m = srv_xcalloc(1, sizeof *m);
    m->is_close = 1;
    m->close_code = code;
    return m;
}

void srv_out_msg_free(srv_out_msg *m) {
    free(m);
}
