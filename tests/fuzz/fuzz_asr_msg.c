/* Fuzz target: one client message of the server's ASR protocol (server/srv_msg.c, msgpack-c),
 * and, for OggOpus messages, the Ogg Opus decoder (server/srv_opus.c). Checks the decoder's
 * bounds and that encoded server messages decode back as msgpack maps. */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "srv_msg.h"
#include "srv_opus.h"

static void sink(void *user, const float *pcm, size_t n) {
    size_t *total = user;
    for (size_t i = 0; i < n; i++)
        if (pcm[i] != pcm[i])
            abort(); /* NaN from the decoder */
    *total += n;
}

static void check_map(const srv_out_msg *m) {
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, (const char *)m->data, m->len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != m->len || u.data.type != MSGPACK_OBJECT_MAP)
        abort();
    msgpack_unpacked_destroy(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    srv_in_msg m;
    char err[160];
    if (srv_msg_decode(data, size, 1u << 20, &m, err, sizeof err) == 0) {
        if (m.type == SRV_IN_AUDIO) {
            if (m.n > (1u << 20) || (m.n && !m.pcm))
                abort();
            float prs[4] = {0};
            for (size_t i = 0; i < 4 && i < m.n; i++)
                prs[i] = m.pcm[i];
            srv_out_msg *o = srv_msg_step(16, m.n, prs, 4, m.n);
            check_map(o);
            srv_out_msg_free(o);
        } else if (m.type == SRV_IN_MARKER) {
            srv_out_msg *o = srv_msg_marker(16, m.id);
            check_map(o);
            srv_out_msg_free(o);
        } else if (m.type == SRV_IN_OGG_OPUS) {
            srv_opus *op = srv_opus_new();
            size_t total = 0;
            (void)srv_opus_feed(op, m.data, m.n_data, sink, &total, err, sizeof err);
            srv_opus_free(op);
        }
        srv_in_msg_clear(&m);
    } else if (!memchr(err, 0, sizeof err)) {
        abort();
    }
    /* the encoders with text taken from the input */
    char text[64];
    size_t k = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, k);
    text[k] = 0;
    srv_out_msg *w = srv_msg_word(16, text, 1.25);
    check_map(w);
    srv_out_msg_free(w);
    return 0;
}
