/* srv_opus: Ogg Opus stream decoding for the OggOpus message (libogg + libopus). */
#include "srv_opus.h"

#include <ogg/ogg.h>
#include <opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_util.h"

#define MAX_FRAME 5760 /* 120 ms at 48 kHz; at 24 kHz half of it is used */

struct srv_opus {
    ogg_sync_state sync;
    ogg_stream_state os;
    int have_stream;
    int packets; /* packets seen in the logical stream */
    OpusDecoder *dec;
    int preskip; /* samples at 24 kHz still to drop */
    float pcm[MAX_FRAME];
};

srv_opus *srv_opus_new(void) {
    srv_opus *o = srv_xcalloc(1, sizeof *o);
    ogg_sync_init(&o->sync);
    return o;
}

void srv_opus_free(srv_opus *o) {
    if (!o)
        return;
    ogg_sync_clear(&o->sync);
    if (o->have_stream)
        ogg_stream_clear(&o->os);
    if (o->dec)
        opus_decoder_destroy(o->dec);
    free(o);
}

static int packet(srv_opus *o, ogg_packet *op, srv_opus_emit emit, void *user, char *err,
                  size_t errlen) {
    int idx = o->packets++;
    if (idx == 0) {
        if (op->bytes < 19 || memcmp(op->packet, "OpusHead", 8)) {
            snprintf(err, errlen, "OggOpus: the first packet is not an OpusHead");
            return -1;
        }
        int pre = op->packet[10] | (op->packet[11] << 8);
        o->preskip = pre / 2;
        int e = 0;
        o->dec = opus_decoder_create(24000, 1, &e);
        if (!o->dec || e != OPUS_OK) {
            snprintf(err, errlen, "OggOpus: decoder: %s", opus_strerror(e));
            return -1;
        }
        return 0;
    }
    if (idx == 1)
        return 0; /* OpusTags */
    int n = opus_decode_float(o->dec, op->packet, (opus_int32)op->bytes, o->pcm, MAX_FRAME / 2, 0);
    if (n < 0) {
        snprintf(err, errlen, "OggOpus: %s", opus_strerror(n));
        return -1;
    }
    int skip = o->preskip < n ? o->preskip : n;
    o->preskip -= skip;
    if (n > skip)
        emit(user, o->pcm + skip, (size_t)(n - skip));
    return 0;
}

int srv_opus_feed(srv_opus *o, const uint8_t *data, size_t n, srv_opus_emit emit, void *user,
                  char *err, size_t errlen) {
    while (n) {
        size_t chunk = n > 65536 ? 65536 : n;
        char *b = ogg_sync_buffer(&o->sync, (long)chunk);
        if (!b) {
            snprintf(err, errlen, "OggOpus: out of memory");
            return -1;
        }
        memcpy(b, data, chunk);
        ogg_sync_wrote(&o->sync, (long)chunk);
        data += chunk;
        n -= chunk;
        ogg_page pg;
        int r;
        while ((r = ogg_sync_pageout(&o->sync, &pg)) != 0) {
            if (r < 0) {
                snprintf(err, errlen, "OggOpus: corrupt or missing data in the Ogg stream");
                return -1;
            }
            if (!o->have_stream) {
                ogg_stream_init(&o->os, ogg_page_serialno(&pg));
                o->have_stream = 1;
            }
            if (ogg_page_serialno(&pg) != o->os.serialno)
                continue; /* other logical streams */
            if (ogg_stream_pagein(&o->os, &pg)) {
                snprintf(err, errlen, "OggOpus: bad page");
                return -1;
            }
            ogg_packet op;
            int pr;
            while ((pr = ogg_stream_packetout(&o->os, &op)) != 0) {
                if (pr < 0)
                    continue; /* a gap: skip */
                if (packet(o, &op, emit, user, err, errlen))
                    return -1;
            }
        }
    }
    return 0;
}
