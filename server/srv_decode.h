/* srv_decode: a whole audio file in memory (a POST body) to 24 kHz mono PCM. */
#ifndef SRV_DECODE_H
#define SRV_DECODE_H

#include <stddef.h>

/* Returns 0 and a malloc'd *pcm of *n samples (at most max_samples), or -1 with a message. */
int srv_decode_file(const unsigned char *data, size_t len, size_t max_samples, float **pcm,
                    size_t *n, char *err, size_t errlen);

#endif
