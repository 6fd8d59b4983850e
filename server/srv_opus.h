/* srv_opus: the OggOpus input message: pieces of an Ogg Opus byte stream in, 24 kHz mono PCM
 * out (libogg for pages and packets, libopus for decoding, any packet length; the OpusHead
 * pre-skip is applied). */
#ifndef SRV_OPUS_H
#define SRV_OPUS_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_opus srv_opus;
typedef void (*srv_opus_emit)(void *user, const float *pcm, size_t n);

srv_opus *srv_opus_new(void);
void srv_opus_free(srv_opus *o);
/* Feeds n bytes; every decoded block goes to emit. Returns 0, or -1 with a message. */
int srv_opus_feed(srv_opus *o, const uint8_t *data, size_t n, srv_opus_emit emit, void *user,
                  char *err, size_t errlen);

#endif
