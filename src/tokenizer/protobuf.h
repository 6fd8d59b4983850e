/*
 * A minimal reader of the protocol-buffers wire format, enough to walk a message field by field
 * without generated code or a schema. The caller decides what each field number means; this
 * reader only splits the bytes into (field number, wire type, value) and checks that every
 * length and varint stays inside the buffer.
 *
 * Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32, and the deprecated groups
 * (3 start, 4 end), which are skipped whole (nesting limited to KSTT__PB_MAX_DEPTH). Wire types
 * 6 and 7, field number 0, varints longer than 10 bytes and lengths past the end are errors.
 *
 * Invariant: after any call, r->p lies within [r->begin, r->end]. Nothing is allocated; the
 * returned `data` pointers borrow the caller's buffer.
 */
#ifndef KSTT_TOKENIZER_PROTOBUF_H
#define KSTT_TOKENIZER_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#define KSTT__PB_MAX_DEPTH 32

enum {
    KSTT__PB_VARINT = 0,
    KSTT__PB_FIXED64 = 1,
    KSTT__PB_BYTES = 2,
    KSTT__PB_GROUP_START = 3,
    KSTT__PB_GROUP_END = 4,
    KSTT__PB_FIXED32 = 5,
};

typedef struct {
    const uint8_t *p;    /* next byte to read */
    const uint8_t *end;  /* one past the last byte of this message */
    const uint8_t *file; /* start of the whole image: error offsets are counted from here */
    const char *name;    /* file name for messages */
    const char *kind;    /* what the file is, for messages ("SentencePiece model") */
} kstt__pb;

typedef struct {
    uint32_t field;      /* 1 .. 2^29 - 1 */
    int wire;            /* KSTT__PB_* */
    uint64_t value;      /* VARINT, FIXED64, FIXED32 (zero-extended) */
    const uint8_t *data; /* BYTES: the payload (borrowed); GROUP_START: the group's body */
    size_t len;          /* BYTES and GROUP_START: payload length in bytes */
    size_t offset;       /* offset of the field's key in the whole image */
} kstt__pb_field;

/* A reader over buf[0..size), the whole image; `name` and `kind` appear in errors. */
kstt__pb kstt__pb_reader(const void *buf, size_t size, const char *name, const char *kind);

/* A reader over the payload of a BYTES field (an embedded message). */
kstt__pb kstt__pb_sub(const kstt__pb *parent, const kstt__pb_field *f);

/* Reads the next field. Returns 1 with *f filled, 0 at the end of the message, or KSTT_EFORMAT
 * with a message "<name>: malformed <kind>: <problem> at byte <offset>" in err. */
int kstt__pb_next(kstt__pb *r, kstt__pb_field *f, char *err, size_t errlen);

#endif
