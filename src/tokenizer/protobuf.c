/*
 * Protocol-buffers wire-format reader (see protobuf.h). Every read is bounds-checked against
 * the end of the current message before the byte is touched, so a hostile image can make a
 * call fail but never read outside the buffer. Groups are skipped by recursion with a fixed depth
 * limit, so a deeply nested image cannot exhaust the stack.
 */
#include "tokenizer/protobuf.h"

#include "core/status.h"

kstt__pb kstt__pb_reader(const void *buf, size_t size, const char *name, const char *kind) {
    kstt__pb r;
    r.p = (const uint8_t *)buf;
    r.end = r.p + size;
    r.file = r.p;
    r.name = name ? name : "(memory)";
    r.kind = kind ? kind : "protobuf";
    return r;
}

kstt__pb kstt__pb_sub(const kstt__pb *parent, const kstt__pb_field *f) {
    kstt__pb r = *parent;
    r.p = f->data;
    r.end = f->data + f->len;
    return r;
}

static int fail(const kstt__pb *r, char *err, size_t errlen, size_t offset, const char *what) {
    return kstt__errf(err, errlen, KSTT_EFORMAT, "%s: malformed %s: %s at byte %zu", r->name,
                      r->kind, what, offset);
}

static int read_varint(kstt__pb *r, uint64_t *out, char *err, size_t errlen) {
    size_t at = (size_t)(r->p - r->file);
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return fail(r, err, errlen, at, "truncated varint");
        uint8_t b = *r->p++;
        /* The tenth byte holds bit 63 only: anything more overflows 64 bits. */
        if (i == 9 && b > 1)
            return fail(r, err, errlen, at, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return KSTT_OK;
        }
    }
    return fail(r, err, errlen, at, "varint longer than 10 bytes");
}

static int read_fixed(kstt__pb *r, int nbytes, uint64_t *out, char *err, size_t errlen) {
    size_t at = (size_t)(r->p - r->file);
    if ((size_t)(r->end - r->p) < (size_t)nbytes)
        return fail(r, err, errlen, at, nbytes == 4 ? "truncated fixed32" : "truncated fixed64");
    uint64_t v = 0;
    for (int i = 0; i < nbytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i); /* little-endian */
    r->p += nbytes;
    *out = v;
    return KSTT_OK;
}

static int read_key(kstt__pb *r, uint32_t *field, int *wire, char *err, size_t errlen) {
    size_t at = (size_t)(r->p - r->file);
    uint64_t key;
    int rc = read_varint(r, &key, err, errlen);
    if (rc)
        return rc;
    uint64_t fn = key >> 3;
    if (fn == 0)
        return fail(r, err, errlen, at, "field number 0");
    if (fn > 0x1fffffff)
        return fail(r, err, errlen, at, "field number above 2^29-1");
    *field = (uint32_t)fn;
    *wire = (int)(key & 7);
    return KSTT_OK;
}

/* Reads one field's value after its key. depth counts the groups we are inside. */
static int read_value(kstt__pb *r, kstt__pb_field *f, int depth, char *err, size_t errlen) {
    uint64_t len;
    int rc;
    switch (f->wire) {
    case KSTT__PB_VARINT:
        return read_varint(r, &f->value, err, errlen);
    case KSTT__PB_FIXED64:
        return read_fixed(r, 8, &f->value, err, errlen);
    case KSTT__PB_FIXED32:
        return read_fixed(r, 4, &f->value, err, errlen);
    case KSTT__PB_BYTES: {
        size_t at = (size_t)(r->p - r->file);
        if ((rc = read_varint(r, &len, err, errlen)))
            return rc;
        if (len > (uint64_t)(r->end - r->p))
            return fail(r, err, errlen, at, "length runs past the end of its message");
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return KSTT_OK;
    }
    case KSTT__PB_GROUP_START: {
        if (depth >= KSTT__PB_MAX_DEPTH)
            return fail(r, err, errlen, f->offset, "groups nested too deeply");
        f->data = r->p;
        for (;;) {
            kstt__pb_field g = {0};
            g.offset = (size_t)(r->p - r->file);
            if (r->p >= r->end)
                return fail(r, err, errlen, f->offset, "unterminated group");
            if ((rc = read_key(r, &g.field, &g.wire, err, errlen)))
                return rc;
            if (g.wire == KSTT__PB_GROUP_END) {
                if (g.field != f->field)
                    return fail(r, err, errlen, g.offset, "end of group does not match its start");
                f->len = (size_t)((r->file + g.offset) - f->data); /* body, without the end key */
                return KSTT_OK;
            }
            if ((rc = read_value(r, &g, depth + 1, err, errlen)))
                return rc;
        }
    }
    case KSTT__PB_GROUP_END:
        return fail(r, err, errlen, f->offset, "end of group without a start");
    default:
        return fail(r, err, errlen, f->offset, "invalid wire type");
    }
}

int kstt__pb_next(kstt__pb *r, kstt__pb_field *f, char *err, size_t errlen) {
    if (r->p >= r->end)
        return 0;
    f->value = 0;
    f->data = NULL;
    f->len = 0;
    f->offset = (size_t)(r->p - r->file);
    int rc = read_key(r, &f->field, &f->wire, err, errlen);
    if (!rc)
        rc = read_value(r, f, 0, err, errlen);
    return rc ? rc : 1;
}
